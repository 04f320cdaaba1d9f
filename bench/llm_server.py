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
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bargein.bench.http_test_server import QuietHandler, TrackingHTTPServer

JOIN_TIMEOUT_S = 5.0
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
    def __init__(self, state: _State, stop: threading.Event) -> None:
        self.state = state
        self.stop_event = stop
        super().__init__(_Handler, 0)


class _Handler(QuietHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with self.server.lock:
            mode = state.modes.pop(0) if len(state.modes) > 1 else state.modes[0]
            state.requests.append(
                RecordedRequest(self.path, dict(self.headers.items()), json.loads(raw), mode)
            )
        if mode.isdigit():
            self._error(int(mode))
        elif mode == "reset":
            self._reset()
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

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

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
            self._wait_for_close(0.5)
            return
        if mode == "slow_first" and self._wait_for_close(state.first_token_delay_s):
            return
        if mode == "deep":
            self._chunk(b"data: " + b"[" * 20_000 + b"]" * 20_000 + b"\n\n")
            self._wait_for_close(0.5)
            return
        if mode == "endless":
            while not self._wait_for_close(state.token_interval_s):
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
                self._wait_for_close(60.0)
                return
            if mode == "malformed" and index == 1:
                self._chunk(b"data: {\"choices\": [ {broken\n\n")
                self._wait_for_close(0.5)
                return
            if mode == "reset_mid" and index == 2:
                self._reset()
                return
            self._event({"delta": {"content": token}, "finish_reason": None})
            with self.server.lock:
                state.tokens_sent += 1
            if self._wait_for_close(state.token_interval_s):
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
            return False  # the client went away; _wait_for_close records it
        return True

    def _wait_for_close(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True if the client closed the connection meanwhile."""
        sock = self.connection
        deadline_s = time.monotonic() + timeout_s
        while not self.server.stop_event.is_set():
            remaining_s = deadline_s - time.monotonic()
            if remaining_s <= 0:
                return False
            readable, _, _ = select.select([sock], [], [], min(remaining_s, 0.05))
            if not readable:
                continue
            try:
                peek = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                peek = b""
            if peek == b"":
                closed_s = time.monotonic()
                with self.server.lock:
                    self.server.state.closed_at_s.append(closed_s)
                self.close_connection = True
                return True
            time.sleep(0.001)  # unexpected bytes mid-response: keep waiting
        self.close_connection = True
        return True


class LlmTestServer:
    """Start with :meth:`start`, stop with :meth:`stop` (joins every thread or fails)."""

    def __init__(self) -> None:
        self.state = _State()
        self._stop = threading.Event()
        self._server = _Server(self.state, self._stop)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="llm-test-server"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def plan(self, *modes: str) -> None:
        """The modes of the next requests, in order; the last repeats."""
        with self._server.lock:
            self.state.modes = list(modes)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self.state.requests)

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

    def start(self) -> LlmTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        stuck = self._server.stop_serving(self._thread, JOIN_TIMEOUT_S)
        if stuck:
            raise AssertionError(f"llm test server threads did not stop: {stuck}")
