"""``bargein perf``: measure latencies and costs; print a table and write flat JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bargein.bench.perf import collect


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("perf", help="measure latencies and per-frame costs")
    p.add_argument("--json", type=Path, help="write the figures as one flat JSON object")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (for tests)")
    p.add_argument("--only", help="run only the probes whose module name contains this")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    figures = collect(quick=args.quick, only=args.only)
    width = max((len(k) for k in figures), default=10)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:12.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0
