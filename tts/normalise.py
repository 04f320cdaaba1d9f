"""Text normalisation a listener notices, with a map back to the original words.

LLM replies arrive with markdown, digits, times, currency and abbreviations;
espeak reads some of these badly ("$5.50" as "dollar five point five zero",
"Dr." as the end of a sentence). This turns the text into the words to speak,
each :class:`SpokenWord` knowing the character span of the original word it
came from ("3:30" → "three", "thirty", both pointing at "3:30"), and splits the
result into sentences that synthesis streams one at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bargein.core import numbers
from bargein.tts.markdown import strip_markdown

DEFAULT_MAX_SENTENCE_CHARS = 300

_TOKEN = re.compile(r"\S+")
_PARTS = re.compile(r"^([\"'“‘(\[{¿¡]*)(.*?)([\"'”’)\]},;:!?.…]*)$", re.S)
_TIME = re.compile(r"^(\d{1,2}):([0-5]\d)(?::[0-5]\d)?(am|pm|a\.m|p\.m)?$", re.I)
_HOUR_MERIDIEM = re.compile(r"^(\d{1,2})(am|pm|a\.m|p\.m)$", re.I)
_MERIDIEM = {"am": "a m", "pm": "p m", "a.m": "a m", "p.m": "p m"}
_MONEY = re.compile(r"^([$£€])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents")}
_SCALE_WORDS = {"thousand", "million", "billion", "trillion"}
_PERCENT = re.compile(r"^([-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)%$")
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$", re.I)
_DECADE = re.compile(r"^'?(\d{2}|1\d{3}|20\d{2})s$")
_RANGE = re.compile(r"^(\d+)[-–](\d+)$")
_NUMBER = re.compile(r"^([-−]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$")
_ABBREVIATIONS = {
    "dr.": "Doctor", "mr.": "Mister", "mrs.": "Missus", "ms.": "Miz", "prof.": "Professor",
    "jr.": "Junior", "sr.": "Senior", "e.g.": "for example", "eg.": "for example",
    "i.e.": "that is", "ie.": "that is", "etc.": "et cetera", "vs.": "versus", "vs": "versus",
    "approx.": "approximately", "no.": "number", "&": "and", "+": "plus", "=": "equals",
    "w/": "with", "w/o": "without",
}
# Abbreviations that may also end a sentence: their full stop is kept when the
# next word starts a sentence.
_MAY_END_SENTENCE = {"etc.", "approx."}
_PAUSE_TOKENS = {"-", "–", "—", "--", "...", "…", "*", "•", "|", "/"}
_SENTENCE_END = re.compile(r"[.!?]")
_CLAUSE_END = re.compile(r"[,;:]")


@dataclass(frozen=True)
class SpokenWord:
    """A word to speak and the original word it stands for.

    ``char_start``/``char_end`` locate the original word (without surrounding
    punctuation) in the text given to :func:`normalise`; ``token_end`` is where
    the original token ends including its trailing punctuation.
    """

    text: str
    char_start: int
    char_end: int
    token_end: int
    punctuation: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence to synthesize: its spoken text and its span in the original."""

    text: str
    words: tuple[SpokenWord, ...]
    char_start: int
    char_end: int


def normalise(text: str, at_line_start: bool = True) -> list[SpokenWord]:
    """The words to speak for ``text``, in order, with their trailing punctuation."""
    clean = strip_markdown(text, at_line_start)
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(clean.text)]
    words: list[SpokenWord] = []
    i = 0
    while i < len(tokens):
        consumed, spoken = _speak_token(tokens, i)
        tok_start = tokens[i][1]
        for k in range(consumed):
            token, start, end = tokens[i + k]
            lead, core, _ = _PARTS.match(token).groups()
            core_start = start + len(lead)
            core_end = core_start + len(core)
            if not core:  # punctuation only
                core_start, core_end = start, end
            for word in spoken[k]:
                words.append(SpokenWord(
                    word,
                    clean.origin[core_start],
                    clean.origin[max(core_end - 1, core_start)] + 1,
                    clean.origin[end - 1] + 1,
                ))
        trail = _trail(tokens, i, consumed)
        if trail and words and tokens[i + consumed - 1][1] >= tok_start:
            words[-1] = _with_punctuation(words[-1], trail)
        i += consumed
    return words


def _with_punctuation(word: SpokenWord, punct: str) -> SpokenWord:
    return SpokenWord(word.text, word.char_start, word.char_end, word.token_end,
                      _merge_punct(word.punctuation, punct))


def _merge_punct(have: str, new: str) -> str:
    if not have:
        return new
    if _SENTENCE_END.search(new) and not _SENTENCE_END.search(have):
        return new
    return have


def _trail(tokens: list[tuple[str, int, int]], i: int, consumed: int) -> str:
    """The punctuation to speak after the token(s) ``tokens[i:i+consumed]``."""
    token = tokens[i + consumed - 1][0]
    _, core, trail = _PARTS.match(token).groups()
    key = (core + trail[:1]).lower()
    if trail.startswith(".") and (key in _ABBREVIATIONS or core.lower() in ("a.m", "p.m")):
        trail = trail[1:]
        if not trail and (key in _MAY_END_SENTENCE or key in ("a.m.", "p.m.")):
            nxt = tokens[i + consumed][0] if i + consumed < len(tokens) else ""
            if not nxt or nxt.lstrip("\"'“‘(")[:1].isupper():
                trail = "."
    if core in _PAUSE_TOKENS or (not core and trail in _PAUSE_TOKENS):
        return ","
    spoken = "".join(c for c in trail if c in ".,;:!?…").replace("…", ",")
    if spoken.startswith("..") or spoken == ",.":
        return ","
    return spoken[:2]


