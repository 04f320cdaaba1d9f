"""Kitchen timers kept by the local agent; the daemon polls them and speaks the rung ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bargein.agent.numbers import duration_words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timer:
    """A timer: when it was set, for how long, and so when it rings."""

    id: int
    duration_s: float
    set_at: datetime

    @property
    def due(self) -> datetime:
        return self.set_at + timedelta(seconds=self.duration_s)

    @property
    def label(self) -> str:
        """The length as an adjective: "two minute" (as in "your two minute timer")."""
        words = duration_words(self.duration_s)
        for unit in ("hour", "minute", "second"):
            words = words.replace(f"{unit}s", unit)
        return words

    @property
    def ring_message(self) -> str:
        """What the appliance says when it rings."""
        return f"Your {self.label} timer is done."


class TimerBook:
    """The active timers. Safe to use from the agent's thread and the daemon's poller."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._timers: dict[int, Timer] = {}
        self._next_id = 1

    def start(self, duration_s: float) -> Timer:
        with self._lock:
            timer = Timer(self._next_id, duration_s, self._clock())
            self._next_id += 1
            self._timers[timer.id] = timer
        log.info("timer %d set: %.0f s, due %s", timer.id, duration_s, timer.due.isoformat())
        return timer

    def amend(self, timer_id: int, duration_s: float) -> Timer | None:
        """Change a timer's length, counted from when it was first set."""
        with self._lock:
            old = self._timers.get(timer_id)
            if old is None:
                return None
            timer = replace(old, duration_s=duration_s)
            self._timers[timer_id] = timer
        log.info("timer %d amended: %.0f s -> %.0f s", timer_id, old.duration_s, duration_s)
        return timer

    def cancel(self, timer_id: int) -> Timer | None:
        with self._lock:
            timer = self._timers.pop(timer_id, None)
        if timer is not None:
            log.info("timer %d cancelled", timer_id)
        return timer

    def get(self, timer_id: int) -> Timer | None:
        with self._lock:
            return self._timers.get(timer_id)

    def active(self) -> list[Timer]:
        """The timers not yet rung, soonest first."""
        with self._lock:
            return sorted(self._timers.values(), key=lambda t: t.due)

    def next_due(self) -> datetime | None:
        """When the next timer rings (for the daemon's sleep), or None."""
        timers = self.active()
        return timers[0].due if timers else None

    def collect_rung(self) -> list[Timer]:
        """Remove and return the timers whose time has come, oldest first."""
        now = self._clock()
        with self._lock:
            rung = sorted((t for t in self._timers.values() if t.due <= now), key=lambda t: t.due)
            for timer in rung:
                del self._timers[timer.id]
        for timer in rung:
            log.debug("timer %d rang (%s)", timer.id, timer.label)
        return rung
