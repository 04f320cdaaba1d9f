"""Where the daemon's logs go: the journal (with structured fields) under systemd,
stderr otherwise.

Under systemd (``$JOURNAL_STREAM`` or ``$INVOCATION_ID`` set) records go through
systemd-python's :class:`~systemd.journal.JournalHandler`, so every upper-case
``extra`` key of a record (``BARGEIN_TYPE``, ``BARGEIN_WORDS_HEARD``, ...) becomes a
journal field, queryable with ``journalctl -u bargein BARGEIN_TYPE=correction``.
Only the daemon's entry point calls :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

SYSLOG_IDENTIFIER = "bargein"
_STDERR_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def under_systemd(environ: Mapping[str, str] | None = None) -> bool:
    """True when systemd started this process (its stdout/stderr go to the journal)."""
    env = os.environ if environ is None else environ
    return bool(env.get("JOURNAL_STREAM") or env.get("INVOCATION_ID"))


def configure_logging(verbose: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """Attach the one root handler; returns ``"journal"`` or ``"stderr"``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    target = "stderr"
    handler: logging.Handler
    if under_systemd(environ):
        from systemd.journal import JournalHandler

        handler = JournalHandler(SYSLOG_IDENTIFIER=SYSLOG_IDENTIFIER)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        target = "journal"
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_STDERR_FORMAT))
    root.addHandler(handler)
    return target
