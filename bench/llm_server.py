"""A real OpenAI-compatible streaming chat-completions server on 127.0.0.1, for tests.

It speaks HTTP/1.1 with chunked server-sent events exactly as OpenAI, Ollama or
llama.cpp do, and misbehaves on request. Each request takes the next mode from
``plan(...)`` (the last one repeats):

- ``normal``: the tokens, a finish chunk, ``[DONE]``;
- ``slow_first``: waits ``first_token_delay_s`` after the headers, then normal;
- ``stall``: ``stall_after_tokens`` tokens, then nothing until the client gives up;
- ``401`` / ``429`` / ``500`` (any number): that status with a JSON error body;
- ``malformed``: one good token, then a chunk that is not JSON;
- ``malformed_first``: a chunk that is not JSON before any token;
- ``reset``: the connection is reset (RST) before the response;
- ``reset_mid``: two tokens, then a reset.
- ``endless``: the token " word" every ``token_interval_s``, never finishing;
- ``one_line``: one event whose content is ``line_bytes`` of words, sent 64 KiB at a
  time (a runaway answer in a single chunk), then the end;
- ``empty``: a finish chunk and ``[DONE]`` with no text at all;
- ``deep``: a chunk of JSON nested 20 000 deep before any token.

It records every request (headers and JSON body) and, while a response is being
streamed, the monotonic time at which the client closed the connection (seen as
EOF on the socket via ``select``, so the figure is not delayed by the next write).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from bargein.bench.http_test_server import (
    QuietHandler,
    ScriptedServer,
    TrackingHTTPServer,
    take_mode,
)

DEFAULT_TOKENS = ("Hello", " there.", " The", " answer", " is", " forty", "-two.", " Bye", " now.")


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    mode: str


@dataclass
class _State:
    modes: list[str] = field(default_factory=lambda: ["normal"])
    tokens: tuple[str, ...] = DEFAULT_TOKENS
    token_interval_s: float = 0.005
    first_token_delay_s: float = 2.0
    stall_after_tokens: int = 3
    line_bytes: int = 50_000_000
    requests: list[RecordedRequest] = field(default_factory=list)
    closed_at_s: list[float] = field(default_factory=list)
    tokens_sent: int = 0


class _Server(TrackingHTTPServer):
    def __init__(self, state: _State) -> None:
        self.state = state
        super().__init__(_Handler, 0)


class _Handler(QuietHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with self.server.lock:
            mode = take_mode(state)
            state.requests.append(
                RecordedRequest(self.path, dict(self.headers.items()), json.loads(raw), mode)
            )
        if mode.isdigit():
            self._error(int(mode))
        elif mode == "reset":
            self.reset_connection()
        else:
            self._stream(mode)

    # --- responses -------------------------------------------------------------------

    def _error(self, status: int) -> None:
        body = json.dumps({"error": {"message": f"test server says {status}", "code": status}})
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, mode: str) -> None:
        state = self.server.state
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self._event({"delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        if mode == "malformed_first":
            self._chunk(b"data: {this is not json\n\n")
            self.wait_for_close(0.5)
            return
        if mode == "slow_first" and self.wait_for_close(state.first_token_delay_s):
            return
        if mode == "deep":
            self._chunk(b"data: " + b"[" * 20_000 + b"]" * 20_000 + b"\n\n")
            self.wait_for_close(0.5)
            return
        if mode == "endless":
            while not self.wait_for_close(state.token_interval_s):
                self._event({"delta": {"content": " word"}, "finish_reason": None})
                with self.server.lock:
                    state.tokens_sent += 1
            return
        if mode == "one_line":
            piece = b"word " * 13_108  # 64 KiB
            sent = 0
            ok = self._chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "')
            while ok and sent < state.line_bytes:
                ok = self._chunk(piece)
                sent += len(piece)
            if not ok:
                return
            self._chunk(b'"}, "finish_reason": null}]}\n\n')
        for index, token in enumerate(() if mode in ("empty", "one_line") else state.tokens):
            if mode == "stall" and index == state.stall_after_tokens:
                self.wait_for_close(60.0)
                return
            if mode == "malformed" and index == 1:
                self._chunk(b"data: {\"choices\": [ {broken\n\n")
                self.wait_for_close(0.5)
                return
            if mode == "reset_mid" and index == 2:
                self._reset()
                return
            self._event({"delta": {"content": token}, "finish_reason": None})
            with self.server.lock:
                state.tokens_sent += 1
            if self.wait_for_close(state.token_interval_s):
                return
        self._event({"delta": {}, "finish_reason": "stop"})
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, choice: dict[str, Any]) -> None:
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "test-model",
            "choices": [{"index": 0, **choice}],
        }
        self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _chunk(self, data: bytes) -> bool:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:
            return False  # the client went away; wait_for_close records it
        return True

    def client_closed(self) -> None:
        closed_s = time.monotonic()
        with self.server.lock:
            self.server.state.closed_at_s.append(closed_s)


class LlmTestServer(ScriptedServer[RecordedRequest]):
    """Start with :meth:`start`, stop with :meth:`stop` (joins every thread or fails)."""

    def __init__(self) -> None:
        state = _State()
        super().__init__(_Server(state), state, "llm test server")

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def closed_at_s(self) -> list[float]:
        with self._server.lock:
            return list(self.state.closed_at_s)

    def wait_closed(self, seen_before: int = 0, timeout_s: float = 5.0) -> float:
        """The time of the first mid-response close after ``seen_before`` earlier ones.

        Fails after ``timeout_s`` without one.
        """
        deadline_s = time.monotonic() + timeout_s
        while time.monotonic() < deadline_s:
            closed = self.closed_at_s
            if len(closed) > seen_before:
                return closed[seen_before]
            time.sleep(0.001)
        raise AssertionError(f"the server saw no connection close within {timeout_s} s")
