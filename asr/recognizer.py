"""A streaming Vosk recognizer whose word times are on the capture clock.

Vosk reports word times in seconds of audio fed to the recognizer since it was
created (they keep counting across endpoints and ``Reset``). The capture clock can
jump: frames dropped by a full queue, or audio fed only around speech. So the
recognizer keeps anchors (samples fed so far, capture time of the next sample)
wherever the incoming frames' ``t_seconds`` do not continue the previous frame, and
maps every Vosk time through them. Vosk times have a 30 ms frame resolution.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import vosk

from bargein.asr.results import Final, Partial, Word
from bargein.audio.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

AsrEvent = Partial | Final

_GAP_TOLERANCE_S = 0.001
_MAX_ANCHORS = 256


def check_frame(frame: AudioFrame) -> None:
    """Raise ValueError unless ``frame`` is 16 kHz mono int16 (what Vosk is fed)."""
    pcm = frame.pcm
    if frame.rate_hz != CAPTURE_RATE_HZ:
        raise ValueError(
            f"ASR takes {CAPTURE_RATE_HZ} Hz audio, got a frame at {frame.rate_hz} Hz; "
            f"resample it (soxr) before the recognizer"
        )
    if not isinstance(pcm, np.ndarray) or pcm.ndim != 1 or pcm.dtype != np.int16:
        shape = getattr(pcm, "shape", "?")
        dtype = getattr(pcm, "dtype", type(pcm).__name__)
        raise ValueError(
            f"ASR takes mono int16 frames of shape (samples,), got {dtype} {shape}; "
            f"mix down to one channel first"
        )


class _StreamClock:
    """Maps seconds of audio fed to Vosk onto the capture clock."""

    def __init__(self, rate_hz: int) -> None:
        self._rate_hz = rate_hz
        self._fed_samples = 0
        self._anchor_fed: list[int] = []
        self._anchor_t: list[float] = []
        self.end_t_seconds = 0.0

    def _anchor(self, t_seconds: float) -> None:
        if self._anchor_fed and self._anchor_fed[-1] == self._fed_samples:
            self._anchor_t[-1] = t_seconds
        else:
            self._anchor_fed.append(self._fed_samples)
            self._anchor_t.append(t_seconds)
            if len(self._anchor_fed) > _MAX_ANCHORS:
                del self._anchor_fed[: _MAX_ANCHORS // 2]
                del self._anchor_t[: _MAX_ANCHORS // 2]
        self.end_t_seconds = t_seconds

    def restart_at(self, t_seconds: float) -> None:
        """The next sample fed is at ``t_seconds``."""
        self._anchor(t_seconds)

    def feed(self, t_seconds: float, samples: int) -> None:
        if not self._anchor_fed or abs(t_seconds - self.end_t_seconds) > _GAP_TOLERANCE_S:
            self._anchor(t_seconds)
        self._fed_samples += samples
        self.end_t_seconds = t_seconds + samples / self._rate_hz

    def to_capture(self, vosk_s: float) -> float:
        fed = vosk_s * self._rate_hz
        i = max(bisect.bisect_right(self._anchor_fed, fed + 0.5) - 1, 0)
        return self._anchor_t[i] + (fed - self._anchor_fed[i]) / self._rate_hz


class StreamingRecognizer:
    """One Vosk ``KaldiRecognizer`` fed 16 kHz mono int16 frames; not thread-safe.

    ``accept`` and ``finish`` return the events the audio produced: a :class:`Partial`
    whenever the hypothesis text changes, a :class:`Final` at each endpoint. With
    ``emit_finals=False`` (the command spotter) an endpoint's text is emitted as one
    more Partial instead, so consumers never take a spotter result for a transcript;
    it repeats the last partial's text when it adds the word times that one lacked.

    ``grammar`` restricts decoding to those phrases (Vosk grammar). ``rename`` maps
    model words to the words reported (``"STOP"`` -> ``"stop"``); ``ignore_words``
    (such as ``"[unk]"``) are left out of events.
    """

    def __init__(
        self,
        model: vosk.Model,
        *,
        grammar: Sequence[str] | None = None,
        partial_words: bool = True,
        source: str = "asr",
        emit_finals: bool = True,
        rename: Mapping[str, str] | None = None,
        ignore_words: frozenset[str] = frozenset(),
        start_t_seconds: float = 0.0,
    ) -> None:
        self.rate_hz = CAPTURE_RATE_HZ
        if grammar is None:
            self._rec = vosk.KaldiRecognizer(model, self.rate_hz)
        else:
            self._rec = vosk.KaldiRecognizer(
                model, self.rate_hz, json.dumps(list(grammar), ensure_ascii=False)
            )
        self._rec.SetWords(True)
        self._rec.SetPartialWords(partial_words)
        self.source = source
        self._emit_finals = emit_finals
        self._rename = dict(rename or {})
        self._ignore = ignore_words
        self._clock = _StreamClock(self.rate_hz)
        self._clock.restart_at(start_t_seconds)
        self._last_text = ""
        self._last_timed = False

    @property
    def t_seconds(self) -> float:
        """Capture-clock time just after the last sample fed."""
        return self._clock.end_t_seconds

    def accept(self, frame: AudioFrame) -> list[AsrEvent]:
        """Decode one frame; refuse anything but 16 kHz mono int16."""
        check_frame(frame)
        pcm = frame.pcm
        self._clock.feed(frame.t_seconds, len(pcm))
        if self._rec.AcceptWaveform(pcm.tobytes()):
            return self._settled(json.loads(self._rec.Result()))
        return self._partial(json.loads(self._rec.PartialResult()))

    def finish(self) -> list[AsrEvent]:
        """Flush the utterance in progress (end of input or of a turn)."""
        return self._settled(json.loads(self._rec.FinalResult()))

    def absorb(self, pcm: np.ndarray) -> None:
        """Decode 16 kHz mono int16 audio that reports nothing: a warm-up.

        Vosk composes the decoding graph lazily; audio decoded here builds the parts
        every utterance passes through, so the first real one is not slowed by it.
        Whatever it recognised is dropped at the next :meth:`reset`.
        """
        self._clock.feed(self._clock.end_t_seconds, len(pcm))
        self._rec.AcceptWaveform(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())

    def reset(self, t_seconds: float) -> None:
        """Drop the utterance in progress; the next audio fed starts at ``t_seconds``.

        Vosk's own ``Reset`` keeps the features still buffered, so the next utterance
        would begin with old audio; finalizing (result discarded) empties the pipeline.
        """
        self._rec.FinalResult()
        self._clock.restart_at(t_seconds)
        self._last_text = ""
        self._last_timed = False

    def _words(self, raw: list[dict[str, Any]]) -> tuple[Word, ...]:
        words = []
        for item in raw:
            text = self._rename.get(item["word"], item["word"])
            if item["word"] in self._ignore:
                continue
            words.append(
                Word(
                    text=text,
                    start_s=self._clock.to_capture(float(item["start"])),
                    end_s=self._clock.to_capture(float(item["end"])),
                    conf=float(item.get("conf", 1.0)),
                )
            )
        return tuple(words)

    def _text(self, text: str) -> str:
        return " ".join(self._rename.get(w, w) for w in text.split() if w not in self._ignore)

    def _partial(self, result: dict[str, Any]) -> list[AsrEvent]:
        text = self._text(result.get("partial", ""))
        if not text or text == self._last_text:
            return []
        self._last_text = text
        words = self._words(result.get("partial_result", []))
        self._last_timed = bool(words)
        return [Partial(text, words, self.t_seconds, self.source)]

    def _settled(self, result: dict[str, Any]) -> list[AsrEvent]:
        text = self._text(result.get("text", ""))
        last, self._last_text = self._last_text, ""
        last_timed, self._last_timed = self._last_timed, False
        if not text:
            return []
        words = self._words(result.get("result", []))
        if self._emit_finals:
            return [Final(text, words, self.t_seconds)]
        if text == last and (last_timed or not words):
            return []
        return [Partial(text, words, self.t_seconds, self.source)]
