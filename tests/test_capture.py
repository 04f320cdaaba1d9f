"""FrameAssembler (pure) and the silencing of ALSA/JACK chatter (in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bargein.audio.capture import FrameAssembler
from bargein.core.frames import CAPTURE_RATE_HZ


def _interleave(*channels: np.ndarray) -> np.ndarray:
    return np.stack(channels, axis=1).reshape(-1).astype(np.int16)


def _push_in_blocks(
    asm: FrameAssembler, interleaved: np.ndarray, block_frames: list[int], t0_s: float = 100.0
) -> list:
    """Push ``interleaved`` in blocks of the given (cycled) sizes; ADC times jitter."""
    frames, pos, i = [], 0, 0
    rng = np.random.default_rng(1)
    ch = asm.input_channels
    while pos < len(interleaved) // ch:
        n = block_frames[i % len(block_frames)]
        block = interleaved[pos * ch : (pos + n) * ch]
        adc_s = t0_s + pos / asm.input_rate_hz + rng.uniform(-0.002, 0.002)
        frames += asm.push(block.tobytes() if i % 2 else block, adc_s)
        pos, i = pos + n, i + 1
    return frames


def test_picks_the_configured_channel_exactly():
    n = 16_000
    chans = [np.arange(n, dtype=np.int64) % 30000 * s - 15000 * s for s in (1, -1, 1, -1)]
    chans[2] = (np.arange(n) * 7 % 20000 - 10000).astype(np.int64)
    asm = FrameAssembler(CAPTURE_RATE_HZ, 4, channel=2, frame_ms=30)
    frames = _push_in_blocks(asm, _interleave(*chans), [480, 333, 1000])
    out = np.concatenate([f.pcm for f in frames])
    assert len(out) == (n // 480) * 480
    np.testing.assert_array_equal(out, chans[2][: len(out)])


def test_mix_averages_all_channels():
    n = 4_800
    chans = [np.full(n, v, dtype=np.int16) for v in (1000, 3000, -2000, 6000)]
    asm = FrameAssembler(CAPTURE_RATE_HZ, 4, channel=-1, frame_ms=10)
    out = np.concatenate([f.pcm for f in _push_in_blocks(asm, _interleave(*chans), [160])])
    assert len(out) == n
    assert np.all(out == 2000)


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_frames_have_exact_size_and_continuous_timestamps(frame_ms):
    n = 48_000
    sig = (np.sin(np.arange(n) * 0.01) * 8000).astype(np.int16)
    asm = FrameAssembler(48_000, 2, channel=0, frame_ms=frame_ms)
    frames = _push_in_blocks(asm, _interleave(sig, -sig), [441, 1024, 97], t0_s=50.0)
    samples = CAPTURE_RATE_HZ * frame_ms // 1000
    assert {len(f.pcm) for f in frames} == {samples}
    assert all(f.pcm.dtype == np.int16 and f.rate_hz == CAPTURE_RATE_HZ for f in frames)
    starts = np.array([f.t_seconds for f in frames])
    first_adc_s = 50.0 + np.random.default_rng(1).uniform(-0.002, 0.002)
    assert starts[0] == pytest.approx(first_adc_s, abs=1e-12)
    np.testing.assert_allclose(np.diff(starts), frame_ms / 1000, rtol=0, atol=1e-9)
    # held back at the end: the resampler's latency (HQ, about 17 ms) and a partial frame
    assert len(frames) * frame_ms >= 1000 - 25 - frame_ms


def test_resampling_48k_keeps_length_frequency_and_content():
    rate = 48_000
    t = np.arange(rate * 2) / rate
    freq_hz = 440.0
    sig = (np.sin(2 * np.pi * freq_hz * t) * 12000).astype(np.int16)
    noise = np.random.default_rng(3).integers(-20000, 20000, len(sig)).astype(np.int16)
    asm = FrameAssembler(rate, 4, channel=1, frame_ms=30)
    frames = _push_in_blocks(asm, _interleave(noise, sig, noise, noise), [1440, 1000, 2048])
    out = np.concatenate([f.pcm for f in frames]).astype(np.float64)
    # 2 s in, at most one frame plus the resampler's latency held back
    assert 2 * CAPTURE_RATE_HZ - 2 * 480 <= len(out) <= 2 * CAPTURE_RATE_HZ
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    peak_hz = np.argmax(spectrum) * CAPTURE_RATE_HZ / len(out)
    assert peak_hz == pytest.approx(freq_hz, abs=1.0)
    t16 = np.arange(len(out)) / CAPTURE_RATE_HZ
    expected = np.sin(2 * np.pi * freq_hz * t16) * 12000
    middle = slice(1600, len(out) - 1600)  # away from the filter's start-up
    err = np.sqrt(np.mean((out[middle] - expected[middle]) ** 2))
    assert err < 12000 * 0.01  # within 1 % of full scale: same phase, same amplitude


def test_discontinuity_drops_partial_frame_and_reanchors():
    asm = FrameAssembler(CAPTURE_RATE_HZ, 1, channel=0, frame_ms=30)
    first = asm.push(np.arange(700, dtype=np.int16), 10.0)
    assert [f.t_seconds for f in first] == [10.0]
    later = asm.push(np.full(480, 5, dtype=np.int16), 20.0, discontinuity=True)
    assert len(later) == 1
    assert later[0].t_seconds == 20.0
    assert np.all(later[0].pcm == 5)  # the 220 leftover samples were discarded


def test_rejects_a_channel_the_input_does_not_have():
    with pytest.raises(ValueError, match="channel 2 does not exist"):
        FrameAssembler(16_000, 2, channel=2)
    with pytest.raises(ValueError, match="frame_ms"):
        FrameAssembler(16_000, 1, frame_ms=25)


_OPEN_AND_PROVOKE = """
import ctypes
{setup}
pa.get_device_count()
pa.terminate()
# a PCM that cannot exist: ALSA reports it through its error handler on every machine
asound = ctypes.CDLL("libasound.so.2")
handle = ctypes.c_void_p()
rc = asound.snd_pcm_open(ctypes.byref(handle), b"bargein_no_such_pcm", 0, 0)
assert rc < 0, rc
print("done")
"""


def _stderr_of(setup: str) -> str:
    code = textwrap.dedent(_OPEN_AND_PROVOKE).format(setup=setup)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    return proc.stderr


def test_alsa_and_jack_chatter_is_silenced_at_the_source():
    plain = _stderr_of("import pyaudio\npa = pyaudio.PyAudio()")
    assert "ALSA lib" in plain and "bargein_no_such_pcm" in plain  # the control shows it
    assert "jack" in plain.lower()  # no JACK server here: libjack complains without us
    quiet = _stderr_of(
        "from bargein.audio.alsa_quiet import open_pyaudio\n"
        "pa = open_pyaudio()"
    )
    assert "ALSA lib" not in quiet
    assert "jack" not in quiet.lower()
    assert quiet.strip() == ""
