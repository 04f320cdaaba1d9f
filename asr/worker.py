"""The ASR worker thread: decoding off the capture thread, behind a bounded queue.

Vosk decodes at roughly real time on a Pi; run on the reading thread it would
make the capture side overflow. The capture thread only calls :meth:`AsrWorker.submit`,
which never blocks: when the queue is full the frame is dropped and counted, and
the burst is logged once, with its size, when frames get through again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pathlib import Path

from bargein.asr.model import load_model, model_dir_from
from bargein.asr.recognizer import AsrEvent, StreamingRecognizer, check_frame
from bargein.asr.settings import AsrSettings
from bargein.asr.spotter import make_spotter, parse_phrases
from bargein.audio.frames import AudioFrame

log = logging.getLogger(__name__)

_POLL_S = 0.1


@dataclass(frozen=True)
class _Reset:
    t_seconds: float


@dataclass(frozen=True)
class _Finish:
    pass


class AsrWorker:
    """Feeds every recognizer (spotter first: it is the fast one) on one thread.

    Events go to ``on_event`` (called on the worker thread) or, without one, to the
    :attr:`events` queue.
    """

    def __init__(
        self,
        recognizers: Sequence[StreamingRecognizer],
        *,
        queue_frames: int,
        on_event: Callable[[AsrEvent], None] | None = None,
    ) -> None:
        self._recognizers = sorted(recognizers, key=lambda r: r.source != "spotter")
        self._queue: queue.Queue[AudioFrame | _Reset | _Finish] = queue.Queue(queue_frames)
        self.events: queue.Queue[AsrEvent] = queue.Queue()
        self._on_event = on_event or self.events.put
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asr-worker", daemon=True)
        self.dropped_frames = 0
        self._burst_frames = 0
        self._burst_s = 0.0
        self.errors = 0

    @classmethod
    def from_settings(
        cls,
        settings: AsrSettings,
        state_dir: str | Path,
        on_event: Callable[[AsrEvent], None] | None = None,
    ) -> AsrWorker:
        """The configured model's recognizer (and spotter); not started yet."""
        model_dir = model_dir_from(settings, state_dir)
        model = load_model(model_dir)
        recognizers = [StreamingRecognizer(model, partial_words=settings.partial_words)]
        if settings.command_spotter:
            spotter = make_spotter(model, model_dir, parse_phrases(settings.command_phrases))
            if spotter is not None:
                recognizers.append(spotter)
        return cls(recognizers, queue_frames=settings.queue_frames, on_event=on_event)

    def start(self) -> AsrWorker:
        self._thread.start()
        return self

    def submit(self, frame: AudioFrame) -> bool:
        """Queue a frame for decoding without waiting; False if it was dropped.

        A frame that is not 16 kHz mono int16 raises ValueError here, on the caller.
        """
        check_frame(frame)
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped_frames += 1
            self._burst_frames += 1
            self._burst_s += frame.duration_s
            return False
        if self._burst_frames:
            self._log_burst()
        return True

    def _log_burst(self) -> None:
        log.warning(
            "ASR input queue was full: dropped %d frames (%.0f ms of audio; %d in total)",
            self._burst_frames, self._burst_s * 1000, self.dropped_frames,
        )
        self._burst_frames = 0
        self._burst_s = 0.0

    def reset(self, t_seconds: float, timeout_s: float = 1.0) -> None:
        """Drop the utterance in progress; audio submitted later starts at ``t_seconds``."""
        self._queue.put(_Reset(t_seconds), timeout=timeout_s)

    def finish(self, timeout_s: float = 1.0) -> None:
        """Flush the utterance in progress once the frames queued before it are decoded."""
        self._queue.put(_Finish(), timeout=timeout_s)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread (frames still queued are discarded); raise if it does not end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise RuntimeError(f"ASR worker did not stop within {timeout_s} s")
        if self._burst_frames:
            self._log_burst()

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            try:
                self._handle(item)
                failing = False
            except Exception:  # the loop's boundary: log, count, go on with the next frame
                self.errors += 1
                if not failing:
                    log.exception("ASR worker failed on %s; continuing", type(item).__name__)
                failing = True

    def _handle(self, item: AudioFrame | _Reset | _Finish) -> None:
        for rec in self._recognizers:
            if isinstance(item, _Reset):
                rec.reset(item.t_seconds)
                continue
            events = rec.finish() if isinstance(item, _Finish) else rec.accept(item)
            for event in events:
                self._on_event(event)
