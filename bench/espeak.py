"""Speech made with espeak-ng: the user's voice in the virtual room, the benchmark and tests.

The appliance itself speaks with Piper; espeak-ng (a Debian package) stands in for the
people talking to it, so every scenario and measurement uses real speech.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
import soxr

from bargein.core.errors import ModelMissingError


def espeak_native(text: str, voice: str = "en-us", speed_wpm: int | None = None) -> tuple[np.ndarray, int]:
    """``text`` spoken by espeak-ng as mono int16 at espeak's own rate: (samples, rate_hz)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ModelMissingError("espeak-ng not found: install it with `apt-get install espeak-ng`")
    cmd = [exe, "-v", voice]
    if speed_wpm:
        cmd += ["-s", str(speed_wpm)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(cmd + ["-w", str(path), text], check=True, capture_output=True, timeout=60)
        with wave.open(str(path), "rb") as wav:
            rate_hz, channels = wav.getframerate(), wav.getnchannels()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if channels > 1:
        pcm = pcm.reshape(-1, channels)[:, 0]
    return np.ascontiguousarray(pcm), rate_hz


@lru_cache(maxsize=256)
def _cached(text: str, voice: str, speed_wpm: int | None, rate_hz: int) -> np.ndarray:
    pcm, native_hz = espeak_native(text, voice, speed_wpm)
    samples = pcm.astype(np.float32) / 32768.0
    if native_hz != rate_hz:
        samples = soxr.resample(samples, native_hz, rate_hz)
    samples.setflags(write=False)
    return samples


def espeak_pcm(text: str, voice: str = "en-us", speed_wpm: int | None = None,
               rate_hz: int = 16_000) -> np.ndarray:
    """``text`` spoken by espeak-ng as float32 in [-1, 1] at ``rate_hz`` (cached, read-only)."""
    return _cached(text, voice, speed_wpm, rate_hz)
