"""The interruption event log (durable JSON lines, rotation, torn lines) and the rate."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys

import pytest

from bargein.agent.interruption import InterruptionType
from bargein.device.event_log import EventLog, InterruptionRecord, read_records
from bargein.device.interruption_rate import InterruptionRate


def record(n: int = 0, **fields) -> InterruptionRecord:
    values = dict(
        type=InterruptionType.CORRECTION, handling="cut", monotonic_s=100.0 + n,
        user_text="no, I said Tuesday", agent_text="Your order arrives on Monday.",
        words_heard=("Your", "order"), word_cut="arrives", words_unplayed=("on", "Monday."),
        progress_pct=41.5, onset_to_duck_ms=32.0, onset_to_silence_ms=305.0, speech_ms=900.0,
        utterance_id=3,
    )
    values.update(fields)
    return InterruptionRecord(**values)


def test_records_are_json_lines_stamped_with_wall_time(tmp_path):
    with EventLog(tmp_path, wall_clock=lambda: 1_700_000_000.0) as events:
        events.append(record(1))
        events.append(record(2, type=InterruptionType.BUTTON, handling="button"))
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["type"] == "correction" and first["wall_time_s"] == 1_700_000_000.0
    assert first["words_heard"] == ["Your", "order"] and first["word_cut"] == "arrives"
    back = list(read_records(tmp_path / "events.jsonl"))
    assert back[0] == record(1, wall_time_s=1_700_000_000.0)
    assert back[1].type is InterruptionType.BUTTON


def test_a_torn_last_line_is_skipped_and_sealed(tmp_path, caplog):
    path = tmp_path / "events.jsonl"
    with EventLog(tmp_path) as events:
        events.append(record(1))
    with open(path, "ab") as f:  # a crash in the middle of a write
        f.write(b'{"type": "cancellation", "handling": "canc')
    with caplog.at_level(logging.WARNING):
        with EventLog(tmp_path) as events:  # the restart
            events.append(record(2))
        back = list(read_records(path))
    assert [r.monotonic_s for r in back] == [101.0, 102.0]
    assert "torn" in caplog.text
    assert path.read_text().count("\n") == 3


def test_rotation_by_size_keeps_n_files(tmp_path):
    line_bytes = len(json.dumps(record(0, wall_time_s=1.0).to_dict())) + 1
    with EventLog(tmp_path, max_bytes=3 * line_bytes + 10, keep=2, wall_clock=lambda: 1.0) as events:
        for n in range(10):
            events.append(record(n))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    kept = {name: [r.monotonic_s for r in read_records(tmp_path / name)] for name in names}
    assert kept == {  # 3 records per file; the oldest file (100-102) was dropped
        "events.jsonl": [109.0],
        "events.jsonl.1": [106.0, 107.0, 108.0],
        "events.jsonl.2": [103.0, 104.0, 105.0],
    }
    assert all(p.stat().st_size <= 3 * line_bytes + 10 for p in tmp_path.iterdir())


def test_transcripts_left_out_when_asked(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bargein.device.event_log"):
        with EventLog(tmp_path, log_transcripts=False) as events:
            events.append(record(1))
    data = json.loads((tmp_path / "events.jsonl").read_text())
    assert data["user_text"] is None
    assert "Tuesday" not in caplog.text
    (logged,) = [r for r in caplog.records if r.name == "bargein.device.event_log"]
    assert logged.BARGEIN_TYPE == "correction"
    assert logged.BARGEIN_USER_TEXT == ""


def test_structured_fields_on_the_log_line(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bargein.device.event_log"):
        with EventLog(tmp_path) as events:
            events.append(record(1))
    (logged,) = [r for r in caplog.records if r.name == "bargein.device.event_log"]
    assert logged.BARGEIN_PROGRESS_PCT == 41.5
    assert logged.BARGEIN_HANDLING == "cut"
    assert json.loads(logged.BARGEIN_WORDS_UNPLAYED) == ["on", "Monday."]
    assert 'user="no, I said Tuesday"' in logged.getMessage()


def test_stopped_speech_counts_only_cuts():
    assert record().stopped_speech
    assert not record(type=InterruptionType.BACKCHANNEL, onset_to_silence_ms=None).stopped_speech


# -- the rate ----------------------------------------------------------------------------


def test_rate_uses_the_observed_span_before_the_window_fills():
    rate = InterruptionRate(window_s=300.0, warn_per_min=100.0, started_s=0.0)
    for t in (10.0, 20.0, 30.0):
        rate.add(t)
    assert rate.per_minute(60.0) == pytest.approx(3.0)  # 3 in one minute, not 3 in five
    assert rate.per_minute(150.0) == pytest.approx(3 * 60 / 150)


def test_rate_slides_old_interruptions_out():
    rate = InterruptionRate(window_s=60.0, warn_per_min=100.0, started_s=0.0)
    for t in (100.0, 110.0, 150.0):
        rate.add(t)
    assert rate.per_minute(155.0) == pytest.approx(3.0)
    assert rate.per_minute(165.0) == pytest.approx(2.0)  # 100 s fell out of the window
    assert rate.per_minute(215.0) == pytest.approx(0.0)


def test_rate_floor_keeps_an_early_single_interruption_sane():
    rate = InterruptionRate(window_s=300.0, warn_per_min=2.0, started_s=0.0)
    assert not rate.add(1.0)
    assert rate.per_minute(1.0) == pytest.approx(2.0)  # over 30 s, not 60/min


def test_rate_warns_once_per_crossing(caplog):
    rate = InterruptionRate(window_s=60.0, warn_per_min=2.0, started_s=0.0)
    with caplog.at_level(logging.WARNING, logger="bargein.device.interruption_rate"):
        assert not rate.add(100.0)
        assert not rate.add(110.0)
        assert rate.add(120.0)  # 3 in the last minute: over 2/min
        assert not rate.add(125.0)  # still over: no second warning
        rate.poll(300.0)  # quiet again
        for t in (400.0, 401.0):
            rate.add(t)
        assert rate.add(402.0)  # a new crossing warns again
    assert caplog.text.count("interruption rate") == 2


# -- a disk that refuses records -----------------------------------------------------------


def _monotonic_of(path) -> list[float]:
    return [r.monotonic_s for r in read_records(path)]


def test_a_failed_rotation_keeps_the_log_open_and_writing(tmp_path, caplog):
    """The rename fails (here: ``events.jsonl.1`` is a directory that cannot be replaced):
    the records go on into the current file, past the size limit, and none is lost."""
    (tmp_path / "events.jsonl.1" / "x").mkdir(parents=True)
    line_bytes = len(json.dumps(record(0, wall_time_s=1.0).to_dict())) + 1
    with caplog.at_level(logging.ERROR, logger="bargein.device.event_log"):
        with EventLog(tmp_path, max_bytes=2 * line_bytes, keep=1, wall_clock=lambda: 1.0) as events:
            for n in range(6):
                events.append(record(n))
            assert events.is_on
    assert _monotonic_of(tmp_path / "events.jsonl") == [100.0 + n for n in range(6)]
    assert caplog.text.count("cannot rotate") == 1  # said once, not per record


def test_a_failed_write_is_truncated_back_and_the_record_written_later(tmp_path):
    """A file-size limit (RLIMIT_FSIZE, as a full card behaves) stops a write half-way:
    the torn part is cut off, the record waits, and once the limit is lifted it and the
    next ones are written whole; nothing swallows the next record."""
    script = f"""
