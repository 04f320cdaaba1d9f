"""Subcommands of the `bargein` CLI: each module has `register(subparsers)`."""
