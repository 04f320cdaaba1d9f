"""Nothing lost, nothing hangs: one table of bad inputs per entry point.

Each row is a bad input, the one line it must produce (a fragment of it), and what
must survive. A row fails on a traceback (the exception escapes the test), on a
message of more than one line, on a hang (every row has a timeout) and on lost data.
A probe that finds a new case gets a row here.

Entry points: the config (``bargein config``, also what ``bargein run`` and SIGHUP
read), the CLI commands (``transcribe``, ``say``, ``simulate``), scenario files, the
LLM server (through the fallback agent the daemon uses), the event log's disk and
fetch-models' server. The daemon on a read-only and then full disk is in
``test_daemon.py``; the disk cases that need a file-size limit or a tmpfs are in
``test_event_log.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import wave
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bargein.agent.conversation import Conversation
from bargein.agent.credentials import ApiKey
from bargein.agent.fallback import FALLBACK_NOTICE, FallbackAgent
from bargein.agent.interruption import InterruptionType
from bargein.agent.llm import LlmAgent
from bargein.agent.local import LocalAgent
from bargein.agent.settings import AgentSettings
from bargein.bench.llm_server import LlmTestServer
from bargein.bench.scenario import CLIPS_DIR, SUITE_DIR
from bargein.core.errors import ConfigError
from bargein.device.cli import main
from bargein.device.config import load_config
from bargein.device.event_log import EventLog, InterruptionRecord, read_records

TESTS = Path(__file__).resolve().parent
FETCH_MODELS = TESTS.parent / "scripts" / "fetch-models"
CLIP = CLIPS_DIR / "cough.wav"


def _file(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a command printed to stderr (log lines of libraries are not ours)."""
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith("bargein")]
    assert "Traceback" not in err, err
    assert len(ours) == 1, f"expected one line from bargein, got:\n{err}"
    return ours[0]


# =========================================================================== the config


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _a_directory(tmp_path: Path) -> Path:
    path = tmp_path / "config.d"
    path.mkdir()
    return path


def _unreadable(tmp_path: Path) -> Path:
    path = _write(tmp_path, "[tts]\nvolume = 0.5\n")
    path.chmod(0)
    return path


CONFIG_ROWS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("not UTF-8", lambda p: _write(p, b"[tts]\nvolume = 0.5 # caf\xe9\n"),
     "not UTF-8 text (byte 24, line 2); save it as UTF-8"),
    ("a directory", _a_directory, "not a regular file"),
    ("a device", lambda p: Path("/dev/zero"), "not a regular file"),
    ("too large", lambda p: _write(p, "# " + "x" * 1_100_000 + "\n"), "larger than 1000000 bytes"),
    ("nan ring", lambda p: _write(p, "[audio]\nring_s = nan\n"),
     "[audio] ring_s: nan is not a finite number"),
    ("nan first token", lambda p: _write(p, "[agent]\nfirst_token_timeout_s = -nan\n"),
     "[agent] first_token_timeout_s: nan is not a finite number"),
    ("inf gap", lambda p: _write(p, "[agent]\ntoken_gap_timeout_s = inf\n"),
     "[agent] token_gap_timeout_s: inf is not a finite number"),
    ("url bracket", lambda p: _write(p, '[agent]\nllm_url = "http://[::1"\n'),
     "[agent] llm_url: 'http://[::1' is not a URL"),
    ("url scheme", lambda p: _write(p, '[agent]\nllm_url = "ftp://host/v1"\n'),
     "is not an http:// or https:// URL with a host"),
    ("url no scheme", lambda p: _write(p, '[agent]\nllm_url = "localhost:11434/v1"\n'),
     "is not an http:// or https:// URL with a host"),
    ("url no host", lambda p: _write(p, '[agent]\nllm_url = "http:///v1"\n'),
     "is not an http:// or https:// URL with a host"),
    ("url port", lambda p: _write(p, '[agent]\nllm_url = "http://host:99999/v1"\n'),
     "is not a URL (Port out of range"),
    ("url space", lambda p: _write(p, '[agent]\nllm_url = "http://host /v1"\n'),
     "is not an http:// or https:// URL"),
    ("key env name", lambda p: _write(p, '[agent]\napi_key_env = "MY KEY"\n'),
     "is not an environment variable name"),
    ("NUL in a string", lambda p: _write(p, '[agent]\nmodel = "llama\\u0000"\n'),
     "[agent] model: contains a NUL character"),
    ("missing model dir", lambda p: _write(p, '[asr]\nmodel = "/nonexistent/model"\n'),
     "[asr] model: '/nonexistent/model' is not an existing directory"),
    ("missing voice", lambda p: _write(p, '[tts]\nvoice = "/nonexistent/voice.onnx"\n'),
     "[tts] voice: '/nonexistent/voice.onnx' is not an existing file"),
    ("relative state dir", lambda p: _write(p, '[events]\nstate_dir = "var/lib"\n'),
     "is not an absolute path"),
    ("state dir is a file", lambda p: _write(p, f'[events]\nstate_dir = "{TESTS / "speech.py"}"\n'),
     "exists and is not a directory"),
    ("answer cap too small", lambda p: _write(p, "[agent]\nmax_answer_chars = 5\n"),
     "[agent] max_answer_chars: 5 is out of range"),
]
if os.geteuid() != 0:  # root reads a mode-000 file anyway
    CONFIG_ROWS.append(("mode 000", _unreadable, "cannot read the config (Permission denied)"))


