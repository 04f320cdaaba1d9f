"""Soft onsets under the speaker's echo: frames the echo masks neither make nor break a start.

A person's first syllable can be followed by a stretch quiet enough for the echo
the canceller leaves to explain it (a stop closure, the break before the next
syllable). The segmenter treats such *masked* frames as no evidence once the run
has had a voice clearly above the echo; everything else keeps its old meaning.
"""

from __future__ import annotations

import pytest

from bargein.audio.vad import SpeechEnded, SpeechSegmenter, SpeechStarted

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
    assert feed(SpeechSegmenter(100, 300, masked_gap_ms=150), "VVV" + "m" * 6 + "V....") == []
    (_, event), = feed(SpeechSegmenter(100, 300, masked_gap_ms=150), "VVV" + "m" * 5 + "V")
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
