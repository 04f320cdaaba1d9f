"""Scoring on hand-made event logs: known times in, known latencies and verdicts out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bargein.bench.scenario import scenario_from_dict
from bargein.bench.scoring import percentile, score_scenario, summarise
from bargein.bench.sim_log import (
    SimLogError,
    SimLogWriter,
    events_from_dicts,
    read_events,
)

AGENT = "Our refund policy covers every purchase made in the last thirty days"


def scenario(name: str, outcome: str, kind: str | None = None, **expect_extra) -> object:
    expect = {"outcome": outcome, **expect_extra}
    if kind:
        expect["type"] = kind
    data = {"description": "test", "agent": {"text": AGENT}, "expect": expect,
            "user": [{"at_s": 1.0, "text": "stop"}]}
    return scenario_from_dict(data, Path(f"/suite/{name}.toml"))


def played_words(log: SimLogWriter, upto: int, word_s: float = 0.3) -> None:
    """The agent's words coming out of the speaker back to back from t = 0."""
    log.write("speak", 0.0, utterance_id=1, text=AGENT)
    for i, word in enumerate(AGENT.split()[:upto]):
        log.write("word_played", i * word_s, utterance_id=1, index=i, text=word,
                  start_s=i * word_s, end_s=(i + 1) * word_s, complete=True)


def cut_log(words_heard: list[str], *, cut_s: float = 1.4, silent_s: float = 1.405) -> SimLogWriter:
    """User says 'stop' at 1.0-1.3 s; duck at 1.12; partial at 1.38; cut at 1.4; silent 1.405."""
    log = SimLogWriter(None)
    log.write("run", 0.0, scenario="t", strategy="bargein")
    played_words(log, upto=4)  # words 0..3 end at 0.3 .. 1.2; word 4 would end at 1.5
    log.write("word_played", 1.2, utterance_id=1, index=4, text="every", start_s=1.2,
              end_s=silent_s, complete=False)
    log.write("truth_user", 1.0, clip=0, text="stop", onset_s=1.0, end_s=1.3)
    log.write("speech_started", 1.1, onset_s=1.02)
    log.write("duck", 1.12, gain_db=-18.0)
    log.write("partial", 1.38, text="stop")
    log.write("decision", 1.38, type="cancellation")
    log.write("cut", cut_s, type="cancellation", utterance_id=1)
    log.write("speaker_silent", silent_s, utterance_id=1)
    log.interruption(1.45, {"type": "cancellation", "handled": "cut", "utterance_id": 1,
                            "words_heard": words_heard, "word_cut": "every",
                            "words_unplayed": AGENT.split()[5:]})
    log.write("end", 6.0, audio_s=6.0)
    return log


def test_cut_at_known_time_scores_known_latencies():
    log = cut_log(["Our", "refund", "policy", "covers"])
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.outcome == "cut" and score.correct and score.cut_valid
    assert score.type == "cancellation" and score.type_ok
    assert score.detect_ms == pytest.approx(120.0)
    assert score.cut_ms == pytest.approx(405.0)
    assert score.cut_after_recognition_ms == pytest.approx(25.0)
    assert score.heard_exact is True
    assert score.ducks == 1 and score.cuts == 1 and score.cause == "user:0"


def test_heard_exact_false_when_the_cut_word_is_counted_as_heard():
    log = cut_log(["Our", "refund", "policy", "covers", "every"])
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.heard_exact is False
    assert any("words heard" in note for note in score.notes)


def test_heard_exact_false_when_a_finished_word_is_missing():
    log = cut_log(["Our", "refund", "policy"])
    assert score_scenario(scenario("s", "cut", "cancellation"), log.events).heard_exact is False


def test_heard_compares_normalised_tokens():
    log = cut_log(["our", "Refund,", "policy", "covers."])
    assert score_scenario(scenario("s", "cut", "cancellation"), log.events).heard_exact is True


def test_continue_scenario_with_a_cut_is_a_false_cut():
    log = cut_log(["Our", "refund", "policy", "covers"])
    score = score_scenario(scenario("s", "continue", "backchannel"), log.events)
    assert score.outcome == "cut" and not score.correct
    summary = summarise([score])
    assert summary["false_cut_rate"] == 1.0 and summary["recall"] is None


