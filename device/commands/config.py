"""``bargein config``: check a config file or print the documented example."""

from __future__ import annotations

import argparse

from bargein.device.config import load_config, render_example


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check a config file or print the example config")
    p.add_argument("--config", help="config file to check (default /etc/bargein/config.toml)")
    p.add_argument("--example", action="store_true", help="print the documented example config")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.example:
        print(render_example(), end="")
        return 0
    load_config(args.config)
    print(f"config ok: {args.config or 'defaults / /etc/bargein/config.toml'}")
    return 0
