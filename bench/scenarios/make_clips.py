"""Generate the noise clips of the scenario suite (bench/scenarios/clips/*.wav).

Deterministic (fixed seeds, numpy only), so running it again reproduces the
committed files byte for byte. Each clip is a short burst, 50-400 ms, of filtered
noise shaped by an envelope: 16 kHz, mono, 16-bit, peak at -3 dBFS. Their level in
a scenario is set by the scenario's ``level_db``; their transcript is "".

    .venv/bin/python bench/scenarios/make_clips.py
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE_HZ = 16_000
CLIPS_DIR = Path(__file__).resolve().parent / "clips"


def _noise(rng: np.random.Generator, duration_ms: float) -> np.ndarray:
    return rng.standard_normal(int(RATE_HZ * duration_ms / 1000.0))


def _band(signal: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Band-pass by zeroing FFT bins outside [low_hz, high_hz] (a brick wall is fine for noise)."""
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1.0 / RATE_HZ)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    return np.fft.irfft(spectrum, n=len(signal))


def _envelope(n: int, attack_ms: float, decay_ms: float) -> np.ndarray:
    """Linear attack, then exponential decay with time constant ``decay_ms``."""
    t_ms = np.arange(n) * 1000.0 / RATE_HZ
    env = np.exp(-np.maximum(t_ms - attack_ms, 0.0) / decay_ms)
    env *= np.clip(t_ms / max(attack_ms, 1e-3), 0.0, 1.0)
    fade = min(n, int(RATE_HZ * 0.005))  # 5 ms fade-out so the clip ends at zero
    env[n - fade:] *= np.linspace(1.0, 0.0, fade)
    return env


def _ring(n: int, freq_hz: float, decay_ms: float) -> np.ndarray:
    t_s = np.arange(n) / RATE_HZ
    return np.sin(2 * np.pi * freq_hz * t_s) * np.exp(-t_s * 1000.0 / decay_ms)


def cough(seed: int) -> np.ndarray:
    """A cough: a sharp broadband burst, then a breathy band-limited tail (~300 ms)."""
    rng = np.random.default_rng(seed)
    burst = _band(_noise(rng, 300), 250, 3500) * _envelope(int(RATE_HZ * 0.3), 8, 70)
    t_s = np.arange(len(burst)) / RATE_HZ
    voicing = 0.35 * np.sign(np.sin(2 * np.pi * 140 * t_s)) * _envelope(len(burst), 10, 50)
    return burst + _band(voicing, 100, 2000)


def clap(seed: int) -> np.ndarray:
    """A hand clap: very fast attack, 60 ms of bright noise."""
    rng = np.random.default_rng(seed)
    return _band(_noise(rng, 60), 800, 7000) * _envelope(int(RATE_HZ * 0.06), 0.5, 9)


def door(seed: int) -> np.ndarray:
    """A door closing: a latch click, then a low thud with a boomy ring (~380 ms)."""
    rng = np.random.default_rng(seed)
    n = int(RATE_HZ * 0.38)
    thud = _band(_noise(rng, 380), 40, 400) * _envelope(n, 3, 60)
    boom = 0.8 * _ring(n, 85.0, 90.0)
    click = np.zeros(n)
    click[:240] = _band(rng.standard_normal(240), 2000, 7000) * _envelope(240, 0.2, 2)
    return thud + boom + 0.6 * click


def drop(seed: int) -> np.ndarray:
    """A dropped object (a mug on a table): an impact and a few damped resonances (~220 ms)."""
    rng = np.random.default_rng(seed)
    n = int(RATE_HZ * 0.22)
    impact = _band(_noise(rng, 220), 300, 7500) * _envelope(n, 0.3, 6)
    rings = sum(_ring(n, f, d) * a for f, d, a in ((1180, 60, 0.5), (2730, 35, 0.35), (4410, 20, 0.25)))
    return impact + rings


def keys(seed: int) -> np.ndarray:
    """A bunch of keys put down: a cluster of small metallic clicks over ~400 ms."""
    rng = np.random.default_rng(seed)
    n = int(RATE_HZ * 0.4)
    out = np.zeros(n)
    for start in np.sort(rng.integers(0, n - 800, size=14)):
        freq = float(rng.uniform(3000, 6500))
        out[start:start + 800] += _ring(800, freq, 6.0) * float(rng.uniform(0.3, 1.0))
    return out * _envelope(n, 2, 250)


def knock(seed: int) -> np.ndarray:
    """A single knock on a table (~120 ms)."""
    rng = np.random.default_rng(seed)
    n = int(RATE_HZ * 0.12)
    return _band(_noise(rng, 120), 100, 1500) * _envelope(n, 0.5, 15) + 0.5 * _ring(n, 210.0, 25.0)


CLIPS = {"cough": (cough, 11), "cough2": (cough, 12), "clap": (clap, 21), "door": (door, 31),
         "drop": (drop, 41), "keys": (keys, 51), "knock": (knock, 61)}


def write_wav(path: Path, signal: np.ndarray) -> None:
    peak = float(np.max(np.abs(signal))) or 1.0
    pcm = np.round(signal / peak * (10 ** (-3 / 20)) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE_HZ)
        out.writeframes(pcm.tobytes())


def main() -> None:
    CLIPS_DIR.mkdir(exist_ok=True)
    for name, (make, seed) in CLIPS.items():
        signal = make(seed)
        write_wav(CLIPS_DIR / f"{name}.wav", signal)
        print(f"{name}.wav  {1000 * len(signal) / RATE_HZ:.0f} ms")


if __name__ == "__main__":
    main()
