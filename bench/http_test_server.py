"""The threaded HTTP server under the bench's scripted servers (the LLM's, Home Assistant's).

It keeps every handler thread and open client socket, so a server's ``stop`` can reset
the connections still open and wait for their threads; and a client that goes away
mid-answer (a scenario the tests play on purpose) is no server fault. Each scripted
server keeps a list of modes (``plan``, the last one repeating) and every request it
got; :class:`ScriptedServer` is their common shell.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar

RequestT = TypeVar("RequestT")
JOIN_TIMEOUT_S = 5.0


class ScriptState(Protocol[RequestT]):
    """What every scripted server keeps: the planned modes and the requests it got."""

    modes: list[str]
    requests: list[RequestT]


def take_mode(state: ScriptState[Any]) -> str:
    """The mode for the next request: the first planned one, the last one repeating."""
    return state.modes.pop(0) if len(state.modes) > 1 else state.modes[0]


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked answers) and no line per request on stderr: the tests
    read the servers' recorded requests instead."""

    protocol_version = "HTTP/1.1"
    server: TrackingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def client_closed(self) -> None:
        """Called when :meth:`wait_for_close` sees the client go (a server may time it)."""

    def wait_for_close(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s``; True if the client closed the connection meanwhile
        (seen as EOF through ``select``, so not delayed by the next write) or the server
        is stopping."""
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
                self.client_closed()
                self.close_connection = True
                return True
            time.sleep(0.001)  # unexpected bytes mid-response: keep waiting
        self.close_connection = True
        return True

    def reset_connection(self) -> None:
        """Reset the connection (RST, not FIN) before any response."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class TrackingHTTPServer(ThreadingHTTPServer):
    """A loopback :class:`ThreadingHTTPServer` that tracks its handlers and sockets."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        """Set at stop: handlers waiting on a client give up."""
        self.handler_threads: list[threading.Thread] = []
        self.live_sockets: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self.lock:
            self.handler_threads.append(thread)
            self.live_sockets.add(request)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.live_sockets.discard(request)
        super().shutdown_request(request)

    def stop_serving(self, serve_thread: threading.Thread,
                     timeout_s: float) -> list[threading.Thread]:
        """Stop ``serve_forever`` (running on ``serve_thread``), reset every connection still
        open, wait up to ``timeout_s`` for each thread and close the socket; the threads
        that did not stop."""
        self.stop_event.set()
        self.shutdown()
        with self.lock:
            live = list(self.live_sockets)
            threads = [serve_thread, *self.handler_threads]
        for sock in live:
            with contextlib.suppress(OSError):  # the client already closed it
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout_s)
        self.server_close()
        return [thread for thread in threads if thread.is_alive()]


class ScriptedServer(Generic[RequestT]):
    """A scripted server's shell: ``server`` (holding ``state``) served on its own thread
    from :meth:`start` until :meth:`stop` (which joins every thread or fails)."""

    def __init__(self, server: TrackingHTTPServer, state: ScriptState[RequestT],
                 name: str) -> None:
        self.state = state
        self.name = name
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, name=name)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def plan(self, *modes: str) -> None:
        """The modes of the next requests, in order; the last repeats."""
        with self._server.lock:
            self.state.modes = list(modes)

    @property
    def requests(self) -> list[RequestT]:
        with self._server.lock:
            return list(self.state.requests)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        stuck = self._server.stop_serving(self._thread, JOIN_TIMEOUT_S)
        if stuck:
            raise AssertionError(f"{self.name} threads did not stop: {stuck}")
