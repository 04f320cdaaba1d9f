"""An agent that hands the user's turn to Home Assistant's conversation API.

``POST <ha_url>/api/conversation/process`` with ``text``, ``language`` and ``agent_id``
(when set) and the ``conversation_id`` Home Assistant gave on the previous turn, and a long-lived
access token as ``Authorization: Bearer``. Home Assistant runs the intent ("turn off
the kitchen light") and answers with one sentence to speak,
``response.speech.plain.speech``, and a ``response_type``: ``action_done``,
``query_answer`` or ``error`` (``data.code`` says why, e.g. ``no_intent_match``).

What is spoken:

- the speech Home Assistant returns, for all three response types: its error speech
  ("Sorry, I couldn't understand that") is Home Assistant's own answer from a house
  that is reachable, so the local agent does not talk over it;
- ``Done.`` for an ``action_done`` without speech (the action happened);
- anything else (no connection, a refused token, a timeout, HTTP errors, a body
  that is not the API's JSON) raises :class:`AgentError` before any text, and
  :class:`bargein.agent.fallback.FallbackAgent` gives the local answer instead.

Nothing is retried: once the request is sent, Home Assistant may have carried out
the action even if the answer never arrived, and saying "toggle" twice undoes it.

The conversation: the ``conversation_id`` from each answer is sent with the next
turn, so Home Assistant's follow-ups ("and the bedroom?") work; a conversation of
ours that has no assistant turn yet starts a new one in Home Assistant too.

Interruptions. The API takes only the text, so an interruption's heard-only context
can travel only inside it. By default it does not (``ha_heard_context = "none"``):
Home Assistant's built-in agent matches the sentence against templates, and any
words before "turn off the kitchen light" make it fail to match. With ``"prefix"``,
for a conversation agent in Home Assistant backed by an LLM (``ha_agent_id`` picks it;
Home Assistant's default agent is the template matcher), one short sentence
before the user's words says what was heard, so the unplayed remainder is never
taken as said (the same rule as :mod:`bargein.agent.prompt`).

Cancellation (``ReplyStream.cancel()`` from any thread) shuts the socket down at
once, like :mod:`bargein.agent.llm`. The token goes only into the header, is never
logged and is redacted from every error message.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from bargein.agent.base import ReplyStream
from bargein.agent.connection import shutdown_network_stream
from bargein.agent.conversation import Conversation
from bargein.agent.credentials import HA_CREDENTIAL_NAME, ApiKey
from bargein.agent.interruption import InterruptionType
from bargein.agent.settings import AgentSettings
from bargein.core.errors import AgentError

log = logging.getLogger(__name__)

PROCESS_PATH = "/api/conversation/process"
DONE_SPEECH = "Done."
_DETAIL_CHARS = 200
_MAX_BODY_BYTES = 1_000_000
_NO_CONTEXT = (InterruptionType.BACKCHANNEL, InterruptionType.NOISE)


def turn_text(conversation: Conversation, heard_context: str) -> str:
    """The ``text`` sent for the last user turn (see the module's note on interruptions)."""
    words = conversation.last_user_text
    pending = conversation.pending_interruption
    if heard_context != "prefix" or pending is None or pending.type in _NO_CONTEXT:
        return words
    heard = pending.heard_text.strip()
    if heard:
        note = f'(I interrupted your last answer after hearing only: "{heard}".)'
    else:
        note = "(I interrupted your last answer before hearing any of it.)"
    return f"{note} {words}"


def speech_of(payload: Any) -> tuple[str, str, str]:
    """(speech, response_type, error code) from the API's JSON; ValueError if malformed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("response"), dict):
        raise ValueError("no response object")
    response = payload["response"]
    response_type = response.get("response_type")
    if not isinstance(response_type, str):
        raise ValueError("no response_type")
    speech = ""
    plain = (response.get("speech") or {}).get("plain") if isinstance(
        response.get("speech"), dict) else None
    if isinstance(plain, dict) and isinstance(plain.get("speech"), str):
        speech = plain["speech"].strip()
    data = response.get("data")
    code = data.get("code", "") if isinstance(data, dict) else ""
    return speech, response_type, str(code or "")


class _Call:
    """One request: the live socket, and how to abort it from another thread."""

    def __init__(self, agent: HomeAssistantAgent, body: dict[str, Any]) -> None:
        self._agent = agent
        self._body = body
        self._lock = threading.Lock()
        self._network_stream: Any = None
        self._cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            network_stream = self._network_stream
        log.info("home assistant request cancelled")
        shutdown_network_stream(network_stream)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore trace hook: keep the socket as soon as it connects."""
        if event == "connection.connect_tcp.complete":
            with self._lock:
                self._network_stream = info.get("return_value")
                cancelled = self._cancelled
            if cancelled:
                shutdown_network_stream(self._network_stream)

    def pieces(self) -> Iterator[str]:
        agent = self._agent
        if self._cancelled:
            return
        try:
            response = agent.client.post(
                agent.url, json=self._body, headers=agent.headers(),
                extensions={"trace": self._trace},
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeEncodeError) as exc:
            raise agent.error(f"the request to {agent.url} cannot be built ({_short(exc)}); "
                              "check [agent] ha_url and that the token is plain ASCII") from None
        except httpx.TimeoutException:
            if self._cancelled:
                return
            raise agent.error(
                f"no answer from Home Assistant at {agent.settings.ha_url} within "
                f"{agent.settings.ha_timeout_s:.1f} s; check its load or raise [agent] "
                "ha_timeout_s") from None
        except httpx.HTTPError as exc:
            if self._cancelled:
                return
            raise agent.error(f"cannot reach Home Assistant at {agent.settings.ha_url} "
                              f"({_short(exc)}); check that it is up and [agent] ha_url") from None
        if self._cancelled:
            return
        text = self._answer(response)
        log.info("home assistant answered: %s", text)
        yield text

    def _answer(self, response: httpx.Response) -> str:
        agent, settings = self._agent, self._agent.settings
        status = response.status_code
        detail = " ".join(response.text[:_DETAIL_CHARS * 4].split())[:_DETAIL_CHARS]
        what = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status == 401:
            raise agent.error(
                f"Home Assistant refused the token ({what}); put a long-lived access token "
                f"in the credential {HA_CREDENTIAL_NAME} or ${settings.ha_token_env}")
        if status == 404:
            raise agent.error(f"no conversation API at {agent.url} ({what}); check [agent] "
                              "ha_url and that Home Assistant loads `conversation:`")
        if status != 200:
            raise agent.error(f"Home Assistant answered {what}")
        if len(response.content) > _MAX_BODY_BYTES:
            raise agent.error(f"Home Assistant's answer is over {_MAX_BODY_BYTES} bytes")
        try:
            payload = json.loads(response.content)
            speech, response_type, code = speech_of(payload)
        except (ValueError, RecursionError) as exc:
            raise agent.error(f"malformed answer from {agent.url} ({_short(exc)}: "
                              f"{detail[:40]!r})") from None
        conversation_id = payload.get("conversation_id")
        if isinstance(conversation_id, str) and conversation_id:
            agent.conversation_id = conversation_id
        if response_type == "error":
            log.info("home assistant could not do it (%s)", code or "no code")
        if speech:
            return speech
        if response_type == "action_done":
            return DONE_SPEECH
        raise agent.error(f"Home Assistant answered {response_type} without speech"
                          + (f" ({code})" if code else ""))




def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:_DETAIL_CHARS]


