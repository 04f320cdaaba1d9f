"""Audio frames on the capture clock.

Every frame of microphone audio carries the time of its first sample on one clock,
the capture clock, which playback positions, VAD onsets and ASR word times share.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

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


def to_int16(pcm: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as int16 (clipped); int16 samples unchanged."""
    if pcm.dtype == np.int16:
        return pcm
    return np.clip(pcm * 32767.0, -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, pcm: np.ndarray, rate_hz: int) -> None:
    """Mono ``pcm`` (float in [-1, 1] or int16) as a 16-bit WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(to_int16(pcm).astype("<i2").tobytes())


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples (the first channel) and the rate of a 16-bit PCM WAV file;
    ValueError naming the file for any other sample width."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: need 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
        channels = w.getnchannels()
        rate_hz = w.getframerate()
    if channels > 1:
        pcm = pcm.reshape(-1, channels)[:, 0].copy()
    return pcm, rate_hz
