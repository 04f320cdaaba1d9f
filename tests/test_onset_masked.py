"""Soft onsets under the speaker's echo: frames the echo masks neither make nor break a start.

A person's first syllable can be followed by a stretch quiet enough for the echo
the canceller leaves to explain it (a stop closure, the break before the next
syllable). The segmenter treats such *masked* frames as no evidence once the run
has had a voice clearly above the echo; everything else keeps its old meaning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import EchoAwareVad
from bargein.audio.settings import EchoSettings, VadSettings
from bargein.audio.vad import SpeechEnded, SpeechSegmenter, SpeechStarted
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.bench.espeak import espeak_native
from bargein.bench.recordings import read_recording
from bargein.core.frames import CAPTURE_RATE_HZ

FRAME_S = 0.03


def feed(segmenter: SpeechSegmenter, pattern: str, frame_s: float = FRAME_S) -> list:
    """'V' voiced and clear of the echo, 'v' voiced only unlike it (double talk),
    'm' masked by the echo, '.' unvoiced; returns (frame index, event) pairs."""
    events = []
    for i, mark in enumerate(pattern):
        event = segmenter.feed(mark in "Vv", i * frame_s, frame_s, masked=mark == "m",
                               clear=mark == "V")
        if event is not None:
            events.append((i, event))
    return events


def test_a_masked_pause_after_a_clear_syllable_keeps_the_start_at_the_syllable():
    (index, event), = feed(SpeechSegmenter(100, 300), "..VVVmmV...")
    assert isinstance(event, SpeechStarted)
    assert event.onset_s == pytest.approx(2 * FRAME_S)
    assert index == 7  # masked frames add nothing: 4 voiced frames are still needed


def test_the_same_pause_unvoiced_breaks_the_run_as_before():
    """Where the echo does not explain the pause it is silence: the start waits for a new run."""
    (index, event), = feed(SpeechSegmenter(100, 300), "..VVV..VVVV")
    assert event.onset_s == pytest.approx(7 * FRAME_S) and index == 10


def test_a_run_only_unlike_the_echo_is_not_carried_over_a_masked_pause():
    """Double-talk verdicts alone (a quiet television under the echo, say) are weak
    evidence: their masked frames count as unvoiced."""
    assert feed(SpeechSegmenter(100, 300), "..vvmmmmvv....") == []
    (_, event), = feed(SpeechSegmenter(100, 300), "..vvmvv..")  # one gap frame, as ever
    assert event.onset_s == pytest.approx(2 * FRAME_S)


def test_a_masked_pause_longer_than_the_limit_breaks_the_run():
    assert feed(SpeechSegmenter(100, 300, masked_gap_ms=90), "VVV" + "m" * 4 + "V....") == []
    (_, event), = feed(SpeechSegmenter(100, 300, masked_gap_ms=90), "VVV" + "m" * 3 + "V")
    assert event.onset_s == pytest.approx(0.0)


def test_masked_frames_alone_start_nothing_and_end_speech_like_silence():
    assert feed(SpeechSegmenter(100, 300), "m" * 30) == []
    events = feed(SpeechSegmenter(100, 300), "VVVV" + "m" * 12)
    assert [type(e) for _, e in events] == [SpeechStarted, SpeechEnded]
    assert events[1][0] == 4 + 10 - 1  # 300 ms of masked frames end it, like unvoiced ones


def test_without_masks_the_segmenter_is_unchanged():
    for pattern in ("..VV.VVV", "..VV..VVVV", "...VV........VV....", "VVVVVV.....VV" + "." * 12):
        plain = SpeechSegmenter(100, 300)
        marked = SpeechSegmenter(100, 300)
        old = [(i, e) for i, mark in enumerate(pattern)
               if (e := plain.feed(mark == "V", i * FRAME_S, FRAME_S)) is not None]
        assert feed(marked, pattern) == old


# ------------------------------------------------------------- a recorded voice under echo

APPLIANCE_TEXT = (
    "Here is the news summary for this morning. The city council approved the new "
    "cycle lanes along the river, and construction starts next month."
)
READING_CUTS_S = ((0.9, 3.0), (36.6, 38.5))
"""Two phrase starts of the moonshine reading, each a short first word ('It was ...')
after a pause: the first with the bench's cut, the second one it does not use."""
MOMENTS_S = (1.1, 1.55, 2.0, 2.45, 3.8, 5.15)
"""Where the phrase starts in the appliance's sentence (its echo differs at each)."""


def voice_onset_s(pcm: np.ndarray) -> float:
    """First 5 ms block 12 dB above the cut's quietest 50 ms (its background) and within
    40 dB of its peak: where a listener hears the voice begin."""
    power = (pcm[: len(pcm) // 80 * 80].astype(np.float64).reshape(-1, 80) ** 2).mean(axis=1)
    floor = np.convolve(power, np.ones(10) / 10, mode="valid").min()
    return float(np.argmax((power > floor * 10**1.2) & (power > power.max() * 1e-4))) * 0.005


@pytest.fixture(scope="module")
def readings() -> list[np.ndarray]:
    moonshine = pytest.importorskip("moonshine_voice")
    path = Path(moonshine.__file__).parent / "assets" / "two_cities.wav"
    return [read_recording(path, a, b) for a, b in READING_CUTS_S]


@pytest.fixture(scope="module")
def appliance() -> tuple[np.ndarray, int]:
    return espeak_native(APPLIANCE_TEXT, "en")


@pytest.mark.parametrize("cut", range(len(READING_CUTS_S)))
def test_a_recorded_soft_start_under_echo_is_dated_from_its_first_word(readings, appliance, cut):
    """Before, a short first word followed by a break the echo hides was dropped: the
    start was dated 175-300 ms late, from the next word, at some of these moments."""
    clip = readings[cut]
    onset_in_clip_s = voice_onset_s(clip)
    for at_s in MOMENTS_S:
        room = VirtualRoom(RoomSettings(echo_gain_db=-10.0, echo_delay_ms=10.0, reverb_ms=150.0,
                                        noise_db=-55.0))
        reference = EchoReference(room.ring.rate_hz, room.ring.period_frames)
        room.ring.set_reference_tap(reference)
        room.ring.enqueue(appliance[0], appliance[1], utterance_id=1)
        room.ring.end_utterance(1)
        room.add_clip(clip, CAPTURE_RATE_HZ, at_s, level_db=-20.0)
        vad = EchoAwareVad(VadSettings(), EchoSettings(), reference)
        onset_s = at_s + onset_in_clip_s
        starts = []
        while room.now_s < onset_s + 0.8:
            event = vad.process(room.step())
            if isinstance(event, SpeechStarted):
                starts.append(event)
        assert starts, f"the person at {at_s} s was not heard"
        first = starts[0]
        # the echo (and the recording's background before the voice) is not a person
        assert first.onset_s >= onset_s - 0.1, f"started at {first.onset_s:.2f} s on echo"
        # the first word is kept, and the start follows it by a few frames
        assert first.onset_s - onset_s < 0.1, f"first word dropped at {at_s} s"
        assert first.decided_s - onset_s < 0.3
