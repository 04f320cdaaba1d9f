"""The LLM when it can answer, the local agent when it cannot (or should not).

Before the LLM's first token, a failure (no network, refused key, timeout, server
error) becomes a short spoken notice followed by the local agent's answer. After the
first token nothing is switched: the LLM's answer ends where it broke off.

Some requests go to the local agent directly, because only it can do them: timers
and the device clock, and the follow-up to a local answer (amending its timer,
"yes" to its offer to continue). The stream says who answered and why:
``stream.agent`` and ``stream.fallback_reason``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from bargein.agent.base import Agent, ReplyStream
from bargein.agent.conversation import Conversation
from bargein.agent.local import LocalAgent
from bargein.core.errors import AgentError

log = logging.getLogger(__name__)

FALLBACK_NOTICE = "I can't reach the online assistant, so here's my local answer."


class FallbackAgent:
    """``primary`` (an LLM or Home Assistant agent) with ``local`` as the fallback and
    the doer of actions."""

    def __init__(self, primary: Agent, local: LocalAgent) -> None:
        self.primary = primary
        self.local = local
        self.name = primary.name
        self.notice: str = getattr(primary, "fallback_notice", FALLBACK_NOTICE)
        """Said before the local answer when the primary failed."""
        self._local_said_last = False
        self.problem: str | None = None
        """Why the primary agent failed its last request (None once it answers again):
        the daemon shows it in ``STATUS=``."""

    def reply(self, conversation: Conversation) -> ReplyStream:
        route = self._local_route(conversation)
        if route is not None:
            stream = self.local.reply(conversation)
            stream.fallback_reason = route
            self._local_said_last = True
            log.info("local agent answers: %s", route)
            return stream
        call = _FallbackCall(self, conversation)
        stream = ReplyStream(call.pieces(), agent=self.primary.name, on_cancel=call.cancel)
        call.stream = stream
        return stream

    def _local_route(self, conversation: Conversation) -> str | None:
        claim = self.local.claims(conversation)
        if claim is not None:
            return claim
        if self._local_said_last and self.local.expects_follow_up(conversation):
            return "a follow-up to the local agent's answer"
        return None

    def close(self) -> None:
        close = getattr(self.primary, "close", None)
        if close is not None:
            close()


class _FallbackCall:
    def __init__(self, agent: FallbackAgent, conversation: Conversation) -> None:
        self._agent = agent
        self._conversation = conversation
        self._lock = threading.Lock()
        self._inner: ReplyStream | None = None
        self._cancelled = False
        self.stream: ReplyStream | None = None

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            inner = self._inner
        if inner is not None:
            inner.cancel()

    def _start(self, inner: ReplyStream) -> bool:
        with self._lock:
            if self._cancelled:
                inner.cancel()
                return False
            self._inner = inner
            return True

    def pieces(self) -> Iterator[str]:
        agent, outer = self._agent, self.stream
        assert outer is not None
        primary = agent.primary.reply(self._conversation)
        if not self._start(primary):
            return
        yielded = False
        try:
            for piece in primary:
                if not yielded:
                    yielded = True
                    agent.problem = None
                yield piece
            outer.end_reason = primary.end_reason
            agent._local_said_last = False
            return
        except AgentError as exc:
            if yielded:  # not expected from LlmAgent or HomeAssistantAgent
                outer.end_reason = str(exc)
                return
            reason = str(exc)
        log.warning("%s agent failed before its first token: %s; local agent answers",
                    agent.primary.name, reason)
        agent.problem = reason
        outer.agent = agent.local.name
        outer.fallback_reason = reason
        local = agent.local.reply(self._conversation)
        agent._local_said_last = True
        if not self._start(local):
            return
        outer.length_scale = local.length_scale
        yield agent.notice
        for piece in local:
            yield piece if piece.startswith(" ") else f" {piece}"
