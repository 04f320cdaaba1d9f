"""The interruption event log (durable JSON lines, rotation, torn lines) and the rate."""

from __future__ import annotations

import json
import logging

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
