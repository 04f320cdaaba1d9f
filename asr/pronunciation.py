"""Whether two ears heard the same sounds: phone-level agreement between two transcripts.

pocketsphinx's open decode and its phrase judge often disagree on the spelling of a
short command but not on its sounds: "stop" heard as "top" (T AA P inside S T AA P),
"quiet" as "dwight" (W AY .. T inside K W AY AH T). Words are compared here as the
phone strings of a pronouncing dictionary (the CMU dictionary bundled with the
pocketsphinx wheel, for English), by their longest common subsequence of phones.

Two readings *sound alike* when the shared phones

- are at least ``MIN_SHARED_PHONES`` (3): one or two phones agree by chance;
- explain most of what the open decode heard (``MIN_HEARD_SHARE`` of its phones), so it
  heard nothing else;
- cover at least ``MIN_JUDGED_SHARE`` of the judged phrase: "okay" heard does not
  confirm "okay stop" (3 of 7 phones), so a backchannel never confirms a command
  that merely starts like it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

MIN_SHARED_PHONES = 3
MIN_HEARD_SHARE = 0.75
MIN_JUDGED_SHARE = 0.5

Phones = tuple[str, ...]
SoundsAlike = Callable[[Sequence[str], Sequence[str]], bool]


def dictionary_lines(path: Path) -> Iterator[tuple[str, str]]:
    """The entries of a CMU-format pronouncing dictionary (``word PH ON ES``, variants
    as ``word(2)``), as (token in lower case, phones)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            token, _, phones = line.strip().partition(" ")
            if phones.strip():
                yield token.lower(), phones.strip()


def read_dictionary(path: Path) -> dict[str, Phones]:
    """The first pronunciation of each word of a CMU-format dictionary (``word(2)``
    variants skipped), stress marks dropped."""
    entries: dict[str, Phones] = {}
    for word, phones in dictionary_lines(path):
        if "(" not in word:
            entries.setdefault(word, tuple(p.rstrip("012") for p in phones.split()))
    return entries


def shared_phones(a: Phones, b: Phones) -> int:
    """Length of the longest common subsequence of two phone strings."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


class Pronunciations:
    """Phones of words from one pronouncing dictionary."""

    def __init__(self, entries: dict[str, Phones]) -> None:
        self._entries = entries

    def phones(self, tokens: Sequence[str]) -> Phones | None:
        """The phones of ``tokens`` in order; None if a token is not in the dictionary."""
        out: list[str] = []
        for token in tokens:
            phones = self._entries.get(token.lower())
            if phones is None:
                return None
            out.extend(phones)
        return tuple(out)

    def sounds_alike(self, judged: Sequence[str], heard: Sequence[str]) -> bool:
        """Whether the open decode's ``heard`` words are the ``judged`` phrase misspelt
        (see the module docstring); False when either has a word the dictionary lacks."""
        p, h = self.phones(judged), self.phones(heard)
        if not p or not h:
            return False
        shared = shared_phones(p, h)
        return (shared >= MIN_SHARED_PHONES and shared >= MIN_HEARD_SHARE * len(h)
                and shared >= MIN_JUDGED_SHARE * len(p))


@functools.lru_cache(maxsize=2)
def pronunciations_for(language: str) -> Pronunciations | None:
    """The pronouncing dictionary for ``language`` (English: pocketsphinx's bundled CMU
    dictionary), read once per process; None for a language without one."""
    if language != "en":
        log.info("no pronouncing dictionary for %r: a spotted command counts only where the "
                 "open decode heard nothing confident (no sound-alike check)", language)
        return None
    from bargein.asr.pocketsphinx_model import ModelMissingError, bundled_model

    try:
        path = bundled_model().dict_path
    except ModelMissingError as exc:
        log.warning("no pronouncing dictionary (%s): the phrase judge's verdicts count only "
                    "at their own score", exc)
        return None
    return Pronunciations(read_dictionary(path))
