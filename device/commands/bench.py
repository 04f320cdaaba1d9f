"""``bargein bench``: every scenario under every strategy in one run, scored side by side."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bargein.device.bench_report import bench_document, format_report, write_document
from bargein.device.scenario import load_suite
from bargein.device.scoring import score_scenario
from bargein.device.simulate import STRATEGIES, iter_runs

log = logging.getLogger(__name__)
DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "tests" / "scenarios"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="score every scenario under ours and the baselines")
    p.add_argument("suite", type=Path, nargs="?", default=DEFAULT_SUITE,
                   help="directory of scenario TOML files (default: tests/scenarios)")
    p.add_argument("--json", type=Path, help="write the scores as JSON")
    p.add_argument("--strategies", default=",".join(STRATEGIES),
                   help="comma-separated strategies (default: all four)")
    p.add_argument("--only", help="run only scenarios whose name contains this")
    p.add_argument("--asr-latency-ms", type=float, default=150.0)
    p.add_argument("--asr", default="auto",
                   help="oracle, auto (Vosk when the English model is installed, else the "
                        "oracle) or a Vosk model directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scenarios = [s for s in load_suite(args.suite) if not args.only or args.only in s.name]
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    scores: dict[str, list] = {name: [] for name in strategies}
    for result in iter_runs(scenarios, strategies, asr_latency_ms=args.asr_latency_ms,
                            asr=args.asr):
        score = score_scenario(result.scenario, result.events)
        scores[result.strategy].append(score)
        log.info("%-32s %-17s %s", result.scenario.name, result.strategy,
                 "ok" if score.correct else "WRONG")
    document = bench_document(scores)
    print(f"recognition: {result.asr if scenarios else '-'}")
    print(format_report(document))
    if args.json:
        write_document(document, args.json)
    return 0
