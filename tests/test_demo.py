"""The README's main command off a Pi: the demo conversation runs and shows each moment."""

from __future__ import annotations

import json

from bargein.bench.scoring import score_scenario
from bargein.bench.sim_log import read_events
from bargein.device.cli import main
from bargein.device.event_log import InterruptionRecord  # noqa: F401 - the records printed


def test_demo_runs_the_whole_conversation(tmp_path, capsys):
    """With perfect hearing (the oracle) every moment of the demo goes as scripted."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--asr", "oracle"]) == 0
    printed = capsys.readouterr().out
    assert "Recognition: oracle" in printed
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


def test_demo_hears_with_a_real_recognizer_and_keeps_one_voice_level(tmp_path, capsys):
    """The README's command, as a new user runs it: real recognition (pocketsphinx here),
    named in the output; every reply after a cut at the level of the answer before it,
    and no duck with nobody talking."""
    from bargein.bench.demo import demo_scenario

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Recognition: pocketsphinx:en-us (with spotter" in printed
    events = read_events(out / "events.jsonl")
    assert json.loads((out / "events.jsonl").read_text().splitlines()[0])["asr"].startswith(
        "pocketsphinx")
    heard = [e for e in events if e.kind in ("partial", "final")]
    onset = min(e["onset_s"] for e in events if e.kind == "truth_user")
    assert heard and all(e.t_s > onset for e in heard)
    gains = [e["gain_db"] for e in events if e.kind == "reply_played" and e["gain_db"] is not None]
    assert len(gains) >= 2 and all(abs(g) <= 1.0 for g in gains), gains
    score = score_scenario(demo_scenario(tmp_path), events)
    assert score.self_ducks == 0, score.notes
    # Each moment comes while the appliance talks: "stop" cuts the answer, "continue"
    # plays its rest (not a new turn the agent cannot answer), the correction cuts that.
    lines = printed.splitlines()
    assert "cancellation, cancelled" in printed and "correction, cut" in printed
    after_continue = next(i for i, line in enumerate(lines) if line.endswith("you      : continue"))
    assert lines[after_continue + 1].split(" bargein  : ")[-1].startswith("Then I work out")
    assert "can't help" not in printed
