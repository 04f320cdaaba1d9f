"""What the listener actually heard when the voice stopped, from the playback position.

The playback ring reports how much of the utterance has come out of the speaker
(``played_s``); synthesis reports the samples every word occupies. Together they give
the words fully heard, the word cut mid-way and the words never played, and a
progress measured in samples, not characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bargein.tts.speech import WordSpan


@dataclass(frozen=True)
class Heard:
    """The split of an utterance's words at the moment playback stopped.

    ``resume_from_s`` is where to restart so no word is lost: the start of the word cut
    mid-way, else of the first word never played, else ``played_s``.
    """

    words_heard: tuple[str, ...]
    word_cut: str | None
    words_unplayed: tuple[str, ...]
    progress_pct: float
    played_s: float
    resume_from_s: float

    @property
    def remainder(self) -> tuple[str, ...]:
        """The words to say again to finish the utterance (the cut word included)."""
        return ((self.word_cut,) if self.word_cut else ()) + self.words_unplayed


def what_was_heard(
    words: Sequence[WordSpan], rate_hz: int, played_s: float, total_samples: int
) -> Heard:
    """Split ``words`` (utterance-relative spans at ``rate_hz``) at ``played_s``.

    ``total_samples`` is the length of the utterance's audio known so far; a word ends
    "heard" only once its last sample has played.
    """
    played_samples = max(0, round(played_s * rate_hz))
    heard: list[str] = []
    unplayed: list[str] = []
    cut: str | None = None
    resume_sample: int | None = None
    for span in sorted(words, key=lambda w: w.start_sample):
        if span.end_sample <= played_samples:
            heard.append(span.text)
        elif span.start_sample >= played_samples:
            unplayed.append(span.text)
            if resume_sample is None:
                resume_sample = span.start_sample
        else:
            cut = span.text
            resume_sample = span.start_sample
    if total_samples > 0:
        progress_pct = 100.0 * min(played_samples, total_samples) / total_samples
    else:
        progress_pct = 0.0
    resume_from_s = resume_sample / rate_hz if resume_sample is not None else max(0.0, played_s)
    return Heard(
        words_heard=tuple(heard),
        word_cut=cut,
        words_unplayed=tuple(unplayed),
        progress_pct=round(progress_pct, 2),
        played_s=max(0.0, played_s),
        resume_from_s=resume_from_s,
    )
