"""The playback ring buffer: cut, duck, pause/resume, resampling, position, underruns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soxr

from bargein.audio.playback import PlaybackRing
from bargein.bench.probes import playback as playback_perf

RATE_HZ = 16_000
PERIOD = 160  # 10 ms
FADE = 80  # 5 ms at 16 kHz


def tone(seconds: float, rate_hz: int = RATE_HZ, freq_hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def ramp_signal(seconds: float) -> np.ndarray:
    """Distinct, never-zero sample values so replayed samples can be recognised."""
    n = round(seconds * RATE_HZ)
    return (0.05 + 0.4 * (np.arange(n) % 997) / 997).astype(np.float32)


def as_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)


def play(ring: PlaybackRing, periods: int, first_period: int = 0, latency_s: float = 0.0) -> np.ndarray:
    out = np.zeros(ring.period_frames, dtype=np.int16)
    chunks = []
    for k in range(first_period, first_period + periods):
        ring.read_into(out, k * ring.period_frames / ring.rate_hz + latency_s)
        chunks.append(out.copy())
    return np.concatenate(chunks)


def rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) / 32768.0)


def test_plays_what_was_enqueued_and_finishes():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    source = ramp_signal(0.1)
    ring.enqueue(source, RATE_HZ, utterance_id=1)
    ring.end_utterance(1)
    played = play(ring, 12)
    np.testing.assert_array_equal(played[: len(source)], as_int16(source))
    assert not played[len(source) :].any()
    pos = ring.position()
    assert pos.utterance_id == 1 and pos.finished and not pos.playing
    assert pos.played_s == pytest.approx(0.1)
    assert ring.underruns == 0


def test_int16_input_is_played_unchanged():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    source = np.arange(-800, 800, dtype=np.int16) * 7
    ring.enqueue(source, RATE_HZ, utterance_id=1)
    np.testing.assert_array_equal(play(ring, 10), source)


def test_cut_is_silent_after_one_period_plus_fade_and_drops_the_rest():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.enqueue(tone(1.0), RATE_HZ, utterance_id=1)
    before = play(ring, 10)
    ring.cut(fade_ms=5.0)
    after = play(ring, 20, first_period=10)
    assert np.abs(before).max() > 10000
    fade = after[:FADE]
    assert np.abs(fade[:20]).max() > np.abs(fade[-20:]).max()
    assert not after[FADE:].any()
    pos = ring.position()
    assert pos.cut and not pos.playing and not pos.finished
    assert pos.queued_s == 0.0
    assert pos.played_s == pytest.approx((10 * PERIOD + FADE) / RATE_HZ)

    ring.enqueue(tone(0.2), RATE_HZ, utterance_id=1)  # late audio of the cut utterance
    assert not play(ring, 5, first_period=30).any()
    ring.enqueue(ramp_signal(0.05), RATE_HZ, utterance_id=2)
    np.testing.assert_array_equal(play(ring, 5, first_period=35), as_int16(ramp_signal(0.05)))
    assert ring.position().utterance_id == 2


def test_cut_while_paused_drops_the_queued_audio():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.enqueue(tone(1.0), RATE_HZ, utterance_id=1)
    play(ring, 3)
    ring.pause()
    play(ring, 3, first_period=3)
    ring.cut()
    ring.resume()
    assert not play(ring, 10, first_period=6).any()
    assert ring.position().queued_s == 0.0


def test_pause_right_after_a_cut_holds_the_next_utterance_until_resume():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.enqueue(tone(1.0), RATE_HZ, utterance_id=1)
    play(ring, 3)
    ring.cut()
    ring.pause()
    ring.enqueue(ramp_signal(0.2), RATE_HZ, utterance_id=2)
    held = play(ring, 10, first_period=3)
    assert not held[FADE:].any()
    assert ring.position().paused and ring.position().queued_s == pytest.approx(0.2)
    ring.resume()
    resumed = play(ring, 5, first_period=13)
    np.testing.assert_array_equal(resumed[FADE:], as_int16(ramp_signal(0.2))[FADE : 5 * PERIOD])


def test_duck_lowers_rms_by_the_db_asked_and_unduck_restores_it():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.enqueue(tone(2.0), RATE_HZ, utterance_id=1)
    full = play(ring, 20)
    ring.duck(12.0, ramp_ms=10.0)
    ramp = play(ring, 2, first_period=20)
    ducked = play(ring, 20, first_period=22)
    ring.unduck(ramp_ms=30.0)
    play(ring, 4, first_period=42)
    restored = play(ring, 20, first_period=46)
    assert rms_db(ducked) - rms_db(full) == pytest.approx(-12.0, abs=0.2)
    assert rms_db(restored) - rms_db(full) == pytest.approx(0.0, abs=0.2)
    # The ramp is smooth: no sample jumps more than the tone itself does.
    max_step = np.abs(np.diff(full.astype(np.int32))).max()
    assert np.abs(np.diff(ramp.astype(np.int32))).max() <= max_step + 2


@pytest.mark.parametrize("paused_first", [False, True])
def test_the_reply_after_a_cut_plays_at_full_volume_not_ducked(paused_first):
    """The duck belongs to the voice that was cut, also when it was paused first (a
    clarification): the demo's reply after a correction played 18 dB quieter when the
    cut left the duck gain behind."""
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.enqueue(tone(2.0), RATE_HZ, utterance_id=1)
    full = play(ring, 20)
    ring.duck(18.0, ramp_ms=10.0)
    play(ring, 5, first_period=20)
    if paused_first:
        ring.pause(fade_ms=5.0)
    play(ring, 5, first_period=25)
    ring.cut(fade_ms=5.0)
    play(ring, 5, first_period=30)
    ring.enqueue(tone(1.0), RATE_HZ, utterance_id=2)
    reply = play(ring, 20, first_period=35)
    assert rms_db(reply) - rms_db(full) == pytest.approx(0.0, abs=0.2)


def test_pause_keeps_audio_and_resume_plays_it_from_where_it_stopped():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    source = ramp_signal(1.0)
    ring.enqueue(source, RATE_HZ, utterance_id=1)
    play(ring, 5)
    ring.pause(fade_ms=5.0)
    paused = play(ring, 10, first_period=5)
    assert not paused[FADE:].any()
    pos = ring.position()
    assert pos.paused and not pos.playing
    assert pos.played_samples == 5 * PERIOD + FADE
    assert pos.queued_s == pytest.approx((len(source) - pos.played_samples) / RATE_HZ)
    assert ring.underruns == 0

    ring.resume()
    resumed = play(ring, 3, first_period=15)
    start = pos.played_samples
    np.testing.assert_array_equal(resumed[FADE:], as_int16(source[start + FADE : start + 3 * PERIOD]))
    assert np.abs(resumed[:FADE].astype(np.int32)).max() <= np.abs(as_int16(source[start : start + FADE])).max()
    assert not ring.position().paused


def test_resume_from_an_earlier_point_replays_those_samples():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    source = ramp_signal(1.0)
    ring.enqueue(source, RATE_HZ, utterance_id=1)
    play(ring, 30)
    ring.pause()
    play(ring, 3, first_period=30)
    ring.resume(from_utterance_s=0.1)
    replay = play(ring, 5, first_period=33)
    first = round(0.1 * RATE_HZ)
    np.testing.assert_array_equal(replay[FADE:], as_int16(source[first + FADE : first + 5 * PERIOD]))
    assert ring.position().played_samples == first + 5 * PERIOD


def test_enqueue_at_22050_hz_into_a_16k_ring_keeps_duration_and_joins_seamlessly():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    source = tone(1.0, rate_hz=22_050, freq_hz=300.0)
    edges = [0, 1000, 3307, 9000, 15001, 22050]
    for lo, hi in zip(edges, edges[1:]):
        ring.enqueue(source[lo:hi], 22_050, utterance_id=4)
    ring.end_utterance(4)
    assert ring.position().queued_s == pytest.approx(1.0, abs=0.001)
    played = play(ring, 100).astype(np.float32) / 32767.0
    whole = soxr.resample(source, 22_050, RATE_HZ)
    assert np.abs(played[: len(whole)] - whole).max() < 2e-3
    assert ring.position().finished


def test_position_subtracts_the_output_latency():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    ring.set_output_latency(0.05)
    ring.enqueue(tone(0.3), RATE_HZ, utterance_id=9)
    ring.end_utterance(9)
    play(ring, 20, latency_s=0.05)  # consumed 0.2 s; the last period reaches the speaker at 0.24 s
    pos = ring.position()
    assert pos.played_s == pytest.approx(0.15)
    assert pos.t_seconds == pytest.approx(0.20)
    assert pos.playing and pos.queued_s == pytest.approx(0.1)
    play(ring, 10, first_period=20, latency_s=0.05)  # everything consumed, 0.05 s still in flight
    pos = ring.position()
    assert pos.played_s == pytest.approx(0.25) and not pos.finished and pos.playing
    play(ring, 5, first_period=30, latency_s=0.05)
    pos = ring.position()
    assert pos.played_s == pytest.approx(0.3) and pos.finished


def test_underruns_are_counted_only_while_an_utterance_is_open():
    ring = PlaybackRing(RATE_HZ, PERIOD)
    play(ring, 5)
    assert ring.underruns == 0
    ring.enqueue(tone(0.05), RATE_HZ, utterance_id=1)
    play(ring, 8, first_period=5)
    assert ring.underruns == 3
    ring.end_utterance(1)
    play(ring, 5, first_period=13)
    assert ring.underruns == 3


def test_perf_figures_quick_are_present_and_finite():
    figures = playback_perf.figures(quick=True)
    for key in ("playback_cut_ms_p50", "playback_cut_ms_p95", "playback_callback_us"):
        assert math.isfinite(figures[key]) and figures[key] > 0