@pytest.mark.parametrize(("make", "fragment"), [row[1:] for row in CONFIG_ROWS],
                         ids=[row[0] for row in CONFIG_ROWS])
def test_config(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, fragment) -> None:
    path = make(tmp_path)
    assert main(["config", "--config", str(path)]) == 1
    line = stderr_line(capsys)
    assert line.startswith(f"bargein: {path}") and fragment in line, line
    with pytest.raises(ConfigError):  # what `run` and a SIGHUP reload read, and catch
        load_config(path)


# =========================================================================== CLI commands


def _wav(path: Path, rate_hz: int = 16000, width: int = 2, channels: int = 1,
         frames: int = 1600, cut_bytes: int = 0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(max(rate_hz, 1))
        w.writeframes(b"\x01\x02\x03" * (frames * width * channels // 3) + b"\0" * (
            frames * width * channels % 3))
    data = path.read_bytes()
    if rate_hz < 1:  # wave refuses to write 0 Hz: patch the header as a broken file has it
        data = data[:24] + struct.pack("<I", rate_hz) + data[28:]
    if cut_bytes:
        data = data[:-cut_bytes]
    path.write_bytes(data)
    return path


TRANSCRIBE_ROWS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("0 Hz", lambda p: _wav(p / "a.wav", rate_hz=0), "its header says 0 Hz"),
    ("1 Hz", lambda p: _wav(p / "a.wav", rate_hz=1), "its header says 1 Hz"),
    ("no data", lambda p: _wav(p / "a.wav", frames=0), "it holds no audio"),
    ("not a WAV", lambda p: _file(p / "a.wav", "hello"), "cannot read"),
    ("float WAV", lambda p: _file(p / "a.wav", b"RIFF$\0\0\0WAVEfmt \x10\0\0\0\x03\0\x01\0"
                                  b"\x80>\0\0\0\xfa\0\0\x04\0 \0data\0\0\0\0"), "unknown format: 3"),
    ("header only", lambda p: _file(p / "a.wav", b"RIFF\0\0\0\0WAVE"), "cannot read"),
    ("missing", lambda p: p / "absent.wav", "No such file"),
    ("empty", lambda p: Path("/dev/null"), "it ends before its header does"),
    ("a directory", lambda p: p, "Is a directory"),
]


@pytest.mark.parametrize(("make", "fragment"), [row[1:] for row in TRANSCRIBE_ROWS],
                         ids=[row[0] for row in TRANSCRIBE_ROWS])
def test_transcribe(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, fragment) -> None:
    path = make(tmp_path)
    started = time.monotonic()
    assert main(["transcribe", str(path), "--config", str(_pocketsphinx_config(tmp_path))]) == 1
    assert time.monotonic() - started < 10.0
    line = stderr_line(capsys)
    assert line.startswith("bargein transcribe: ") and fragment in line, line


def _pocketsphinx_config(tmp_path: Path) -> Path:
    path = tmp_path / "asr.toml"
    path.write_text(f'[asr]\nengine = "pocketsphinx"\n[events]\nstate_dir = "{tmp_path}"\n')
    return path


