"""The bench's subcommands of the ``bargein`` CLI (``bench``, ``demo``, ``perf``,
``simulate``), each a module with ``register(subparsers)``. They reach the CLI through the
``bargein.commands`` entry points (``pyproject.toml``), so the appliance's command line
never imports this package: a command module is imported only when it is the one run."""
