"""Streaming synthesis: sentences become :class:`SpeechChunk` s one at a time.

A :class:`Synthesizer` owns one worker thread. ``speak()`` and the streamed
variant (:meth:`Synthesizer.open_stream`, fed as an LLM produces text) only
normalise and queue sentences; the worker synthesizes them in order and hands
each chunk to the sink as soon as it is ready, so the first sentence plays
while later ones are still being made. ``cancel()`` drops everything queued and
discards the sentence being synthesized: once it returns, no chunk of a
cancelled utterance reaches the sink.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bargein.tts.alignment import align_words
from bargein.tts.errors import SynthStopTimeout, TextError
from bargein.tts.normalise import (
    DEFAULT_MAX_SENTENCE_CHARS,
    Sentence,
    SpokenWord,
    sentences,
)
from bargein.tts.settings import TtsSettings
from bargein.tts.speech import SpeechChunk
from bargein.tts.voice import Voice, load_voice

log = logging.getLogger(__name__)

ChunkSink = Callable[[SpeechChunk], None]


def _no_words(text: str) -> TextError:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return TextError(f"nothing to speak in {shown!r}: give text with at least one word")


LIMIT_KNEE = 0.7
"""Above this (of full scale) a louder-than-1 volume bends peaks instead of clipping them."""


def louder(pcm: np.ndarray, gain: float) -> np.ndarray:
    """``pcm`` (float, its peaks at full scale, as Piper gives every sentence) ``gain``
    times louder without hard clipping: what the gain pushes above :data:`LIMIT_KNEE`
    is bent smoothly (tanh) toward full scale, never over it. At ``[tts] volume = 2``
    Piper's own clipping cut 0.8 % of the samples flat, which crackles."""
    out = pcm * np.float32(gain)
    level = np.abs(out)
    over = level > LIMIT_KNEE
    room = 1.0 - LIMIT_KNEE
    out[over] = np.sign(out[over]) * (LIMIT_KNEE + room * np.tanh((level[over] - LIMIT_KNEE)
                                                                  / room))
    return out


def render_sentence(
    voice: Voice,
    sentence: Sentence,
    utterance_id: int,
    index: int,
    offset_samples: int,
    text: str,
    last: bool = False,
    length_scale: float = 1.0,
    volume: float = 1.0,
    varied: bool = True,
) -> SpeechChunk:
    """Synthesize one sentence into a chunk whose word spans start at ``offset_samples``
    (``varied=False``: the same samples for the same text; see :meth:`Voice.synthesize`)."""
    # Piper scales each sentence's peak to full scale, then multiplies by its volume and
    # clips: louder than 1 is done here instead, without the hard clipping.
    pieces = voice.synthesize(sentence.text, length_scale, min(volume, 1.0), varied=varied)
    pcm = (
        np.concatenate([p.audio_float_array for p in pieces]).astype(np.float32, copy=False)
        if pieces
        else np.zeros(0, dtype=np.float32)
    )
    if volume > 1.0:
        pcm = louder(pcm, volume)
    words = align_words(sentence.words, pieces, voice.word_phonemes, offset_samples)
    return SpeechChunk(utterance_id, index, text, pcm, voice.rate_hz, offset_samples, words, last)


def iter_chunks(
    voice: Voice,
    text: str,
    utterance_id: int = 0,
    *,
    length_scale: float = 1.0,
    volume: float = 1.0,
    max_sentence_chars: int = DEFAULT_MAX_SENTENCE_CHARS,
) -> Iterator[SpeechChunk]:
    """Synthesize ``text`` on the calling thread, one chunk per sentence (CLI, perf)."""
    parts = sentences(text, max_sentence_chars)
    if not parts:
        raise _no_words(text)
    offset = 0
    for index, sentence in enumerate(parts):
        chunk = render_sentence(
            voice, sentence, utterance_id, index, offset,
            text[sentence.char_start:sentence.char_end], index == len(parts) - 1,
            length_scale, volume,
        )
        offset = chunk.end_samples
        yield chunk


