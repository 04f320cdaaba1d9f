"""The recognizer (Vosk or pocketsphinx) on the ASR worker thread, behind the pipeline's
``Recognition`` seam.

The daemon's loop must never wait for decoding: :class:`ThreadedAsr` hands the
utterance's frames to an :class:`~bargein.asr.worker.AsrWorker` (which drops and
counts frames rather than block when it falls behind) and collects its partials and
finals at each ``poll``. The benchmark's
:class:`~bargein.bench.virtual_asr.VirtualAsrWorker` is the same contract on the
virtual clock.
"""

from __future__ import annotations

import logging
import queue

from bargein.asr.results import Final, Partial
from bargein.asr.worker import AsrWorker
from bargein.core.frames import AudioFrame

log = logging.getLogger(__name__)

CONTROL_TIMEOUT_S = 0.0
"""How long the loop waits to queue an utterance's start or end: not at all."""


class ThreadedAsr:
    """``begin`` / ``feed`` / ``end`` an utterance's audio; ``poll`` the results so far."""

    def __init__(self, worker: AsrWorker) -> None:
        self.worker = worker
        self.skipped_controls = 0
        """Utterance starts and ends dropped because the worker's queue was full."""

    def begin(self, frames: list[AudioFrame]) -> None:
        if not frames:
            return
        try:
            self.worker.reset(frames[0].t_seconds, timeout_s=CONTROL_TIMEOUT_S)
        except queue.Full:
            self.skipped_controls += 1
            log.warning("ASR worker is behind (input queue full): utterance start at %.2f s "
                        "not queued; it decodes on from the previous one", frames[0].t_seconds)
        for frame in frames:
            self.worker.submit(frame)

    def feed(self, frame: AudioFrame) -> None:
        self.worker.submit(frame)

    def end(self, t_seconds: float) -> None:
        try:
            self.worker.finish(timeout_s=CONTROL_TIMEOUT_S)
        except queue.Full:
            self.skipped_controls += 1
            log.warning("ASR worker is behind (input queue full): no final result for the "
                        "utterance ending at %.2f s; the last partial stands", t_seconds)

    def poll(self, now_s: float) -> list[Partial | Final]:
        out: list[Partial | Final] = []
        while True:
            try:
                out.append(self.worker.events.get_nowait())
            except queue.Empty:
                return out

    def stop(self, timeout_s: float) -> None:
        self.worker.stop(timeout_s)

