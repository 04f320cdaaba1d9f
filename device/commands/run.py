"""``bargein run``: the appliance daemon (what systemd starts)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys

from bargein.device.daemon import run_daemon
from bargein.device.logging_setup import configure_logging
from bargein.device.virtual_audio import CONTROL_ENV, SPEED_ENV

_EPILOG = f"""\
Under systemd it logs to the journal with structured fields, otherwise to stderr.
Signals: SIGTERM stops (voice faded out, event log flushed); SIGHUP reloads the config;
SIGUSR1 writes every thread's stack to stderr.
With [audio] backend = "virtual" it runs on the virtual room in real time (no sound
card); test hooks: ${CONTROL_ENV} (a control file) and ${SPEED_ENV} (pace), see
bargein.device.virtual_audio.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run the appliance (the systemd service's command)", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="config file (default $BARGEIN_CONFIG, then "
                                    "/etc/bargein/config.toml if present, else the defaults)")
    p.set_defaults(func=run, configures_logging=True)


def run(args: argparse.Namespace) -> int:
    configure_logging(verbose=args.verbose)
    # `kill -USR1 <pid>` writes every thread's stack to stderr (the journal): for a hang.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    code = run_daemon(args.config)
    # Everything that matters is flushed (event log fsynced and closed, devices released).
    # Leave without running the models' destructors: freeing a Vosk model and a Piper
    # session takes seconds, and systemd gives the stop 2 s.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
