"""Spelling numbers the way a listener expects to hear them (US English)."""

from __future__ import annotations

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_DIGIT_NAMES = {str(d): _ONES[d] for d in range(10)}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def cardinal(n: int) -> str:
    """``1200`` → "one thousand two hundred"; ``-3`` → "minus three"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= 10**15:
        return digits(str(n))
    words: list[str] = []
    for scale, name in _SCALES:
        count, n = divmod(n, scale)
        if count:
            words += _below_thousand(count) + [name]
    if n or not words:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal(n: int) -> str:
    """``2`` → "second"; ``21`` → "twenty-first"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    stem, hyphen, unit = last.rpartition("-")
    if unit in _ORDINAL_IRREGULAR:
        unit = _ORDINAL_IRREGULAR[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head}{sep}{stem}{hyphen}{unit}"


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
    """Four-digit years: 1905 → "nineteen oh five", 2024 → "twenty twenty-four"."""
    if not 1000 <= n <= 9999 or n % 1000 < 10 and n // 1000 == 2:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


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
