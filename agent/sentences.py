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
_LAST_WORD = re.compile(r"([\w.]+)$")


def _is_boundary(text: str, match: re.Match[str]) -> bool | None:
    """Whether ``match`` ends a sentence; None while the next word has not arrived yet."""
    rest = text[match.end():].lstrip()
    if not rest:
        return None
    if "\n\n" in text[match.end(): match.end() + 4]:
        return True
    nxt = rest[0]
    punct = match.group(1)
    if "!" in punct or "?" in punct:
        return True
    if nxt.islower():
        return False  # "well... maybe", "e.g. this", an unknown abbreviation
    if punct in ("...", "…"):
        return True
    word_match = _LAST_WORD.search(text[: match.start()])
    word = word_match.group(1).lower() if word_match else ""
    if len(word) == 1 and word.isalpha() and text[match.start() - 1].isupper():
        return False  # an initial: "J. R. Tolkien"
    if word in ABBREVIATIONS and word not in _SENTENCE_FINAL_ABBREVIATIONS:
        return False
    return True


class SentenceSplitter:
    """Feed text pieces in; complete sentences come out as early as they are known."""

    def __init__(self) -> None:
        self._buffer = ""
        self._scan_from = 0

    def feed(self, piece: str) -> list[str]:
        """Add a piece of text; return the sentences it completed (stripped, in order)."""
        self._buffer += piece
        done: list[str] = []
        while True:
            found = None
            for match in _CANDIDATE.finditer(self._buffer, self._scan_from):
                verdict = _is_boundary(self._buffer, match)
                if verdict is None:
                    break  # wait for the next word before deciding
                if verdict:
                    found = match
                    break
                self._scan_from = match.end()
            if found is None:
                break
            sentence = self._buffer[: found.end()].strip()
            self._buffer = self._buffer[found.end():].lstrip()
            self._scan_from = 0
            if sentence:
                done.append(sentence)
        paragraph = self._buffer.find("\n\n")
        if paragraph > 0 and self._buffer[:paragraph].strip():
            done.append(self._buffer[:paragraph].strip())
            self._buffer = self._buffer[paragraph:].lstrip()
            self._scan_from = 0
        return done

    def flush(self) -> list[str]:
        """End of stream: the remainder is the last sentence, with or without punctuation."""
        rest = self._buffer.strip()
        self._buffer = ""
        self._scan_from = 0
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
