"""An agent backed by any OpenAI-compatible chat-completions endpoint, streamed (SSE).

Works with OpenAI, Ollama, llama.cpp server and vLLM. Timing rules:

- ``first_token_timeout_s`` is the whole budget from the request to the first
  token, retries included. Connection failures, resets, HTTP 429 and 5xx before the
  first token are retried (at most ``retries`` times, back-off doubling from
  ``retry_backoff_s``) while the budget lasts; other failures (401, 404, a malformed
  reply) are not, because repeating them cannot help. Running out raises
  :class:`AgentError`, which :class:`bargein.agent.fallback.FallbackAgent` turns into
  the local agent's answer.
- Once the first token has arrived, nothing is retried: a stall longer than
  ``token_gap_timeout_s``, a reset or a malformed chunk ends the answer where it is
  (what was said stays) and sets ``end_reason`` on the stream.
- No answer runs away: past ``max_answer_chars`` characters or ``max_answer_s``
  seconds from the request it ends where it is (``end_reason`` says which), and no
  line of the stream is held in memory past a bound, so a model that never stops, or
  trickles one token every few seconds, leaves the appliance listening again.
- Anything else that goes wrong on the way (a URL or key the HTTP client refuses, a
  chunk nested too deep to parse) is an :class:`AgentError` too, so the local agent
  answers.

Cancellation (``ReplyStream.cancel()`` from any thread) shuts the socket down at
once, which both wakes the reading thread and closes the connection as the server
sees it; a plain ``close()`` would wait for the blocked read to return first. The
same path enforces the deadlines from a small watchdog thread per reply, because
httpx's read timeout cannot change between the first token and the next ones.

The API key goes only into the ``Authorization`` header: it is never logged and is
redacted from every error message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from bargein.agent.base import ReplyStream
from bargein.agent.connection import shutdown_network_stream
from bargein.agent.conversation import Conversation
from bargein.agent.credentials import ApiKey
from bargein.agent.prompt import chat_messages
from bargein.agent.settings import AgentSettings
from bargein.core.errors import AgentError

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_ERROR_BODY_CHARS = 200
_WATCHDOG_JOIN_S = 2.0
_LINE_SLACK_BYTES = 65536
"""A streamed line may hold this much beyond the answer's own characters (JSON and escapes)."""


class _Retryable(Exception):
    """A failure before the first token that another attempt may fix."""

    def __init__(self, reason: str, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class _Watchdog:
    """Calls ``on_expire`` once the armed deadline (monotonic seconds) passes."""

    def __init__(self, on_expire: Callable[[], None]) -> None:
        self._on_expire = on_expire
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="llm-watchdog", daemon=True)
        self._thread.start()

    def arm(self, deadline_s: float | None) -> None:
        with self._cond:
            self._deadline = deadline_s
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(_WATCHDOG_JOIN_S)
            if self._thread.is_alive():
                log.error("llm watchdog thread did not stop within %.1f s", _WATCHDOG_JOIN_S)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining_s = self._deadline - time.monotonic()
                if remaining_s > 0:
                    self._cond.wait(remaining_s)
                    continue
                self._deadline = None
            self._on_expire()