import resource, json
from bargein.device.event_log import EventLog
from bargein.agent.interruption import InterruptionType
from bargein.device.event_log import InterruptionRecord
def rec(n):
    return InterruptionRecord(type=InterruptionType.CANCELLATION, handling="cut",
                              monotonic_s=float(n), agent_text="x" * 300)
events = EventLog({str(tmp_path)!r}, wall_clock=lambda: 1.0)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
states = []
for n in range(5):
    events.append(rec(n))
    states.append((events.is_on, events.pending))
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
events.append(rec(5))
states.append((events.is_on, events.pending))
events.close()
print(json.dumps(states))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    states = json.loads(done.stdout)
    assert states[0] == [True, 0] and states[-1] == [True, 0]
    assert [False, 1] in states  # the limit was hit and the record held back
    assert "cannot write" in done.stderr and "File too large" in done.stderr
    raw = (tmp_path / "events.jsonl").read_bytes()
    assert all(json.loads(line) for line in raw.splitlines())  # no torn line at all
    assert _monotonic_of(tmp_path / "events.jsonl") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_an_unusable_state_dir_turns_the_log_off_until_it_is_fixed(tmp_path, caplog):
    state = tmp_path / "state"
    state.write_text("not a directory")  # e.g. a wrong state_dir, or a read-only card
    with caplog.at_level(logging.ERROR, logger="bargein.device.event_log"):
        events = EventLog(state)
        assert not events.is_on and "is not a directory" in events.problem
        events.append(record(1))  # does not raise
        events.append(record(2))
        assert events.pending == 2 and not events.retry()
        state.unlink()
        state.mkdir()
        assert events.retry() and events.is_on
        events.append(record(3))
        events.close()
    assert caplog.text.count("event log off") == 1
    assert _monotonic_of(state / "events.jsonl") == [101.0, 102.0, 103.0]


def test_the_log_does_not_follow_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    state = tmp_path / "state"
    state.mkdir()
    (state / "events.jsonl").symlink_to(victim)
    events = EventLog(state)
    events.append(record(1))
    assert not events.is_on and "symbolic links" in events.problem
    events.close()
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize("line", [b"[1, 2]\n", b"42\n", b'"text"\n', b"null\n",
                                  b'{"handling": "cut"}\n', b'{"type": "nonsense"}\n',
                                  b"\xff\xfe\n"])
def test_reading_skips_lines_that_are_not_records(tmp_path, line, caplog):
    path = tmp_path / "events.jsonl"
    with EventLog(tmp_path) as events:
        events.append(record(1))
    with open(path, "ab") as f:
        f.write(line)
    with EventLog(tmp_path) as events:
        events.append(record(2))
    with caplog.at_level(logging.WARNING):
        assert _monotonic_of(path) == [101.0, 102.0]
    assert "line 2 is torn or corrupt" in caplog.text


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_holds_records_back_until_space_returns(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], check=True)
    try:
        filler = disk / "filler"
        with EventLog(disk, wall_clock=lambda: 1.0) as events:
            events.append(record(0))
            with open(filler, "wb") as f:  # someone else fills the disk
                with pytest.raises(OSError) as full:
                    f.write(b"\0" * 64_000)
                assert full.value.errno == errno.ENOSPC
            n = 1
            while events.is_on and n < 100:  # until the page the log already has is full
                events.append(record(n))
                n += 1
            assert not events.is_on and "No space" in events.problem and events.pending == 1
            events.append(record(n))
            assert events.pending == 2
            filler.unlink()
            assert events.retry() and events.is_on
            events.append(record(n + 1))
        assert _monotonic_of(disk / "events.jsonl") == [100.0 + i for i in range(n + 2)]
        assert b"\0" not in (disk / "events.jsonl").read_bytes()
    finally:
        subprocess.run(["umount", str(disk)], check=True)
