"""The oracle recognizer used by the benchmark when no English Vosk model is installed.

It knows what each user clip says (the scenario's words) and where the clip's voiced
span lies on the capture clock. It spreads the words over that span in proportion
to their length and releases each one as a growing :class:`Partial` a fixed latency
after the word ends, then a :class:`Final` a latency after the span ends. This
isolates the barge-in logic from recognition accuracy while keeping a realistic
recognition delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from bargein.asr.results import Final, Partial, Word


@dataclass(frozen=True)
class OracleUtterance:
    """What a clip says and where its voiced audio lies (capture-clock seconds)."""

    text: str
    onset_s: float
    end_s: float


def _spread_words(utt: OracleUtterance) -> tuple[Word, ...]:
    tokens = utt.text.split()
    if not tokens:
        return ()
    weights = [len(t) + 1 for t in tokens]
    total = float(sum(weights))
    span = utt.end_s - utt.onset_s
    words, t = [], utt.onset_s
    for token, weight in zip(tokens, weights):
        dur = span * weight / total
        words.append(Word(token, t, t + dur, 1.0))
        t += dur
    return tuple(words)


class OracleRecognizer:
    """Releases known words as partials and finals on the capture clock.

    Call :meth:`poll` with the current time; it returns the results whose release
    time has passed since the last call, in order.
    """

    def __init__(self, utterances: list[OracleUtterance], latency_s: float = 0.150) -> None:
        self.latency_s = latency_s
        self._pending: list[tuple[float, Partial | Final]] = []
        for utt in utterances:
            words = _spread_words(utt)
            for i, word in enumerate(words):
                shown = words[: i + 1]
                text = " ".join(w.text for w in shown)
                release = word.end_s + latency_s
                self._pending.append((release, Partial(text, shown, release)))
            if words:
                release = utt.end_s + latency_s
                self._pending.append((release, Final(utt.text, words, release)))
        self._pending.sort(key=lambda item: item[0])
        self._next = 0

    def poll(self, now_s: float) -> list[Partial | Final]:
        """Results released at or before ``now_s`` and not yet returned."""
        out = []
        while self._next < len(self._pending) and self._pending[self._next][0] <= now_s:
            out.append(self._pending[self._next][1])
            self._next += 1
        return out

    @property
    def done(self) -> bool:
        return self._next >= len(self._pending)
