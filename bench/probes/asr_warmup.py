"""Warm-up figures for ``bargein perf``: what warming a new Vosk recognizer buys.

Vosk composes its decoding graph lazily, so a new recognizer decodes its first
utterances several times slower than a used one. With the Korean test model and
espeak-ng English sentences (another speaker than the warm-up's Piper voice):

- ``asr_warm_up_cpu_ms``: CPU time of the warm-up (:func:`warm_up_pcm` decoded);
- ``asr_first_utterance_ms_cold``: wall time to decode a first utterance on a new
  recognizer, median over the sentences (each on its own new recognizer);
- ``asr_first_utterance_ms_warmed``: the same on a new recognizer after the warm-up;
- ``asr_utterance_ms_used``: the same sentence decoded again by the recognizer that
  just decoded it (the steady state).

The quick run uses one sentence.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bargein.asr.model import load_model
from bargein.asr.recognizer import StreamingRecognizer
from bargein.bench.espeak import espeak_pcm
from bargein.bench.probes.vosk import ko_model_dir
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16
from bargein.device.asr_warmup import warm_up_pcm
from bargein.tts.voice import load_voice

SENTENCES = (
    "what is the weather like tomorrow",
    "no I said tuesday not thursday",
    "set a timer for ten minutes please",
)
_FRAME = 480


def _decode_ms(rec: StreamingRecognizer, pcm: np.ndarray) -> float:
    started_s = time.perf_counter()
    for i in range(0, len(pcm), _FRAME):
        rec.accept(AudioFrame(pcm[i : i + _FRAME], i / CAPTURE_RATE_HZ))
    rec.finish()
    return (time.perf_counter() - started_s) * 1000.0


def figures(quick: bool) -> dict[str, float]:
    model = load_model(ko_model_dir())
    warm = warm_up_pcm(load_voice(None))
    silence = np.zeros(CAPTURE_RATE_HZ // 2, np.int16)
    cold, warmed, used, warm_cpu = [], [], [], []
    for text in SENTENCES[:1] if quick else SENTENCES:
        pcm = np.concatenate([silence, to_int16(espeak_pcm(text)), silence])
        cold.append(_decode_ms(StreamingRecognizer(model), pcm))
        rec = StreamingRecognizer(model)
        started_cpu_s = time.thread_time()
        rec.absorb(warm)
        rec.reset(0.0)
        warm_cpu.append((time.thread_time() - started_cpu_s) * 1000.0)
        warmed.append(_decode_ms(rec, pcm))
        used.append(_decode_ms(rec, pcm))
    return {
        "asr_warm_up_cpu_ms": statistics.median(warm_cpu),
        "asr_first_utterance_ms_cold": statistics.median(cold),
        "asr_first_utterance_ms_warmed": statistics.median(warmed),
        "asr_utterance_ms_used": statistics.median(used),
    }