class HomeAssistantAgent:
    """Answers through Home Assistant's conversation API (one sentence per turn)."""

    name = "homeassistant"
    fallback_notice = "I can't reach Home Assistant, so here's my local answer."

    def __init__(
        self,
        settings: AgentSettings,
        token: ApiKey | None = None,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self._token = token
        self.url = settings.ha_url.rstrip("/") + PROCESS_PATH
        self.conversation_id: str | None = None
        """Home Assistant's id for the conversation, from its last answer."""
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(
                connect=min(settings.connect_timeout_s, settings.ha_timeout_s),
                read=settings.ha_timeout_s,
                write=settings.ha_timeout_s,
                pool=settings.ha_timeout_s,
            )
        )

    def request_body(self, conversation: Conversation) -> dict[str, Any]:
        """The JSON body sent for this conversation's last user turn."""
        if not any(turn.role == "assistant" for turn in conversation.turns):
            self.conversation_id = None  # a new conversation of ours: a new one there too
        body: dict[str, Any] = {"text": turn_text(conversation, self.settings.ha_heard_context)}
        if self.settings.ha_language:
            body["language"] = self.settings.ha_language
        if self.settings.ha_agent_id:
            body["agent_id"] = self.settings.ha_agent_id
        if self.conversation_id:
            body["conversation_id"] = self.conversation_id
        return body

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return headers

    def redact(self, text: str) -> str:
        return self._token.redact(text) if self._token is not None else text

    def error(self, message: str) -> AgentError:
        """An AgentError whose message cannot contain the token."""
        return AgentError(self.redact(message))

    def reply(self, conversation: Conversation) -> ReplyStream:
        """Start the request lazily: it is sent on the first ``next()`` of the stream.

        Iterating raises :class:`AgentError` when Home Assistant gives no answer to speak.
        """
        call = _Call(self, self.request_body(conversation))
        return ReplyStream(call.pieces(), agent=self.name, on_cancel=call.cancel)

    def check(self) -> str:
        """``GET /api/`` with the token: Home Assistant's own "API running." message.

        Raises :class:`AgentError` with the fix when it is not running or refuses the token.
        """
        url = self.settings.ha_url.rstrip("/") + "/api/"
        try:
            response = self.client.get(url, headers=self.headers())
        except httpx.HTTPError as exc:
            raise self.error(f"cannot reach Home Assistant at {self.settings.ha_url} "
                             f"({_short(exc)}); check that it is up and [agent] ha_url") from None
        if response.status_code == 401:
            raise self.error(
                f"Home Assistant at {self.settings.ha_url} refused the token (HTTP 401); put "
                f"a long-lived access token in /etc/bargein/{HA_CREDENTIAL_NAME} or "
                f"${self.settings.ha_token_env}")
        try:
            message = response.json().get("message", "") if response.status_code == 200 else ""
        except (ValueError, AttributeError):
            message = ""
        if not message:
            raise self.error(f"{url} answered HTTP {response.status_code} without Home "
                             "Assistant's API message; check [agent] ha_url")
        return str(message)

    def close(self) -> None:
        self.client.close()
