"""Piper on the simulator's own thread, so the virtual clock waits for synthesis."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from bargein.tts.normalise import sentences as split_for_tts
from bargein.tts.speech import SpeechChunk
from bargein.tts.synth import render_sentence
from bargein.tts.voice import Voice

CACHE_TEXTS = 512
"""Rendered texts kept (a suite's answers are a few hundred distinct sentences' worth)."""


class InlineSpeech:
    """Piper on the loop's thread, with a cache: the virtual clock waits for synthesis.

    Synthesis is not varied (Piper's noise scales at zero), so the same text gives the
    same audio in every run and under every strategy: the benchmark is repeatable.
    The cache saves the repeated synthesis; it is shared by the runs of one process (a
    benchmark renders the same answers for every strategy) and keeps the
    :data:`CACHE_TEXTS` texts used last.
    """

    _cache: collections.OrderedDict[tuple[str, float], tuple[SpeechChunk, ...]] = (
        collections.OrderedDict())

    def __init__(self, voice: Voice, length_scale: float = 1.0) -> None:
        self.voice = voice
        self.length_scale = length_scale
        self._offsets: dict[int, int] = {}
        self._index: dict[int, int] = {}
        self._ready: list[SpeechChunk] = []

    def _render(self, text: str, length_scale: float) -> tuple[SpeechChunk, ...]:
        key = (text, length_scale)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
        else:
            chunks = []
            for sentence in split_for_tts(text):
                chunk_text = text[sentence.char_start:sentence.char_end]
                chunks.append(render_sentence(self.voice, sentence, 0, 0, 0, chunk_text,
                                              False, length_scale, varied=False))
            cached = self._cache[key] = tuple(chunks)
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)
        return cached

    def say(self, text: str, utterance_id: int, last: bool, length_scale: float = 1.0) -> None:
        pace = self.length_scale * length_scale
        rendered = self._render(text, pace) if text.strip() else ()
        offset = self._offsets.get(utterance_id, 0)
        index = self._index.get(utterance_id, 0)
        for i, chunk in enumerate(rendered):
            words = tuple(
                dataclasses.replace(w, start_sample=w.start_sample + offset,
                                    end_sample=w.end_sample + offset)
                for w in chunk.words
            )
            self._ready.append(SpeechChunk(
                utterance_id, index, chunk.text, chunk.pcm, chunk.rate_hz, offset, words,
                last and i == len(rendered) - 1,
            ))
            offset += len(chunk.pcm)
            index += 1
        if last and not rendered:
            self._ready.append(SpeechChunk(utterance_id, index, "", np.zeros(0, np.float32),
                                           self.voice.rate_hz, offset, (), True))
        self._offsets[utterance_id], self._index[utterance_id] = offset, index

    def cancel(self) -> None:
        self._ready.clear()

    def poll(self) -> list[SpeechChunk]:
        out, self._ready = self._ready, []
        return out
