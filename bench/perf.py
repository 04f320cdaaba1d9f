"""Collecting the figures printed by ``bargein perf``.

Every module of :mod:`bargein.bench.probes` is a probe: ``figures(quick: bool) ->
dict[str, float]``, flat keys that name their unit. They run in name order.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

from bargein.bench import probes

log = logging.getLogger(__name__)


def probe_names() -> list[str]:
    """The module name of every probe, in the order they run."""
    return sorted(f"{probes.__name__}.{info.name}" for info in pkgutil.iter_modules(probes.__path__))


def collect(quick: bool = False, only: str | None = None) -> dict[str, float]:
    """Run every probe, or the one named ``only`` (``wake_word``), or else those whose
    module name contains it (``wake`` runs wake_word and wake_word_cpu), and merge the
    figures. A probe is imported only when it runs."""
    merged: dict[str, float] = {}
    names = probe_names()
    exact = [n for n in names if only and n.rsplit(".", 1)[1] == only]
    for name in exact or names:
        if only and only not in name:
            continue
        log.info("measuring %s", name)
        merged.update(importlib.import_module(name).figures(quick))
    return merged
