"""What recognition hands to the barge-in logic: growing partials and finals."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """A recognised word with capture-clock times (seconds) and a confidence in [0, 1]."""

    text: str
    start_s: float
    end_s: float
    conf: float = 1.0


@dataclass(frozen=True)
class Partial:
    """The current hypothesis of an utterance still in progress.

    ``t_seconds`` is the capture-clock time of the audio the hypothesis covers up to.
    ``source`` says which recognizer produced it: ``"asr"`` (the full decoder) or
    ``"spotter"`` (the small command-word grammar recognizer).
    """

    text: str
    words: tuple[Word, ...]
    t_seconds: float
    source: str = "asr"


@dataclass(frozen=True)
class Final:
    """The settled transcript of an utterance.

    ``source`` as for :class:`Partial`, or ``"phrases"``: the phrase judge's verdict on
    a short utterance (the phrase-pack phrase it heard, ``""`` for none; its words'
    ``conf`` is the judge's acceptance score, see :mod:`bargein.asr.pocketsphinx_judge`).
    """

    text: str
    words: tuple[Word, ...]
    t_seconds: float
    source: str = "asr"
