"""A streaming Vosk recognizer whose word times are on the capture clock.

Vosk reports word times in seconds of audio fed to the recognizer since it was
created (they keep counting across endpoints and ``Reset``); a
:class:`~bargein.asr.stream_clock.StreamClock` maps them onto the capture clock,
whose times can jump. Vosk times have a 30 ms frame resolution.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import vosk

from bargein.asr.engine import REPEAT_PARTIAL_S, AsrEvent, check_frame
from bargein.asr.results import Final, Partial, Word
from bargein.asr.stream_clock import StreamClock
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

__all__ = ["AsrEvent", "StreamingRecognizer", "check_frame"]


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
        self._clock = StreamClock(self.rate_hz)
        self._clock.restart_at(start_t_seconds)
        self._last_text = ""
        self._last_timed = False
        self._last_words: tuple[Word, ...] = ()
        self._last_report_s = 0.0

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
        if not text:
            return []
        if text == self._last_text:
            # The hypothesis held: say so again once REPEAT_PARTIAL_S more audio kept it
            # (the full decoder only; a spotter's phrase is reported once).
            if self.source != "asr" or \
                    self.t_seconds - self._last_report_s < REPEAT_PARTIAL_S - 1e-9:
                return []
            self._last_report_s = self.t_seconds
            return [Partial(text, self._last_words, self.t_seconds, self.source)]
        self._last_text = text
        words = self._words(result.get("partial_result", []))
        self._last_timed = bool(words)
        self._last_words, self._last_report_s = words, self.t_seconds
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
