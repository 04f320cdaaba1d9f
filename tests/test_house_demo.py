"""``bargein house-demo``: the daemon (``bargein run`` on the virtual room, wake word mode)
with the Home Assistant agent against the conversation-API test server and MQTT against a
real Mosquitto, heard by pocketsphinx. What Home Assistant would see must be there:
discovery, the states of each turn, the interruption records, a light really switched."""

from __future__ import annotations

import json

import pytest

from bargein.bench.commands.house_demo import _report
from bargein.bench.house_demo import NODE, TALKED_ON, HouseRun, run_house, speaker_levels
from bargein.core.frames import read_wav

BASE = f"bargein/{NODE}"


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> HouseRun:
    return run_house(tmp_path_factory.mktemp("house"))


def test_home_assistant_got_the_requests_without_the_wake_word_and_acted(house: HouseRun):
    texts = [(r.body or {}).get("text", "") for r in house.requests]
    assert len(texts) == 4, texts
    assert not any("alexa" in t for t in texts), texts
    assert house.kitchen_light_on is False  # "turn off the kitchen lights" was carried out
    first, *rest = house.requests
    assert "conversation_id" not in (first.body or {})
    assert all((r.body or {}).get("conversation_id") for r in rest)  # Home Assistant's own id
    assert house.exit_code == 0


def test_discovery_and_the_states_home_assistant_shows(house: HouseRun):
    configs = [m for m in house.messages if m.topic.startswith("homeassistant/")]
    assert len({m.topic for m in configs}) == 7  # retained: test_mqtt.py checks that
    states = [m.payload for m in house.on(f"{BASE}/state")]
    assert states[0] == "idle"
    # each of the four turns: the wake word opens it, Home Assistant is asked, the
    # answer plays, the follow-up window listens, and it goes back to idle
    cycle = ["listening", "thinking", "speaking", "listening", "idle"]
    for _ in range(4):
        start = states.index("listening")
        assert states[start:start + 5] == cycle, states
        states = states[start + 5:]
    assert [m.payload for m in house.on(f"{BASE}/availability")] == ["online", "offline"]


def test_both_cuts_are_recorded_on_the_broker_and_in_the_event_log(house: HouseRun):
    records = [json.loads(m.payload) for m in house.on(f"{BASE}/interruption")]
    cuts = [r for r in records if r["handling"] not in TALKED_ON]
    assert [(r["type"], r["handling"]) for r in cuts] == [
        ("cancellation", "cancelled"), ("button", "button")]
    for record in cuts:
        assert record["agent_text"].startswith("Here is the house.")
        assert record["words_heard"] and record["words_unplayed"]
        assert record["onset_to_silence_ms"] is not None
    assert [(r["type"], r["handling"]) for r in records if r not in cuts] == [
        ("backchannel", "continued")]  # "yeah"
    assert [(r["type"], r["handling"]) for r in house.records] == [
        (r["type"], r["handling"]) for r in records]
    assert [m.payload for m in house.on(f"{BASE}/rate_alert")][-1] == "ON"


def test_the_speaker_played_four_answers_at_a_steady_level(house: HouseRun):
    stretches = speaker_levels(*read_wav(house.out / "speaker.wav"))
    assert len(stretches) == 4, stretches
    assert all(-26.0 < db < -12.0 for _, _, db in stretches), stretches
    cut_long = [end - start for start, end, _ in stretches[1:3]]
    assert all(2.0 < s < 15.0 for s in cut_long)  # cut well before the ~25 s report ended


def test_the_report_shows_requests_messages_and_levels(house: HouseRun):
    text = "\n".join(_report(house))
    assert '"could you turn off the kitchen lights"' in text
    assert "Kitchen light afterwards: off" in text
    assert f"homeassistant/button/{NODE}/stop/config" in text
    assert "type=cancellation handling=cancelled" in text
    assert "type=button handling=button" in text
    assert f"{BASE}/stop PRESS (Home Assistant's stop button)" in text
    assert text.count("dBFS") == 4
