"""Every interruption as a record: one JSON line in ``<state_dir>/events.jsonl``.

The file only ever grows by whole lines written in append mode, each flushed and
fsynced. A write that fails (disk full, file-size limit) is truncated back; a crash
can at worst leave a torn last line: the next write seals it with a newline and
readers skip it with a warning. A disk that refuses records turns the log off, not
the appliance (see :class:`EventLog`). The file is rotated by size
(``events.jsonl.1`` ... ``.N``). Each record is also logged with structured fields
(upper-case ``extra`` keys, which the journal handler turns into journal fields).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bargein.agent.interruption import CUT_TYPES, InterruptionType

log = logging.getLogger(__name__)

EVENT_LOG_NAME = "events.jsonl"
_TRANSCRIPT_FIELDS = ("user_text",)


@dataclass(frozen=True)
class InterruptionRecord:
    """One time a person talked over the appliance (or pressed its button).

    ``monotonic_s`` is on the capture clock (the machine's event time); ``wall_time_s``
    is stamped by :class:`EventLog` when the record is written, since the state
    machine reads no clock. Latencies are from the speech onset (the VAD's start, or
    the press) to the duck and to silence at the speaker; None when it did not happen.
    ``handling`` says what the appliance did: continued, ignored, resumed, cut,
    cancelled, merged or button.
    """

    type: InterruptionType
    handling: str
    monotonic_s: float
    user_text: str = ""
    agent_text: str = ""
    words_heard: tuple[str, ...] = ()
    word_cut: str | None = None
    words_unplayed: tuple[str, ...] = ()
    progress_pct: float = 0.0
    onset_to_duck_ms: float | None = None
    onset_to_silence_ms: float | None = None
    speech_ms: float = 0.0
    utterance_id: int | None = None
    wall_time_s: float | None = None

    @property
    def stopped_speech(self) -> bool:
        """The voice was cut for it: what the interruption rate counts."""
        return self.type in CUT_TYPES and self.onset_to_silence_ms is not None

    def to_dict(self, log_transcripts: bool = True) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["type"] = self.type.value
        data["words_heard"] = list(self.words_heard)
        data["words_unplayed"] = list(self.words_unplayed)
        if not log_transcripts:
            for name in _TRANSCRIPT_FIELDS:
                data[name] = None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> InterruptionRecord:
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object but {type(data).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["type"] = InterruptionType(values["type"])
        values["words_heard"] = tuple(values.get("words_heard", ()))
        values["words_unplayed"] = tuple(values.get("words_unplayed", ()))
        if values.get("user_text") is None:
            values["user_text"] = ""
        return cls(**values)


PENDING_RECORDS = 1000
"""Records kept in memory while the disk refuses them, written once it takes them again."""


class EventLog:
    """Appends interruption records to ``<state_dir>/events.jsonl`` durably.

    A disk problem never stops the appliance and never closes the log for good: a
    failed write is truncated back (or, if even that fails, sealed with a newline
    before the next record), the record waits in memory (at most
    :data:`PENDING_RECORDS`), and every later :meth:`append` or :meth:`retry` tries
    again. ``problem`` says why the log is off (None while records reach the disk);
    it is logged once per change of reason. A failed rotation keeps writing to the
    current file past ``max_bytes``. Files are opened without following links.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        max_bytes: int = 10_000_000,
        keep: int = 5,
        log_transcripts: bool = True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(state_dir) / EVENT_LOG_NAME
        self.max_bytes = max_bytes
        self.keep = keep
        self.log_transcripts = log_transcripts
        self._wall_clock = wall_clock
        self._fd: int | None = None
        self._seal_needed = False
        self._pending: deque[bytes] = deque()
        self._dropped = 0
        self._rotate_problem: str | None = None
        self.problem: str | None = None
        if self._open():
            self._seal_if_torn()

    @property
    def is_on(self) -> bool:
        """Records reach the disk (nothing is waiting in memory)."""
        return self.problem is None

    @property
    def pending(self) -> int:
        """Records waiting in memory for the disk."""
        return len(self._pending)

    def _open(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, _OPEN_FLAGS, 0o640)
        except FileExistsError:
            self._set_problem(f"{self.path.parent} is not a directory")
            return False
        except OSError as exc:
            self._set_problem(f"cannot open {self.path}: {_reason(exc)}")
            return False
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):  # a FIFO would block the loop
            os.close(self._fd)
            self._fd = None
            self._set_problem(f"{self.path} is not a regular file")
            return False
        self._seal_needed = True
        return True

    def _seal_if_torn(self) -> None:
        if not self._pending:
            try:
                self._write_line(b"")
            except OSError as exc:
                self._set_problem(f"cannot write {self.path}: {_reason(exc)}")

    def _set_problem(self, problem: str) -> None:
        if problem != self.problem:
            log.error("event log off: %s; records wait in memory (up to %d) and are written "
                      "once the disk takes them; free space or fix the state directory",
                      problem, PENDING_RECORDS)
        self.problem = problem

    def _write_line(self, line: bytes) -> None:
        """Write one line whole, or leave the file as it was (else sealed next time)."""
        assert self._fd is not None
        fd = self._fd
        size = os.fstat(fd).st_size
        data = line
        if self._seal_needed and size and os.pread(fd, 1, size - 1) != b"\n":
            log.warning("event log %s ends with a torn line; sealing it", self.path)
            data = b"\n" + line
        if not data:
            self._seal_needed = False
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)
            except OSError:
                self._seal_needed = True
            raise
        self._seal_needed = False

    def _rotate(self) -> None:
        """Shift the old files and start a new one; on failure the current file stays open."""
        oldest = self.path.with_name(f"{EVENT_LOG_NAME}.{self.keep}")
        oldest.unlink(missing_ok=True)
        for index in range(self.keep - 1, 0, -1):
            src = self.path.with_name(f"{EVENT_LOG_NAME}.{index}")
            if src.exists():
                src.rename(self.path.with_name(f"{EVENT_LOG_NAME}.{index + 1}"))
        self.path.rename(self.path.with_name(f"{EVENT_LOG_NAME}.1"))
        # The open descriptor now writes to .1; swap only once the new file is open.
        fd = os.open(self.path, _OPEN_FLAGS, 0o640)
        old, self._fd = self._fd, fd
        self._seal_needed = False
        if old is not None:
            os.close(old)
        log.info("event log rotated; keeping %d old files", self.keep)

    def _rotate_if_due(self, line_bytes: int) -> None:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if not size or size + line_bytes <= self.max_bytes:
            return
        try:
            self._rotate()
        except OSError as exc:
            problem = f"cannot rotate {self.path}: {_reason(exc)}"
            if problem != self._rotate_problem:
                log.error("%s; writing on past %d bytes", problem, self.max_bytes)
            self._rotate_problem = problem
        else:
            self._rotate_problem = None

    def retry(self) -> bool:
        """Write the records waiting in memory; whether the log is on afterwards."""
        if self._fd is None and not self._open():
            return False
        while self._pending:
            line = self._pending[0]
            try:
                self._rotate_if_due(len(line))
                self._write_line(line)
            except OSError as exc:
                self._set_problem(f"cannot write {self.path}: {_reason(exc)}")
                return False
            self._pending.popleft()
        if self.problem is not None:
            lost = f"; {self._dropped} records were lost" if self._dropped else ""
            log.warning("event log on again: %s%s", self.path, lost)
            self.problem = None
            self._dropped = 0
        return True

    def append(self, record: InterruptionRecord) -> InterruptionRecord:
        """Write one record (stamped with wall time if it has none), then log it.

        Never raises for a disk problem: see ``problem``.
        """
        if record.wall_time_s is None:
            record = dataclasses.replace(record, wall_time_s=self._wall_clock())
        data = record.to_dict(self.log_transcripts)
        line = (json.dumps(data, ensure_ascii=False) + "\n").encode()
        if len(self._pending) >= PENDING_RECORDS:
            self._pending.popleft()
            self._dropped += 1
        self._pending.append(line)
        self.retry()
        log_record(record, self.log_transcripts)
        return record

    def close(self) -> None:
        """Close the file; records still waiting in memory are reported as lost."""
        if self._pending:
            log.error("event log closed with %d records not written to %s",
                      len(self._pending), self.path)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OPEN_FLAGS = (os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
               | os.O_CLOEXEC)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def log_record(record: InterruptionRecord, log_transcripts: bool = True) -> None:
    """One log line per interruption, its fields as structured ``extra`` (journal fields)."""
    extra = {
        f"BARGEIN_{key.upper()}": _journal_value(value)
        for key, value in record.to_dict(log_transcripts).items()
    }
    heard = len(record.words_heard)
    total = heard + len(record.words_unplayed) + (1 if record.word_cut else 0)
    log.info(
        "interruption %s handled=%s heard %d/%d words (%.0f%%)%s",
        record.type.value, record.handling, heard, total, record.progress_pct,
        f' user="{record.user_text}"' if log_transcripts and record.user_text else "",
        extra=extra,
    )


def _journal_value(value: Any) -> Any:
    """Journal fields are text: None becomes empty, lists become JSON."""
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list) else value


def read_records(path: str | os.PathLike[str]) -> Iterator[InterruptionRecord]:
    """The records of one event-log file; a torn or corrupt line is skipped with a warning."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield InterruptionRecord.from_dict(json.loads(raw))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "event log %s line %d is torn or corrupt (%s); skipped", path, number, exc
                )
