"""The words the appliance said: one ledger per run, kept by the pipeline.

For each utterance it keeps the text the machine asked to be spoken and the word spans
Piper rendered for it, as the chunks are queued on the playback ring (sample offsets
from the utterance's start, at its rate). The pipeline's text echo guard reads it
(which words is the speaker saying now), the conversation's memory reads it (what the
appliance said, once played out) and the bench reads it (which words came out and
when). The state machine is fed the same spans by the ``SpeechChunkQueued`` event, its
only input, so it stays a pure function of its events.

Only the last :data:`KEEP_UTTERANCES` utterances are kept: a daemon runs for months.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bargein.tts.speech import WordSpan

KEEP_UTTERANCES = 64
"""Utterances remembered (the echo guard needs the one playing; the bench, a run's)."""


@dataclass
class SpokenUtterance:
    """One utterance: what was asked to be said, and the spans of its rendered words."""

    utterance_id: int
    rate_hz: int = 0
    words: list[WordSpan] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Everything asked to be said in it, in order."""
        return " ".join(self.texts)

    def words_near(self, played_s: float, before_s: float, after_s: float) -> list[str]:
        """The words overlapping ``before_s`` before to ``after_s`` after ``played_s``
        seconds into the utterance."""
        if not self.rate_hz:
            return []
        lo, hi = played_s - before_s, played_s + after_s
        rate = self.rate_hz
        return [w.text for w in self.words if lo <= w.end_sample / rate and w.start_sample / rate <= hi]

    def words_ended_by(self, played_s: float, start: int = 0) -> Iterable[tuple[int, WordSpan]]:
        """(index, word) of the words from ``start`` on that have ended by ``played_s``."""
        if not self.rate_hz:
            return
        for i in range(start, len(self.words)):
            word = self.words[i]
            if word.end_sample / self.rate_hz > played_s + 1e-9:
                return
            yield i, word


class WordLedger:
    """Utterance id -> :class:`SpokenUtterance`, the newest :data:`KEEP_UTTERANCES`."""

    def __init__(self, keep: int = KEEP_UTTERANCES) -> None:
        self.keep = keep
        self._utterances: collections.OrderedDict[int, SpokenUtterance] = collections.OrderedDict()

    def _entry(self, utterance_id: int) -> SpokenUtterance:
        entry = self._utterances.get(utterance_id)
        if entry is None:
            entry = self._utterances[utterance_id] = SpokenUtterance(utterance_id)
            while len(self._utterances) > self.keep:
                self._utterances.popitem(last=False)
        return entry

    def said(self, utterance_id: int, text: str) -> None:
        """The machine asked for ``text`` to be spoken as part of the utterance."""
        self._entry(utterance_id).texts.append(text)

    def queued(self, utterance_id: int, rate_hz: int, words: Sequence[WordSpan]) -> None:
        """A rendered chunk of the utterance went onto the ring with these word spans."""
        entry = self._entry(utterance_id)
        entry.rate_hz = rate_hz
        entry.words.extend(words)

    def get(self, utterance_id: int | None) -> SpokenUtterance | None:
        """The utterance, if it is still remembered."""
        return None if utterance_id is None else self._utterances.get(utterance_id)

    def utterance_ids(self) -> list[int]:
        """The remembered utterances, oldest first."""
        return list(self._utterances)