def test_transcribe_of_a_file_cut_mid_sample_keeps_its_whole_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _wav(tmp_path / "a.wav", width=2, channels=2, frames=8000, cut_bytes=3)
    assert main(["transcribe", str(path), "--config", str(_pocketsphinx_config(tmp_path))]) == 0
    captured = capsys.readouterr()
    assert "ends in the middle of a sample; the last 1 bytes were left out" in captured.err
    assert "Traceback" not in captured.err


SAY_ROWS: list[tuple[str, list[str], str]] = [
    ("no directory", ["Hello.", "--out", "{tmp}/absent/dir/out.wav"], "cannot write"),
    ("a directory", ["Hello.", "--out", "{tmp}"], "is a directory"),
    ("no words", ["** -- ``", "--out", "{tmp}/kept.wav"], "nothing to speak"),
    ("missing voice", ["Hello.", "--out", "{tmp}/kept.wav", "--voice", "{tmp}/no.onnx"],
     "not found"),
    ("a pipe", ["Hello.", "--out", "{tmp}/fifo"], "is not a regular file (a device or a pipe)"),
]


@pytest.mark.parametrize(("argv", "fragment"), [row[1:] for row in SAY_ROWS],
                         ids=[row[0] for row in SAY_ROWS])
def test_say(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv, fragment) -> None:
    kept = tmp_path / "kept.wav"
    kept.write_bytes(b"an earlier file")
    if "{tmp}/fifo" in argv:
        os.mkfifo(tmp_path / "fifo")
    started = time.monotonic()
    assert main(["say", *[a.format(tmp=tmp_path) for a in argv]]) == 1
    assert time.monotonic() - started < 10.0  # fails before synthesizing everything
    line = stderr_line(capsys)
    assert fragment in line, line
    assert kept.read_bytes() == b"an earlier file"  # never clobbered by a failed run
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "fifo")
    assert left == ["kept.wav"]  # no temporary left
    assert not (tmp_path / "fifo").exists() or (tmp_path / "fifo").is_fifo()


def test_say_of_a_long_text_is_written_as_it_is_synthesized(tmp_path: Path) -> None:
    """20 KB of text: bytes reach the file while synthesis is still going, so memory
    holds a sentence, not the whole answer."""
    out = tmp_path / "long.wav"
    text = "This is one sentence of a long text. " * 540
    proc = subprocess.Popen([str(Path(sys.executable).with_name("bargein")), "say", text,
                             "--out", str(out)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60.0
        partial = []
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
            if partial and partial[0].stat().st_size > 100_000:
                break
            time.sleep(0.05)
        assert proc.poll() is None and partial, "nothing written while synthesizing"
        assert not out.exists()
    finally:
        proc.kill()
        proc.wait(10)


OUTPUT_ROWS: list[tuple[str, list[str], str]] = [
    ("demo into a file", ["demo", "--out", "{tmp}/file"], "exists and is not a directory"),
    ("demo under a file", ["demo", "--out", "{tmp}/file/sub"], "cannot create"),
    ("simulate into a file", ["simulate", str(SUITE_DIR / "cancel-enough.toml"),
                              "--out", "{tmp}/file"], "exists and is not a directory"),
    ("simulate under a file", ["simulate", str(SUITE_DIR / "cancel-enough.toml"),
                               "--out", "{tmp}/file/sub"], "cannot create"),
]


@pytest.mark.parametrize(("argv", "fragment"), [row[1:] for row in OUTPUT_ROWS],
                         ids=[row[0] for row in OUTPUT_ROWS])
def test_output_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv,
                            fragment) -> None:
    (tmp_path / "file").write_text("keep")
    started = time.monotonic()
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    assert time.monotonic() - started < 10.0  # refused before the run
    line = stderr_line(capsys)
    assert line.startswith("bargein: ") and fragment in line, line
    assert (tmp_path / "file").read_text() == "keep"


# =========================================================================== scenario files


def _scenario(tmp_path: Path, audio: Path | None = None, body: bytes | None = None) -> Path:
    path = tmp_path / "s.toml"
    if body is None:
        body = (b'description = "d"\n[agent]\ntext = "Hello there, this is the answer."\n'
                b'[[user]]\nat_s = 1.0\naudio = "' + str(audio).encode() + b'"\n'
                b'[expect]\noutcome = "continue"\n')
    path.write_bytes(body)
    return path


def _corrupt_clip(tmp_path: Path, **kw) -> Path:
    return _scenario(tmp_path, _wav(tmp_path / "clip.wav", **kw))


SCENARIO_ROWS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("not UTF-8", lambda p: _scenario(p, body=b'description = "caf\xe9"\n'), "not UTF-8 text"),
    ("a directory", lambda p: (p / "d.toml").mkdir() or p / "d.toml", "not a regular file"),
    ("missing", lambda p: p / "absent.toml", "scenario file not found"),
    ("clip is text", lambda p: _scenario(p, _file(p / "c.wav", "x")), "not a readable WAV file"),
    ("clip 0 Hz", lambda p: _corrupt_clip(p, rate_hz=0), "its header says 0 Hz"),
    ("clip 1 Hz", lambda p: _corrupt_clip(p, rate_hz=1), "its header says 1 Hz"),
    ("clip cut short", lambda p: _corrupt_clip(p, frames=16000, cut_bytes=10_000),
     "shorter than its header says"),
    ("clip cut mid-sample", lambda p: _corrupt_clip(p, channels=2, frames=16000, cut_bytes=1),
     "shorter than its header says"),
    ("clip 24-bit", lambda p: _corrupt_clip(p, width=3), "24-bit samples"),
    ("clip no data", lambda p: _corrupt_clip(p, frames=0), "holds no audio"),
    ("nan time", lambda p: _scenario(p, body=CLIP_SCENARIO.replace(b"1.0", b"nan")),
     "is not a finite number"),
]
CLIP_SCENARIO = (b'description = "d"\n[agent]\ntext = "Hello there, this is the answer."\n'
                 b'[[user]]\nat_s = 1.0\naudio = "' + str(CLIP).encode() + b'"\n'
                 b'[expect]\noutcome = "continue"\n')


