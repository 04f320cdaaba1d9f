"""Audio frames on the capture clock.

Every frame of microphone audio carries the time of its first sample on one clock,
the capture clock, which playback positions, VAD onsets and ASR word times share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAPTURE_RATE_HZ = 16_000
"""Rate of everything on the capture side (VAD and ASR want 16 kHz mono)."""


@dataclass(frozen=True)
class AudioFrame:
    """One frame of mono 16-bit microphone audio.

    ``pcm`` is int16 of shape (samples,); ``t_seconds`` is the capture-clock time
    of its first sample.
    """

    pcm: np.ndarray
    t_seconds: float
    rate_hz: int = CAPTURE_RATE_HZ

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.rate_hz

    @property
    def end_s(self) -> float:
        return self.t_seconds + self.duration_s
