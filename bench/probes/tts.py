"""``bargein perf`` figures for synthesis: speed, first audio, word-boundary error.

The word-boundary error is measured on :data:`~bargein.tts.boundary_check.TEST_PHRASES`,
phrases the alignment was never fitted or compared on (see that module), each
synthesized :data:`BOUNDARY_RUNS` times because Piper's durations are random.
``word_boundary_error_ms_p95_ref40db`` is the same edges against the stricter
-40 dB pause reference, which mistakes quiet word edges for pause.
"""

from __future__ import annotations

import logging
import queue
import time

import numpy as np

from bargein.tts.boundary_check import TEST_PHRASES, boundary_errors_ms
from bargein.tts.synth import Synthesizer, iter_chunks
from bargein.tts.voice import load_voice

log = logging.getLogger(__name__)

THREE_SENTENCES = (
    "Sure, I can help with that. The meeting with Dr. Lee moved to 3:30 on Thursday. "
    "I'll remind you fifteen minutes before it starts."
)
_WAIT_S = 60.0
BOUNDARY_RUNS = 2


def figures(quick: bool) -> dict[str, float]:
    voice = load_voice()
    voice.synthesize("Warm up.")  # first ONNX run allocates; not part of the figures
    runs = 1 if quick else 5
    phrases = TEST_PHRASES[:2] if quick else TEST_PHRASES
    boundary_runs = 1 if quick else BOUNDARY_RUNS

    first_audio_ms: list[float] = []
    rtfs: list[float] = []
    chunks: queue.Queue = queue.Queue()
    synth = Synthesizer(voice, chunks.put)
    try:
        for run in range(runs):
            started = time.perf_counter()
            synth.speak(THREE_SENTENCES, run)
            chunk = chunks.get(timeout=_WAIT_S)
            first_audio_ms.append((time.perf_counter() - started) * 1000)
            samples = len(chunk.pcm)
            while not chunk.last:
                chunk = chunks.get(timeout=_WAIT_S)
                samples += len(chunk.pcm)
            rtfs.append((time.perf_counter() - started) / (samples / voice.rate_hz))
    finally:
        synth.stop(_WAIT_S)

    errors: list[float] = []
    errors_40db: list[float] = []
    for phrase in phrases:
        for _ in range(boundary_runs):
            for chunk in iter_chunks(voice, phrase):
                errors += boundary_errors_ms(chunk)
                errors_40db += boundary_errors_ms(chunk, -40.0)
    log.info("word boundary error over %d edges of %d held-out phrases", len(errors), len(phrases))
    return {
        "piper_rtf": round(float(np.median(rtfs)), 3),
        "piper_first_audio_ms": round(float(np.median(first_audio_ms)), 1),
        "word_boundary_error_ms_p50": round(float(np.percentile(errors, 50)), 1),
        "word_boundary_error_ms_p95": round(float(np.percentile(errors, 95)), 1),
        "word_boundary_error_ms_p95_ref40db": round(float(np.percentile(errors_40db, 95)), 1),
    }
