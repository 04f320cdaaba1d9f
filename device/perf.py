"""Collecting the figures printed by ``bargein perf``.

Each subpackage that measures something has a module ``bargein.<pkg>.perf`` with
``figures(quick: bool) -> dict[str, float]``. The keys are flat and name their unit.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

PERF_MODULES = (
    "bargein.audio.playback_perf",
    "bargein.audio.capture_perf",
    "bargein.audio.vad_perf",
    "bargein.audio.echo_perf",
    "bargein.audio.wake_word_perf",
    "bargein.asr.perf",
    "bargein.asr.pocketsphinx_perf",
    "bargein.device.asr_warmup_perf",
    "bargein.device.decode_cost_perf",
    "bargein.device.phrase_judge_perf",
    "bargein.tts.perf",
    "bargein.device.machine_perf",
    "bargein.agent.perf",
    "bargein.device.soak",
    "bargein.device.wake_word_cpu_perf",
)


def available_probes() -> dict[str, Callable[[bool], dict[str, float]]]:
    """The ``figures`` function of every perf module that exists in this install."""
    probes = {}
    for name in PERF_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        probes[name] = importlib.import_module(name).figures
    return probes


def collect(quick: bool = False, only: str | None = None) -> dict[str, float]:
    """Run every probe (or those whose module name contains ``only``) and merge the figures."""
    merged: dict[str, float] = {}
    for name, probe in available_probes().items():
        if only and only not in name:
            continue
        log.info("measuring %s", name)
        merged.update(probe(quick))
    return merged
