"""Spoken numbers and durations: "fifteen", "2 minutes", "an hour and a half".

The local agent reads durations out of recognised speech (Vosk writes numbers as
words, typed text uses digits) and says them back as words, which every voice reads
the same way. Parsing is this module's own; spelling is the text normaliser's
(:mod:`bargein.core.numbers`), the appliance's one number speller.
"""

from __future__ import annotations

import re

# The one speller lives beside the text normaliser; agent and tts are siblings, so this
# import goes to the shared package when there is one (issue 16).
from bargein.core.numbers import cardinal

# Number words the parser understands (Vosk writes numbers as words).
_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_VALUES = {word: value for value, word in enumerate(_UNITS)}
_WORD_VALUES.update({word: 10 * i for i, word in enumerate(_TENS) if word})
_WORD_VALUES.update({"a": 1, "an": 1, "a couple of": 2, "couple of": 2})

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
_UNIT_PATTERN = r"(seconds?|secs?|minutes?|mins?|hours?|hrs?)"
_UNIT_NAMES = {"sec": "second", "min": "minute", "hr": "hour"}


def number_words(n: int) -> str:
    """``n`` as English words ("forty-two", "one hundred five").

    Spelled by the voice's own speller, :func:`bargein.core.numbers.cardinal`, so a
    number the agent says and the same number written as digits in any text the
    appliance reads aloud sound alike.
    """
    return cardinal(n)


_NUMBER_WORD = "|".join(sorted((re.escape(w) for w in _WORD_VALUES), key=len, reverse=True))
_NUMBER = rf"(\d+(?:\.\d+)?|(?:(?:{_NUMBER_WORD})[ -]?)+)"


def parse_number(text: str) -> float | None:
    """The first number in ``text``: digits ("15", "2.5") or words ("twenty five")."""
    for match in re.finditer(rf"\b{_NUMBER}\b", text.lower()):
        value = _number_value(match.group(1))
        if value is not None:
            return value
    return None


def _number_value(token: str) -> float | None:
    token = token.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    words = token.replace("-", " ").split()
    if words in (["a"], ["an"]):
        return None  # an article on its own is not a number ("a timer")
    total = 0
    for word in words:
        if word not in _WORD_VALUES:
            return None
        total += _WORD_VALUES[word]
    return float(total)


def parse_duration_s(text: str) -> float | None:
    """The duration spoken in ``text`` in seconds, or None.

    Adds up every "<number> <unit>" pair ("1 hour and 30 minutes"), understands "half
    an hour", "an hour and a half", "a 5 minute timer".
    """
    text = text.lower()
    total = 0.0
    found = False
    if re.search(r"\bhalf an? hour\b", text):
        total += 1800
        found = True
        text = re.sub(r"\bhalf an? hour\b", " ", text)
    for match in re.finditer(rf"\b{_NUMBER}\s*{_UNIT_PATTERN}\b", text):
        value = _number_value(match.group(1)) if match.group(1).strip() not in ("a", "an") else 1.0
        if value is None:
            continue
        unit = unit_name(match.group(2))
        seconds = value * UNIT_SECONDS[unit]
        if re.match(r"\s*and a half\b", text[match.end():]):
            seconds += UNIT_SECONDS[unit] / 2
        total += seconds
        found = True
    return total if found and total > 0 else None


def unit_name(token: str) -> str:
    """"mins" -> "minute"."""
    base = token.rstrip("s") if token not in ("s",) else token
    return _UNIT_NAMES.get(base, base)


def duration_words(seconds: float) -> str:
    """A duration as spoken: "two minutes", "one hour and thirty minutes"."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if value:
            parts.append(f"{number_words(value)} {unit}{'s' if value != 1 else ''}")
    if not parts:
        return "zero seconds"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
