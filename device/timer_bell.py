"""Kitchen timers ring in the appliance's own voice.

The local agent keeps the timers (:class:`bargein.agent.timers.TimerBook`) on its
clock: the wall clock on the device, the virtual clock in the simulator. The
:class:`TimerBell` polls them from the loop that owns the state machine (never from
an audio callback) and hands each rung timer's ``ring_message`` to the machine as a
:class:`~bargein.device.machine.TimerRang`. The machine speaks it like an answer, so
"stop" over a ring, the button or the wake word cut it and are recorded like any
other interruption.

A ring never talks over the appliance or a person: while the appliance is listening,
thinking or speaking, the ring waits and is said as soon as it is idle again (after
the answer in progress, or after the person's turn and its reply). Several timers
due together ring one after the other, each its own utterance, so stopping one ring
does not silence the next timer.
"""

from __future__ import annotations

import collections
import logging
from typing import Protocol

from bargein.agent.timers import Timer
from bargein.device import events

log = logging.getLogger(__name__)

POLL_S = 0.2
"""How often the timers are checked (capture clock). A ring this much late goes
unnoticed; checking every 30 ms frame would only take the timers' lock more often."""


class TimerKeeper(Protocol):
    """Who keeps the timers: :class:`bargein.agent.local.LocalAgent`."""

    def collect_rung(self) -> list[Timer]: ...


class Appliance(Protocol):
    """Where a ring is said: :class:`bargein.device.pipeline.Pipeline`."""

    state: str

    def handle(self, event: events.Event) -> None: ...


class TimerBell:
    """Polls ``timers`` and says each rung one through ``appliance`` once it is idle."""

    def __init__(self, timers: TimerKeeper, poll_s: float = POLL_S) -> None:
        self.timers = timers
        self.poll_s = poll_s
        self._next_poll_s: float | None = None
        self._waiting: collections.deque[Timer] = collections.deque()
        self.rung: list[Timer] = []
        """Every timer said so far, in order."""

    @property
    def waiting(self) -> int:
        """Rung timers not said yet (the appliance was busy)."""
        return len(self._waiting)

    def tick(self, appliance: Appliance, t_seconds: float) -> Timer | None:
        """Call on the loop's thread after each frame; returns the timer said now, if any."""
        if self._next_poll_s is None or t_seconds >= self._next_poll_s:
            self._next_poll_s = t_seconds + self.poll_s
            for timer in self.timers.collect_rung():
                self._waiting.append(timer)
                _log_ring(timer, appliance.state)
        if not self._waiting or appliance.state != events.State.IDLE.value:
            return None
        timer = self._waiting.popleft()
        self.rung.append(timer)
        appliance.handle(events.TimerRang(timer.ring_message, t_seconds))
        return timer


def _log_ring(timer: Timer, state: str) -> None:
    """One line per ring for the operator, its fields also as journal fields."""
    when = "saying it now" if state == events.State.IDLE.value else f"saying it once idle (now {state})"
    log.info(
        "timer %d rang: %s timer set at %s, due %s; %s", timer.id, timer.label,
        timer.set_at.isoformat(timespec="seconds"), timer.due.isoformat(timespec="seconds"), when,
        extra={"BARGEIN_TIMER_ID": timer.id, "BARGEIN_TIMER_S": timer.duration_s,
               "BARGEIN_TIMER_DUE": timer.due.isoformat(), "BARGEIN_STATE": state},
    )
