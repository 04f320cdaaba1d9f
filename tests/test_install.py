"""scripts/install.sh end to end, into a throwaway root (``--root``): a real venv, a real
user database edited by shadow's tools, the unit enabled by ``systemctl --root``, and the
model fetched from a real HTTP server on 127.0.0.1. Nothing on this machine is changed
(apt runs only for packages it lacks, and scripts/setup and .ci/run install them all).
As non-root the script runs under fakeroot."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from archive_server import ArchiveServer, serving

from bargein.asr.model import DEFAULT_MODEL_NAME, missing_parts

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "install.sh"
# What sudo gives root (secure_path): no dev venv, no pyenv shims.
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_TIMEOUT_S = 900


def _model_zip() -> bytes:
    """A zip laid out like a Vosk model: what ``missing_parts`` asks of a complete one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in {
            "am/final.mdl": b"\x00" * 4096,
            "conf/model.conf": b"--beam=10.0\n",
            "conf/mfcc.conf": b"--use-energy=false\n",
            "graph/HCLG.fst": b"\x00" * 1024,
            "graph/phones/word_boundary.int": b"1 nonword\n",
            "README": b"test model for install.sh\n",
        }.items():
            zf.writestr(f"{DEFAULT_MODEL_NAME}/{rel}", data)
    return buf.getvalue()


ARCHIVE = _model_zip()
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    with serving(ARCHIVE, "model.zip") as srv:
        yield srv


def _seed_root(root: Path) -> None:
    """The user database of a minimal system: root, and an audio group but no gpio group."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\naudio:x:29:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\naudio:*::\n")
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o640)


def _install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = ["bash", str(SCRIPT), "--root", str(root), *args]
    if os.geteuid() != 0:
        fakeroot = shutil.which("fakeroot")
        if fakeroot is None:
            pytest.fail("fakeroot is not installed: run scripts/setup (or apt-get install fakeroot)")
        command.insert(0, fakeroot)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = ROOT_PATH
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


def _users(root: Path) -> list[str]:
    return [line.split(":")[0] for line in (root / "etc/passwd").read_text().splitlines()]


def _passwd_lines(root: Path, name: str) -> list[str]:
    return [line for line in (root / "etc/passwd").read_text().splitlines()
            if line.startswith(f"{name}:")]


def _groups(root: Path) -> dict[str, list[str]]:
    """Group name -> members, from the root's group file."""
    groups = {}
    for line in (root / "etc/group").read_text().splitlines():
        name, _, _, members = line.split(":")
        groups[name] = [m for m in members.split(",") if m]
    return groups


