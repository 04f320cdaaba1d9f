"""Fresh-heartbeat tracking: is every part the watchdog vouches for still moving?

Each part (capture, playback, the state-machine loop) calls :meth:`Heartbeats.beat`
when it makes progress. The daemon pings systemd's watchdog only while every part
beat within ``stale_after_s``, so one stuck audio thread is enough for systemd to
restart the service. A beat is one float store: safe from any thread, no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

CAPTURE = "capture"
PLAYBACK = "playback"
LOOP = "loop"
PARTS = (CAPTURE, PLAYBACK, LOOP)


class Heartbeats:
    """The last beat time of each named part, on ``clock`` (monotonic seconds)."""

    def __init__(
        self,
        parts: Iterable[str] = PARTS,
        *,
        stale_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stale_after_s <= 0:
            raise ValueError(f"stale_after_s must be positive, got {stale_after_s}")
        self.stale_after_s = stale_after_s
        self._clock = clock
        now = clock()
        self._last_s: dict[str, float] = {part: now for part in parts}

    def beat(self, part: str) -> None:
        """``part`` made progress just now."""
        if part not in self._last_s:
            raise KeyError(f"unknown heartbeat part {part!r}; parts are {', '.join(self._last_s)}")
        self._last_s[part] = self._clock()

    def age_s(self, part: str) -> float:
        """Seconds since ``part`` last beat."""
        return self._clock() - self._last_s[part]

    def stale(self) -> list[str]:
        """The parts that have not beaten within ``stale_after_s``, in declaration order."""
        now = self._clock()
        return [part for part, last in self._last_s.items() if now - last > self.stale_after_s]

    def all_fresh(self) -> bool:
        return not self.stale()

    def describe_stale(self) -> str:
        """One line for the log: which parts are stale and for how long."""
        return ", ".join(f"{part} silent for {self.age_s(part):.1f} s" for part in self.stale())