def test_continue_scenario_without_cut_is_correct_and_measures_the_duck():
    log = SimLogWriter(None)
    played_words(log, upto=10)
    log.write("truth_user", 1.0, clip=0, text="uh-huh", onset_s=1.0, end_s=1.4)
    log.write("duck", 1.09)
    log.write("unduck", 1.6)
    score = score_scenario(scenario("s", "continue", "backchannel"), log.events)
    assert score.outcome == "continue" and score.correct
    assert score.detect_ms == pytest.approx(90.0) and score.cut_ms is None and score.heard_exact is None


def test_wrong_type_counts_against_type_accuracy_not_recall():
    log = cut_log(["Our", "refund", "policy", "covers"])
    score = score_scenario(scenario("s", "cut", "redirect"), log.events)
    assert score.cut_valid and score.type_ok is False
    summary = summarise([score])
    assert summary["recall"] == 1.0 and summary["type_accuracy"] == 0.0


def test_record_type_settles_over_the_cut_event_type():
    log = SimLogWriter(None)
    played_words(log, upto=10)
    log.write("truth_user", 1.0, clip=0, text="actually never mind", onset_s=1.0, end_s=1.9)
    log.write("cut", 1.5, type="correction")  # cut on "actually"
    log.write("speaker_silent", 1.505)
    log.interruption(2.1, {"type": "cancellation", "handled": "cut",
                           "words_heard": AGENT.split()[:5]})
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.type == "cancellation" and score.type_ok and score.heard_exact


def test_cut_before_anyone_spoke_is_not_recall():
    log = SimLogWriter(None)
    played_words(log, upto=10)
    log.write("cut", 0.5)
    log.write("speaker_silent", 0.505)
    log.write("truth_user", 1.0, clip=0, text="stop", onset_s=1.0, end_s=1.3)
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.outcome == "cut" and not score.cut_valid and not score.correct
    assert summarise([score])["recall"] == 0.0


def test_cut_on_a_noise_is_not_a_valid_cut():
    log = SimLogWriter(None)
    played_words(log, upto=10)
    log.write("truth_user", 1.0, clip=0, text="", onset_s=1.0, end_s=1.2)
    log.write("cut", 1.25)
    log.write("speaker_silent", 1.255)
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert not score.cut_valid and "noise" in " ".join(score.notes)


def test_button_cut_latency_and_merged_cancel():
    log = SimLogWriter(None)
    played_words(log, upto=10)
    log.write("truth_button", 2.0, at_s=2.0)
    log.write("cut", 2.001, type="button")
    log.write("cancel", 2.002, reason="agent stream cancelled")
    log.write("speaker_silent", 2.012)
    log.interruption(2.01, {"type": "button", "handled": "cut", "words_heard": AGENT.split()[:6]})
    data = {"description": "b", "agent": {"text": AGENT}, "button": [{"at_s": 2.0}],
            "expect": {"outcome": "cut", "type": "button"}}
    score = score_scenario(scenario_from_dict(data, Path("/suite/button-mid.toml")), log.events)
    assert score.cuts == 1 and score.button_cut_ms == pytest.approx(12.0)
    assert score.detect_ms is None and score.cut_ms is None and score.heard_exact is True
    assert summarise([score])["button_cut_ms_p95"] == pytest.approx(12.0)


def test_cancel_while_thinking_counts_as_cut_with_nothing_heard():
    log = SimLogWriter(None)
    log.write("truth_user", 0.5, clip=0, text="stop", onset_s=0.5, end_s=0.8)
    log.write("cancel", 1.0)
    log.interruption(1.0, {"type": "cancellation", "handled": "cancelled", "words_heard": []})
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.outcome == "cut" and score.correct and score.detect_ms == pytest.approx(500.0)
    assert score.cut_ms is None and score.heard_exact is True


def test_expected_cut_count_and_resume():
    log = cut_log(["Our", "refund", "policy", "covers"])
    score = score_scenario(scenario("s", "cut", "cancellation", cuts=2), log.events)
    assert score.cut_valid and not score.correct  # one cut where two were expected
    # "continue" later: the unplayed remainder plays after the cut
    assert not score_scenario(scenario("s", "cut", "cancellation", resumed=True), log.events).correct
    for i, word in enumerate(["every", *AGENT.split()[5:]]):
        log.write("word_played", 8.0 + i * 0.3, utterance_id=2, index=i, text=word,
                  start_s=8.0 + i * 0.3, end_s=8.3 + i * 0.3)
    resumed = score_scenario(scenario("s", "cut", "cancellation", resumed=True), log.events)
    assert resumed.resumed and resumed.correct