@pytest.mark.parametrize(("make", "fragment"), [row[1:] for row in SCENARIO_ROWS],
                         ids=[row[0] for row in SCENARIO_ROWS])
def test_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, fragment) -> None:
    path = make(tmp_path)
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--out", str(out), "--asr", "oracle"]) == 1
    line = stderr_line(capsys)
    assert line.startswith("bargein: ") and fragment in line, line
    assert not out.exists()  # nothing started


# =========================================================================== the LLM server


def _ask(agent: FallbackAgent) -> tuple[str, str, str | None, str | None, float]:
    conversation = Conversation()
    conversation.add_user("What is the answer?")
    started = time.monotonic()
    stream = agent.reply(conversation)
    text = "".join(stream)
    return text, stream.agent, stream.fallback_reason, stream.end_reason, time.monotonic() - started


@dataclass(frozen=True)
class LlmRow:
    name: str
    modes: tuple[str, ...]
    answered_by: str  # "llm" or "local"
    reason: str  # a fragment of fallback_reason (local) or end_reason (llm); "" = none
    max_s: float
    overrides: tuple[tuple[str, object], ...] = ()
    key: str | None = None
    url: str | None = None


LLM_ROWS = [
    LlmRow("normal", ("normal",), "llm", "", 3.0),
    LlmRow("refused key", ("401",), "local", "refused the API key", 3.0),
    LlmRow("server errors", ("500",), "local", "HTTP 500", 3.0),
    LlmRow("reset before", ("reset",), "local", "after 3 attempts", 3.0),
    LlmRow("not JSON first", ("malformed_first",), "local", "malformed reply", 3.0),
    LlmRow("JSON too deep", ("deep",), "local", "JSON nested too deep", 3.0),
    LlmRow("no text at all", ("empty",), "local", "finished the answer without any text", 3.0),
    LlmRow("slow first token", ("slow_first",), "local", "no first token", 3.0,
           (("first_token_timeout_s", 0.5),)),
    LlmRow("stall", ("stall",), "llm", "stalled", 3.0),
    LlmRow("not JSON later", ("malformed",), "llm", "malformed chunk", 3.0),
    LlmRow("reset later", ("reset_mid",), "llm", "connection lost", 3.0),
    LlmRow("runaway in tokens", ("endless",), "llm", "passed [agent] max_answer_chars (200)",
           5.0, (("max_answer_chars", 200), ("max_answer_s", 30.0))),
    LlmRow("trickle", ("endless",), "llm", "took longer than [agent] max_answer_s (1 s)", 3.0,
           (("max_answer_s", 1.0), ("token_gap_timeout_s", 0.5))),
    LlmRow("50 MB in one chunk", ("one_line",), "local", "longer than", 10.0),
    LlmRow("key not ASCII", ("normal",), "local", "plain ASCII", 3.0, key="ключ-123"),
    LlmRow("URL the client refuses", ("normal",), "local", "llm_url", 3.0, url="http://[::1"),
    LlmRow("no server", ("normal",), "local", "cannot connect", 3.0, url="http://127.0.0.1:9/v1"),
]


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LlmTestServer]:
    server = LlmTestServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("row", LLM_ROWS, ids=[row.name for row in LLM_ROWS])