def _is_enabled(root: Path) -> str:
    done = subprocess.run(["systemctl", f"--root={root}", "is-enabled", "bargein.service"],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or done.stderr.strip()


@pytest.mark.timeout(2 * INSTALL_TIMEOUT_S)
def test_install_upgrade_uninstall_purge(server: ArchiveServer, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _seed_root(root)
    venv = root / "opt/bargein/venv"
    conf = root / "etc/bargein"
    state = root / "var/lib/bargein"
    unit = root / "etc/systemd/system/bargein.service"
    wants = root / "etc/systemd/system/multi-user.target.wants/bargein.service"
    model = state / "models" / DEFAULT_MODEL_NAME

    # Install.
    first = _install(root, "--model-url", f"{server.url}/model.zip", "--model-sha256", SHA256)
    assert server.paths == ["/model.zip"]
    assert "the unit is enabled there" in first.stdout
    shown = subprocess.run([str(venv / "bin/bargein"), "--version"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"bargein {version('bargein')}"
    assert len(_passwd_lines(root, "bargein")) == 1
    assert "bargein" in (root / "etc/shadow").read_text()
    groups = _groups(root)
    assert "bargein" in groups["audio"] and "bargein" in groups["gpio"]
    assert "bargein" in groups  # its own group: the unit's Group=
    assert (conf / "config.toml").read_bytes() == (REPO / "systemd/config.example.toml").read_bytes()
    assert (conf / "agent-api-key").stat().st_mode & 0o777 == 0o600
    assert missing_parts(model) == []
    assert not list((state / "models").glob("*.part"))
    if os.geteuid() == 0:  # under fakeroot the owner is faked and gone when it exits
        uid, gid = (int(n) for n in _passwd_lines(root, "bargein")[0].split(":")[2:4])
        assert (state.stat().st_uid, state.stat().st_gid) == (uid, gid)
        assert (model / "am/final.mdl").stat().st_uid == uid
    assert state.stat().st_mode & 0o777 == 0o750
    assert unit.read_bytes() == (REPO / "systemd/bargein.service").read_bytes()
    assert wants.is_symlink() and os.readlink(wants) == "/etc/systemd/system/bargein.service"
    assert _is_enabled(root) == "enabled"

    # Re-run (an upgrade): the edited config, the key and the event log stay, no download.
    edited = (conf / "config.toml").read_text() + "\n# edited on this appliance\n"
    (conf / "config.toml").write_text(edited)
    (conf / "agent-api-key").write_text("sk-test\n")
    events = state / "events.jsonl"
    events.write_text('{"event": "interruption"}\n')
    second = _install(root, f"--model-sha256={SHA256}", f"--model-url={server.url}/model.zip")
    assert server.paths == ["/model.zip"]
    assert "install: system packages present" in second.stdout
    assert "keeping existing" in second.stdout
    assert (conf / "config.toml").read_text() == edited
    assert (conf / "agent-api-key").read_text() == "sk-test\n"
    assert (conf / "agent-api-key").stat().st_mode & 0o777 == 0o600
    assert events.read_text() == '{"event": "interruption"}\n'
    assert len(_passwd_lines(root, "bargein")) == 1
    assert _groups(root)["audio"] == ["bargein"]
    assert (venv / "bin/bargein").exists() and _is_enabled(root) == "enabled"

    # Uninstall: code, venv, unit and user go; config, event log and models stay.
    _install(root, "--uninstall")
    assert not (root / "opt/bargein").exists()
    assert not unit.exists() and not wants.is_symlink()
    assert "bargein" not in _users(root)
    groups = _groups(root)
    assert "bargein" not in groups
    assert "bargein" not in groups["audio"] + groups["gpio"]
    assert (conf / "config.toml").read_text() == edited
    assert events.read_text() == '{"event": "interruption"}\n'
    assert missing_parts(model) == []

    # Purge, options in another order: config and state go too; root's own entries stay.
    _install(root, "--purge", "--uninstall")
    assert not conf.exists() and not state.exists()
    assert _users(root) == ["root"]
    assert server.paths == ["/model.zip"]


def test_unknown_option_is_one_line_naming_the_valid_ones() -> None:
    done = subprocess.run(["bash", str(SCRIPT), "--uninstall", "--frobnicate"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "install: unknown option --frobnicate (valid options: --root DIR, --model-url URL, "
        "--model-sha256 HEX, --uninstall, --purge)"
    ]


@pytest.mark.parametrize("args, message", [
    (["--purge"], "--purge only goes with --uninstall"),
    (["--model-url", "http://127.0.0.1/m.zip"], "--model-url needs --model-sha256"),
    (["--model-url", "http://127.0.0.1/m.zip", "--model-sha256", "abc"], "not 64 hex digits"),
    (["--root"], "--root needs a value"),
])
def test_bad_option_combinations_are_refused(args: list[str], message: str) -> None:
    done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr, done.stderr


def test_root_without_a_user_database_is_refused(tmp_path: Path) -> None:
    command = ["bash", str(SCRIPT), "--root", str(tmp_path)]
    if os.geteuid() != 0:
        command.insert(0, shutil.which("fakeroot") or "fakeroot")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"install: {tmp_path.resolve()}/etc/passwd is missing; --root needs DIR/etc/passwd and "
        f"DIR/etc/group (copy them from a system image, or write a root line into each)"
    ]
    assert list(tmp_path.iterdir()) == []
