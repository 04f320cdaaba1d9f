"""Test helper: real speech made with espeak-ng, resampled with soxr.

Other test modules import :func:`espeak_wav`; keep its signature stable.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import soxr

from bargein.bench.espeak import espeak_native


def espeak_wav(text: str, path: Path | str, voice: str = "en", rate_hz: int = 16000) -> np.ndarray:
    """Speak ``text`` with espeak-ng, write it to ``path`` as mono int16 at ``rate_hz``.

    Returns the samples written (int16, shape (samples,)).
    """
    pcm, native_hz = espeak_native(text, voice)
    if native_hz != rate_hz:
        pcm = soxr.resample(pcm, native_hz, rate_hz)
    pcm = np.ascontiguousarray(pcm, dtype=np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return pcm