def test_llm_server(llm_server: LlmTestServer, row: LlmRow) -> None:
    llm_server.plan(*row.modes)
    llm_server.state.token_interval_s = 0.3 if row.name == "trickle" else 0.002
    values = dict(llm_url=row.url or llm_server.url, model="test-model", connect_timeout_s=1.0,
                  first_token_timeout_s=2.0, token_gap_timeout_s=0.5, retries=2,
                  retry_backoff_s=0.02)
    values.update(row.overrides)
    key = ApiKey(row.key, "test") if row.key else None
    agent = FallbackAgent(LlmAgent(AgentSettings(**values), key), LocalAgent())
    try:
        text, answered_by, fallback_reason, end_reason, took_s = _ask(agent)
    finally:
        agent.close()
    assert answered_by == row.answered_by, (fallback_reason, end_reason)
    assert took_s < row.max_s
    if row.answered_by == "local":
        assert text.startswith(FALLBACK_NOTICE)
        assert row.reason in (fallback_reason or ""), fallback_reason
        assert "\n" not in fallback_reason
    else:
        assert text.strip() and fallback_reason is None
        assert (row.reason in (end_reason or "")) if row.reason else end_reason is None, end_reason
        limit = dict(row.overrides).get("max_answer_chars", AgentSettings.max_answer_chars)
        assert len(text) <= limit


# =========================================================================== the event log's disk


def _record(n: int) -> InterruptionRecord:
    return InterruptionRecord(InterruptionType.CANCELLATION, "cut", float(n), wall_time_s=1.0,
                              agent_text="An answer. " * 10)


def _state_is_a_file(state: Path) -> Callable[[], None]:
    state.write_text("x")
    return lambda: (state.unlink(), state.mkdir())


def _log_is_a_link(state: Path) -> Callable[[], None]:
    state.mkdir()
    (state / "events.jsonl").symlink_to(state.parent / "victim")
    return lambda: (state / "events.jsonl").unlink()


def _log_is_a_directory(state: Path) -> Callable[[], None]:
    (state / "events.jsonl").mkdir(parents=True)
    return lambda: (state / "events.jsonl").rmdir()


def _log_is_a_fifo(state: Path) -> Callable[[], None]:
    state.mkdir()
    os.mkfifo(state / "events.jsonl")
    return lambda: (state / "events.jsonl").unlink()


def _rotation_blocked(state: Path) -> Callable[[], None]:
    (state / "events.jsonl.1" / "x").mkdir(parents=True)
    return lambda: None


DISK_ROWS: list[tuple[str, Callable[[Path], Callable[[], None]], str | None, str]] = [
    # (name, break the disk (returns the repair), EventLog.problem fragment, logged fragment)
    ("state dir is a file", _state_is_a_file, "is not a directory", "event log off"),
    ("events.jsonl is a link", _log_is_a_link, "Too many levels of symbolic links",
     "event log off"),
    ("events.jsonl is a directory", _log_is_a_directory, "Is a directory", "event log off"),
    ("events.jsonl is a FIFO", _log_is_a_fifo, "is not a regular file", "event log off"),
    ("rotation blocked", _rotation_blocked, None, "cannot rotate"),
]


