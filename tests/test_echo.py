"""Echo control in the virtual room: reference, canceller, delay, echo-aware VAD, text guard.

The appliance's voice is espeak-ng speech enqueued into the room's playback ring;
the room's mic hears it back delayed, attenuated and reverberated. The echo
reference is the ring's tap, exactly as on a real device.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from speech import espeak_wav

from bargein.audio.echo_canceller import (
    PassThrough,
    SpeexCanceller,
    erle_db,
    make_canceller,
)
from bargein.audio.echo_delay import DelayEstimator
from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import (
    EchoAwareVad,
    echo_correlation,
    is_own_echo,
    normalise_tokens,
)
from bargein.audio.settings import EchoSettings, VadSettings
from bargein.audio.vad import SpeechEnded, SpeechStarted, VoiceDetector
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

APPLIANCE_TEXT = (
    "Here is the news summary for this morning. The city council approved the new "
    "cycle lanes along the river, and construction starts next month."
)
ESPEAK_RATE_HZ = 22_050


@pytest.fixture(scope="module")
def appliance_voice(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = tmp_path_factory.mktemp("echo") / "appliance.wav"
    return espeak_wav(APPLIANCE_TEXT, path, rate_hz=ESPEAK_RATE_HZ)


@pytest.fixture(scope="module")
def user_voice(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return espeak_wav("wait, stop please", tmp_path_factory.mktemp("echo") / "user.wav", "en-us")


def speaking_room(
    voice: np.ndarray, echo_gain_db: float, echo_delay_ms: float = 10.0, reverb_ms: float = 150.0,
    speaker_rate_hz: int = 16_000,
) -> tuple[VirtualRoom, EchoReference]:
    room = VirtualRoom(RoomSettings(
        echo_gain_db=echo_gain_db, echo_delay_ms=echo_delay_ms, reverb_ms=reverb_ms,
        noise_db=-55.0, speaker_rate_hz=speaker_rate_hz,
    ))
    reference = EchoReference(room.ring.rate_hz, room.ring.period_frames)
    room.ring.set_reference_tap(reference)
    room.ring.enqueue(voice, ESPEAK_RATE_HZ, utterance_id=1)
    room.ring.end_utterance(1)
    return room, reference


def voice_seconds(voice: np.ndarray) -> float:
    return len(voice) / ESPEAK_RATE_HZ


# ------------------------------------------------------------------ reference


def test_playback_tap_sees_every_period_with_its_dac_time(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=-10.0)
    room.advance(1.0)
    played = room.speaker_audio()
    assert reference.latest_dac_s() == pytest.approx(len(played) / room.speaker_rate_hz)
    start_s = 0.5
    got = reference.played_between(start_s, 800)
    first = round(start_s * room.speaker_rate_hz)
    np.testing.assert_allclose(got, played[first : first + 800] / 32768.0, atol=1e-6)


def test_reference_for_a_frame_is_what_reaches_the_mic(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=0.0, echo_delay_ms=30.0,
                                    reverb_ms=0.0)
    frames = room.advance(1.5)
    frame = frames[40]
    ref = reference.reference_for(frame, delay_s=0.030)
    echo = frame.pcm.astype(np.float64) / 32767.0
    assert np.sum(ref**2) > 0.01 * len(ref) * 1e-3  # the speaker was talking
    # The mic is the reference plus -55 dBFS noise: the difference is that noise.
    assert np.sqrt(np.mean((echo - ref) ** 2)) < 10 ** (-50 / 20)
    # Before the first period and in the future there is nothing.
    early = AudioFrame(np.zeros(480, np.int16), t_seconds=-1.0)
    assert not reference.reference_for(early, 0.0).any()
    late = AudioFrame(np.zeros(480, np.int16), t_seconds=room.now_s + 1.0)
    assert not reference.reference_for(late, 0.0).any()


def test_reference_from_a_48k_speaker_is_resampled_to_16k(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=0.0, echo_delay_ms=20.0,
                                    reverb_ms=0.0, speaker_rate_hz=48_000)
    frames = room.advance(1.5)
    mic = np.concatenate([f.pcm for f in frames[20:45]]).astype(np.float64) / 32767.0
    ref = np.concatenate([reference.reference_for(f, 0.020) for f in frames[20:45]])
    residual_db = 10 * np.log10(np.sum((mic - ref) ** 2) / np.sum(mic**2))
    assert residual_db < -25.0


# ------------------------------------------------------------------ canceller


@pytest.mark.parametrize("echo_gain_db", [-6.0, 6.0])
def test_speex_canceller_erle_above_10_db_after_convergence(appliance_voice, echo_gain_db):
    room, reference = speaking_room(appliance_voice, echo_gain_db=echo_gain_db)
    canceller = SpeexCanceller()
    mic, cleaned = [], []
    while room.now_s < voice_seconds(appliance_voice):
        frame = room.step()
        out = canceller.process(frame, reference.reference_for(frame, 0.005))
        assert out.t_seconds == frame.t_seconds and out.pcm.dtype == np.int16
        mic.append(frame.pcm)
        cleaned.append(out.pcm)
    converged = round(2.0 / 0.03)
    mic_after = np.concatenate(mic[converged:])
    assert erle_db(mic_after, np.concatenate(cleaned[converged:])) > 10.0
    # Without a reference nothing is cancelled.
    assert erle_db(mic_after, mic_after) == pytest.approx(0.0)


def test_canceller_choice_follows_settings():
    assert isinstance(make_canceller(EchoSettings(canceller="none")), PassThrough)
    assert isinstance(make_canceller(EchoSettings(device_aec=True)), PassThrough)
    assert isinstance(make_canceller(EchoSettings(canceller="speex")), SpeexCanceller)
    assert isinstance(make_canceller(EchoSettings()), SpeexCanceller)


def test_speex_canceller_rejects_frames_of_the_wrong_shape():
    canceller = SpeexCanceller()
    with pytest.raises(ValueError, match="blocks"):
        canceller.process(AudioFrame(np.zeros(100, np.int16), 0.0), np.zeros(100, np.float32))


# ------------------------------------------------------------------ delay


def test_delay_estimate_finds_40_ms_set_as_0(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=-10.0, echo_delay_ms=40.0)
    estimator = DelayEstimator(max_delay_s=0.3, window_s=2.0, update_s=0.5)
    while room.now_s < voice_seconds(appliance_voice) and estimator.delay_s is None:
        frame = room.step()
        estimator.add(frame.pcm, reference.reference_for(frame, 0.0))
    assert estimator.delay_s == pytest.approx(0.040, abs=0.002)


@pytest.mark.parametrize("latency_ms", [0.0, 120.0])
def test_echo_vad_measures_a_mis_set_latency(appliance_voice, latency_ms):
    """40 ms set as 0 is inside the filter; set as 120 ms the echo precedes its
    reference and the reference is realigned. Either way the delay is measured."""
    room, reference = speaking_room(appliance_voice, echo_gain_db=-6.0, echo_delay_ms=40.0)
    vad = EchoAwareVad(VadSettings(), EchoSettings(latency_ms=latency_ms), reference)
    assert vad.delay_s == pytest.approx(latency_ms / 1000.0)
    mic, cleaned = [], []
    while room.now_s < voice_seconds(appliance_voice):
        frame = room.step()
        vad.process(frame)
        mic.append(frame.pcm)
        cleaned.append(vad.last_cleaned.pcm)
    assert vad.delay_s == pytest.approx(0.040, abs=0.002)
    tail = round(2.0 / 0.03)
    assert erle_db(np.concatenate(mic[-tail:]), np.concatenate(cleaned[-tail:])) > 10.0


# ------------------------------------------------------------------ echo-aware VAD


def run_vads(room: VirtualRoom, reference: EchoReference, until_s: float, **echo):
    echo_vad = EchoAwareVad(VadSettings(), EchoSettings(**echo), reference)
    plain = VoiceDetector(VadSettings())
    echo_starts, plain_starts = [], []
    while room.now_s < until_s:
        frame = room.step()
        event = echo_vad.process(frame)
        if isinstance(event, SpeechStarted):
            echo_starts.append(event)
        if isinstance(plain.process(frame), SpeechStarted):
            plain_starts.append(frame.t_seconds)
    return echo_vad, echo_starts, plain_starts


@pytest.mark.parametrize("echo_gain_db", [-20.0, -10.0, 0.0, 6.0])
def test_echo_alone_starts_no_speech(appliance_voice, echo_gain_db):
    room, reference = speaking_room(appliance_voice, echo_gain_db)
    _, echo_starts, plain_starts = run_vads(room, reference, voice_seconds(appliance_voice) + 0.6)
    assert echo_starts == []
    if echo_gain_db >= -10.0:
        assert plain_starts  # the plain VAD does take the echo for a person


def test_user_over_minus_6_db_echo_is_detected_promptly(appliance_voice, user_voice):
    for at_s in (1.0, 4.0):
        room, reference = speaking_room(appliance_voice, echo_gain_db=-6.0)
        clip = room.add_clip(user_voice, CAPTURE_RATE_HZ, at_s, level_db=-20.0)
        magnitude = np.abs(clip.samples)
        true_onset_s = at_s + int(np.argmax(magnitude > 0.01 * magnitude.max())) / CAPTURE_RATE_HZ
        _, starts, _ = run_vads(room, reference, voice_seconds(appliance_voice) + 0.6)
        assert len(starts) >= 1, f"user at {at_s} s not detected"
        first = starts[0]
        assert abs(first.onset_s - true_onset_s) < 0.06
        assert first.decided_s - true_onset_s < 0.25
        assert all(s.onset_s >= at_s - 0.05 and s.onset_s <= clip.end_s for s in starts)


def test_silent_speaker_behaves_exactly_like_the_plain_vad(user_voice):
    room = VirtualRoom(RoomSettings(noise_db=-55.0))
    reference = EchoReference(room.ring.rate_hz, room.ring.period_frames)
    room.ring.set_reference_tap(reference)
    room.add_clip(user_voice, CAPTURE_RATE_HZ, 0.8, level_db=-26.0)
    echo_vad = EchoAwareVad(VadSettings(), EchoSettings(), reference)
    plain = VoiceDetector(VadSettings())
    echo_events, plain_events = [], []
    for frame in room.advance(3.5):
        echo_events.append(echo_vad.process(frame))
        plain_events.append(plain.process(frame))
        assert echo_vad.last_is_speech == plain.last_is_speech
        assert echo_vad.speaking == plain.speaking
    assert echo_events == plain_events
    assert any(isinstance(e, SpeechStarted) for e in echo_events)
    assert any(isinstance(e, SpeechEnded) for e in echo_events)


def test_filter_returns_the_cleaned_frame_and_process_reuses_it(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=0.0)
    vad = EchoAwareVad(VadSettings(), EchoSettings(), reference)
    mic, cleaned = [], []
    for _ in range(100):
        frame = room.step()
        out = vad.filter(frame)
        assert vad.filter(frame) is out
        vad.process(out)
        assert vad.last_cleaned is out
        mic.append(frame.pcm)
        cleaned.append(out.pcm)
    assert erle_db(np.concatenate(mic[50:]), np.concatenate(cleaned[50:])) > 10.0


def test_device_aec_turns_our_canceller_off(appliance_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=-20.0)
    vad = EchoAwareVad(VadSettings(), EchoSettings(device_aec=True), reference)
    assert isinstance(vad.canceller, PassThrough)
    assert vad.delay_estimator is None
    frame = room.advance(1.0)[-1]
    assert vad.filter(frame) is frame


# ------------------------------------------------------------------ text guard


@pytest.mark.parametrize(
    ("partial", "said", "echo"),
    [
        ("the city council approved", "the city council approved the new cycle lanes", True),
        ("city counsel approve the", "the city council approved the new cycle lanes", True),
        ("Cycle lanes, along", "new cycle lanes along the river", True),
        ("stop", "the city council approved the new cycle lanes", False),
        ("wait that's wrong", "the city council approved the new cycle lanes", False),
        ("lanes cycle new", "the city council approved the new cycle lanes", False),
        ("", "the city council", False),
        ("the council", "", False),
        ("the river and stop right now please", "lanes along the river and construction", False),
    ],
)
def test_is_own_echo(partial, said, echo):
    assert is_own_echo(partial, said.split()) is echo


def test_normalise_tokens_drops_punctuation_and_case():
    assert normalise_tokens("It's  TEN o'clock, OK?") == ["it's", "ten", "o'clock", "ok"]


def test_reference_tap_is_written_without_allocation(appliance_voice, tmp_path: Path):
    reference = EchoReference(16_000, 160, history_s=0.1)
    period = np.arange(160, dtype=np.int16)
    for k in range(50):  # wraps its ring several times
        reference.write(period, k * 0.01)
    got = reference.played_between(0.45, 160)
    np.testing.assert_allclose(got, period / 32768.0, atol=1e-7)


def test_perf_figures_quick():
    from bargein.bench.probes import echo as echo_perf

    figures = echo_perf.figures(quick=True)
    for key in ("aec_erle_db", "aec_us_per_frame", "aec_erle_db_speex",
                "echo_vad_starts_per_min_0db", "plain_vad_starts_per_min_0db",
                "echo_vad_user_recall_minus6db"):
        assert key in figures and math.isfinite(figures[key]), key
    assert figures["aec_erle_db"] > 10.0
    assert figures["aec_us_per_frame"] > 0.0
    assert figures["echo_vad_starts_per_min_0db"] < figures["plain_vad_starts_per_min_0db"]


def test_filter_then_process_gives_the_same_events_as_process(appliance_voice, user_voice):
    """The pipeline may call ``filter`` (its echo_filter) and then ``process`` on the result."""
    events = []
    for use_filter in (False, True):
        room, reference = speaking_room(appliance_voice, echo_gain_db=-6.0)
        room.add_clip(user_voice, CAPTURE_RATE_HZ, 3.0, level_db=-20.0)
        vad = EchoAwareVad(VadSettings(), EchoSettings(), reference)
        got = []
        while room.now_s < voice_seconds(appliance_voice) + 1.0:
            frame = room.step()
            event = vad.process(vad.filter(frame) if use_filter else frame)
            if event is not None:
                got.append(event)
        events.append(got)
    assert events[0] == events[1]
    assert any(isinstance(e, SpeechStarted) for e in events[0])


def test_text_guard_never_takes_a_short_command_for_a_similar_word():
    from bargein.audio.echo_vad import is_own_echo

    assert not is_own_echo("Wait.", ["at", "nine", "with", "the", "design"])
    assert not is_own_echo("stop", ["the", "shop", "is", "open"])
    assert is_own_echo("design", ["at", "nine", "with", "the", "design"])


# ------------------------------------------------------------------ double talk


def _first_sound_s(voice: np.ndarray) -> float:
    magnitude = np.abs(voice.astype(np.float64))
    return int(np.argmax(magnitude > 0.01 * magnitude.max())) / ESPEAK_RATE_HZ


@pytest.mark.parametrize("double_talk_correlation", [0.5, 0.0])
def test_person_talking_100_ms_into_playback_is_heard(
    appliance_voice, user_voice, double_talk_correlation
):
    """Double talk from the start: no echo-only audio has shown the echo's level yet.

    The double-talk detector (on by default) sees that the reference does not explain
    the mic and opens the gate; without it the cautious start value of the leak keeps
    the person out.
    """
    room, reference = speaking_room(appliance_voice, echo_gain_db=-6.0, echo_delay_ms=8.0)
    at_s = _first_sound_s(appliance_voice) + 0.1
    clip = room.add_clip(user_voice, CAPTURE_RATE_HZ, at_s, level_db=-20.0)
    vad, starts, _ = run_vads(room, reference, at_s + 1.5,
                              double_talk_correlation=double_talk_correlation)
    if double_talk_correlation == 0.0:
        assert starts == []
        return
    assert starts, "a person talking 100 ms into playback was not heard"
    assert at_s - 0.05 <= starts[0].onset_s <= clip.end_s
    assert starts[0].decided_s - at_s < 0.3


def test_echo_correlation_tells_echo_from_a_person(appliance_voice, user_voice):
    room, reference = speaking_room(appliance_voice, echo_gain_db=0.0, echo_delay_ms=10.0,
                                    reverb_ms=150.0)
    frames = room.advance(2.0)
    lag_samples = round(0.1 * CAPTURE_RATE_HZ)
    echo_values, person_values = [], []
    person = (user_voice.astype(np.float64) / 32768.0 * 10 ** (6 / 20)).astype(np.float32)
    for k, frame in enumerate(frames[20:60]):
        history = AudioFrame(np.zeros(len(frame.pcm) + lag_samples, np.int16),
                             t_seconds=frame.t_seconds - lag_samples / CAPTURE_RATE_HZ)
        ref = reference.reference_for(history, 0.0)
        if np.mean(ref[-len(frame.pcm):] ** 2) < 1e-4:
            continue  # a pause in the appliance's speech
        echo_values.append(echo_correlation(frame.pcm, ref))
        lo = (k * len(frame.pcm)) % (len(person) - len(frame.pcm))
        voice = person[lo : lo + len(frame.pcm)] * 32767.0
        mixed = np.clip(frame.pcm + voice, -32768, 32767).astype(np.int16)
        if np.mean(voice**2) > 4 * np.mean(frame.pcm.astype(np.float64) ** 2):
            person_values.append(echo_correlation(mixed, ref))
    assert len(echo_values) > 10 and len(person_values) > 3
    assert np.median(echo_values) > 0.7
    assert np.median(person_values) < 0.5


def test_an_echo_that_clips_the_mic_is_not_taken_for_a_person():
    """The Piper voice at +20 dB coupling drives the mic into clipping; the distortion is
    beyond the linear canceller, so a clipped frame's residual must not open the gate."""
    import soxr

    from bargein.tts.voice import load_voice

    voice = load_voice()
    pcm = np.concatenate([c.audio_float_array
                          for c in voice.synthesize(APPLIANCE_TEXT, varied=False)])
    loud = (soxr.resample(pcm, voice.rate_hz, ESPEAK_RATE_HZ) * 32767).astype(np.int16)
    room, reference = speaking_room(loud, echo_gain_db=20.0)
    _, echo_starts, plain_starts = run_vads(room, reference, voice_seconds(loud) + 0.6)
    assert np.abs(room.mic_audio().astype(np.int32)).max() >= 32000  # it does clip
    assert plain_starts and echo_starts == []