def test_recall_and_false_cut_rate_arithmetic():
    cut = scenario("c", "cut", "cancellation")
    cont = scenario("k", "continue")
    hit = score_scenario(cut, cut_log(["Our", "refund", "policy", "covers"]).events, cpu_s=0.6)
    quiet = SimLogWriter(None)
    played_words(quiet, upto=10)
    quiet.write("truth_user", 1.0, clip=0, text="stop", onset_s=1.0, end_s=1.3)
    miss = score_scenario(cut, quiet.events)
    kept = score_scenario(cont, quiet.events)
    false_cut = score_scenario(cont, cut_log(["Our", "refund", "policy", "covers"]).events,
                               cpu_s=0.6)
    summary = summarise([hit, hit, hit, miss, kept, kept, kept, false_cut])
    assert summary["recall"] == 0.75
    assert summary["false_cut_rate"] == 0.25
    assert summary["type_accuracy"] == 1.0
    assert summary["heard_exact_rate"] == 1.0
    assert summary["cpu_s_per_audio_s"] == pytest.approx(0.1)
    assert summary["detect_ms_p50"] == pytest.approx(120.0)


def test_percentiles_interpolate_like_numpy():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05, abs=0.05)
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 95) is None
    assert percentile([None, 3.0], 50) == 3.0


def test_echo_figures():
    data = {"description": "e", "agent": {"text": AGENT}, "expect": {"outcome": "continue"}}
    echo = scenario_from_dict(data, Path("/suite/echo-0db.toml"))
    log = SimLogWriter(None)
    log.write("word_played", 0.0, utterance_id=1, index=0, text="Our", start_s=0.0, end_s=0.3)
    log.write("word_played", 59.7, utterance_id=1, index=1, text="days", start_s=59.7, end_s=60.0)
    log.write("duck", 10.0)
    log.write("unduck", 10.4)
    summary = summarise([score_scenario(echo, log.events)])
    assert summary["ducks_per_min_echo"] == 1.0 and summary["echo_cuts"] == 0
    assert summary["false_cut_rate"] == 0.0 and summary["echo_speech_s"] == 60.0


def test_log_round_trips_through_the_file(tmp_path):
    path = tmp_path / "events.jsonl"
    with SimLogWriter(path) as log:
        written = cut_log(["Our", "refund", "policy", "covers"]).events
        for event in written:
            log.write(event.kind, event.t_s, **event.data)
    events = read_events(path)
    assert [e.to_json() for e in events] == [e.to_json() for e in sorted(written, key=lambda e: e.t_s)]
    score = score_scenario(scenario("s", "cut", "cancellation"), events)
    assert score.cut_ms == pytest.approx(405.0)


def test_log_format_errors_name_the_line(tmp_path):
    with pytest.raises(SimLogError, match="unknown event kind"):
        SimLogWriter(None).write("cutt", 1.0)
    with pytest.raises(SimLogError, match="lacks onset_s"):
        SimLogWriter(None).write("speech_started", 1.0)
    path = tmp_path / "events.jsonl"
    path.write_text('{"t_s": 0, "kind": "duck"}\n\n{"t_s": 1, "kind": "partial"}\n')
    with pytest.raises(SimLogError, match=r"events.jsonl:3: partial event lacks text"):
        read_events(path)
    with pytest.raises(SimLogError, match="<events>:1: every line needs t_s"):
        events_from_dicts([{"kind": "duck"}])


def test_stop_decided_after_the_last_word_counts_from_its_record():
    log = SimLogWriter(None)
    played_words(log, upto=12)  # the whole answer has played by 3.6 s
    log.write("playback_finished", 3.6, utterance_id=1)
    log.write("truth_user", 3.3, clip=0, text="stop", onset_s=3.3, end_s=3.6)
    log.interruption(3.9, {"type": "cancellation", "handled": "cut", "utterance_id": 1,
                           "words_heard": AGENT.split()})
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.outcome == "cut" and score.correct and score.heard_exact and score.cut_ms is None


# --------------------------------------------------------------------------- bench report

SUMMARY_KEYS = {"recall", "false_cut_rate", "type_accuracy", "detect_ms_p50", "detect_ms_p95",
                "cut_ms_p50", "cut_ms_p95", "button_cut_ms_p95", "heard_exact_rate", "cpu_s_per_audio_s"}
ROW_KEYS = {"name", "expected", "outcome", "type", "detect_ms", "cut_ms", "heard_exact"}


