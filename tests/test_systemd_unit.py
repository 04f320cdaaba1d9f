"""systemd/bargein.service: ``systemd-analyze verify`` passes and the hardening keeps the
``systemd-analyze security`` exposure at or below 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "bargein.service"
LAN_ONLY = REPO / "systemd" / "lan-only.conf"
BARGEIN = Path(sys.executable).with_name("bargein")
MAX_EXPOSURE = 2.0


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is not installed: apt-get install systemd (.ci/run does)")
    return path


def _unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart's program pointed at this checkout's ``bargein``."""
    text = UNIT.read_text()
    exec_start = re.search(r"^ExecStart=(\S+) (.*)$", text, re.MULTILINE)
    assert exec_start, "the unit has no ExecStart="
    assert exec_start.group(2).startswith("run --config "), exec_start.group(0)
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(exec_start.group(0), f"ExecStart={BARGEIN} {exec_start.group(2)}"))
    return copy


def test_unit_is_the_notify_service_the_daemon_expects() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "Restart=on-failure", "NotifyAccess=main",
                 "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=bargein"):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    watchdog = re.search(r"^WatchdogSec=(\d+)$", text, re.MULTILINE)
    assert watchdog and int(watchdog.group(1)) >= 2  # the daemon withholds pings after sec/2
    stop = re.search(r"^TimeoutStopSec=(\d+)$", text, re.MULTILINE)
    assert stop and int(stop.group(1)) >= 2  # the daemon exits within 2 s of SIGTERM


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    unit = _unit_copy(tmp_path)
    result = subprocess.run([_systemd_analyze(), "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    print(f"systemd-analyze verify: exit {result.returncode}\n{result.stdout}{result.stderr}")
    assert result.returncode == 0, result.stdout + result.stderr
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if UNIT.name in line]
    assert not complaints, complaints


def _exposure(unit: Path) -> tuple[float, str]:
    result = subprocess.run(
        [_systemd_analyze(), "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, f"no exposure figure in:\n{result.stdout}{result.stderr}"
    return float(match.group(1)), result.stdout


def test_security_exposure_is_at_most_two(tmp_path: Path) -> None:
    exposure, report = _exposure(_unit_copy(tmp_path))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure <= MAX_EXPOSURE, report
    # what the network opens, and nothing more: the agent and the broker need IPv4/IPv6
    assert re.search(r"^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$", UNIT.read_text(),
                     re.MULTILINE)


def test_the_lan_only_drop_in_closes_the_internet_and_lowers_the_exposure(
        tmp_path: Path) -> None:
    """The drop-in's [Service] lines after the unit's, as systemd merges a drop-in."""
    unit = _unit_copy(tmp_path)
    base, _ = _exposure(unit)
    drop_in = LAN_ONLY.read_text()
    assert "[Service]" in drop_in
    service_lines = drop_in.split("[Service]", 1)[1]
    text = unit.read_text()
    merged = text.replace("\n[Install]", service_lines.rstrip() + "\n\n[Install]")
    unit.write_text(merged)
    narrowed, report = _exposure(unit)
    print(f"systemd-analyze security exposure: {base} as shipped, {narrowed} with lan-only.conf")
    assert narrowed < base, report
    assert "IPAddressDeny=any" in drop_in and "192.168.0.0/16" in drop_in
    verify = subprocess.run([_systemd_analyze(), "verify", str(unit)], capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
