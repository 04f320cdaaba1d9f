"""Building the configured agent once, at start-up (the daemon and ``bargein ask``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bargein.agent.base import Agent
from bargein.agent.credentials import load_api_key, load_ha_token
from bargein.agent.fallback import FallbackAgent
from bargein.agent.homeassistant import HomeAssistantAgent
from bargein.agent.llm import LlmAgent
from bargein.agent.local import LocalAgent
from bargein.agent.settings import AgentSettings

log = logging.getLogger(__name__)


def build_agent(
    settings: AgentSettings, clock: Callable[[], datetime] = datetime.now
) -> tuple[Agent, LocalAgent]:
    """The agent that answers, and the local agent (which keeps the timers) behind it.

    ``kind = "local"``: the local agent alone. ``kind = "llm"``: the LLM with the local
    agent as fallback and for timers and the clock; ``kind = "homeassistant"``: Home
    Assistant's conversation API, the same way. Which one answers is logged once.
    """
    local = LocalAgent(clock=clock)
    if settings.kind == "local":
        log.info("agent: local rules (offline)")
        return local, local
    if settings.kind == "homeassistant":
        token = load_ha_token(settings)
        log.info("agent: Home Assistant at %s (token %s), local fallback", settings.ha_url,
                 token.source if token else "none")
        return FallbackAgent(HomeAssistantAgent(settings, token), local), local
    key = load_api_key(settings)
    log.info("agent: LLM at %s (model %s, key %s), local fallback", settings.llm_url,
             settings.model, key.source if key else "none")
    return FallbackAgent(LlmAgent(settings, key), local), local
