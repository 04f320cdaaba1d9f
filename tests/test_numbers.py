"""One number speller: what the agent says and what the voice reads from digits agree."""

from __future__ import annotations

import pytest

from bargein.agent.numbers import duration_words, number_words
from bargein.core import numbers
from bargein.tts.normalise import normalise


def read_aloud(text: str) -> str:
    """The words (with their punctuation) the text normaliser gives Piper for ``text``."""
    return " ".join(w.text + w.punctuation for w in normalise(text))


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (42, "forty-two"),
        (105, "one hundred five"),
        (1200, "one thousand two hundred"),
        (2026, "two thousand twenty-six"),
        (1_000_105, "one million one hundred five"),
        (-3, "minus three"),
    ],
)
def test_numbers_are_spelled_us_style_without_and_or_commas(n: int, words: str) -> None:
    assert number_words(n) == words
    assert numbers.cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "written"),
    [(42, "42"), (105, "105"), (1200, "1,200"), (2026, "2,026"), (1_000_105, "1,000,105"),
     (7, "7")],
)
def test_agent_says_a_number_as_the_voice_reads_its_digits(n: int, written: str) -> None:
    # "2,026": the comma makes the normaliser read a cardinal, not the year.
    assert number_words(n) == read_aloud(written)


def test_agent_duration_matches_the_voice_reading_digits() -> None:
    seconds = 105 * 3600 + 42 * 60 + 1
    assert duration_words(seconds) == "one hundred five hours, forty-two minutes and one second"
    assert duration_words(seconds) == read_aloud("105 hours, 42 minutes and 1 second")


def test_spoken_words_of_a_number_all_point_at_its_digits() -> None:
    text = "Room 1,000,105 now"
    words = normalise(text)
    assert [(w.text, text[w.char_start:w.char_end]) for w in words] == [
        ("Room", "Room"), ("one", "1,000,105"), ("million", "1,000,105"),
        ("one", "1,000,105"), ("hundred", "1,000,105"), ("five", "1,000,105"), ("now", "now"),
    ]


def test_years_read_as_separate_spoken_words() -> None:
    assert numbers.year(1905).split() == ["nineteen", "oh", "five"]
    assert numbers.year(2005) == "two thousand five"
    assert numbers.year(2026) == "twenty twenty-six"


def test_long_digit_runs_are_read_digit_by_digit() -> None:
    assert numbers.cardinal(10**15) == "one " + " ".join(["zero"] * 15)
    assert numbers.ordinal(10**15 + 2).endswith("zero second")