def _speak_token(tokens: list[tuple[str, int, int]], i: int) -> tuple[int, list[list[str]]]:
    """How many tokens one reading consumes, and the spoken words of each."""
    token = tokens[i][0]
    _, core, trail = _PARTS.match(token).groups()
    nxt_core = _PARTS.match(tokens[i + 1][0]).group(2).lower() if i + 1 < len(tokens) else ""
    key = (core + trail[:1]).lower()
    if key in _ABBREVIATIONS and (trail[:1] == "." or key == core.lower()):
        return 1, [_ABBREVIATIONS[key].split()]
    if core.lower() in _ABBREVIATIONS:
        return 1, [_ABBREVIATIONS[core.lower()].split()]
    if not core or core in _PAUSE_TOKENS:
        return 1, [[]]
    m = _TIME.match(core)
    if m:
        spoken = numbers.clock(int(m.group(1)), int(m.group(2))).split()
        if m.group(3):
            return 1, [spoken + _MERIDIEM[m.group(3).lower()].split()]
        if nxt_core in _MERIDIEM and not trail:
            return 2, [spoken, _MERIDIEM[nxt_core].split()]
        return 1, [spoken]
    m = _HOUR_MERIDIEM.match(core)
    if m:
        return 1, [numbers.cardinal(int(m.group(1))).split() + _MERIDIEM[m.group(2).lower()].split()]
    m = _MONEY.match(core)
    if m:
        return _speak_money(m, nxt_core if not trail else "")
    m = _PERCENT.match(core)
    if m:
        return 1, [_speak_number(m.group(1)) + ["percent"]]
    m = _ORDINAL.match(core)
    if m:
        return 1, [numbers.ordinal(int(m.group(1))).split()]
    m = _DECADE.match(core)
    if m:
        value = int(m.group(1))
        spoken = numbers.cardinal(value) if value < 100 else numbers.year(value)
        return 1, [numbers.plural(spoken).split()]
    m = _RANGE.match(core)
    if m:
        return 1, [_speak_number(m.group(1)) + ["to"] + _speak_number(m.group(2))]
    if _NUMBER.match(core):
        if (nxt_core in _MERIDIEM or nxt_core.rstrip(".") in _MERIDIEM) and not trail:
            return 2, [_speak_number(core), _MERIDIEM[nxt_core.rstrip(".")].split()]
        return 1, [_speak_number(core)]
    if re.search(r"\d", core):
        return 1, [_split_alphanumeric(core)]
    return 1, [[core]]


def _speak_number(text: str) -> list[str]:
    m = _NUMBER.match(text)
    if not m:
        return numbers.digits(text).split()
    sign, whole, frac = m.groups()
    if frac:
        return numbers.decimal(sign + whole + frac).split()
    value = int(whole.replace(",", ""))
    if not sign and "," not in whole and len(whole) == 4 and 1100 <= value <= 2099:
        return numbers.year(value).split()
    if len(whole) > 1 and whole.startswith("0"):
        return numbers.digits(whole).split()
    return numbers.cardinal(-value if sign else value).split()


def _speak_money(m: re.Match[str], nxt_core: str) -> tuple[int, list[list[str]]]:
    one, many, cent, cents = _CURRENCY[m.group(1)]
    whole = int(m.group(2).replace(",", ""))
    frac = m.group(3)
    if nxt_core in _SCALE_WORDS:
        amount = _speak_number(m.group(2) + (f".{frac}" if frac else ""))
        return 2, [amount, [nxt_core, many]]
    spoken = numbers.cardinal(whole).split() + [one if whole == 1 else many]
    if frac:
        value = int(frac.ljust(2, "0"))
        if value:
            spoken += numbers.cardinal(value).split() + [cent if value == 1 else cents]
    return 1, [spoken]


def _split_alphanumeric(core: str) -> list[str]:
    """"COVID-19" → ["COVID", "nineteen"]; "A4" → ["A", "four"]."""
    words: list[str] = []
    for part in re.findall(r"\d+(?:\.\d+)?|[^\d\W]+(?:'[^\d\W]+)*", core):
        words += _speak_number(part) if part[0].isdigit() else [part]
    return words or [core]


def split_sentences(
    words: list[SpokenWord], max_chars: int = DEFAULT_MAX_SENTENCE_CHARS
) -> list[Sentence]:
    """Group words into sentences; very long ones are cut at a clause, else at a word.

    Cutting keeps a 20,000-character text without full stops streaming: each
    sentence is synthesized in one run of the model.
    """
    sentences: list[Sentence] = []
    current: list[SpokenWord] = []
    length = 0
    for word in words:
        current.append(word)
        length += len(word.text) + len(word.punctuation) + 1
        ends = bool(_SENTENCE_END.search(word.punctuation))
        if not ends and length >= max_chars and _CLAUSE_END.search(word.punctuation):
            ends = True
        if not ends and length >= 2 * max_chars:
            ends = True
        if ends:
            sentences.append(_sentence(current))
            current, length = [], 0
    if current:
        sentences.append(_sentence(current))
    return sentences


def _sentence(words: list[SpokenWord]) -> Sentence:
    text = " ".join(w.text + w.punctuation for w in words)
    return Sentence(text, tuple(words), words[0].char_start, max(w.token_end for w in words))


def sentences(text: str, max_chars: int = DEFAULT_MAX_SENTENCE_CHARS,
              at_line_start: bool = True) -> list[Sentence]:
    """Normalise ``text`` and split it into sentences."""
    return split_sentences(normalise(text, at_line_start), max_chars)
