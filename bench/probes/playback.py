"""``bargein perf`` figures for the playback ring: cut latency and callback cost.

Cut latency is measured in the virtual room on what the speaker actually played:
``cut()`` lands at a random moment (so at a random point inside an output period,
as when another thread calls it between two periods), and the figure is the time
from that call to the first sample after which the speaker stays silent.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from bargein.audio.playback import PlaybackRing
from bargein.audio.virtual_room import RoomSettings, VirtualRoom

log = logging.getLogger(__name__)

CUT_FADE_MS = 5.0
_CALLBACK_RATE_HZ = 48_000
"""The callback cost is measured at the usual USB/HDMI device rate, the worst realistic case."""


def _voice_like(seconds: float, rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """A sustained harmonic tone with a slow wobble: never silent, like a vowel."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    f0 = float(rng.uniform(100.0, 220.0))
    wave = sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, 6))
    envelope = 0.25 * (1.2 + 0.3 * np.sin(2 * np.pi * 4.0 * t))
    return (wave * envelope).astype(np.float32)


def cut_latencies_ms(cuts: int, seed: int = 11) -> np.ndarray:
    """Latency from ``cut()`` to lasting silence at the speaker, one value per cut."""
    rng = np.random.default_rng(seed)
    room = VirtualRoom(RoomSettings(noise_db=float("-inf"), seed=seed))
    ring = room.ring
    latencies = []
    for utterance_id in range(cuts):
        ring.enqueue(_voice_like(0.8, ring.rate_hz, rng), ring.rate_hz, utterance_id)
        ring.end_utterance(utterance_id)
        cut_s = room.now_s + float(rng.uniform(0.1, 0.6))
        room.call_at(cut_s, lambda: ring.cut(CUT_FADE_MS))
        room.advance(cut_s - room.now_s + 0.1)
        speaker = room.speaker_audio()
        loud = np.flatnonzero(speaker[round(cut_s * ring.rate_hz) - ring.period_frames :])
        silent_from = round(cut_s * ring.rate_hz) - ring.period_frames + int(loud[-1]) + 1
        latencies.append((silent_from / ring.rate_hz - cut_s) * 1000.0)
    return np.array(latencies)


def callback_us(periods: int) -> float:
    """Mean µs of one 10 ms ``read_into`` while playing with a duck ramp in progress."""
    period_frames = _CALLBACK_RATE_HZ // 100
    ring = PlaybackRing(_CALLBACK_RATE_HZ, period_frames)
    seconds = periods / 100 + 1.0
    noise = np.random.default_rng(5).standard_normal(round(seconds * _CALLBACK_RATE_HZ)) * 0.1
    ring.enqueue(noise.astype(np.float32), _CALLBACK_RATE_HZ, 1)
    ring.duck(12.0, ramp_ms=seconds * 1000.0)
    out = np.zeros(period_frames, dtype=np.int16)
    total_ns = 0
    for k in range(periods):
        start = time.perf_counter_ns()
        ring.read_into(out, k * 0.01)
        total_ns += time.perf_counter_ns() - start
    return total_ns / 1000.0 / periods


def figures(quick: bool) -> dict[str, float]:
    latencies = cut_latencies_ms(20 if quick else 200)
    return {
        "playback_cut_ms_p50": float(np.percentile(latencies, 50)),
        "playback_cut_ms_p95": float(np.percentile(latencies, 95)),
        "playback_cut_ms_max": float(latencies.max()),
        "playback_callback_us": callback_us(300 if quick else 5000),
    }
