"""Interruptions per minute over a real sliding window, with a threshold warning.

The rate is the count inside the window divided by the time actually observed:
``min(window_s, now - started_s)``, never a fixed window length, so the first minutes
after start are not under-reported. The observed span has a floor (``min_span_s``)
so one interruption a second after start does not read as 60 per minute.
"""

from __future__ import annotations

import logging
from collections import deque

log = logging.getLogger(__name__)


class InterruptionRate:
    """Counts interruptions (times on one monotonic clock, in seconds)."""

    def __init__(
        self,
        window_s: float = 300.0,
        warn_per_min: float = 2.0,
        *,
        started_s: float,
        min_span_s: float = 30.0,
    ) -> None:
        self.window_s = window_s
        self.warn_per_min = warn_per_min
        self.started_s = started_s
        self.min_span_s = min(min_span_s, window_s)
        self._times: deque[float] = deque()
        self._over = False

    @property
    def is_over(self) -> bool:
        """The rate was above ``warn_per_min`` when last checked (the alert is on)."""
        return self._over

    def add(self, t_seconds: float) -> bool:
        """Count one interruption; True when this one took the rate over the threshold."""
        self._times.append(t_seconds)
        return self._check(t_seconds)

    def per_minute(self, now_s: float) -> float:
        """Interruptions per minute over the window ending at ``now_s``."""
        while self._times and self._times[0] <= now_s - self.window_s:
            self._times.popleft()
        span_s = min(self.window_s, max(self.min_span_s, now_s - self.started_s))
        return len(self._times) * 60.0 / span_s

    def _check(self, now_s: float) -> bool:
        rate = self.per_minute(now_s)
        if rate > self.warn_per_min and not self._over:
            self._over = True
            log.warning(
                "interruption rate %.1f/min over the last %.0f s is above %.1f/min: "
                "people keep cutting the appliance off (answers too long or off-topic?)",
                rate, min(self.window_s, now_s - self.started_s), self.warn_per_min,
                extra={"BARGEIN_RATE_PER_MIN": rate},
            )
            return True
        if rate <= self.warn_per_min and self._over:
            self._over = False
            log.info("interruption rate back to %.1f/min", rate)
        return False

    def poll(self, now_s: float) -> float:
        """The current rate; also re-arms the warning once the rate falls back."""
        self._check(now_s)
        return self.per_minute(now_s)