def two_strategies():
    from bargein.bench.bench_report import bench_document

    cut, cont = scenario("cancel-stop", "cut", "cancellation"), scenario("backchannel-yeah", "continue")
    good = cut_log(["Our", "refund", "policy", "covers"]).events
    quiet = SimLogWriter(None)
    played_words(quiet, upto=10)
    quiet.write("truth_user", 1.0, clip=0, text="yeah", onset_s=1.0, end_s=1.3)
    naive_cut = SimLogWriter(None)
    played_words(naive_cut, upto=4)
    naive_cut.write("truth_user", 1.0, clip=0, text="yeah", onset_s=1.0, end_s=1.3)
    naive_cut.write("cut", 1.2)
    naive_cut.write("speaker_silent", 1.21)
    scores = {
        "bargein": [score_scenario(cut, good), score_scenario(cont, quiet.events)],
        "naive-vad": [score_scenario(cut, good), score_scenario(cont, naive_cut.events)],
    }
    return bench_document(scores)


def test_bench_document_has_the_issue_shape():
    import json

    document = json.loads(json.dumps(two_strategies()))  # survives JSON as-is
    assert set(document["strategies"]) == {"bargein", "naive-vad"}
    for data in document["strategies"].values():
        assert SUMMARY_KEYS <= set(data["summary"])
        assert all(ROW_KEYS <= set(row) for row in data["scenarios"])
    assert document["strategies"]["naive-vad"]["summary"]["false_cut_rate"] == 1.0
    checks = {c["name"]: c["met"] for c in document["checks"]}
    assert checks["better than naive-vad"] is True
    assert checks["false_cut_rate"] is True and checks["recall"] is True
    assert checks["detect_ms_p95"] is True and checks["button_cut_ms_p95"] is None


def test_report_shows_strategies_side_by_side_with_targets(tmp_path):
    from bargein.bench.bench_report import format_report, write_document

    document = two_strategies()
    text = format_report(document)
    header = next(line for line in text.splitlines() if line.startswith("scenario"))
    assert header.index("bargein") < header.index("naive-vad")
    assert "✗ cut" in text and "✓ cut 405" in text
    recall_row = next(line for line in text.splitlines() if line.startswith("recall"))
    assert ">= 0.99" in recall_row and recall_row.rstrip().endswith("met")
    assert "bargein better than naive-vad (false_cut_rate lower at equal or better recall): yes" in text
    path = write_document(document, tmp_path / "bench.json")
    assert path.read_text().startswith("{")


def test_a_reply_after_a_cut_is_compared_with_the_gain_of_the_replies_before():
    log = cut_log(["Our", "refund", "policy", "covers"])
    log.write("reply_played", 0.0, utterance_id=1, words=5, level_db=-20.0, gain_db=0.1)
    log.write("reply_played", 2.0, utterance_id=2, words=9, level_db=-38.0, gain_db=-17.9)
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.reply_level_after_cut_db == pytest.approx(-18.0)
    log.write("reply_played", 5.0, utterance_id=3, words=9, level_db=-20.5, gain_db=0.0)
    summary = summarise([score, score_scenario(scenario("s", "cut", "cancellation"),
                                               cut_log(["Our", "refund", "policy", "covers"]).events)])
    assert summary["reply_level_after_cut_db_worst"] == pytest.approx(-18.0)
    assert summary["reply_level_after_cut_within_1db"] == 0.0


def test_reply_level_is_not_judged_without_a_cut_or_a_reply_before_it():
    quiet = SimLogWriter(None)
    played_words(quiet, upto=10)
    quiet.write("reply_played", 0.0, utterance_id=1, words=10, level_db=-20.0, gain_db=0.0)
    assert score_scenario(scenario("k", "continue"), quiet.events).reply_level_after_cut_db is None


def test_a_duck_with_nobody_making_a_sound_is_a_self_duck():
    log = cut_log(["Our", "refund", "policy", "covers"])  # its duck at 1.12 s has 'stop' behind it
    assert score_scenario(scenario("s", "cut", "cancellation"), log.events).self_ducks == 0
    log.write("duck", 0.42, gain_db=-18.0)  # the first word, nobody talking
    log.write("duck", 4.2, gain_db=-18.0)  # 2.9 s after 'stop' ended: a slow decision on it
    log.write("duck", 4.4, gain_db=-18.0)
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert score.self_ducks == 2
    assert any("0.42 s" in note and "4.40 s" in note for note in score.notes)
    assert summarise([score, score])["self_ducks"] == 4
    log.write("run", 0.0, scenario="t", strategy="bargein", tv_db=-40.0)
    with_tv = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    assert (with_tv.self_ducks, with_tv.tv_ducks) == (0, 2)


