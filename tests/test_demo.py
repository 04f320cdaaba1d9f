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
    # Reply sentences are shown when they played, not when they were handed to Piper:
    # in order, apart, and the sentence the correction cut ends in a dash.
    spoken = [line for line in printed.splitlines() if " bargein  : " in line]
    times = [float(line.split("s bargein")[0]) for line in spoken]
    assert times == sorted(times) and len(set(times)) == len(times), spoken
    correction = next(i for i, line in enumerate(printed.splitlines()) if "correction, cut" in line)
    cut_sentence = [line for line in printed.splitlines()[:correction] if " bargein  : " in line][-1]
    assert cut_sentence.endswith(" —"), cut_sentence
    assert "If you say stop" not in printed  # never played: the correction came first
    for name in ("speaker.wav", "events.jsonl", "timeline.png"):
        assert (out / name).stat().st_size > 1000
