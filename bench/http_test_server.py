"""The threaded HTTP server under the bench's scripted servers (the LLM's, Home Assistant's).

It keeps every handler thread and open client socket, so a server's ``stop`` can reset
the connections still open and wait for their threads; and a client that goes away
mid-answer (a scenario the tests play on purpose) is no server fault.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked answers) and no line per request on stderr: the tests
    read the servers' recorded requests instead."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return


class TrackingHTTPServer(ThreadingHTTPServer):
    """A loopback :class:`ThreadingHTTPServer` that tracks its handlers and sockets."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.lock = threading.Lock()
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
