"""Keep one sound device open: open it, watch it, reopen it with exponential back-off.

The microphone and the speaker each own one :class:`DeviceKeeper`, so losing one never
touches the other. Every change of state is one log line:

    microphone unavailable: no input device matches 'ReSpeaker' ...; retrying in 0.2 s
    microphone open: #2 'ReSpeaker 4 Mic Array (UAC1.0): USB Audio (hw:1,0)' (ALSA) ...
    microphone lost: the input stream stopped; retrying in 0.2 s
    microphone back: #2 'ReSpeaker 4 Mic Array ...' ...

Repeated failures with the same reason are logged at debug level only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, Self

log = logging.getLogger(__name__)


class DeviceLink(Protocol):
    """An open device as the keeper sees it."""

    description: str

    def problem(self) -> str | None:
        """Why the device is no longer usable (stream stopped, no audio), or None."""

    def close(self) -> None:
        """Release the stream and PortAudio; must not raise for a vanished device."""


class DeviceKeeper:
    """A thread that holds a device open and reconnects it when it is missing or lost.

    ``connect`` opens the device and returns a link, or raises ``OSError`` (which
    includes :class:`~bargein.core.errors.AudioDeviceError`) with a one-line reason.
    Waits between attempts start at ``backoff_start_s`` and double up to
    ``backoff_max_s``; a successful open resets them.
    """

    def __init__(
        self,
        what: str,
        connect: Callable[[], DeviceLink],
        *,
        backoff_start_s: float,
        backoff_max_s: float,
        check_interval_s: float = 0.05,
    ) -> None:
        self.what = what
        self._connect = connect
        self._backoff_start_s = min(backoff_start_s, backoff_max_s)
        self._backoff_max_s = backoff_max_s
        self._check_interval_s = check_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._link: DeviceLink | None = None
        self._connected = threading.Event()
        self.retry_waits_s: list[float] = []
        """Every back-off wait taken so far, in order (diagnostics and tests)."""
        self.connections = 0
        """How many times the device was opened."""

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def link(self) -> DeviceLink | None:
        return self._link

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until the device is open (True) or ``timeout_s`` passed (False)."""
        return self._connected.wait(timeout_s)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.what} already started")
        self._thread = threading.Thread(target=self._run, name=f"{self.what}-keeper", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the device and end the thread; raises if the thread does not end in time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise RuntimeError(f"{self.what} keeper did not stop within {timeout_s} s")

    def _close_link(self) -> None:
        link, self._link = self._link, None
        self._connected.clear()
        if link is None:
            return
        try:
            link.close()
        except Exception:  # a vanished device may fail to close; the loop goes on
            log.exception("%s: closing the lost device failed", self.what)

    def _watch(self) -> str | None:
        """Wait while the link is healthy; the reason it failed, or None when stopped."""
        while not self._stop.wait(self._check_interval_s):
            assert self._link is not None
            problem = self._link.problem()
            if problem:
                return problem
        return None

    def _run(self) -> None:
        wait_s = self._backoff_start_s
        was_open = False
        last_reason: str | None = None
        while not self._stop.is_set():
            try:
                self._link = self._connect()
            except OSError as exc:
                reason = str(exc) or type(exc).__name__
            except Exception as exc:  # supervise at the boundary: log, back off, retry
                log.exception("%s: unexpected error while opening", self.what)
                reason = f"{type(exc).__name__}: {exc}"
            else:
                self.connections += 1
                self._connected.set()
                state = "back" if was_open else "open"
                log.info("%s %s: %s", self.what, state, self._link.description)
                was_open = True
                last_reason = None
                wait_s = self._backoff_start_s
                problem = self._watch()
                self._close_link()
                if problem is None:
                    break
                log.warning("%s lost: %s; retrying in %.1f s", self.what, problem, wait_s)
                last_reason = problem
                self._backoff(wait_s)
                wait_s = min(wait_s * 2, self._backoff_max_s)
                continue
            if reason != last_reason:
                state = "still unavailable" if was_open else "unavailable"
                log.warning("%s %s: %s; retrying in %.1f s", self.what, state, reason, wait_s)
            else:
                log.debug("%s still unavailable: %s; retrying in %.1f s", self.what, reason, wait_s)
            last_reason = reason
            self._backoff(wait_s)
            wait_s = min(wait_s * 2, self._backoff_max_s)
        self._close_link()

    def _backoff(self, wait_s: float) -> None:
        self.retry_waits_s.append(wait_s)
        self._stop.wait(wait_s)


class KeptDevice:
    """What a microphone and a speaker share: a :class:`DeviceKeeper` that opens the
    device in the background and reopens it when it is lost. Subclasses set
    ``self._keeper`` and may extend :meth:`close`."""

    _keeper: DeviceKeeper

    def start(self) -> Self:
        """Start opening the device (in the background, retrying until it works)."""
        self._keeper.start()
        return self

    def close(self, timeout_s: float = 5.0) -> None:
        """Release the device; raises if the keeper does not stop in time."""
        self._keeper.stop(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._keeper.connected

    def wait_connected(self, timeout_s: float) -> bool:
        return self._keeper.wait_connected(timeout_s)

    @property
    def keeper(self) -> DeviceKeeper:
        """The reconnect loop (its ``retry_waits_s`` and ``connections`` for diagnostics)."""
        return self._keeper
