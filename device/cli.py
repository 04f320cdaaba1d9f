"""The ``bargein`` command line.

Subcommands live one per module: the appliance's in :mod:`bargein.device.commands`,
others (the bench's ``bench``, ``demo``, ``perf``, ``simulate``) wherever an entry point
of the group ``bargein.commands`` names them, so the appliance imports no package above
it. Each module exposes ``register(subparsers)`` which adds its parser and sets ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from importlib.metadata import entry_points

from bargein.core.errors import BargeinError
from bargein.core.version import package_version
from bargein.device import commands

COMMAND_GROUP = "bargein.commands"
"""The entry-point group other packages register subcommand modules in."""


def _command_modules() -> dict[str, str]:
    """Every subcommand's name and the module that implements it."""
    found = {ep.name: ep.value for ep in entry_points(group=COMMAND_GROUP)}
    found.update({info.name: f"{commands.__name__}.{info.name}"
                  for info in pkgutil.iter_modules(commands.__path__)})
    return found


def command_names() -> list[str]:
    """Every subcommand, by name."""
    return sorted(_command_modules())


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with ``command``'s subcommand registered, or every one (for the help,
    or an unknown name). Registering one imports only its module: ``bargein run`` on the
    Pi does not load the bench, the simulator or matplotlib."""
    parser = argparse.ArgumentParser(
        prog="bargein",
        description="A voice appliance that handles being interrupted well.",
    )
    parser.add_argument("--version", action="version", version=f"bargein {package_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _command_modules()
    for name in [command] if command in modules else sorted(modules):
        importlib.import_module(modules[name]).register(sub)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not getattr(args, "configures_logging", False):
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    try:
        return int(args.func(args) or 0)
    except BargeinError as exc:
        print(f"bargein: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
