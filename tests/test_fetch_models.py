"""scripts/fetch-models against a real HTTP server on 127.0.0.1 (with Range support)."""

from __future__ import annotations

import hashlib
import io
import os
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
    (tmp_path / NAME / "README").write_text("installed earlier\n")
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


def test_an_empty_model_directory_is_installed_again(server: ArchiveServer, tmp_path: Path) -> None:
    (tmp_path / NAME).mkdir()  # left behind by an interrupted manual copy
    done = fetch(tmp_path, f"{server.url}/good.zip")
    assert done.returncode == 0, done.stderr
    assert "is empty; installing it again" in done.stdout
    assert (tmp_path / NAME / "README").read_text() == "tiny test model\n"


@pytest.mark.parametrize("plant", ["symlink", "hardlink", "fifo"])
def test_a_planted_part_file_is_never_written_through(
    server: ArchiveServer, tmp_path: Path, plant: str
) -> None:
    """Run as root on the service user's models directory: a ``.part`` the user planted as
    a link to a file they may not write (or as a FIFO) is refused, and the file is intact."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's file\n")
    dest = tmp_path / "models"
    dest.mkdir()
    part = dest / f"{NAME}.zip.part"
    if plant == "symlink":
        part.symlink_to(victim)
    elif plant == "hardlink":
        os.link(victim, part)
    else:
        os.mkfifo(part)
    done = fetch(dest, f"{server.url}/good.zip")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"fetch-models: {part} ") and "remove it and run again" in line
    assert victim.read_bytes() == b"root's file\n"
    assert not (dest / NAME).exists()


def test_a_symlinked_destination_is_refused(server: ArchiveServer, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "models").symlink_to(tmp_path / "elsewhere")
    done = fetch(tmp_path / "models", f"{server.url}/good.zip")
    assert done.returncode == 1
    assert "is a symbolic link or not a directory" in done.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_non_zip_with_a_matching_checksum_is_removed_with_a_clear_line(tmp_path: Path) -> None:
    body = b"<html>a login page</html>" * 10
    with serving(body, "page.zip") as srv:
        done = fetch(tmp_path, f"{srv.url}/page.zip", sha256=hashlib.sha256(body).hexdigest())
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "not a zip archive although its sha256 matches" in line
    assert leftovers(tmp_path) == []  # the next run downloads again instead of failing forever


def test_an_archive_that_escapes_its_directory_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{NAME}/README", "ok\n")
        zf.writestr("../../escaped", "gotcha\n")
    body = buf.getvalue()
    dest = tmp_path / "a" / "b"
    with serving(body, "evil.zip") as srv:
        done = fetch(dest, f"{srv.url}/evil.zip", sha256=hashlib.sha256(body).hexdigest())
    assert done.returncode == 1
    assert "unsafe path '../../escaped'" in done.stderr
    assert not (tmp_path / "escaped").exists() and leftovers(dest) == []
