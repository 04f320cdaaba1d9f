"""The ``bargein`` command line.

Subcommands live one per module in :mod:`bargein.device.commands`; each module
exposes ``register(subparsers)`` which adds its parser and sets ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version

from bargein.device import commands
from bargein.device.errors import BargeinError


def package_version() -> str:
    """The installed distribution's version."""
    try:
        return version("bargein")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def command_names() -> list[str]:
    """Every subcommand, by the name of its module."""
    return sorted(info.name for info in pkgutil.iter_modules(commands.__path__))


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
    names = command_names()
    for name in [command] if command in names else names:
        module = importlib.import_module(f"{commands.__name__}.{name}")
        module.register(sub)
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
