"""What synthesis hands to playback: audio chunks that know where each word is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WordSpan:
    """One word of the text and the samples it occupies.

    Samples count from the start of the utterance (all chunks of one reply), at the
    chunk's ``rate_hz``. ``char_start``/``char_end`` locate the word in the
    utterance's text. ``approx`` is set when the span could not be read from the
    phoneme timings alone (espeak merged this word with a neighbour, or the voice
    gives no timings) and was cut by phoneme matching or proportionally.
    """

    text: str
    start_sample: int
    end_sample: int
    char_start: int = -1
    char_end: int = -1
    approx: bool = False


@dataclass(frozen=True)
class SpeechChunk:
    """One synthesized sentence of an utterance.

    ``pcm`` is float32 in [-1, 1], mono, at ``rate_hz``; ``offset_samples`` is where
    it starts within the utterance, so word spans are utterance-relative.
    """

    utterance_id: int
    index: int
    text: str
    pcm: np.ndarray
    rate_hz: int
    offset_samples: int
    words: tuple[WordSpan, ...]
    last: bool = False

    @property
    def end_samples(self) -> int:
        return self.offset_samples + len(self.pcm)