@pytest.mark.parametrize(("break_disk", "problem", "logged"), [row[1:] for row in DISK_ROWS],
                         ids=[row[0] for row in DISK_ROWS])
def test_event_log_disk(tmp_path: Path, caplog: pytest.LogCaptureFixture, break_disk, problem,
                        logged) -> None:
    state = tmp_path / "state"
    repair = break_disk(state)
    with caplog.at_level("WARNING", logger="bargein.device.event_log"):
        events = EventLog(state, max_bytes=10_000, keep=1)
        for n in range(40):  # past max_bytes: rotation is due
            events.append(_record(n))  # never raises
        if problem is None:
            assert events.is_on
        else:
            assert not events.is_on and problem in events.problem
            repair()
            assert events.retry() and events.is_on
        events.close()
    assert logged in caplog.text
    assert caplog.text.count(logged) == 1  # said once, not once per record
    kept = [r.monotonic_s for name in ("events.jsonl.1", "events.jsonl")
            if (state / name).is_file() for r in read_records(state / name)]
    assert kept == list(range(40))
    assert not (tmp_path / "victim").exists()


def test_event_log_lines_that_are_not_records_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = json.dumps(_record(1).to_dict())
    path.write_text("\n".join([good, "[1, 2]", "7", "null", '"x"', "{}", '{"type": 5}',
                               "{" * 100_000, good]) + "\n")
    assert [r.monotonic_s for r in read_records(path)] == [1.0, 1.0]


# =========================================================================== fetch-models' server


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("m/README", "model\n")
    return buf.getvalue()


ARCHIVE = _zip()
HTML = b"<html>captive portal</html>"


@contextmanager
def _fetch_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Quiet: the tests read what the client printed, not the server's access log."""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            name = self.path.lstrip("/")
            if name.startswith("status-"):
                self.send_error(int(name.split("-")[1].split(".")[0]))
                return
            body = HTML if name == "html.zip" else ARCHIVE
            self.send_response(200)
            self.send_header("Content-Length", "12abc" if name == "badlength.zip" else str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    assert not thread.is_alive()


FETCH_ROWS: list[tuple[str, str, bytes, str]] = [
    ("404", "status-404.zip", ARCHIVE, "HTTP 404"),
    ("500", "status-500.zip", ARCHIVE, "HTTP 500"),
    ("wrong checksum", "good.zip", HTML, "does not match the pinned"),
    ("not a zip, checksum matches", "html.zip", HTML, "not a zip archive although its sha256"),
    ("bad Content-Length", "badlength.zip", ARCHIVE, "installed m"),
    ("no server", "http://127.0.0.1:9/m.zip", ARCHIVE, "cannot connect"),
    ("not http", "gopher://127.0.0.1/m.zip", ARCHIVE, "cannot connect (unknown url type"),
]


@pytest.mark.parametrize(("path", "sha_of", "fragment"), [row[1:] for row in FETCH_ROWS],
                         ids=[row[0] for row in FETCH_ROWS])
def test_fetch_models_server(tmp_path: Path, path: str, sha_of: bytes, fragment: str) -> None:
    with _fetch_server() as url:
        full = path if "://" in path else f"{url}/{path}"
        done = subprocess.run(
            [sys.executable, str(FETCH_MODELS), "--dest", str(tmp_path), "--url", full,
             "--sha256", hashlib.sha256(sha_of).hexdigest(), "--name", "m", "--quiet"],
            capture_output=True, text=True, timeout=60,
        )
    if fragment.startswith("installed"):
        assert done.returncode == 0, done.stderr
        assert fragment in done.stdout and (tmp_path / "m" / "README").read_text() == "model\n"
        return
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("fetch-models: ") and fragment in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-made left


def test_the_table_covers_every_entry_point() -> None:
    tables = {"config": CONFIG_ROWS, "transcribe": TRANSCRIBE_ROWS, "say": SAY_ROWS,
              "output": OUTPUT_ROWS,
              "scenario": SCENARIO_ROWS, "llm": LLM_ROWS, "disk": DISK_ROWS, "fetch": FETCH_ROWS}
    assert all(len(rows) >= 4 for rows in tables.values())
    assert sum(len(rows) for rows in tables.values()) >= 70
