"""A real HTTP server on 127.0.0.1 that serves one archive, for the model-fetch tests.

It honours ``Range`` (206, or 416 past the end), answers 404 for any path but
``/<name>`` and records every request's path and Range header. With
``truncate_next`` set, the next response is cut off after a third of its body,
as a dropped connection would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ArchiveServer:
    def __init__(self, archive: bytes, names: tuple[str, ...]) -> None:
        self.archive = archive
        self.requests: list[tuple[str, str | None]] = []
        self.truncate_next = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Range")))
                if self.path.lstrip("/") not in names:
                    self.send_error(404)
                    return
                body = server.archive
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                    body = body[start:]
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate_next:
                    server.truncate_next = False
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    @property
    def ranges(self) -> list[str | None]:
        return [rng for _, rng in self.requests]


@contextmanager
def serving(archive: bytes, *names: str) -> Iterator[ArchiveServer]:
    """An :class:`ArchiveServer` running on its own thread for the ``with`` block."""
    server = ArchiveServer(archive, names)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(5)
    assert not thread.is_alive(), "test HTTP server did not stop"
