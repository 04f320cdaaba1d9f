"""Talking to systemd: READY, STATUS, WATCHDOG, RELOADING and STOPPING.

Everything goes through systemd-python's ``systemd.daemon.notify`` (sd_notify), which
writes to ``$NOTIFY_SOCKET``. Outside systemd (no socket) every call is a no-op, so
the daemon runs the same from a terminal. The watchdog interval comes from
``$WATCHDOG_USEC`` (set by ``WatchdogSec=``), honoured only when ``$WATCHDOG_PID`` is
absent or names this process, as sd_watchdog_enabled(3) does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from systemd import daemon

log = logging.getLogger(__name__)


def watchdog_interval_s(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """systemd's watchdog timeout in seconds, or None when the watchdog is off for us."""
    usec = environ.get("WATCHDOG_USEC", "").strip()
    if not usec:
        return None
    owner = environ.get("WATCHDOG_PID", "").strip()
    if owner and int(owner) != (os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: not an integer", usec)
        return None
    return value / 1_000_000 if value > 0 else None


class SystemdNotifier:
    """sd_notify for the daemon; STATUS= is sent only when the text changes.

    ``environ`` is where to look for the watchdog settings; sd_notify itself always
    writes to the process's own ``$NOTIFY_SOCKET``.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.enabled = bool(env.get("NOTIFY_SOCKET"))
        self.watchdog_s = watchdog_interval_s(env) if self.enabled else None
        self.status_text = ""

    @property
    def ping_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half the timeout, as systemd recommends."""
        return None if self.watchdog_s is None else self.watchdog_s / 2

    def _send(self, message: str) -> None:
        if not self.enabled:
            return
        for _ in range(3):  # a signal arriving during sendmsg() interrupts it: send again
            try:
                daemon.notify(message)
                return
            except InterruptedError:
                continue
            except OSError as exc:  # systemd went away (or a test closed the socket)
                log.warning("sd_notify failed (%s); continuing without systemd", exc)
                self.enabled = False
                return

    def ready(self, status: str) -> None:
        """Models loaded and devices open: systemd may consider the service started."""
        self.status_text = status
        self._send(f"READY=1\nSTATUS={status}")
        log.info("ready: %s", status)

    def status(self, text: str) -> None:
        if text != self.status_text:
            self.status_text = text
            self._send(f"STATUS={text}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def reloading(self) -> None:
        self._send("RELOADING=1\nSTATUS=reloading config")

    def reloaded(self) -> None:
        self._send(f"READY=1\nSTATUS={self.status_text}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")
