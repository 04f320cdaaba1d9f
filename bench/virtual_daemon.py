"""``bargein run`` on the virtual room in a child process, started as systemd starts it;
and :func:`run_with_script`, the daemon in this process with a script talking to it.

The appliance's own entry point, config file and notify protocol: ``NOTIFY_SOCKET`` is
bound here and ``READY=1`` awaited, then the socket is kept drained (``sd_notify``
blocks when its queue is full, so systemd keeps reading; so do we). The person in the
room is the virtual backend's control file (``say WAV [LEVEL_DB]``, ``press-button``;
see :mod:`bargein.device.virtual_audio`). Used by the soak probes and the house demo.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from bargein.device.virtual_audio import CONTROL_ENV, RECORD_ENV, SPEED_ENV

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 10.0
_SYSTEMD_ONLY = ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID")


class VirtualDaemon:
    """One ``bargein run`` on the virtual room; a context manager that stops it on exit.

    ``extra_config`` is appended to the ``[audio]`` (virtual backend) and ``[events]``
    (``workdir/state``, ``log_transcripts``) tables written here; ``record`` keeps the
    speaker and the mic and writes them to ``workdir`` when the daemon stops.
    """

    def __init__(self, workdir: Path, extra_config: str = "", *, speed: float = 1.0,
                 env: Mapping[str, str] | None = None, record: bool = False,
                 log_transcripts: bool = False) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config_path = workdir / "config.toml"
        self.config_path.write_text(
            f'[audio]\nbackend = "virtual"\n[events]\nstate_dir = "{self.state_dir}"\n'
            f'log_transcripts = {str(log_transcripts).lower()}\n' + extra_config)
        self.control = workdir / "control"
        self.control.touch()
        self.log_path = workdir / "daemon.log"
        self._env = {k: v for k, v in (env if env is not None else {}).items()
                     if k not in _SYSTEMD_ONLY}
        self._env.update({"NOTIFY_SOCKET": str(workdir / "notify.sock"),
                          CONTROL_ENV: str(self.control), SPEED_ENV: str(speed)})
        if record:
            self._env[RECORD_ENV] = str(workdir)
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._stop_draining = threading.Event()
        self._drain = threading.Thread(target=self._drain_notify, name="notify-drain")

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the daemon is not started"
        return self.proc.pid

    def start(self) -> VirtualDaemon:
        """Start it and return once it sent READY=1 (RuntimeError with its log if not)."""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self._env["NOTIFY_SOCKET"])
        self._sock.settimeout(0.2)
        bargein = Path(sys.executable).with_name("bargein")
        with self.log_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(bargein), "run", "--config", str(self.config_path)], env=self._env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            self._wait_ready()
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}; the daemon's log ends:\n{self.log_tail()}") from exc
        self._drain.start()
        return self

    def say(self, wav: Path, level_db: float | None = None) -> None:
        """A person speaks ``wav`` in the room from now (``level_db`` dBFS active level)."""
        self.command(f"say {wav}" + ("" if level_db is None else f" {level_db:g}"))

    def command(self, line: str) -> None:
        """One line for the room's control file (run at its next frame)."""
        with self.control.open("a") as fh:
            fh.write(line + "\n")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def stop(self) -> int:
        """SIGTERM as systemd stops it (SIGUSR1 for its stacks, then SIGKILL, if it hangs);
        its exit code."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # its threads' stacks, for the report
                time.sleep(1.0)
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        self._stop_draining.set()
        if self._drain.is_alive():
            self._drain.join(5.0)
            if self._drain.is_alive():
                raise RuntimeError("the notify-socket reader did not stop within 5 s")
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        return proc.returncode if proc is not None else 0

    def __enter__(self) -> VirtualDaemon:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- the notify socket -------------------------------------------------------------

    def _wait_ready(self) -> None:
        assert self._sock is not None and self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bargein run exited with {self.proc.returncode} before READY")
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            if b"READY=1" in data.split(b"\n"):
                return
        raise RuntimeError(f"bargein run sent no READY=1 within {READY_TIMEOUT_S:.0f} s")

    def _drain_notify(self) -> None:
        assert self._sock is not None
        while not self._stop_draining.is_set():
            try:
                self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # closed under us at stop
                return


def run_with_script(daemon: Any, script: Callable[[], None], join_s: float = 60.0) -> int:
    """Run ``daemon`` (a :class:`bargein.device.daemon.Daemon`) in this thread, which must
    be the main one (it installs signal handlers), while ``script`` runs on a helper
    thread; the daemon is asked to stop when the script ends. The daemon's exit code;
    the script's exception, if it raised one, is raised here."""
    failures: list[BaseException] = []

    def run_script() -> None:
        try:
            script()
        except BaseException as exc:  # handed to the daemon's thread
            failures.append(exc)
        finally:
            daemon.request_stop()

    helper = threading.Thread(target=run_script, name="daemon-script", daemon=True)
    helper.start()
    code = daemon.run()
    helper.join(join_s)
    if helper.is_alive():
        raise RuntimeError(f"the script did not finish within {join_s:.0f} s of the daemon")
    if failures:
        raise failures[0]
    return int(code)
