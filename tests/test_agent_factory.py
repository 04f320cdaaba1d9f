"""The one agent builder: the answering agent, and the local agent whose timers ring."""

from __future__ import annotations

import logging

import pytest

from bargein.agent.conversation import Conversation
from bargein.agent.factory import build_agent
from bargein.agent.fallback import FallbackAgent
from bargein.agent.llm import LlmAgent
from bargein.agent.local import LocalAgent
from bargein.agent.settings import AgentSettings


def _ask(agent, text: str) -> str:
    conversation = Conversation()
    conversation.add_user(text)
    return "".join(agent.reply(conversation))


def test_local_kind_answers_with_the_local_agent_that_keeps_the_timers(caplog):
    with caplog.at_level(logging.INFO, logger="bargein.agent.factory"):
        agent, timers = build_agent(AgentSettings(kind="local"))
    assert isinstance(timers, LocalAgent)
    assert agent is timers
    assert "agent: local rules (offline)" in caplog.text
    assert _ask(agent, "set a timer for ten minutes") == "Timer set for ten minutes."
    assert timers.next_due() is not None


def test_llm_kind_answers_with_the_llm_and_its_timers_land_in_the_returned_local_agent(
    caplog, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    settings = AgentSettings(kind="llm", llm_url="http://127.0.0.1:9/v1", model="tiny")
    monkeypatch.setenv(settings.api_key_env, "sk-test-not-logged")
    with caplog.at_level(logging.INFO, logger="bargein.agent.factory"):
        agent, timers = build_agent(settings)
    try:
        assert isinstance(agent, FallbackAgent)
        assert isinstance(agent.primary, LlmAgent)
        assert agent.local is timers and isinstance(timers, LocalAgent)
        assert (f"agent: LLM at http://127.0.0.1:9/v1 (model tiny, key ${settings.api_key_env}), "
                "local fallback") in caplog.text
        assert "sk-test-not-logged" not in caplog.text
        # A timer request never reaches the LLM (nothing listens on port 9): the local
        # agent behind it sets the timer, where the daemon's bell will find it.
        assert _ask(agent, "set a timer for ten minutes") == "Timer set for ten minutes."
        assert [t.duration_s for t in timers.timers.active()] == [600.0]
    finally:
        agent.close()
