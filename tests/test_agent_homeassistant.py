"""The Home Assistant agent against a real HTTP server speaking the conversation API:
right answers that change the house, errors, slow answers, the conversation id kept
across turns, and the local agent when Home Assistant cannot answer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bargein.agent.conversation import Conversation, Interruption
from bargein.agent.credentials import load_ha_token
from bargein.agent.factory import build_agent
from bargein.agent.fallback import FallbackAgent
from bargein.agent.homeassistant import HomeAssistantAgent, turn_text
from bargein.agent.interruption import InterruptionType
from bargein.agent.local import LocalAgent
from bargein.agent.settings import AgentSettings
from bargein.bench.ha_server import HaTestServer
from bargein.core.errors import AgentError, ConfigError
from bargein.device.config import config_from_dict

JOIN_S = 10.0


@pytest.fixture
def server() -> Iterator[HaTestServer]:
    ha = HaTestServer(token="good-token-123").start()
    try:
        yield ha
    finally:
        ha.stop()


def _settings(server: HaTestServer, **values) -> AgentSettings:
    return AgentSettings(kind="homeassistant", ha_url=server.url, **values)


def _token(value: str) -> object:
    return load_ha_token(AgentSettings(), {"BARGEIN_HA_TOKEN": value})


def _fallback(server: HaTestServer, token: str = "good-token-123", **values) -> FallbackAgent:
    return FallbackAgent(HomeAssistantAgent(_settings(server, **values), _token(token)),
                         LocalAgent())


def _say(agent, conversation: Conversation, text: str):
    conversation.add_user(text)
    stream = agent.reply(conversation)
    answer = "".join(stream)
    conversation.add_assistant(answer)
    return answer, stream


def test_turning_off_the_kitchen_light_changes_the_house_and_speaks_home_assistants_answer(
    server: HaTestServer,
) -> None:
    agent = _fallback(server, ha_language="en")
    try:
        assert server.light_on("kitchen")
        answer, stream = _say(agent, Conversation(), "Turn off the kitchen light.")
    finally:
        agent.close()
    assert answer == "Turned off the kitchen light"
    assert stream.agent == "homeassistant" and stream.fallback_reason is None
    assert not server.light_on("kitchen")
    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/api/conversation/process")
    assert request.headers["Authorization"] == "Bearer good-token-123"
    assert request.body == {"text": "Turn off the kitchen light.", "language": "en"}


def test_the_conversation_id_from_home_assistant_goes_with_the_next_turns_and_a_new_conversation_drops_it(
    server: HaTestServer,
) -> None:
    agent = _fallback(server)
    try:
        conversation = Conversation()
        _say(agent, conversation, "turn on the bedroom light")
        first_id = agent.primary.conversation_id
        answer, _ = _say(agent, conversation, "is the bedroom light on")
        _say(agent, Conversation(), "which lights are on")
    finally:
        agent.close()
    assert answer == "Yes, the bedroom light is on"
    first, second, third = server.requests
    assert "conversation_id" not in first.body and "language" not in first.body
    assert first_id and second.body["conversation_id"] == first_id
    assert "conversation_id" not in third.body


def test_a_sentence_home_assistant_does_not_understand_gets_its_own_answer_not_the_local_one(
    server: HaTestServer,
) -> None:
    agent = _fallback(server)
    try:
        unknown, stream = _say(agent, Conversation(), "sing me a song about lamps")
        no_area, _ = _say(agent, Conversation(), "turn off the garage light")
    finally:
        agent.close()
    assert unknown == "Sorry, I couldn't understand that"
    assert stream.agent == "homeassistant" and stream.fallback_reason is None
    assert no_area == "Sorry, I am not aware of any area called garage"


def test_an_action_done_without_speech_is_confirmed_and_a_query_without_speech_is_not_invented(
    server: HaTestServer,
) -> None:
    server.plan("no_speech")
    agent = _fallback(server)
    try:
        done, stream = _say(agent, Conversation(), "turn off the kitchen light")
        query, fallback = _say(agent, Conversation(), "is the kitchen light on")
    finally:
        agent.close()
    assert done == "Done." and stream.agent == "homeassistant"
    assert not server.light_on("kitchen")
    assert fallback.agent == "local"
    assert fallback.fallback_reason == "Home Assistant answered query_answer without speech"


@pytest.mark.parametrize(
    ("mode", "token", "reason"),
    [
        ("normal", "wrong-token", "Home Assistant refused the token (HTTP 401: 401: Unauthorized); "
         "put a long-lived access token in the credential ha-token or $BARGEIN_HA_TOKEN"),
        ("500", "good-token-123", "Home Assistant answered HTTP 500: "
         '{"message": "Test server says 500"}'),
        ("malformed", "good-token-123", "malformed answer from"),
        ("reset", "good-token-123", "cannot reach Home Assistant at"),
    ],
)
def test_errors_become_the_local_answer_with_a_notice_and_a_one_line_reason(
    server: HaTestServer, mode: str, token: str, reason: str
) -> None:
    server.plan(mode)
    agent = _fallback(server, token=token)
    try:
        answer, stream = _say(agent, Conversation(), "turn off the kitchen light")
    finally:
        agent.close()
    assert answer.startswith("I can't reach Home Assistant, so here's my local answer. ")
    assert stream.agent == "local"
    assert reason in stream.fallback_reason and "\n" not in stream.fallback_reason
    assert token not in stream.fallback_reason
    assert agent.problem == stream.fallback_reason
    assert server.light_on("kitchen")  # nothing was done
    assert len(server.requests) == 1  # never retried: the action may have happened


def test_home_assistant_down_gives_the_local_answer(server: HaTestServer) -> None:
    url = server.url
    server.stop()
    agent = FallbackAgent(
        HomeAssistantAgent(AgentSettings(kind="homeassistant", ha_url=url), _token("tok-9f3a")),
        LocalAgent(),
    )
    try:
        answer, stream = _say(agent, Conversation(), "turn off the kitchen light")
    finally:
        agent.close()
    assert stream.agent == "local"
    assert stream.fallback_reason.startswith(f"cannot reach Home Assistant at {url} (")
    assert stream.fallback_reason.endswith("check that it is up and [agent] ha_url")
    assert answer.startswith("I can't reach Home Assistant")


def test_a_slow_answer_within_the_timeout_is_spoken_and_one_past_it_is_not(
    server: HaTestServer,
) -> None:
    server.state.delay_s = 0.3
    server.plan("slow")
    agent = _fallback(server, ha_timeout_s=10.0)
    try:
        answer, stream = _say(agent, Conversation(), "turn on the living room light")
    finally:
        agent.close()
    assert answer == "Turned on the living room light" and stream.agent == "homeassistant"

    server.state.delay_s = 30.0
    agent = _fallback(server, ha_timeout_s=0.3)
    try:
        answer, stream = _say(agent, Conversation(), "turn off the living room light")
    finally:
        agent.close()
    assert stream.agent == "local"
    assert stream.fallback_reason == (
        f"no answer from Home Assistant at {server.url} within 0.3 s; check its load or "
        "raise [agent] ha_timeout_s")


def test_cancel_from_another_thread_ends_a_slow_request_without_text(
    server: HaTestServer,
) -> None:
    server.state.delay_s = 30.0
    server.plan("slow")
    agent = HomeAssistantAgent(_settings(server, ha_timeout_s=60.0), _token("good-token-123"))
    conversation = Conversation()
    conversation.add_user("turn off the kitchen light")
    stream = agent.reply(conversation)
    pieces: list[str] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            pieces.extend(stream)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        for _ in range(500):
            if server.requests:
                break
            threading.Event().wait(0.01)
        assert server.requests, "the request never reached the server"
        stream.cancel()
        reader.join(JOIN_S)
        assert not reader.is_alive(), "the reply did not end after cancel()"
    finally:
        agent.close()
    assert pieces == [] and errors == [] and stream.cancelled


def test_heard_context_stays_out_by_default_and_goes_in_front_as_a_sentence_when_asked(
    server: HaTestServer,
) -> None:
    conversation = Conversation()
    conversation.add_user("what can you do")
    conversation.add_interruption(Interruption(
        InterruptionType.REDIRECT, "turn on the bedroom light",
        heard_text="I can switch lights and", cut_word="tell", unplayed_text="you the weather.",
        progress_pct=40.0,
    ))
    assert turn_text(conversation, "none") == "turn on the bedroom light"
    prefixed = turn_text(conversation, "prefix")
    assert prefixed == ('(I interrupted your last answer after hearing only: "I can switch '
                        'lights and".) turn on the bedroom light')
    assert "weather" not in prefixed

    agent = _fallback(server)
    try:
        stream = agent.reply(conversation)
        answer = "".join(stream)
    finally:
        agent.close()
    assert answer == "Turned on the bedroom light"  # bare words: the sentence matcher works
    assert server.requests[-1].body["text"] == "turn on the bedroom light"

    backchannel = Conversation()
    backchannel.add_user("tell me something")
    backchannel.add_interruption(Interruption(InterruptionType.BACKCHANNEL, "uh-huh",
                                              heard_text="Well"))
    assert turn_text(backchannel, "prefix") == "uh-huh"


def test_timers_and_the_clock_stay_local_and_never_reach_home_assistant(
    server: HaTestServer,
) -> None:
    agent = _fallback(server)
    try:
        answer, stream = _say(agent, Conversation(), "set a timer for ten minutes")
    finally:
        agent.close()
    assert answer == "Timer set for ten minutes." and stream.agent == "local"
    assert server.requests == []


def test_the_factory_builds_home_assistant_with_the_token_from_the_systemd_credential(
    server: HaTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    (tmp_path / "ha-token").write_text("good-token-123\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("BARGEIN_HA_TOKEN", raising=False)
    with caplog.at_level(logging.INFO):
        agent, timers = build_agent(_settings(server))
    try:
        assert isinstance(agent, FallbackAgent) and agent.local is timers
        assert isinstance(agent.primary, HomeAssistantAgent)
        answer, _ = _say(agent, Conversation(), "turn off the kitchen light")
    finally:
        agent.close()
    assert answer == "Turned off the kitchen light"
    assert f"agent: Home Assistant at {server.url} (token credential), local fallback" in caplog.text
    assert "good-token-123" not in caplog.text


def test_a_missing_token_is_refused_by_home_assistant_and_said_so(server: HaTestServer) -> None:
    agent = HomeAssistantAgent(_settings(server), None)
    conversation = Conversation()
    conversation.add_user("turn off the kitchen light")
    try:
        with pytest.raises(AgentError, match="refused the token"):
            "".join(agent.reply(conversation))
        with pytest.raises(AgentError, match=r"refused the token \(HTTP 401\); put a long-lived"):
            agent.check()
    finally:
        agent.close()
    assert "Authorization" not in server.requests[-1].headers


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"kind": "homeassistant", "ha_url": "homeassistant:8123"},
         ["[agent] ha_url", "write it like http://homeassistant.local:8123"]),
        ({"ha_language": "English"}, ["[agent] ha_language", "write it like en"]),
        ({"ha_token_env": "HA TOKEN"}, ["[agent] ha_token_env", "environment variable name"]),
        ({"ha_heard_context": "all"}, ["[agent] ha_heard_context", "'all'"]),
        ({"ha_timeout_s": 0.0}, ["[agent] ha_timeout_s"]),
        ({"ha_agent_id": "OpenAI Conversation"}, ["[agent] ha_agent_id",
                                                  "conversation.openai_conversation"]),
    ],
)
def test_bad_home_assistant_settings_stop_start_up_with_one_line_naming_the_key(
    values: dict, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"agent": values})
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_good_home_assistant_settings_load() -> None:
    config = config_from_dict({"agent": {"kind": "homeassistant", "ha_url":
                                         "http://192.168.1.20:8123", "ha_language": "en-GB"}})
    assert config.agent.kind == "homeassistant" and config.agent.ha_language == "en-GB"


def test_the_chosen_conversation_agent_is_named_in_each_request(
    server: HaTestServer,
) -> None:
    """An LLM-backed agent in Home Assistant (the one ha_heard_context = "prefix" is for)
    is picked by agent_id, sent with every turn."""
    agent = _fallback(server, ha_agent_id="conversation.openai_conversation")
    try:
        _say(agent, Conversation(), "Turn off the kitchen light.")
    finally:
        agent.close()
    body = server.requests[-1].body
    assert body["agent_id"] == "conversation.openai_conversation"
    config = config_from_dict({"agent": {"ha_agent_id": "01jfc1bkv6m9g1sxwq5z2ahwz7"}})
    assert config.agent.ha_agent_id == "01jfc1bkv6m9g1sxwq5z2ahwz7"  # a config entry id