class _Call:
    """One reply: the attempts, the live connection, and how to abort it from outside."""

    def __init__(self, agent: LlmAgent, body: dict[str, Any]) -> None:
        self._agent = agent
        self._settings = agent.settings
        self._body = body
        self._lock = threading.Lock()
        self._network_stream: Any = None
        self._cancelled = False
        self._expired = False
        self._wake = threading.Event()
        self._chars = 0
        self._answer_end_s = 0.0
        self.stream: ReplyStream | None = None

    # --- control from other threads -------------------------------------------------

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        log.info("llm reply cancelled")
        self._shutdown_socket()

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
        self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        self._wake.set()
        with self._lock:
            network_stream = self._network_stream
        shutdown_network_stream(network_stream)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore trace hook: keep the socket as soon as it connects."""
        if event == "connection.connect_tcp.complete":
            with self._lock:
                self._network_stream = info.get("return_value")
                abort = self._cancelled or self._expired
            if abort:
                self._shutdown_socket()

    # --- the reading side -----------------------------------------------------------

    def pieces(self) -> Iterator[str]:
        settings = self._settings
        start_s = time.monotonic()
        self._answer_end_s = start_s + settings.max_answer_s
        budget_end_s = min(start_s + settings.first_token_timeout_s, self._answer_end_s)
        watchdog = _Watchdog(self._expire)
        try:
            attempt = 0
            while True:
                attempt += 1
                watchdog.arm(budget_end_s)
                try:
                    yield from self._attempt(watchdog, start_s)
                    return
                except _Retryable as exc:
                    reason = str(exc)
                    if self._cancelled:
                        return
                    if self._expired:
                        raise self._agent.error(
                            f"no first token from {self._agent.url} within "
                            f"{settings.first_token_timeout_s:.1f} s; check the server's load "
                            "or raise [agent] first_token_timeout_s"
                        ) from None
                    backoff_s = max(
                        settings.retry_backoff_s * 2 ** (attempt - 1), exc.retry_after_s
                    )
                    remaining_s = budget_end_s - time.monotonic()
                    if attempt > settings.retries or backoff_s >= remaining_s:
                        raise self._agent.error(
                            f"{reason} after {attempt} attempt{'s' if attempt > 1 else ''}; "
                            "check that the server is up and [agent] llm_url"
                        ) from None
                    log.warning(
                        "llm attempt %d failed: %s; retrying in %.2f s",
                        attempt, self._agent.redact(reason), backoff_s,
                    )
                    watchdog.arm(None)
                    if self._wake.wait(backoff_s) and self._cancelled:
                        return
        finally:
            watchdog.stop()

    def _attempt(self, watchdog: _Watchdog, start_s: float) -> Iterator[str]:
        agent = self._agent
        with self._lock:
            self._network_stream = None
        try:
            request = agent.client.build_request(
                "POST",
                agent.url,
                json=self._body,
                headers=agent.headers(),
                extensions={"trace": self._trace},
            )
        except (httpx.InvalidURL, UnicodeEncodeError) as exc:
            raise agent.error(
                f"the request to {agent.url} cannot be built ({_short(exc)}); check [agent] "
                "llm_url and that the API key is plain ASCII"
            ) from None
        try:
            response = agent.client.send(request, stream=True)
        except httpx.UnsupportedProtocol as exc:
            raise agent.error(f"{agent.url}: {_short(exc)}; check [agent] llm_url") from None
        except httpx.ConnectTimeout:
            raise _Retryable(
                f"no connection to {agent.url} within {self._settings.connect_timeout_s:.1f} s"
            ) from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"cannot connect to {agent.url} ({_short(exc)})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection to {agent.url} failed ({_short(exc)})") from None
        first_token = False
        try:
            with self._lock:
                if self._network_stream is None:
                    self._network_stream = response.extensions.get("network_stream")
                abort = self._cancelled or self._expired
            if abort:
                self._shutdown_socket()
            if response.status_code != 200:
                self._raise_for_status(response)
            complete = False
            max_chars = self._settings.max_answer_chars
            for data in _sse_data(response, _LINE_SLACK_BYTES + 8 * max_chars):
                if self._cancelled:
                    return
                content, finished, done = _parse_chunk(data)
                complete = complete or finished
                if done:
                    break
                if content:
                    if not first_token:
                        first_token = True
                        log.info(
                            "llm first token after %.0f ms",
                            (time.monotonic() - start_s) * 1000.0,
                        )
                    watchdog.arm(min(time.monotonic() + self._settings.token_gap_timeout_s,
                                     self._answer_end_s))
                    room = max_chars - self._chars
                    if len(content) > room:
                        content = _cut_at_word(content, room)
                        self._chars += len(content)
                        if content:
                            yield content
                        self._end_early(
                            f"the answer passed [agent] max_answer_chars ({max_chars}); "
                            "the rest was dropped"
                        )
                        return
                    self._chars += len(content)
                    yield content
            if self._cancelled:
                return
            if self._expired:
                raise httpx.ReadTimeout("deadline")  # handled below like a stall
            if complete and not first_token:
                raise agent.error(f"{agent.url} finished the answer without any text; "
                                  "check [agent] model and system_prompt")
            if complete:
                return
            if not first_token:
                raise _Retryable(f"{agent.url} closed the stream before any token")
            self._end_early("the server closed the stream before the end of the answer")
        except _MalformedChunk as exc:
            if not first_token:
                raise agent.error(f"malformed reply from {agent.url} ({exc})") from None
            self._end_early(f"malformed chunk ({exc})")
        except httpx.HTTPError as exc:
            if self._cancelled:
                return
            if not first_token:
                raise _Retryable(f"connection to {agent.url} failed ({_short(exc)})") from None
            if self._expired and time.monotonic() >= self._answer_end_s:
                self._end_early(
                    f"the answer took longer than [agent] max_answer_s "
                    f"({self._settings.max_answer_s:.0f} s); the rest was dropped"
                )
            elif self._expired:
                self._end_early(
                    f"no token for {self._settings.token_gap_timeout_s:.1f} s (stalled)"
                )
            else:
                self._end_early(f"connection lost ({_short(exc)})")
        finally:
            watchdog.arm(None)
            response.close()

    def _end_early(self, reason: str) -> None:
        log.warning("llm answer ended early: %s", self._agent.redact(reason))
        if self.stream is not None:
            self.stream.end_reason = self._agent.redact(reason)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        detail = ""
        try:
            raw = response.read()[:_ERROR_BODY_CHARS * 4]
            detail = _error_detail(raw)
        except httpx.HTTPError:
            pass  # the status alone still says what failed; the body only adds detail
        what = f"HTTP {status}" + (f": {detail}" if detail else "")
        agent = self._agent
        if status in (401, 403):
            raise agent.error(
                f"the LLM endpoint refused the API key ({what}); put a valid key in the "
                f"credential agent-api-key or ${self._settings.api_key_env}"
            )
        if status == 404:
            raise agent.error(
                f"{agent.url} not found ({what}); check [agent] llm_url and model"
            )
        if status in _RETRY_STATUS:
            raise _Retryable(f"the LLM endpoint answered {what}", _retry_after_s(response))
        raise agent.error(f"the LLM endpoint answered {what}")


class _MalformedChunk(ValueError):
    """A streamed chunk that is not the JSON the endpoint promised."""


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:_ERROR_BODY_CHARS]


def _retry_after_s(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def _error_detail(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
            text = str(obj["error"].get("message", ""))
        elif isinstance(obj, dict) and "error" in obj:
            text = str(obj["error"])
    except ValueError:
        pass  # not JSON: the raw text below is the detail
    return " ".join(text.split())[:_ERROR_BODY_CHARS]


def _cut_at_word(text: str, chars: int) -> str:
    """At most ``chars`` of ``text``, ending at a space when there is one."""
    if chars <= 0:
        return ""
    space = text.rfind(" ", 0, chars + 1)
    return text[:space] if space > 0 else text[:chars]


def _lines(response: httpx.Response, max_line_bytes: int) -> Iterator[str]:
    """The stream's lines, none held past ``max_line_bytes`` (raises :class:`_MalformedChunk`)."""
    pending = bytearray()
    for chunk in response.iter_bytes():
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            pending += chunk[start:] if newline < 0 else chunk[start:newline]
            if len(pending) > max_line_bytes:
                raise _MalformedChunk(
                    f"a line longer than {max_line_bytes} bytes, more than [agent] "
                    "max_answer_chars allows"
                )
            if newline < 0:
                break
            yield pending.decode("utf-8", "replace").removesuffix("\r")
            pending.clear()
            start = newline + 1
    if pending:
        yield pending.decode("utf-8", "replace").removesuffix("\r")