def test_reply_latency_runs_from_the_end_of_the_words_it_answers_to_the_first_sample():
    log = cut_log(["Our", "refund", "policy", "covers"])  # 'stop' ends at 1.3 s
    log.write("reply_played", 0.0, utterance_id=1, words=5, level_db=-20.0, gain_db=0.0)
    log.write("reply_played", 1.95, utterance_id=2, words=4, level_db=-20.0, gain_db=0.0)
    log.write("truth_user", 3.0, clip=1, text="and then what", onset_s=3.0, end_s=3.8)
    log.write("reply_played", 3.5, utterance_id=3, words=4, level_db=-20.0, gain_db=0.0)
    log.write("reply_played", 9.0, utterance_id=4, words=4, level_db=-20.0, gain_db=0.0)
    score = score_scenario(scenario("s", "cut", "cancellation"), log.events)
    # the first answer is not a reply; the third began while the person still talked;
    # the fourth answers nobody (a television, say): no figure
    assert score.reply_latency_ms == pytest.approx((650.0, -300.0))
    summary = summarise([score])
    assert summary["reply_latency_ms_p50"] == pytest.approx(175.0)


def test_cancellations_have_their_own_cut_latency():
    voice = score_scenario(scenario("s", "cut", "cancellation"),
                           cut_log(["Our", "refund", "policy", "covers"]).events)
    scores = [dataclasses.replace(voice, expected_type="cancellation", cut_ms=600.0),
              dataclasses.replace(voice, expected_type="cancellation", cut_ms=700.0),
              dataclasses.replace(voice, expected_type="redirect", cut_ms=1500.0)]
    summary = summarise(scores)
    assert summary["cancel_cut_ms_p50"] == pytest.approx(650.0)
    assert summary["cancel_cut_ms_p95"] == pytest.approx(695.0)
    assert summary["cut_ms_p95"] > 1000.0


def idle_scenario(name: str, outcome: str, **expect_extra) -> object:
    data = {"description": "test", "start": "idle", "listen": {"mode": "wake_word"},
            "expect": {"outcome": outcome, **expect_extra},
            "user": [{"at_s": 1.0, "text": "Alexa, what time is it?"}]}
    return scenario_from_dict(data, Path(f"/suite/{name}.toml"))


def idle_log(*turns: str, ignored: int = 0) -> SimLogWriter:
    log = SimLogWriter(None)
    log.write("run", 0.0, scenario="t", strategy="bargein", start="idle", listen="wake_word")
    log.write("truth_user", 1.0, clip=0, text="Alexa, what time is it?", onset_s=1.0, end_s=2.4)
    for _ in range(ignored):
        log.write("ignored", 2.6, words=5)
    for i, text in enumerate(turns):
        log.write("turn", 2.6 + i, reply_id=i + 1, text=text)
    log.write("end", 8.0, audio_s=8.0)
    return log


def test_idle_scenarios_score_turns_started_against_ignored():
    wanted = idle_scenario("idle-w", "turn", turns=1, request="what time is it")
    score = score_scenario(wanted, idle_log("what time is it").events)
    assert score.idle and score.outcome == "turn" and score.correct
    assert score.request == "what time is it" and score.turns == 1
    missed = score_scenario(wanted, idle_log(ignored=1).events)
    assert missed.outcome == "ignored" and not missed.correct and missed.ignored == 1
    twice = score_scenario(wanted, idle_log("what time is it", "what time").events)
    assert not twice.correct and "2 turns, expected 1" in twice.notes
    misheard = score_scenario(wanted, idle_log("what type is it").events)
    assert misheard.correct and any("expected 'what time is it'" in n for n in misheard.notes)

    quiet = idle_scenario("idle-tv", "ignored")
    answered_tv = score_scenario(quiet, idle_log("good evening and welcome").events)
    assert answered_tv.outcome == "turn" and not answered_tv.correct
    summary = summarise([score, missed, answered_tv, score_scenario(quiet, idle_log().events)])
    assert summary["idle_scenarios"] == 4
    assert summary["idle_turn_recall"] == 0.5
    assert summary["idle_false_turns"] == 1
    assert summary["recall"] is None and summary["false_cut_rate"] is None
