"""``bargein perf`` figures for the agents: how fast a cancelled LLM stream lets go.

Measured against a scripted streaming chat-completions server on 127.0.0.1 (the one
the tests use, :mod:`bargein.bench.llm_server`): the time from ``ReplyStream.cancel()``
to the server seeing the connection close, and to the first token.
"""

from __future__ import annotations

import logging
import statistics
import time

from bargein.agent.conversation import Conversation
from bargein.agent.llm import LlmAgent
from bargein.agent.settings import AgentSettings
from bargein.bench.llm_server import LlmTestServer

log = logging.getLogger(__name__)

def figures(quick: bool) -> dict[str, float]:
    """``llm_cancel_close_ms_p50/_max`` and ``llm_first_token_ms_p50`` over N replies."""
    runs = 5 if quick else 50
    server = LlmTestServer().start()
    server.state.token_interval_s = 0.5
    agent = LlmAgent(AgentSettings(llm_url=server.url))
    close_ms: list[float] = []
    first_ms: list[float] = []
    try:
        conversation = Conversation()
        conversation.add_user("hi")
        for _ in range(runs):
            stream = agent.reply(conversation)
            started_s = time.monotonic()
            next(iter(stream))
            first_ms.append((time.monotonic() - started_s) * 1000.0)
            seen_before = len(server.closed_at_s)
            cancel_s = time.monotonic()
            stream.cancel()
            close_ms.append((server.wait_closed(seen_before, timeout_s=5.0) - cancel_s) * 1000.0)
    finally:
        agent.close()
        server.stop()
    return {
        "llm_cancel_close_ms_p50": statistics.median(close_ms),
        "llm_cancel_close_ms_max": max(close_ms),
        "llm_first_token_ms_p50": statistics.median(first_ms),
    }
