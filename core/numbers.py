"""Spelling numbers the way a listener expects to hear them (US English).

This is the appliance's one number speller: the text normaliser uses it for what
Piper says, and the local agent (:mod:`bargein.agent.numbers`) for what it says,
so "105" in an LLM reply and a 105-hour timer are spoken alike. The words come from
num2words (``lang="en"``), put into one US convention:

- no "and" inside a number and no commas: 105 → "one hundred five",
  1200 → "one thousand two hundred", 2026 → "two thousand twenty-six" (num2words
  writes the British "one hundred and five" / "one thousand, two hundred");
- tens and units joined by a hyphen, as num2words writes them: "forty-two" is one
  spoken word, which is what the word-to-span map and the alignment expect;
- years split into spoken words: 1905 → "nineteen oh five" (num2words: "oh-five").

The module imports nothing from ``bargein``, so it can move to a shared package
without change.
"""

from __future__ import annotations

# A declared dependency (pyproject.toml): "No module named 'num2words'" means the venv
# was installed before it was added; reinstalling bargein (pip install -e .) brings it.
from num2words import num2words

# Longer runs of digits are identifiers (an order number), read digit by digit.
_LARGEST_SPELLED = 10**15
_DIGIT_NAMES = dict(zip("0123456789", "zero one two three four five six seven eight nine".split()))


def _us_style(words: str) -> str:
    """num2words's English in the US convention above: no "and", no commas, "oh five"."""
    kept = (w for w in words.replace(",", " ").split() if w != "and")
    return " ".join(w.replace("oh-", "oh ") for w in kept)


def cardinal(n: int) -> str:
    """``105`` → "one hundred five"; ``-3`` → "minus three".

    Runs of 16 or more digits are identifiers, read digit by digit.
    """
    if abs(n) >= _LARGEST_SPELLED:
        return ("minus " if n < 0 else "") + digits(str(abs(n)))
    return _us_style(num2words(n, lang="en"))


def ordinal(n: int) -> str:
    """``21`` → "twenty-first"; ``105`` → "one hundred fifth" (``n`` ≥ 0)."""
    if n >= _LARGEST_SPELLED:
        head, last = divmod(n, 10)
        return f"{digits(str(head))} {ordinal(last)}"
    return _us_style(num2words(n, lang="en", to="ordinal"))


def digits(text: str) -> str:
    """Digit by digit: ``"05"`` → "zero five"."""
    return " ".join(_DIGIT_NAMES[c] for c in text if c in _DIGIT_NAMES)


def decimal(text: str) -> str:
    """``"3.5"`` → "three point five"; ``"-0.25"`` → "minus zero point two five"."""
    sign = ""
    if text.startswith(("-", "−")):
        sign, text = "minus ", text[1:]
    whole, _, frac = text.partition(".")
    spoken = cardinal(int(whole.replace(",", "") or "0"))
    if frac:
        spoken += " point " + digits(frac)
    return sign + spoken


def year(n: int) -> str:
    """Four-digit years: 1905 → "nineteen oh five", 2024 → "twenty twenty-four".

    Years of the form X00X (2005, 1000) and numbers outside 1000..9999 are read as
    cardinals: "two thousand five".
    """
    if not 1000 <= n <= 9999:
        return cardinal(n)
    return _us_style(num2words(n, lang="en", to="year"))


def plural(words: str) -> str:
    """The plural of a spelled number, for decades: "nineteen ninety" → "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def clock(hours: int, minutes: int) -> str:
    """``3, 30`` → "three thirty"; ``10, 5`` → "ten oh five"; ``3, 0`` → "three o'clock"."""
    spoken_hours = cardinal(hours)
    if minutes == 0:
        return f"{spoken_hours} o'clock" if hours <= 12 else f"{spoken_hours} hundred"
    if minutes < 10:
        return f"{spoken_hours} oh {cardinal(minutes)}"
    return f"{spoken_hours} {cardinal(minutes)}"


def speaks(language: str) -> bool:
    """Whether num2words spells numbers in ``language`` (its code: "en", "ko", "de", ...)."""
    from num2words import CONVERTER_CLASSES

    return language in CONVERTER_CLASSES


def cardinal_in(n: int, language: str) -> str:
    """``n`` spelled in ``language``: English in the US convention of :func:`cardinal`,
    any other language as num2words writes it (``cardinal_in(21, "ko")`` → "이십일")."""
    if language == "en":
        return cardinal(n)
    return num2words(n, lang=language)
