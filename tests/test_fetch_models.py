"""scripts/fetch-models against a real HTTP server on 127.0.0.1 (with Range support)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fetch-models"
NAME = "tiny-model"


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{NAME}/am/final.mdl", b"\x00" * 20_000)
        zf.writestr(f"{NAME}/conf/model.conf", "--beam=10.0\n")
        zf.writestr(f"{NAME}/README", "tiny test model\n")
    return buf.getvalue()


ARCHIVE = _zip_bytes()
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()


class _Server:
    """Serves ``ARCHIVE`` at /good.zip, and at /truncated.zip cut short once."""

    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.truncate_next = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.ranges.append(self.headers.get("Range"))
                if self.path not in ("/good.zip", "/truncated.zip"):
                    self.send_error(404)
                    return
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                    if start >= len(ARCHIVE):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(ARCHIVE)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(ARCHIVE) - 1}/{len(ARCHIVE)}"
                    )
                else:
                    self.send_response(200)
                body = ARCHIVE[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path == "/truncated.zip" and server.truncate_next:
                    server.truncate_next = False
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    srv.thread.join(5)
    assert not srv.thread.is_alive(), "test HTTP server did not stop"


def fetch(dest: Path, url: str, sha256: str = SHA256) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dest", str(dest), "--url", url,
         "--sha256", sha256, "--name", NAME, "--quiet"],
        capture_output=True, text=True, timeout=60,
    )


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_good_download_installs_atomically(server: _Server, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/good.zip")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / NAME / "am" / "final.mdl").stat().st_size == 20_000
    assert (tmp_path / NAME / "conf" / "model.conf").read_text() == "--beam=10.0\n"
    assert leftovers(tmp_path) == [NAME]  # no .part, no temporary directory


def test_truncated_download_resumes(server: _Server, tmp_path: Path) -> None:
    server.truncate_next = True
    first = fetch(tmp_path, f"{server.url}/truncated.zip")
    assert first.returncode == 1
    assert "interrupted" in first.stderr and "run again to resume" in first.stderr
    part = tmp_path / f"{NAME}.zip.part"
    assert 0 < part.stat().st_size < len(ARCHIVE)
    assert not (tmp_path / NAME).exists()

    kept = part.stat().st_size
    second = fetch(tmp_path, f"{server.url}/truncated.zip")
    assert second.returncode == 0, second.stderr
    assert server.ranges[-1] == f"bytes={kept}-"
    assert (tmp_path / NAME / "README").read_text() == "tiny test model\n"
    assert leftovers(tmp_path) == [NAME]


def test_wrong_checksum_leaves_nothing(server: _Server, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/good.zip", sha256="0" * 64)
    assert done.returncode == 1
    assert "does not match the pinned" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert leftovers(tmp_path) == []


def test_404_is_one_clear_error(server: _Server, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/missing.zip")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"fetch-models: {server.url}/missing.zip: HTTP 404 Not Found; check the URL or try later"
    ]
    assert leftovers(tmp_path) == []


def test_already_installed_is_not_downloaded(server: _Server, tmp_path: Path) -> None:
    (tmp_path / NAME).mkdir()
    done = fetch(tmp_path, f"{server.url}/good.zip")
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stdout
    assert server.ranges == []


def test_pinned_models_table() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "no-such-model", "--dest", "/nonexistent"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "vosk-model-small-en-us-0.15" in done.stderr
    source = SCRIPT.read_text()
    assert "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498" in source
