"""``bargein bench``: every scenario under every strategy in one run, scored side by side."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from bargein.bench.bench_report import (
    OURS,
    bench_document,
    format_report,
    write_document,
)
from bargein.bench.bench_runner import kept_outcomes, run_suite
from bargein.bench.partial_latency import SOURCES, summarise_partial_latency
from bargein.bench.scenario import SUITE_DIR, load_suite
from bargein.bench.scoring import score_scenario
from bargein.bench.sim_recognition import add_asr_arguments, asr_choice
from bargein.bench.simulate import STRATEGIES
from bargein.device.appliance_settings import LISTEN_MODES

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="score every scenario under ours and the baselines")
    p.add_argument("suite", type=Path, nargs="?", default=SUITE_DIR,
                   help="directory of scenario TOML files (default: the suite shipped in "
                        "bargein.bench, bench/scenarios in the source tree)")
    p.add_argument("--json", type=Path, help="write the scores as JSON")
    p.add_argument("--strategies", default=",".join(STRATEGIES),
                   help="comma-separated strategies (default: all five)")
    p.add_argument("--only", help="run only scenarios whose name contains this")
    p.add_argument("--jobs", type=int, default=1,
                   help=f"worker processes (results are the same; this machine has "
                        f"{os.cpu_count()} cores)")
    p.add_argument("--events-dir", type=Path,
                   help="also write every run's events.jsonl to DIR/<strategy>/<scenario>.jsonl")
    p.add_argument("--from-events", type=Path, metavar="DIR",
                   help="score the logs an earlier --events-dir run kept, without running")
    p.add_argument("--listen-mode", choices=LISTEN_MODES,
                   help="listen this way in every scenario instead of its [listen] mode")
    add_asr_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scenarios = [s for s in load_suite(args.suite) if not args.only or args.only in s.name]
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    scores: dict[str, list] = {name: [] for name in strategies}
    recognition = "-"
    if args.from_events is not None:
        outcomes = kept_outcomes(args.from_events, scenarios, strategies)
    else:
        outcomes = run_suite(scenarios, strategies, asr=asr_choice(args),
                             asr_latency_ms=args.asr_latency_ms, jobs=max(1, args.jobs),
                             events_dir=args.events_dir, listen_mode=args.listen_mode)
    ours_events = []
    for result in outcomes:
        if result.strategy == OURS:
            ours_events.append(result.events)
        score = score_scenario(result.scenario, result.events, cpu_s=result.cpu_s)
        scores[result.strategy].append(score)
        recognition = result.asr
        log.info("%-32s %-17s %s", result.scenario.name, result.strategy,
                 "ok" if score.correct else "WRONG")
    document = bench_document(scores, recognition=recognition)
    print(f"recognition: {recognition}")
    print(format_report(document))
    if ours_events and not recognition.startswith("oracle"):
        # the recognizer's own latency, measured inside the loop (a real engine only: the
        # oracle's is the fixed --asr-latency-ms)
        latency = summarise_partial_latency(ours_events)
        document["asr_partial_latency"] = latency
        print(f"partial latency after a clip's voiced end ({OURS}): " + ", ".join(
            f"{source} p50 {_ms(latency[f'{source}_after_end_ms_p50'])} "
            f"p95 {_ms(latency[f'{source}_after_end_ms_p95'])} "
            f"({latency[f'{source}_clips']} clips)" for source in SOURCES))
    if args.json:
        write_document(document, args.json)
    return 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
