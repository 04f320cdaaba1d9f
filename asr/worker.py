"""The ASR worker thread: decoding off the capture thread, behind a bounded queue.

Vosk decodes at roughly real time on a Pi (pocketsphinx faster, but not free); run
on the reading thread it would make the capture side overflow. The capture thread only calls :meth:`AsrWorker.submit`,
which never blocks: when the queue is full the frame is dropped and counted, and
the burst is logged once, with its size, when frames get through again.

Vosk builds its decoding graph lazily (the lookahead composition of ``HCLr`` and
``Gr``) and keeps what it built for as long as the recognizer lives, so a
long-running recognizer's memory grows with the variety of what it has heard. The
worker therefore warms each new recognizer up with a short spoken clip (the first
real utterance is then decoded at full speed) and, every ``renew_after``
utterances, warms a fresh one up between utterances, a slice at a time so speech
never waits for it, and swaps it in. The old recognizer's graph is then freed, and
the worker hands the freed heap back to the OS (``malloc_trim``, tens of ms between
utterances): glibc would otherwise keep it resident, and the process would stay at
its largest size. The recognizers come from the configured engine
(:func:`~bargein.asr.engines.build_recognizers`): any :class:`Recognizer` will do.

Every item goes to the recognizers in one order: the command spotter (the fast one),
the phrase judge, then the main recognizer. So at an utterance's end the judge's
verdict (a Final with ``source="phrases"``) comes before the main recognizer's Final,
and whoever reads both has the judge's word when the transcript settles.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bargein.asr.engine import AsrEvent, Recognizer, check_frame
from bargein.asr.engines import build_recognizers
from bargein.asr.malloc_tuning import (
    HeapFigures,
    heap_figures,
    release_free_heap,
    resident_mb,
)
from bargein.asr.settings import AsrSettings
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

_POLL_S = 0.1
_WARM_SLICE_SAMPLES = 1600
"""Warm-up audio decoded per idle step of a renewal (100 ms: tens of ms of CPU)."""
RUN_ORDER = ("spotter", "phrases", "asr")
"""The order recognizers are fed and flushed in, by ``source``."""


def in_run_order(recognizers: Sequence[Recognizer]) -> list[Recognizer]:
    """``recognizers`` sorted by :data:`RUN_ORDER` (an unknown source runs last)."""
    return sorted(recognizers, key=lambda r: (RUN_ORDER.index(r.source)
                                              if r.source in RUN_ORDER else len(RUN_ORDER)))


@dataclass(frozen=True)
class _Reset:
    t_seconds: float


@dataclass(frozen=True)
class _Finish:
    """Queue marker: flush the utterance in progress."""


class AsrWorker:
    """Feeds every recognizer (in :data:`RUN_ORDER`: spotter, judge, main) on one thread.

    Events go to ``on_event`` (called on the worker thread) or, without one, to the
    :attr:`events` queue.
    """

    def __init__(
        self,
        recognizers: Sequence[Recognizer],
        *,
        queue_frames: int,
        on_event: Callable[[AsrEvent], None] | None = None,
        renew: Callable[[], Recognizer] | None = None,
        renew_after: int = 0,
    ) -> None:
        """``renew`` builds a fresh main recognizer (``source="asr"``); with it, the main
        recognizer is replaced after every ``renew_after`` utterances (0: never)."""
        self._recognizers = in_run_order(recognizers)
        self._queue: queue.Queue[AudioFrame | _Reset | _Finish] = queue.Queue(queue_frames)
        self.events: queue.Queue[AsrEvent] = queue.Queue()
        self._on_event = on_event or self.events.put
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asr-worker", daemon=True)
        self.dropped_frames = 0
        self._burst_frames = 0
        self._burst_s = 0.0
        self.errors = 0
        self._renew = renew
        self._renew_after = renew_after if renew is not None else 0
        self._warm_pcm = np.zeros(0, np.int16)
        self._in_utterance = False
        self._utterances = 0
        self._spare: Recognizer | None = None
        self._spare_fed = 0
        self._spare_cpu_s = 0.0
        self.renewals = 0
        """Main recognizers replaced by fresh ones so far."""
        self.released_mb: float | None = None
        """Resident memory the last renewal gave back to the OS (None: none yet, or no glibc)."""
        self.warm_up_ms = 0.0
        """CPU time the last warm-up took (the start's, then each renewal's)."""
        self.engine_name = ""
        """``engine:model`` when built by :meth:`from_settings`."""

    @classmethod
    def from_settings(
        cls,
        settings: AsrSettings,
        state_dir: str | Path,
        on_event: Callable[[AsrEvent], None] | None = None,
        phrases: Sequence[str] = (),
    ) -> AsrWorker:
        """The configured engine's recognizer (and spotter, and phrase judge when
        ``phrases``, the phrase pack's phrases, are given); not started yet."""
        engines = build_recognizers(settings, state_dir, phrases)
        recognizers = [engines.main()]
        extras = []
        if engines.spotter is not None:
            recognizers.append(engines.spotter())
            extras.append("the command spotter")
        if engines.judge is not None:
            recognizers.append(engines.judge())
            extras.append(f"the phrase judge ({len(phrases)} phrases)")
        log.info("ASR engine %s%s", engines.name,
                 " with " + " and ".join(extras) if extras else "")
        worker = cls(recognizers, queue_frames=settings.queue_frames, on_event=on_event,
                     renew=engines.main, renew_after=settings.renew_after_utterances)
        worker.engine_name = engines.name
        return worker

    def warm_up(self, pcm: np.ndarray) -> None:
        """Decode ``pcm`` (16 kHz mono int16 speech) on every recognizer, reporting
        nothing; renewals warm their recognizer with it too. Call before :meth:`start`."""
        if self._thread.is_alive():
            raise RuntimeError("warm_up() belongs before start(): the recognizers are the "
                               "worker thread's once it runs")
        self._warm_pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        started_cpu_s = time.thread_time()
        for rec in self._recognizers:
            rec.absorb(self._warm_pcm)
            rec.reset(0.0)
        self.warm_up_ms = (time.thread_time() - started_cpu_s) * 1000.0
        log.info("ASR warmed up on %.1f s of speech in %.0f ms of CPU",
                 len(self._warm_pcm) / CAPTURE_RATE_HZ, self.warm_up_ms)

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
            renewing = self._renewal_due() and not self._in_utterance
            try:
                item = self._queue.get(timeout=0.0 if renewing else _POLL_S)
            except queue.Empty:
                if renewing:
                    self._step_renewal()
                continue
            try:
                self._handle(item)
                failing = False
            except Exception:  # the loop's boundary: log, count, go on with the next frame
                self.errors += 1
                if not failing:
                    log.exception("ASR worker failed on %s; continuing", type(item).__name__)
                failing = True

    def _renewal_due(self) -> bool:
        return self._renew_after > 0 and self._utterances >= self._renew_after

    def _step_renewal(self) -> None:
        """One slice of a renewal, between utterances: build, warm a slice, or swap."""
        started_cpu_s = time.thread_time()
        try:
            if self._spare is None:
                assert self._renew is not None  # _renewal_due() is False without it
                self._spare, self._spare_fed, self._spare_cpu_s = self._renew(), 0, 0.0
            elif self._spare_fed < len(self._warm_pcm):
                end = self._spare_fed + _WARM_SLICE_SAMPLES
                self._spare.absorb(self._warm_pcm[self._spare_fed:end])
                self._spare_fed = end
            else:
                self._spare.reset(0.0)
                self._swap_in(self._spare)
        except Exception:  # a failed renewal keeps the serving recognizer; retried later
            self.errors += 1
            log.exception("ASR recognizer renewal failed; keeping the current one")
            self._spare, self._utterances = None, 0
        finally:
            self._spare_cpu_s += time.thread_time() - started_cpu_s

    def _swap_in(self, fresh: Recognizer) -> None:
        index = next(i for i, r in enumerate(self._recognizers) if r.source == fresh.source)
        self._recognizers[index] = fresh  # the last reference: the old graph is freed here
        self.renewals += 1
        self.warm_up_ms = self._spare_cpu_s * 1000.0
        self._spare = None
        self.released_mb = release_free_heap()
        heap = heap_figures()
        log.info("ASR recognizer renewed after %d utterances (warm-up %.0f ms of CPU); "
                 "%s", self._utterances, self.warm_up_ms, _memory_note(self.released_mb, heap))
        self._utterances = 0

    def _handle(self, item: AudioFrame | _Reset | _Finish) -> None:
        if isinstance(item, _Finish):
            self._in_utterance = False
            self._utterances += 1
        else:
            self._in_utterance = True
        for rec in self._recognizers:
            if isinstance(item, _Reset):
                rec.reset(item.t_seconds)
                continue
            events = rec.finish() if isinstance(item, _Finish) else rec.accept(item)
            for event in events:
                self._on_event(event)


def _memory_note(released_mb: float | None, heap: HeapFigures | None) -> str:
    """The log's account of memory after a renewal."""
    note = f"resident {resident_mb():.0f} MB"
    if released_mb is not None:
        note += f" after {released_mb:.0f} MB given back"
    if heap is not None:
        note += (f" (heap in use {heap.in_use_mb:.0f} MB, free {heap.free_mb:.0f} MB, "
                 f"mmapped {heap.mmapped_mb:.0f} MB)")
    return note
