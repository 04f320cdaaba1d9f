"""The virtual room: echo, reverb, clips, noise, clock, and the unplugged mic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bargein.audio.playback import PlaybackRing
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.core.errors import AudioDeviceError
from bargein.core.frames import CAPTURE_RATE_HZ

QUIET = float("-inf")


def burst(seconds: float, rate_hz: int = 16_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(round(seconds * rate_hz))).clip(-1, 1).astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) / 32768.0)


def test_echo_appears_at_the_mic_with_the_gain_and_delay_asked():
    room = VirtualRoom(RoomSettings(echo_gain_db=-12.0, echo_delay_ms=40.0, noise_db=QUIET))
    room.ring.enqueue(burst(0.5), 16_000, utterance_id=1)
    room.advance(1.0)
    speaker = room.speaker_audio().astype(np.float64)
    mic = room.mic_audio().astype(np.float64)
    assert len(speaker) >= len(mic) >= 16_000
    delay = 640
    lags = [int(np.dot(mic[lag : lag + 6000], speaker[:6000])) for lag in range(0, 1200, 10)]
    assert int(np.argmax(lags)) * 10 == delay
    np.testing.assert_allclose(mic[delay : delay + 8000], speaker[:8000] * 10 ** (-12 / 20), atol=1.0)
    assert rms_db(mic[delay : delay + 8000]) - rms_db(speaker[:8000]) == pytest.approx(-12.0, abs=0.05)
    assert not mic[:delay].any()


def test_reverb_leaves_a_decaying_tail_after_the_speaker_stops():
    def tail_after_stop(reverb_ms: float) -> np.ndarray:
        room = VirtualRoom(RoomSettings(echo_gain_db=-6.0, echo_delay_ms=20.0, reverb_ms=reverb_ms, noise_db=QUIET))
        room.ring.enqueue(burst(0.3), 16_000, utterance_id=1)
        room.advance(1.0)
        stop = round((0.3 + 0.02) * CAPTURE_RATE_HZ)
        return room.mic_audio()[stop : stop + round(0.3 * CAPTURE_RATE_HZ)]

    assert not tail_after_stop(0.0).any()
    tail = tail_after_stop(200.0).astype(np.float64)
    early, late = tail[:800], tail[2400:3200]
    assert rms_db(early) > rms_db(late) + 20.0
    assert not tail[3300:].any()


def test_clip_is_resampled_placed_and_scaled_to_its_level():
    t = np.arange(22_050) / 22_050
    voice = (np.sin(2 * np.pi * 200 * t) * 0.8).astype(np.float32)
    voice[: 22_050 // 4] = 0.0  # a quarter second of silence that must not lower the level
    room = VirtualRoom(RoomSettings(noise_db=QUIET))
    clip = room.add_clip(voice, 22_050, at_s=0.5, level_db=-20.0)
    assert len(clip.samples) == CAPTURE_RATE_HZ
    room.advance(2.0)
    mic = room.mic_audio()
    assert not mic[:8000].any()
    assert np.abs(mic[8000 : 8000 + 4000 - 10]).max() < 0.01 * np.abs(mic).max()  # resampler ringing only
    active = mic[8000 + 4100 : 8000 + 16_000 - 100]
    assert rms_db(active) == pytest.approx(-20.0, abs=0.1)
    assert not mic[8000 + 16_000 + 10 :].any()


def test_noise_has_the_level_asked_and_repeats_with_the_seed():
    def record(seed: int) -> np.ndarray:
        room = VirtualRoom(RoomSettings(noise_db=-40.0, seed=seed))
        room.advance(1.0)
        return room.mic_audio()

    first = record(3)
    assert rms_db(first) == pytest.approx(-40.0, abs=0.3)
    np.testing.assert_array_equal(first, record(3))
    assert not np.array_equal(first, record(4))


def test_frames_are_timestamped_on_one_clock():
    room = VirtualRoom(RoomSettings(frame_ms=20))
    frames = room.advance(0.5)
    assert len(frames) == 25
    assert [f.t_seconds for f in frames] == pytest.approx([i * 0.02 for i in range(25)])
    assert all(len(f.pcm) == 320 and f.pcm.dtype == np.int16 for f in frames)
    assert room.now_s == pytest.approx(0.5)
    assert len(room.speaker_audio()) >= 8000


def test_a_cut_scheduled_mid_period_silences_the_speaker_within_period_plus_fade():
    room = VirtualRoom(RoomSettings(noise_db=QUIET))
    room.ring.enqueue(burst(1.0), 16_000, utterance_id=1)
    room.call_at(0.2043, lambda: room.ring.cut(fade_ms=5.0))
    room.advance(0.5)
    speaker = room.speaker_audio()
    assert np.count_nonzero(speaker[:3200]) > 3150  # it was playing before the cut
    silent_from = int(np.flatnonzero(speaker)[-1]) + 1
    assert 0.2043 < silent_from / 16_000 <= 0.2043 + 0.015
    assert silent_from / 16_000 <= 0.215  # the next period after the call, plus the fade


def test_unplugged_mic_raises_while_the_speaker_keeps_playing():
    room = VirtualRoom(RoomSettings(noise_db=-50.0))
    room.ring.enqueue(burst(1.0), 16_000, utterance_id=1)
    room.advance(0.3)
    room.unplug_mic()
    for _ in range(10):
        with pytest.raises(AudioDeviceError, match="replug_mic"):
            room.step()
    assert room.now_s == pytest.approx(0.6)
    room.replug_mic()
    frame = room.step()
    assert frame.t_seconds == pytest.approx(0.6)
    speaker = room.speaker_audio()
    assert np.count_nonzero(speaker[4800:9600]) > 4700
    mic = room.mic_audio()
    assert not mic[4800:9600].any() and mic[9600:].any()


def test_a_48k_ring_is_heard_at_16k_with_the_asked_gain():
    ring = PlaybackRing(48_000, 480)
    room = VirtualRoom(RoomSettings(echo_gain_db=-10.0, echo_delay_ms=10.0, noise_db=QUIET), ring=ring)
    t = np.arange(48_000) / 48_000
    ring.enqueue((0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 48_000, utterance_id=1)
    room.advance(1.2)
    assert len(room.speaker_audio()) >= 48_000 * 1.2
    heard = room.mic_audio()[2000:14000]
    assert rms_db(heard) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)) - 10.0, abs=0.2)
