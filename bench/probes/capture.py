"""Cost of turning device blocks into capture frames, for ``bargein perf``.

A 4-channel 48 kHz stream (a USB mic array at its native rate) in 30 ms blocks,
assembled into 16 kHz mono 30 ms frames: once picking channel 0 (the array's processed
beam) and once mixing all channels. The VAD's cost is measured with the VAD.
"""

from __future__ import annotations

import time

import numpy as np

from bargein.audio.capture import FrameAssembler

_RATE_HZ = 48_000
_CHANNELS = 4
_FRAME_MS = 30


def _us_per_frame(channel: int, seconds: float) -> float:
    block_frames = _RATE_HZ * _FRAME_MS // 1000
    rng = np.random.default_rng(0)
    blocks = [
        rng.integers(-20000, 20000, block_frames * _CHANNELS, dtype=np.int16).tobytes()
        for _ in range(50)
    ]
    asm = FrameAssembler(_RATE_HZ, _CHANNELS, channel=channel, frame_ms=_FRAME_MS)
    for block in blocks[:10]:  # warm up the resampler
        asm.push(block, 0.0)
    n_blocks = max(len(blocks), int(seconds * 1000 / _FRAME_MS))
    frames = 0
    t0 = time.perf_counter()
    for i in range(n_blocks):
        frames += len(asm.push(blocks[i % len(blocks)], i * _FRAME_MS / 1000))
    elapsed_s = time.perf_counter() - t0
    return elapsed_s / max(frames, 1) * 1e6


def figures(quick: bool) -> dict[str, float]:
    """``capture_assemble_us_per_frame`` (channel 0) and ``capture_assemble_mix_us_per_frame``."""
    audio_s = 30.0 if quick else 600.0  # seconds of audio pushed through
    return {
        "capture_assemble_us_per_frame": _us_per_frame(0, audio_s),
        "capture_assemble_mix_us_per_frame": _us_per_frame(-1, audio_s),
    }
