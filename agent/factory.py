"""Building the configured agent once, at start-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bargein.agent.base import Agent
from bargein.agent.credentials import load_api_key
from bargein.agent.fallback import FallbackAgent
from bargein.agent.llm import LlmAgent
from bargein.agent.local import LocalAgent
from bargein.agent.settings import AgentSettings


def build_agent(
    settings: AgentSettings, clock: Callable[[], datetime] = datetime.now
) -> tuple[Agent, LocalAgent]:
    """The agent that answers, and the local agent (which keeps the timers) behind it.

    ``kind = "local"``: the local agent alone. ``kind = "llm"``: the LLM with the local
    agent as fallback and for timers and the clock.
    """
    local = LocalAgent(clock=clock)
    if settings.kind == "local":
        return local, local
    llm = LlmAgent(settings, load_api_key(settings))
    return FallbackAgent(llm, local), local
