"""scripts/fetch-models against a real HTTP server on 127.0.0.1 (with Range support)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive_server import ArchiveServer, serving

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


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    with serving(ARCHIVE, "good.zip", "truncated.zip") as srv:
        yield srv


def fetch(dest: Path, url: str, sha256: str = SHA256) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dest", str(dest), "--url", url,
         "--sha256", sha256, "--name", NAME, "--quiet"],
        capture_output=True, text=True, timeout=60,
    )


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_good_download_installs_atomically(server: ArchiveServer, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/good.zip")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / NAME / "am" / "final.mdl").stat().st_size == 20_000
    assert (tmp_path / NAME / "conf" / "model.conf").read_text() == "--beam=10.0\n"
    assert leftovers(tmp_path) == [NAME]  # no .part, no temporary directory


def test_truncated_download_resumes(server: ArchiveServer, tmp_path: Path) -> None:
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


def test_wrong_checksum_leaves_nothing(server: ArchiveServer, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/good.zip", sha256="0" * 64)
    assert done.returncode == 1
    assert "does not match the pinned" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert leftovers(tmp_path) == []


def test_404_is_one_clear_error(server: ArchiveServer, tmp_path: Path) -> None:
    done = fetch(tmp_path, f"{server.url}/missing.zip")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"fetch-models: {server.url}/missing.zip: HTTP 404 Not Found; check the URL or try later"
    ]
    assert leftovers(tmp_path) == []


def test_already_installed_is_not_downloaded(server: ArchiveServer, tmp_path: Path) -> None:
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
