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


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="bargein",
        description="A voice appliance that handles being interrupted well.",
    )
    parser.add_argument("--version", action="version", version=f"bargein {package_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
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
