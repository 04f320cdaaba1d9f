"""Splitting a stream of text pieces into sentences as soon as each one is complete.

Synthesis speaks sentence by sentence, so the first sentence of a reply can play
while the agent is still generating the rest. A sentence is complete at ``.``,
``!``, ``?`` or an ellipsis once the next non-space character shows it really
ended: "Dr. Smith", "3.5", "e.g. this" and "well... maybe" do not end a sentence,
while "It's late. Go" does. At the end of the stream whatever is left is the last
sentence, punctuated or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# Abbreviations that are followed by more of the same sentence (lowercase, no dot).
ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "vs", "e.g", "i.e", "cf",
     "approx", "fig", "no", "nos", "vol", "ca", "etc"}
)
# Of those, the ones that also end sentences when the next word is capitalised.
_SENTENCE_FINAL_ABBREVIATIONS = frozenset({"etc", "no"})

_CLOSERS = "\"')]}’”»"
# A candidate end: terminal punctuation (or an ellipsis), optional closers, then a space.
_CANDIDATE = re.compile(r"(\.\.\.|…|[.!?]+)[" + re.escape(_CLOSERS) + r"]*(?=\s)")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_SPACES = re.compile(r"\s*")
_WORD_WINDOW = 40
"""Characters looked back for the word before a full stop: longer words are no
abbreviation or initial, so the window never changes a verdict."""

MAX_SENTENCE_CHARS = 600
"""A sentence that runs longer (a runaway answer without full stops) is cut at its last
space before this, else at this: what waits in the splitter, and the work done on each
piece, stay bounded however long the answer is."""


def _is_boundary(text: str, match: re.Match[str]) -> bool | None:
    """Whether ``match`` ends a sentence; None while the next word has not arrived yet."""
    following = _NEXT_CHAR.match(text, match.end())
    if following is None:
        return None
    if "\n\n" in text[match.end(): match.end() + 4]:
        return True
    nxt = following.group(1)
    punct = match.group(1)
    if "!" in punct or "?" in punct:
        return True
    if nxt.islower():
        return False  # "well... maybe", "e.g. this", an unknown abbreviation
    if punct in ("...", "…"):
        return True
    word = _word_before(text, match.start())
    if len(word) == 1 and word.isalpha() and text[match.start() - 1].isupper():
        return False  # an initial: "J. R. Tolkien"
    if word in ABBREVIATIONS and word not in _SENTENCE_FINAL_ABBREVIATIONS:
        return False
    return True


def _word_before(text: str, end: int) -> str:
    """The word (letters, digits, dots) ending at ``end``, lowercased; looked back at most
    :data:`_WORD_WINDOW` characters."""
    index, floor = end, max(0, end - _WORD_WINDOW)
    while index > floor and (text[index - 1].isalnum() or text[index - 1] in "._"):
        index -= 1
    return text[index:end].lower()


def _trailing_punctuation_start(text: str, floor: int) -> int:
    """Where the run of end punctuation and closers at the end of ``text`` begins: a
    candidate there is only decided once the next piece shows what follows it."""
    index = len(text)
    while index > floor and text[index - 1] in ".!?…" + _CLOSERS:
        index -= 1
    return index


class SentenceSplitter:
    """Feed text pieces in; complete sentences come out as early as they are known.

    Each piece costs time in proportion to its length plus at most one unfinished
    sentence (``max_sentence_chars``): nothing already judged is scanned again.
    """

    def __init__(self, max_sentence_chars: int = MAX_SENTENCE_CHARS) -> None:
        self.max_sentence_chars = max_sentence_chars
        self._buffer = ""
        self._scan_from = 0  # candidates before this were judged not to end a sentence
        self._para_from = 0  # no paragraph break before this

    def _next_end(self, text: str, scan: int) -> tuple[int | None, int]:
        """(the index just past the next sentence end or None, where to scan next time)."""
        for match in _CANDIDATE.finditer(text, scan):
            verdict = _is_boundary(text, match)
            if verdict is None:
                return None, match.start()  # wait for the next word before deciding
            if verdict:
                return match.end(), match.end()
            scan = match.end()
        return None, max(scan, _trailing_punctuation_start(text, scan))

    def feed(self, piece: str) -> list[str]:
        """Add a piece of text; return the sentences it completed (stripped, in order)."""
        text = self._buffer + piece  # the buffer holds one unfinished sentence at most
        done: list[str] = []
        start, scan, para_from = 0, self._scan_from, self._para_from
        # The next sentence end and the next paragraph break stay valid until a cut
        # passes them: verdicts depend on the text only, so nothing is searched twice.
        end, next_scan = self._next_end(text, scan)
        paragraph = text.find("\n\n", para_from)
        while True:
            if paragraph >= 0 and (end is None or paragraph < end):
                cut = paragraph
            elif end is not None:
                cut = end
            elif len(text) - start > self.max_sentence_chars:
                limit = start + self.max_sentence_chars
                space = text.rfind(" ", start + self.max_sentence_chars // 2, limit)
                cut = space if space > 0 else limit
            else:
                scan = max(scan, next_scan)
                break
            sentence = text[start:cut].strip()
            if sentence:
                done.append(sentence)
            start = _SPACES.match(text, cut).end()
            if end is not None and end <= start:
                scan = end
                end, next_scan = self._next_end(text, max(start, scan))
            if 0 <= paragraph < start:
                para_from = start
                paragraph = text.find("\n\n", para_from)
        self._buffer = text[start:]
        self._scan_from = max(0, scan - start)
        self._para_from = max(0, len(text) - 1 - start)
        return done

    def flush(self) -> list[str]:
        """End of stream: the remainder is the last sentence, with or without punctuation."""
        rest = self._buffer.strip()
        self._buffer = ""
        self._scan_from = self._para_from = 0
        return [rest] if rest else []


def sentences(pieces: Iterable[str]) -> Iterator[str]:
    """Yield each sentence of a stream of text pieces as soon as it is complete."""
    splitter = SentenceSplitter()
    for piece in pieces:
        yield from splitter.feed(piece)
    yield from splitter.flush()


def split_sentences(text: str) -> list[str]:
    """The sentences of a whole text."""
    return list(sentences([text]))
