"""The README's main command off a Pi: the demo conversation runs and shows each moment."""

from __future__ import annotations

from bargein.device.cli import main
from bargein.device.event_log import InterruptionRecord  # noqa: F401 - the records printed


def test_demo_runs_the_whole_conversation(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "oracle recognizer" in printed
    assert "backchannel, continued" in printed
    assert "correction, cut" in printed
    assert "cancellation, cancelled" in printed
    assert "The button on top" in printed  # the correction was taken into the next answer
    for name in ("speaker.wav", "events.jsonl", "timeline.png"):
        assert (out / name).stat().st_size > 1000
