"""What was heard, from the playback position and the word spans."""

from __future__ import annotations

import pytest

from bargein.device.heard import what_was_heard
from bargein.tts.speech import WordSpan

RATE_HZ = 16_000
# "one" 0.0-0.3 s, "two" 0.4-0.7 s, "three" 0.8-1.2 s; the audio runs to 1.5 s
WORDS = (
    WordSpan("one", 0, 4800),
    WordSpan("two", 6400, 11200),
    WordSpan("three", 12800, 19200),
)
TOTAL = 24000


def test_cut_mid_word():
    heard = what_was_heard(WORDS, RATE_HZ, 0.5, TOTAL)
    assert heard.words_heard == ("one",)
    assert heard.word_cut == "two"
    assert heard.words_unplayed == ("three",)
    assert heard.resume_from_s == pytest.approx(0.4)
    assert heard.remainder == ("two", "three")


def test_cut_between_words():
    heard = what_was_heard(WORDS, RATE_HZ, 0.35, TOTAL)
    assert heard.words_heard == ("one",)
    assert heard.word_cut is None
    assert heard.words_unplayed == ("two", "three")
    assert heard.resume_from_s == pytest.approx(0.4)


def test_before_anything_played():
    heard = what_was_heard(WORDS, RATE_HZ, -0.02, TOTAL)  # output latency not yet passed
    assert heard.words_heard == () and heard.word_cut is None
    assert heard.words_unplayed == ("one", "two", "three")
    assert heard.progress_pct == 0.0


def test_after_the_last_word():
    heard = what_was_heard(WORDS, RATE_HZ, 1.4, TOTAL)
    assert heard.words_heard == ("one", "two", "three")
    assert heard.words_unplayed == () and heard.word_cut is None
    assert heard.resume_from_s == pytest.approx(1.4)


def test_word_ending_exactly_at_the_position_counts_as_heard():
    heard = what_was_heard(WORDS, RATE_HZ, 0.3, TOTAL)
    assert heard.words_heard == ("one",) and heard.word_cut is None


def test_progress_is_in_samples_not_characters():
    # Half the audio played, but only 3 of 11 characters: progress is 50 %.
    assert what_was_heard(WORDS, RATE_HZ, 0.75, TOTAL).progress_pct == pytest.approx(50.0)
    assert what_was_heard(WORDS, RATE_HZ, 9.0, TOTAL).progress_pct == pytest.approx(100.0)
    assert what_was_heard(WORDS, RATE_HZ, 0.5, 0).progress_pct == 0.0


def test_spans_in_any_order():
    heard = what_was_heard(tuple(reversed(WORDS)), RATE_HZ, 0.9, TOTAL)
    assert heard.words_heard == ("one", "two") and heard.word_cut == "three"