def _sse_data(response: httpx.Response, max_line_bytes: int) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent-events stream (multi-line joined)."""
    lines: list[str] = []
    held = 0
    for line in _lines(response, max_line_bytes):
        if not line:
            if lines:
                yield "\n".join(lines)
                lines, held = [], 0
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        if line.startswith("data:"):
            lines.append(line[5:].lstrip())
            held += len(lines[-1])
            if held > max_line_bytes:
                raise _MalformedChunk(f"an event longer than {max_line_bytes} characters")
    if lines:
        yield "\n".join(lines)


def _parse_chunk(data: str) -> tuple[str, bool, bool]:
    """(content, the answer is complete (finish_reason), the stream is over ([DONE]))."""
    if data.strip() == "[DONE]":
        return "", True, True
    try:
        obj = json.loads(data)
    except ValueError:
        raise _MalformedChunk(f"not JSON: {data[:40]!r}") from None
    except RecursionError:
        raise _MalformedChunk("JSON nested too deep") from None
    if not isinstance(obj, dict):
        raise _MalformedChunk("not a JSON object")
    if "error" in obj:
        raise _MalformedChunk(f"error in stream: {_error_detail(json.dumps(obj).encode())}")
    choices = obj.get("choices")
    if not isinstance(choices, list):
        raise _MalformedChunk("no choices")
    if not choices:
        return "", False, False  # e.g. a final usage chunk
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        raise _MalformedChunk("no delta")
    content = delta.get("content") or ""
    if not isinstance(content, str):
        raise _MalformedChunk("content is not text")
    return content, choice.get("finish_reason") is not None, False


class LlmAgent:
    """Answers through an OpenAI-compatible chat-completions endpoint, streamed."""

    name = "llm"

    def __init__(
        self,
        settings: AgentSettings,
        api_key: ApiKey | None = None,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self.url = settings.llm_url.rstrip("/") + "/chat/completions"
        backstop_read_s = max(settings.first_token_timeout_s, settings.token_gap_timeout_s) + 1.0
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_s,
                read=backstop_read_s,
                write=settings.connect_timeout_s,
                pool=settings.connect_timeout_s,
            )
        )

    def request_body(self, conversation: Conversation) -> dict[str, Any]:
        """The JSON body sent for this conversation."""
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": chat_messages(conversation, self.settings.system_prompt),
            "stream": True,
        }
        if self.settings.max_tokens:
            body["max_tokens"] = self.settings.max_tokens
        return body

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        return headers

    def redact(self, text: str) -> str:
        return self._api_key.redact(text) if self._api_key is not None else text

    def error(self, message: str) -> AgentError:
        """An AgentError whose message cannot contain the key."""
        return AgentError(self.redact(message))

    def reply(self, conversation: Conversation) -> ReplyStream:
        """Start the request lazily: it is sent on the first ``next()`` of the stream.

        Iterating raises :class:`AgentError` if no token could be had (before the
        first token only); later failures end the stream and set ``end_reason``.
        """
        call = _Call(self, self.request_body(conversation))
        stream = ReplyStream(call.pieces(), agent=self.name, on_cancel=call.cancel)
        call.stream = stream
        return stream

    def close(self) -> None:
        self.client.close()
