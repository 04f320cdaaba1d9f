"""Text normalisation: what the listener hears, and the map back to the original words."""

from __future__ import annotations

import pytest

from bargein.tts.markdown import strip_markdown
from bargein.tts.normalise import normalise, sentences, split_sentences


def spoken(text: str) -> str:
    return " ".join(s.text for s in sentences(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have 42 apples.", "I have forty-two apples."),
        ("Room 105 is free.", "Room one hundred five is free."),
        ("Exactly 2,026 votes.", "Exactly two thousand twenty-six votes."),
        ("The 105th day.", "The one hundred fifth day."),
        ("It is 3.5 metres.", "It is three point five metres."),
        ("About 1,200 people came.", "About one thousand two hundred people came."),
        ("The 2nd and 21st floors.", "The second and twenty-first floors."),
        ("Meet at 3:30.", "Meet at three thirty."),
        ("Leave at 10:05 pm.", "Leave at ten oh five p m."),
        ("Wake at 7am.", "Wake at seven a m."),
        ("At 3:00 sharp.", "At three o'clock sharp."),
        ("Ask Dr. Smith and Mr. Jones.", "Ask Doctor Smith and Mister Jones."),
        ("Fruit, e.g. apples, etc. are fine.", "Fruit, for example apples, et cetera are fine."),
        ("Down 5% today.", "Down five percent today."),
        ("It costs $5.", "It costs five dollars."),
        ("It costs $5.50.", "It costs five dollars fifty cents."),
        ("It costs $1.", "It costs one dollar."),
        ("Raised $3 million.", "Raised three million dollars."),
        ("Born in 1999.", "Born in nineteen ninety-nine."),
        ("Built in 1905.", "Built in nineteen oh five."),
        ("Since 2005.", "Since two thousand five."),
        ("Until 2026.", "Until twenty twenty-six."),
        ("Pages 5-7 only.", "Pages five to seven only."),
    ],
)
def test_spoken_forms(text: str, expected: str) -> None:
    assert spoken(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is **bold** and *italic* text.", "This is bold and italic text."),
        ("# Heading\nBody text.", "Heading. Body text."),
        ("- first item\n- second item", "first item. second item."),
        ("1. one step\n2. two steps", "one step. two steps."),
        ("Run `ls` now.", "Run ls now."),
        ("See [the docs](https://example.com/x) please.", "See the docs please."),
        ("Keep snake_case_names as they are.", "Keep snake_case_names as they are."),
    ],
)
def test_markdown_is_not_read_aloud(text: str, expected: str) -> None:
    assert spoken(text) == expected


def test_every_spoken_word_points_at_its_original_word() -> None:
    text = "Call **Dr. Lee** at 3:30, don't wait; it's $5.50 (the 2nd time)."
    words = normalise(text)
    pairs = [(w.text, text[w.char_start:w.char_end]) for w in words]
    assert pairs == [
        ("Call", "Call"), ("Doctor", "Dr"), ("Lee", "Lee"), ("at", "at"),
        ("three", "3:30"), ("thirty", "3:30"), ("don't", "don't"), ("wait", "wait"),
        ("it's", "it's"), ("five", "$5.50"), ("dollars", "$5.50"), ("fifty", "$5.50"),
        ("cents", "$5.50"), ("the", "the"), ("second", "2nd"), ("time", "time"),
    ]


def test_markdown_map_points_every_character_at_its_original() -> None:
    text = "## Title **x**\n- [a link](http://h/p) here"
    clean = strip_markdown(text)
    assert len(clean.origin) == len(clean.text)
    for char, origin in zip(clean.text, clean.origin):
        if char not in ".\n":  # inserted full stops point at the line's last character
            assert text[origin] == char


def test_sentences_split_and_keep_their_original_span() -> None:
    text = "First one. Second one!  Third?"
    parts = sentences(text)
    assert [p.text for p in parts] == ["First one.", "Second one!", "Third?"]
    assert [text[p.char_start:p.char_end] for p in parts] == ["First one.", "Second one!", "Third?"]


def test_long_text_without_full_stops_is_cut_into_short_sentences() -> None:
    text = ", ".join(["word"] * 2000)
    parts = split_sentences(normalise(text), max_chars=200)
    assert len(parts) > 10
    assert all(len(p.text) <= 2 * 200 + 10 for p in parts)
    assert sum(len(p.words) for p in parts) == 2000


def test_only_symbols_gives_no_words() -> None:
    assert normalise("** -- ``") == []
