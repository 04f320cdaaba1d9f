"""Every interruption as a record: one JSON line in ``<state_dir>/events.jsonl``.

The file only ever grows by whole lines written in append mode, each flushed and
fsynced, so a crash can at worst leave a torn last line: the next start seals it
with a newline and readers skip it with a warning. The file is rotated by size
(``events.jsonl.1`` ... ``.N``). Each record is also logged with structured fields
(upper-case ``extra`` keys, which the journal handler turns into journal fields).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bargein.agent.interruption import CUT_TYPES
from bargein.agent.interruption import InterruptionType

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
    def from_dict(cls, data: dict[str, Any]) -> InterruptionRecord:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["type"] = InterruptionType(values["type"])
        values["words_heard"] = tuple(values.get("words_heard", ()))
        values["words_unplayed"] = tuple(values.get("words_unplayed", ()))
        if values.get("user_text") is None:
            values["user_text"] = ""
        return cls(**values)


class EventLog:
    """Appends interruption records to ``<state_dir>/events.jsonl`` durably."""

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        size = os.fstat(self._fd).st_size
        if size and not self._ends_with_newline():
            # A crash tore the last line: seal it so the next record stands alone.
            log.warning("event log %s ends with a torn line; sealing it", self.path)
            self._write_durably(b"\n")

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def _write_durably(self, data: bytes) -> None:
        assert self._fd is not None, "event log is closed"
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def _rotate(self) -> None:
        self.close()
        oldest = self.path.with_name(f"{EVENT_LOG_NAME}.{self.keep}")
        oldest.unlink(missing_ok=True)
        for index in range(self.keep - 1, 0, -1):
            src = self.path.with_name(f"{EVENT_LOG_NAME}.{index}")
            if src.exists():
                src.rename(self.path.with_name(f"{EVENT_LOG_NAME}.{index + 1}"))
        self.path.rename(self.path.with_name(f"{EVENT_LOG_NAME}.1"))
        log.info("event log rotated; keeping %d old files", self.keep)
        self._open()

    def append(self, record: InterruptionRecord) -> InterruptionRecord:
        """Write one record (stamped with wall time if it has none), then log it."""
        if record.wall_time_s is None:
            record = dataclasses.replace(record, wall_time_s=self._wall_clock())
        data = record.to_dict(self.log_transcripts)
        line = (json.dumps(data, ensure_ascii=False) + "\n").encode()
        assert self._fd is not None, "event log is closed"
        size = os.fstat(self._fd).st_size
        if size and size + len(line) > self.max_bytes:
            self._rotate()
        self._write_durably(line)
        log_record(record, self.log_transcripts)
        return record

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
