"""Running a suite for ``bargein bench``: every scenario under every strategy, on N cores.

Each run is independent (fresh recognizers, unvaried synthesis, a seeded room), so
runs can go to a pool of worker processes and come back in the suite's order with
the same results as one process gives. Workers are started with ``spawn``: the
parent has onnxruntime's and Vosk's threads running, which ``fork`` would copy
half-alive.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bargein.bench.scenario import Scenario
from bargein.bench.sim_log import SimEvent, read_events
from bargein.bench.sim_recognition import AsrChoice
from bargein.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What the bench keeps of one run: its event log, the recognizer and the CPU it cost."""

    scenario: Scenario
    strategy: str
    events: list[SimEvent]
    asr: str
    cpu_s: float | None


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    strategy: str
    asr: AsrChoice
    asr_latency_ms: float
    events_path: Path | None
    listen_mode: str | None = None


_VOICE = None


def _run(job: _Job) -> RunOutcome:
    """One run, in whichever process: the voice is loaded once per process."""
    from bargein.bench.simulate import run_scenario
    from bargein.tts.voice import load_voice

    global _VOICE
    if _VOICE is None:
        _VOICE = load_voice()
    if job.events_path is not None:
        job.events_path.parent.mkdir(parents=True, exist_ok=True)
    result = run_scenario(job.scenario, job.strategy, voice=_VOICE, asr=job.asr,
                          asr_latency_ms=job.asr_latency_ms, log_path=job.events_path,
                          listen_mode=job.listen_mode)
    return RunOutcome(job.scenario, job.strategy, result.events, result.asr, result.cpu_s)


def run_suite(scenarios: Sequence[Scenario], strategies: Sequence[str], *, asr: AsrChoice,
              asr_latency_ms: float = 150.0, jobs: int = 1,
              events_dir: Path | None = None,
              listen_mode: str | None = None) -> Iterator[RunOutcome]:
    """Every scenario under every strategy, in suite order, on ``jobs`` processes
    (``listen_mode``: instead of each scenario's own).

    With ``events_dir`` each run's log is also written to
    ``events_dir/<strategy>/<scenario>.jsonl``.
    """
    asr = asr.resolved()
    work = [
        _Job(scenario, strategy, asr, asr_latency_ms,
             None if events_dir is None else events_dir / strategy / f"{scenario.name}.jsonl",
             listen_mode)
        for scenario in scenarios for strategy in strategies
    ]
    if jobs <= 1 or len(work) <= 1:
        yield from map(_run, work)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(jobs, len(work))) as pool:
        yield from pool.imap(_run, work)


def kept_outcomes(events_dir: Path, scenarios: Sequence[Scenario],
                  strategies: Sequence[str]) -> Iterator[RunOutcome]:
    """The runs an earlier ``run_suite(events_dir=...)`` kept, read back to be scored again
    (the CPU they cost is not in the logs)."""
    for scenario in scenarios:
        for strategy in strategies:
            path = events_dir / strategy / f"{scenario.name}.jsonl"
            if not path.is_file():
                raise ConfigError(f"{path}: no kept log for this scenario and strategy; run "
                                  f"bargein bench --events-dir {events_dir} first")
            events = read_events(path)
            runs = [e for e in events if e.kind == "run"]
            yield RunOutcome(scenario, strategy, events, runs[0]["asr"] if runs else "-", None)
