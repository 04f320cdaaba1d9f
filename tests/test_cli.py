"""The command line loads only the subcommand it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bargein.device.cli import build_parser, command_names, main

HARNESS = ("matplotlib", "bargein.bench.simulate", "bargein.bench.scoring",
           "bargein.bench.bench_report", "bargein.bench.timeline", "bargein.bench.scenario",
           "bargein.bench.baselines")


def loaded_by(argv: list[str]) -> set[str]:
    """The harness modules a fresh interpreter has loaded once ``bargein ARGV`` has parsed."""
    code = ("import sys\nfrom bargein.device.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', *(m for m in sys.modules if m.startswith({HARNESS!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    (line,) = [line for line in out.stdout.splitlines() if line.startswith("LOADED")]
    return set(line.split()[1:])


def test_the_daemon_loads_neither_the_bench_nor_matplotlib():
    assert loaded_by(["run", "--help"]) == set()
    assert any(m.startswith("bargein.bench") for m in loaded_by(["demo", "--help"])), \
        "the check can see a harness module load"


def test_the_bench_commands_come_from_their_entry_points():
    assert {"bench", "demo", "perf", "simulate"} <= set(command_names())
    assert {"run", "doctor", "say", "config"} <= set(command_names())


def test_the_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for name in command_names():
        assert name in listed


def test_an_option_before_the_command_still_finds_it():
    args = build_parser("say").parse_args(["-v", "say", "hello", "--out", "x.wav"])
    assert args.command == "say" and args.verbose
    with pytest.raises(SystemExit):
        build_parser("no-such-command").parse_args(["no-such-command"])
