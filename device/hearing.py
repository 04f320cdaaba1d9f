"""What one stretch of speech over the voice has given as evidence so far.

A real recognizer's first tokens flicker ("who / we / when / wait" within 300 ms), its
pre-roll hands it the appliance's own echo residue ("the old fight ..." for "no, I
said ..."), and it finds words in coughs and doors. So the machine does not decide on
the first token of any partial; it decides on what :class:`Hearing` keeps:

- **words of this stretch only**: a word that ended before the onset belongs to the
  past, a word that began after the VAD's end belongs to the hangover, and a leading
  word that began before the onset and is one the appliance itself just said is its
  echo; none of them is evidence;
- **stable words**: the open decode's words that more than one of its hypotheses put
  in the same place (the leading words of the current hypothesis that an earlier one
  held at the same position, so a word that flickers away and back still counts once
  it came back), and a final's words at the recognizer's confidence
  (``min_word_conf``);
- **the other ears**: phrases the command spotter reported and still holds (see
  :meth:`Hearing.hear_spotted`), and the phrase judge's verdicts (:class:`Judged`) on
  the short utterance so far and on the whole of it;
- **the sound**: the span's voiced time, its level and the room's background speech
  level (:class:`~bargein.audio.speech_evidence.SpanEvidence`).

It is pure data with no clock and no I/O, part of the state machine's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bargein.asr.results import Word
from bargein.audio.speech_evidence import SpanEvidence

Tokens = tuple[str, ...]
Normalise = Callable[[str], Tokens]

MAX_PHRASE_WORDS = 4
PAST_MARGIN_S = 0.02
"""A word must end this long after the onset to belong to the stretch (word times are
10 ms frames, and the VAD dates its onset a frame or so late)."""


@dataclass(frozen=True)
class Judged:
    """The phrase judge's verdict: the phrase it named (empty: none), its score, and
    where its last word ends (capture clock; None without word times)."""

    tokens: Tokens
    conf: float
    end_s: float | None = None


@dataclass
class Hearing:
    """The evidence of one stretch of speech that began at ``onset_s``."""

    onset_s: float
    own_words: frozenset[str] = frozenset()
    """Tokens the appliance said in the seconds before the onset (its echo's vocabulary)."""
    end_s: float | None = None
    hypothesis: Tokens = ()
    stable: Tokens = ()
    seen: set[Tokens] = field(default_factory=set)
    """Every run of up to ``MAX_PHRASE_WORDS`` consecutive tokens that any hypothesis or
    final of this stretch held."""
    words_end_s: float | None = None
    final: Tokens | None = None
    """The final transcript's confident tokens, once it came."""
    final_all: Tokens = ()
    """Every token of the final transcript in the stretch, confident or not."""
    final_words: tuple[Word, ...] = ()
    """The final transcript's words in the stretch, with their times and confidence."""
    stable_before_final: Tokens = ()
    """The partials' stable tokens when the final came."""
    spotter_reports: list[Tokens] = field(default_factory=list)
    """Every report of the spotter in this stretch, in order, withdrawn ones too."""
    judged: Judged | None = None
    interims: list[Judged] = field(default_factory=list)
    """The phrase judge's verdicts on the utterance so far, while it goes on, in order."""
    sound: SpanEvidence | None = None
    _earlier_sound: SpanEvidence | None = None
    _settled: Tokens = ()
    _settled_all: Tokens = ()
    _held: set[tuple[int, str]] = field(default_factory=set)
    """(position, token) pairs earlier hypotheses held."""
    _spotter_settled: list[Tokens] = field(default_factory=list)
    _spotter_open: Tokens = ()

    def in_span(self, words: Sequence[Word]) -> list[Word]:
        """The words that belong to this stretch (see the module docstring)."""
        return [
            w for w in words
            if w.end_s > self.onset_s + PAST_MARGIN_S
            and (self.end_s is None or w.start_s < self.end_s)
        ]

    def _tokens(self, words: Sequence[Word], normalise: Normalise) -> Tokens:
        words = self.in_span(words)
        while words and words[0].start_s < self.onset_s and normalise(words[0].text) and \
                set(normalise(words[0].text)) <= self.own_words:
            words = words[1:]
        if words:
            self.words_end_s = max(self.words_end_s or words[-1].end_s, words[-1].end_s)
        return normalise(" ".join(w.text for w in words))

    def _note_end(self, tokens: Tokens, words_end_s: float | None) -> None:
        if tokens and words_end_s is not None:
            self.words_end_s = max(self.words_end_s or words_end_s, words_end_s)

    def hear_partial(self, text: str, words: Sequence[Word], normalise: Normalise,
                     words_end_s: float | None = None) -> None:
        """A new open-decode hypothesis: its words with times, or (a recognizer that gives
        none) its text and where its last word ends."""
        if words:
            tokens = self._tokens(words, normalise)
        else:
            tokens = normalise(text)
            self._note_end(tokens, words_end_s)
        stable = 0
        for position, token in enumerate(tokens):
            if (position, token) not in self._held:
                break
            stable += 1
        self._held.update(enumerate(tokens))
        self.stable = self._settled + tokens[:stable]
        self.hypothesis = self._settled + tokens
        self._see(self._settled_all + tokens)

    def hear_final(self, text: str, words: Sequence[Word], normalise: Normalise,
                   min_conf: float, words_end_s: float | None = None) -> Tokens:
        """The settled transcript; keeps and returns its confident tokens."""
        if words:
            self.final_words = tuple(self.in_span(words))
            self.final_all = self._settled_all + self._tokens(words, normalise)
            confident = [w for w in self.final_words if w.conf >= min_conf]
            tokens = self._settled + self._tokens(confident, normalise)
        else:
            tokens = normalise(text)
            self._note_end(tokens, words_end_s)
            tokens = self._settled + tokens
            self.final_all = self._settled_all + tokens[len(self._settled):]
        self._see(self.final_all)
        self.final = tokens
        self.stable_before_final = self.stable
        self.hypothesis = self.stable = tokens
        return tokens

    def confident_after(self, t_s: float, normalise: Normalise, min_conf: float) -> Tokens:
        """The final's confident tokens of the words that begin at or after ``t_s``."""
        later = [w for w in self.final_words
                 if w.start_s >= t_s - PAST_MARGIN_S and w.conf >= min_conf]
        return normalise(" ".join(w.text for w in later))

    @property
    def spotted(self) -> list[Tokens]:
        """The command spotter's phrases that stand: its settled results, then its newest
        open hypothesis (:meth:`hear_spotted`)."""
        if self._spotter_open and self._spotter_open not in self._spotter_settled:
            return [*self._spotter_settled, self._spotter_open]
        return list(self._spotter_settled)

    def hear_spotted(self, text: str, normalise: Normalise, settled: bool) -> Tokens:
        """A report of the command spotter; returns the open hypothesis it replaced when
        that no longer stands (withdrawn), else nothing.

        An open report is the spotter's hypothesis of its utterance so far (the Vosk
        grammar spotter's partials): the next report replaces it, so a phrase the spotter
        passed through and let go of ("맞아 -> 조용히 -> 맞아" for 맞아요) is withdrawn and
        no evidence. A ``settled`` report stands: the Vosk spotter's result at its
        endpoint, or a keyphrase detection (pocketsphinx never retracts one).
        """
        tokens = normalise(text)
        if not tokens:
            return ()
        self.spotter_reports.append(tokens)
        replaced, self._spotter_open = self._spotter_open, ()
        if not settled:
            self._spotter_open = tokens
        elif tokens not in self._spotter_settled:
            self._spotter_settled.append(tokens)
        return replaced if replaced not in self.spotted else ()

    def spotter_held(self, tokens: Tokens, held: Callable[[Tokens], bool]) -> bool:
        """Whether the spotter reported ``tokens`` right after a report for which ``held``
        is true (the same cut named twice running)."""
        reports = self.spotter_reports
        return any(reports[i] == tokens and held(reports[i - 1])
                   for i in range(1, len(reports)))

    def hear_judged(self, text: str, words: Sequence[Word], normalise: Normalise,
                    interim: bool = False, evidence: Callable[[Tokens], Tokens] | None = None
                    ) -> None:
        """The phrase judge's verdict on the whole utterance, or (``interim``) on the
        part of it heard so far; ``evidence`` keeps the part of its tokens that counts."""
        conf = min((w.conf for w in words), default=1.0 if text.strip() else 0.0)
        tokens = normalise(text)
        kept = evidence(tokens) if evidence is not None else tokens
        if len(kept) < len(tokens) and len(words) == len(tokens):
            words = words[:len(kept)]
        verdict = Judged(kept, conf, max((w.end_s for w in words), default=None))
        if interim:
            self.interims.append(verdict)
        else:
            self.judged = verdict

    @property
    def interim(self) -> Judged | None:
        """The judge's latest verdict on the utterance so far."""
        return self.interims[-1] if self.interims else None

    def hear_sound(self, sound: SpanEvidence) -> None:
        """The current span's sound; spans before it in this stretch add their voicing."""
        earlier = self._earlier_sound
        if earlier is not None:
            levels = [x for x in (earlier.level_dbfs, sound.level_dbfs) if x is not None]
            sound = SpanEvidence(
                duration_ms=earlier.duration_ms + sound.duration_ms,
                voiced_ms=earlier.voiced_ms + sound.voiced_ms,
                level_dbfs=max(levels) if levels else None,
                background_dbfs=earlier.background_dbfs,
            )
        self.sound = sound

    def continue_stretch(self) -> None:
        """The VAD heard speech again before this stretch was settled: one stretch, so its
        words may now run past the first span's end and its spans' voicing adds up."""
        self.end_s = None
        self._earlier_sound = self.sound

    def resume_stretch(self) -> None:
        """Speech again so soon after this stretch was settled (and let go) that it is the
        same utterance with a pause in it ("front ... left"): what was settled opens it,
        the new span's recognition goes on from there."""
        self.continue_stretch()
        if self.final is not None:
            self._settled, self._settled_all = self.final, self.final_all
        self.final, self._held = None, set()
        self.hypothesis = self.stable = self._settled

    def _see(self, tokens: Tokens) -> None:
        for n in range(1, MAX_PHRASE_WORDS + 1):
            self.seen.update(tokens[i:i + n] for i in range(len(tokens) - n + 1))

    def agrees(self, phrase: Tokens) -> bool:
        """The open decode heard the phrase, word for word, at some point of this stretch."""
        return phrase[:MAX_PHRASE_WORDS] in self.seen
