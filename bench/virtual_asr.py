"""Real recognizers on the virtual clock, where decoding is not free.

On the device, frames go to the ASR worker's bounded queue and the worker decodes
them one after another (command spotter first, then the phrase judge, then the full
decoder, as :class:`~bargein.asr.worker.AsrWorker` does: at an utterance's end the
judge's Final is released before the full decoder's). A result exists only once the decode
call that produced it has finished, and when decoding is slower than the audio the
queue fills and frames are dropped.

:class:`VirtualAsrWorker` runs the same recognizers inline and models exactly that:
each call is charged its cost on the virtual clock (a busy-until time), its results
are released at the end of the call, and a frame that finds ``queue_frames`` items
still waiting is dropped. What a call costs is a :class:`DecodeCost`:

- ``profile`` (the default): the engine's calibrated CPU cost per second of audio
  and per flush (:data:`PROFILES`, measured on this machine by
  ``bargein perf --only decode_cost``), so a run gives byte-identical results
  whatever the machine's load. The phrase judge mostly buffers while audio comes and
  decodes the utterance so far every quarter second and the whole of it at its end,
  so those calls are charged in proportion to the audio they decode (its
  ``decoded_s``);
- ``measured``: the thread CPU time each call really took (truer per call, but it
  varies from run to run with the machine's load, so runs are not repeatable).

Either is multiplied by ``cpu_scale``: a Raspberry Pi 4 core is roughly 4x slower
than this machine's, so ``cpu_scale = 4`` shows the Pi.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bargein.asr.engine import Recognizer
from bargein.asr.results import Final, Partial
from bargein.asr.worker import in_run_order
from bargein.core.frames import AudioFrame

log = logging.getLogger(__name__)

DECODE_COST_MODES = ("profile", "measured")


@dataclass(frozen=True)
class EngineProfile:
    """Calibrated CPU cost of one recognizer on this machine (x86-64, one core).

    ``rtf``: CPU seconds per second of audio decoded (accept calls);
    ``flush_ms``: CPU milliseconds of ending or dropping an utterance (final result);
    ``flush_rtf``: CPU seconds per second of audio a flush decodes (the phrase judge,
    which decodes the buffered utterance at its end).
    """

    rtf: float
    flush_ms: float
    flush_rtf: float = 0.0


PROFILES: dict[tuple[str, str], EngineProfile] = {
    ("pocketsphinx", "asr"): EngineProfile(rtf=0.28, flush_ms=11.0),
    ("pocketsphinx", "spotter"): EngineProfile(rtf=0.024, flush_ms=0.45),
    ("pocketsphinx", "phrases"): EngineProfile(rtf=0.0, flush_ms=0.01, flush_rtf=0.047),
    ("vosk", "asr"): EngineProfile(rtf=0.31, flush_ms=50.0),
    ("vosk", "spotter"): EngineProfile(rtf=0.03, flush_ms=15.0),
}
"""Keyed by (engine family, recognizer source): the middle of three runs of
``bargein perf --only decode_cost`` on this machine (2 shared x86-64 cores,
2026-11-29; pocketsphinx's bundled en-us model, Vosk's Korean test model, which is
larger than the small English model the device runs: the Vosk row overstates it).
The phrase judge's row (2026-11-29, same probe): its ``accept`` only copies the frame,
its flush decodes the buffered utterance at 0.047 s per second buffered."""


@dataclass(frozen=True)
class DecodeCost:
    """How long a decode call occupies the worker on the virtual clock."""

    engine: str
    mode: str = "profile"
    cpu_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in DECODE_COST_MODES:
            raise ValueError(f"decode cost {self.mode!r}: use one of {', '.join(DECODE_COST_MODES)}")
        if not self.cpu_scale > 0:
            raise ValueError(f"cpu_scale must be above 0, got {self.cpu_scale}")
        if self.mode == "profile":
            for source in ("asr", "spotter"):
                if (self.family, source) not in PROFILES:
                    raise ValueError(f"no calibrated decode cost for {self.engine!r}; "
                                     "use decode cost 'measured'")

    @property
    def family(self) -> str:
        return self.engine.split(":", 1)[0]

    def seconds(self, source: str, audio_s: float, measured_s: float,
                decoded_s: float = 0.0) -> float:
        """Virtual seconds one call takes: feeding ``audio_s`` of audio, or a flush
        (``audio_s`` 0), plus ``decoded_s`` of buffered audio the call decoded at once
        (the phrase judge: at its flush, and for its interim verdicts)."""
        if self.mode == "measured":
            return measured_s * self.cpu_scale
        profile = PROFILES[(self.family, source)]
        spent = audio_s * profile.rtf if audio_s > 0 else profile.flush_ms / 1000.0
        return (spent + decoded_s * profile.flush_rtf) * self.cpu_scale

    def describe(self) -> str:
        return f"decode cost {self.mode}, cpu x{self.cpu_scale:g}"


class VirtualAsrWorker:
    """``begin`` / ``feed`` / ``end`` an utterance; ``poll`` what decoding has finished by now.

    The pipeline's ``Recognition`` seam, like the daemon's threaded worker; every
    call runs at once on the loop's thread but its results wait for the virtual
    time the worker would have needed.
    """

    def __init__(self, recognizers: Sequence[Recognizer], cost: DecodeCost, *,
                 queue_frames: int = 200) -> None:
        self.recognizers = in_run_order(recognizers)
        self.cost = cost
        self.queue_frames = queue_frames
        self._free_at_s = 0.0
        self._waiting: collections.deque[float] = collections.deque()
        self._released: list[tuple[float, int, Partial | Final]] = []
        self._order = itertools.count()
        self.dropped_frames = 0
        self.skipped_controls = 0
        self.busy_s = 0.0
        """Virtual seconds the worker spent decoding so far."""
        self.max_lag_s = 0.0
        """The longest any item waited in the queue before its decode began."""

    # -- the Recognition seam ------------------------------------------------------------

    def begin(self, frames: list[AudioFrame]) -> None:
        if not frames:
            return
        now = frames[-1].end_s
        t0 = frames[0].t_seconds

        def reset(rec: Recognizer) -> list[Partial | Final]:
            rec.reset(t0)
            return []

        if not self._run(now, 0.0, reset):
            self.skipped_controls += 1
        for frame in frames:
            self._submit_frame(frame, now)

    def feed(self, frame: AudioFrame) -> None:
        self._submit_frame(frame, frame.end_s)

    def end(self, t_seconds: float) -> None:
        if not self._run(t_seconds, 0.0, lambda rec: rec.finish()):
            self.skipped_controls += 1

    def poll(self, now_s: float) -> list[Partial | Final]:
        out = []
        while self._released and self._released[0][0] <= now_s:
            out.append(heapq.heappop(self._released)[2])
        return out

    def stop(self, timeout_s: float) -> None:
        """Nothing runs in the background."""

    # -- the worker ------------------------------------------------------------------------

    def _submit_frame(self, frame: AudioFrame, now_s: float) -> None:
        if not self._run(now_s, frame.duration_s, lambda rec: rec.accept(frame)):
            self.dropped_frames += 1

    def _run(self, now_s: float, audio_s: float,
             call: Callable[[Recognizer], list[Partial | Final]]) -> bool:
        """Queue one item at ``now_s`` and decode it when the worker gets to it; False if
        the queue was full (the item is dropped, as the device's worker drops it).
        Each call is also charged the buffered audio it decoded at once (a recognizer's
        ``decoded_s``: the phrase judge's utterance so far, or whole at its end)."""
        while self._waiting and self._waiting[0] <= now_s:
            self._waiting.popleft()
        if len(self._waiting) >= self.queue_frames:
            return False
        start_s = max(now_s, self._free_at_s)
        if start_s > now_s:
            self._waiting.append(start_s)
            self.max_lag_s = max(self.max_lag_s, start_s - now_s)
        t_s = start_s
        for rec in self.recognizers:
            cpu0 = time.thread_time()
            results = call(rec)
            t_s += self.cost.seconds(rec.source, audio_s, time.thread_time() - cpu0,
                                     float(getattr(rec, "decoded_s", 0.0)))
            for result in results:
                heapq.heappush(self._released, (t_s, next(self._order), result))
        self.busy_s += t_s - start_s
        self._free_at_s = t_s
        return True