def synthesize_all(voice: Voice, text: str, *, volume: float = 1.0) -> np.ndarray:
    """All of ``text`` as one float array at the voice's rate (demos, probes, clips)."""
    return np.concatenate([chunk.pcm for chunk in iter_chunks(voice, text, volume=volume)])


@dataclass
class _Utterance:
    """Worker-side progress of one utterance."""

    utterance_id: int
    offset_samples: int = 0
    index: int = 0
    failed: bool = False
    length_scale: float | None = None  # None = the synthesizer's pace


@dataclass(frozen=True)
class _Job:
    epoch: int
    utterance: _Utterance
    sentence: Sentence | None  # None: an end marker (an empty last chunk)
    text: str
    last: bool


class Synthesizer:
    """Piper on its own worker thread, delivering chunks to ``on_chunk`` in order.

    ``on_chunk`` runs on the worker thread and should be quick (put on a queue,
    write to the playback ring). A chunk with ``last=True`` ends each utterance;
    when a stream ends after its last sentence was already delivered, that
    marker is an empty chunk.
    """

    def __init__(
        self,
        voice: Voice,
        on_chunk: ChunkSink,
        *,
        length_scale: float = 1.0,
        volume: float = 1.0,
        max_sentence_chars: int = DEFAULT_MAX_SENTENCE_CHARS,
    ) -> None:
        self.voice = voice
        self.length_scale = length_scale
        self.volume = volume
        self.max_sentence_chars = max_sentence_chars
        self._on_chunk = on_chunk
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._epoch = 0
        # Held while delivering; cancel() takes it, so after cancel() returns no
        # chunk of a cancelled utterance is delivered. Re-entrant: a sink may cancel.
        self._deliver_lock = threading.RLock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="tts-synth", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, settings: TtsSettings, on_chunk: ChunkSink) -> Synthesizer:
        """A synthesizer for the ``[tts]`` config table (loads the voice once)."""
        return cls(
            load_voice(settings.voice or None), on_chunk,
            length_scale=settings.length_scale, volume=settings.volume,
        )

    def speak(self, text: str, utterance_id: int) -> None:
        """Queue ``text`` as one utterance; returns at once. Raises :class:`TextError` if empty."""
        parts = sentences(text, self.max_sentence_chars)
        if not parts:
            raise _no_words(text)
        self._check_running()
        utterance = _Utterance(utterance_id)
        epoch = self._epoch
        for i, sentence in enumerate(parts):
            chunk_text = text[sentence.char_start:sentence.char_end]
            self._jobs.put(_Job(epoch, utterance, sentence, chunk_text, i == len(parts) - 1))
        log.info("utterance %d: %d sentences queued (%d chars)", utterance_id, len(parts), len(text))

    def open_stream(self, utterance_id: int, length_scale: float | None = None) -> SpeechStream:
        """A stream that speaks text pieces (from an LLM) sentence by sentence as they complete.

        ``length_scale`` sets this utterance's pace (above 1 is slower: a repeat after "what
        was that?"); None keeps the synthesizer's own.
        """
        self._check_running()
        return SpeechStream(self, _Utterance(utterance_id, length_scale=length_scale), self._epoch)

    def cancel(self) -> None:
        """Drop every queued sentence and the one being synthesized, of every utterance."""
        with self._deliver_lock:
            self._epoch += 1
        log.info("synthesis cancelled")

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel what is queued and end the worker; raises if it does not end in time."""
        self.cancel()
        self._stopped = True
        self._jobs.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise SynthStopTimeout(
                f"the synthesis worker did not stop within {timeout_s:.1f} s: "
                "a sentence is too long to synthesize in time; lower max_sentence_chars"
            )

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check_running(self) -> None:
        if self._stopped:
            raise RuntimeError("this Synthesizer has been stopped: create a new one")

    def _enqueue(self, job: _Job) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.epoch != self._epoch or job.utterance.failed:
                continue
            try:
                chunk = self._render(job)
            except Exception:  # supervise at the worker's boundary: keep serving
                log.exception("utterance %d: synthesis failed, dropping the rest of it",
                              job.utterance.utterance_id)
                job.utterance.failed = True
                continue
            with self._deliver_lock:
                if job.epoch != self._epoch:
                    continue
                job.utterance.offset_samples = chunk.end_samples
                job.utterance.index += 1
                self._on_chunk(chunk)

    def _render(self, job: _Job) -> SpeechChunk:
        u = job.utterance
        if job.sentence is None:
            return SpeechChunk(u.utterance_id, u.index, "", np.zeros(0, dtype=np.float32),
                               self.voice.rate_hz, u.offset_samples, (), True)
        return render_sentence(
            self.voice, job.sentence, u.utterance_id, u.index, u.offset_samples,
            job.text, job.last,
            u.length_scale if u.length_scale is not None else self.length_scale, self.volume,
        )


class SpeechStream:
    """Text arriving in pieces (an LLM's tokens), spoken one complete sentence at a time.

    A sentence is complete when the text after it has started; :meth:`end` speaks
    the rest. Pieces fed after a ``cancel()`` are ignored. Not thread-safe: feed
    one stream from one thread.
    """

    def __init__(self, synth: Synthesizer, utterance: _Utterance, epoch: int) -> None:
        self._synth = synth
        self._utterance = utterance
        self._epoch = epoch
        self._text: list[str] = []
        self._buffer = ""
        self._consumed = 0  # characters of the utterance already queued as sentences
        self._queued = 0
        self._ended = False

    @property
    def text(self) -> str:
        """Everything fed so far: char spans of the word spans index into it."""
        return self._buffer

    @property
    def cancelled(self) -> bool:
        return self._epoch != self._synth._epoch

    def feed(self, piece: str) -> None:
        """Add text; queue every sentence it completes."""
        if self._ended:
            raise RuntimeError("feed() after end(): open a new stream for the next utterance")
        self._buffer += piece
        if self.cancelled:
            return
        parts = self._pending()
        for sentence in parts[:-1]:
            self._queue(sentence, last=False)
        if len(parts) > 1:
            self._consumed = parts[-2].char_end

    def end(self) -> None:
        """Queue the rest; the final chunk has ``last=True``. A stream that held no word
        (a reply with nothing to say) ends with an empty final chunk, as the simulator's
        speech does: an agent's empty answer must not stop the appliance."""
        if self._ended:
            return
        self._ended = True
        if self.cancelled:
            return
        parts = self._pending()
        for i, sentence in enumerate(parts):
            self._queue(sentence, last=i == len(parts) - 1)
        if not parts:
            self._synth._enqueue(_Job(self._epoch, self._utterance, None, "", True))

    def _pending(self) -> list[Sentence]:
        start = self._consumed
        rest = self._buffer[start:]
        parts = sentences(rest, self._synth.max_sentence_chars, at_line_start=start == 0)
        return [_shift(s, start) for s in parts]

    def _queue(self, sentence: Sentence, last: bool) -> None:
        text = self._buffer[sentence.char_start:sentence.char_end]
        self._synth._enqueue(_Job(self._epoch, self._utterance, sentence, text, last))
        self._queued += 1


def _shift(sentence: Sentence, delta: int) -> Sentence:
    if not delta:
        return sentence
    words = tuple(
        dataclasses.replace(w, char_start=w.char_start + delta, char_end=w.char_end + delta,
                            token_end=w.token_end + delta)
        for w in sentence.words
    )
    return Sentence(sentence.text, words, sentence.char_start + delta, sentence.char_end + delta)


__all__ = ["ChunkSink", "SpeechStream", "SpokenWord", "Synthesizer", "iter_chunks", "render_sentence"]
