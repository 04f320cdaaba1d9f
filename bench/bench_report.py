"""The bench report: every strategy's scores side by side, the targets beside ours.

The JSON document (read by other scripts) has the issue's shape::

    {"recognition": "pocketsphinx:en-us (with spotter, decode cost profile, cpu x1)",
     "strategies": {NAME: {"scenarios": [{"name", "expected", "outcome", "type",
                                          "detect_ms", "cut_ms", "heard_exact", ...}],
                           "summary": {"recall", "false_cut_rate", ...}}},
     "targets": {...}, "checks": [...]}

``targets`` and ``checks`` are extra top-level keys; each scenario row and summary
also carries extra keys (see :mod:`bargein.bench.scoring`).
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bargein.bench.scoring import ScenarioScore, summarise

log = logging.getLogger(__name__)

OURS = "bargein"
STRATEGIES = ("bargein", "seed+aec", "seed", "livekit-defaults", "naive-vad")

# metric -> (comparison, target) for `bargein`: issue 5, then issue 6 (echo), issue 13
# (cancellations: the voice stops within 800 ms of the onset).
TARGETS: dict[str, tuple[str, float]] = {
    "recall": (">=", 0.99),
    "false_cut_rate": ("<=", 0.02),
    "type_accuracy": (">=", 0.95),
    "detect_ms_p95": ("<=", 200.0),
    "cut_after_recognition_ms_p95": ("<=", 150.0),
    "cancel_cut_ms_p95": ("<=", 800.0),
    "button_cut_ms_p95": ("<=", 20.0),
    "heard_exact_rate": (">=", 0.98),
    "echo_cuts": ("<=", 0.0),
    "ducks_per_min_echo": ("<=", 2.0),
    "under_echo_recall": (">=", 0.95),
    "under_echo_detect_ms_p95": ("<=", 250.0),
    "self_ducks": ("<=", 0.0),
    "reply_level_after_cut_within_1db": (">=", 1.0),
    "idle_turn_recall": (">=", 1.0),  # issue 14: every wake phrase + request answered ...
    "idle_false_turns": ("<=", 0.0),  # ... and no turn for the television or a side talk
}
_OPS = {">=": operator.ge, "<=": operator.le}

# rows of the aggregate table, in order, with how to print them
_SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("recall", "{:.3f}"),
    ("false_cut_rate", "{:.3f}"),
    ("type_accuracy", "{:.3f}"),
    ("detect_ms_p50", "{:.0f}"),
    ("detect_ms_p95", "{:.0f}"),
    ("cut_ms_p50", "{:.0f}"),
    ("cut_ms_p95", "{:.0f}"),
    ("cancel_cut_ms_p50", "{:.0f}"),
    ("cancel_cut_ms_p95", "{:.0f}"),
    ("cut_after_recognition_ms_p50", "{:.0f}"),
    ("cut_after_recognition_ms_p95", "{:.0f}"),
    ("button_cut_ms_p50", "{:.1f}"),
    ("button_cut_ms_p95", "{:.1f}"),
    ("heard_exact_rate", "{:.3f}"),
    ("echo_cuts", "{:.0f}"),
    ("ducks_per_min_echo", "{:.2f}"),
    ("echo_speech_s", "{:.0f}"),
    ("under_echo_recall", "{:.3f}"),
    ("under_echo_detect_ms_p95", "{:.0f}"),
    ("correct_rate", "{:.3f}"),
    ("reply_level_after_cut_db_worst", "{:+.1f}"),
    ("reply_level_after_cut_within_1db", "{:.3f}"),
    ("self_ducks", "{:.0f}"),
    ("tv_ducks", "{:.0f}"),
    ("reply_latency_ms_p50", "{:.0f}"),
    ("reply_latency_ms_p95", "{:.0f}"),
    ("idle_turn_recall", "{:.3f}"),
    ("idle_false_turns", "{:.0f}"),
    ("cpu_s_per_audio_s", "{:.3f}"),
)


@dataclass(frozen=True)
class TargetCheck:
    """One target for `bargein` and whether this run met it (None: no data to judge)."""

    name: str
    target: str
    value: float | None
    met: bool | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "value": self.value, "met": self.met}


def bench_document(scores_by_strategy: Mapping[str, Sequence[ScenarioScore]],
                   recognition: str = "-") -> dict[str, Any]:
    """The bench JSON document from every strategy's scenario scores (one run), naming
    the recognizer the run heard with."""
    strategies = {
        name: {"scenarios": [s.to_json() for s in scores], "summary": summarise(scores)}
        for name, scores in scores_by_strategy.items()
    }
    document: dict[str, Any] = {
        "recognition": recognition,
        "strategies": strategies,
        "targets": {k: {"compare": c, "value": v} for k, (c, v) in TARGETS.items()},
    }
    document["checks"] = [c.to_json() for c in check_targets(document)]
    return document


def check_targets(document: Mapping[str, Any]) -> list[TargetCheck]:
    """Each target against `bargein`'s summary, then the comparison with every baseline."""
    strategies = document["strategies"]
    if OURS not in strategies:
        return []
    ours = strategies[OURS]["summary"]
    checks = []
    for name, (compare, target) in TARGETS.items():
        value = ours.get(name)
        met = None if value is None else bool(_OPS[compare](value, target))
        checks.append(TargetCheck(name, f"{compare} {target:g}", value, met))
    for other, data in strategies.items():
        if other == OURS:
            continue
        theirs = data["summary"]
        values = (ours.get("false_cut_rate"), theirs.get("false_cut_rate"),
                  ours.get("recall"), theirs.get("recall"))
        if None in values:
            met = None
        else:
            ours_fcr, theirs_fcr, ours_recall, theirs_recall = values
            # "strictly better on false cuts at equal or better recall"; when both make no
            # false cuts, better recall alone decides.
            fewer = ours_fcr < theirs_fcr or (ours_fcr == theirs_fcr == 0.0 and ours_recall > theirs_recall)
            met = fewer and ours_recall >= theirs_recall
        checks.append(TargetCheck(f"better than {other}",
                                  "false_cut_rate lower at equal or better recall", None, met))
    return checks


def write_document(document: Mapping[str, Any], path: Path | str) -> Path:
    """Write the bench document as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("bench document written to %s", path)
    return path


def _cell(row: Mapping[str, Any]) -> str:
    """One scenario under one strategy: ✓/✗, what happened, and its main latency."""
    mark = "✓" if row.get("correct") else "✗"
    if row["outcome"] in ("turn", "ignored"):
        turns = row.get("turns") or 0
        return f"{mark} turn" + (f"×{turns}" if turns > 1 else "") if turns else f"{mark} ignored"
    if row["outcome"] == "cut":
        text = f"{mark} cut"
        latency = row.get("cut_ms") if row.get("cut_ms") is not None else row.get("button_cut_ms")
        if latency is not None:
            text += f" {latency:.0f}"
        if row["expected"] == "cut" and row.get("type") != row.get("expected_type"):
            text += f" {(row.get('type') or '?')[:5]}"
    else:
        text = f"{mark} cont"
        if row.get("ducks"):
            text += f" d{row['ducks']}"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def _fmt(value: Any, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def format_report(document: Mapping[str, Any]) -> str:
    """The bench table (scenarios × strategies), the aggregates side by side, the target checks."""
    strategies = document["strategies"]
    names = [n for n in STRATEGIES if n in strategies] + [n for n in strategies if n not in STRATEGIES]
    scenario_names: list[str] = []
    for name in names:
        for row in strategies[name]["scenarios"]:
            if row["name"] not in scenario_names:
                scenario_names.append(row["name"])
    by_name = {n: {r["name"]: r for r in strategies[n]["scenarios"]} for n in names}
    rows = []
    for scenario in scenario_names:
        first = next(by_name[n][scenario] for n in names if scenario in by_name[n])
        expected = first["expected"] + (f" {first['expected_type']}" if first.get("expected_type") else "")
        rows.append([scenario, expected] + [
            _cell(by_name[n][scenario]) if scenario in by_name[n] else "" for n in names
        ])
    lines = [f"Recognition: {document.get('recognition', '-')}", "",
             "Scenarios (✓ as expected, ✗ not; cut N = ms from onset or press to silence; "
             "a type after it = wrong type; dN = ducks)", ""]
    lines += _table(["scenario", "expected", *names], rows)

    lines += ["", "Aggregates", ""]
    agg_rows = []
    for key, pattern in _SUMMARY_ROWS:
        target = TARGETS.get(key)
        target_text = f"{target[0]} {target[1]:g}" if target else ""
        ours = strategies.get(OURS, {}).get("summary", {}).get(key)
        verdict = "" if target is None or ours is None else ("met" if _OPS[target[0]](ours, target[1]) else "MISSED")
        values = [_fmt(strategies[n]["summary"].get(key), pattern) for n in names]
        agg_rows.append([key, *values, target_text, verdict])
    lines += _table(["metric", *names, f"target ({OURS})", ""], agg_rows)

    lines += ["", "Wrong (outcome, or the type of a right cut), per strategy", ""]
    for name in names:
        rows_of = strategies[name]["scenarios"]
        wrong = [r["name"] for r in rows_of if not r["correct"]]
        mistyped = [r["name"] for r in rows_of if r["correct"] and r["expected_type"]
                    and r["expected"] == "cut" and r["type"] != r["expected_type"]]
        lines.append(f"{name}: {len(wrong)} wrong" + (f": {', '.join(wrong)}" if wrong else ""))
        if mistyped:
            lines.append(f"{name}: {len(mistyped)} cut with the wrong type: {', '.join(mistyped)}")

    comparisons = [c for c in check_targets(document) if c.name.startswith("better than")]
    if comparisons:
        lines += [""]
        for check in comparisons:
            verdict = {True: "yes", False: "NO", None: "no data"}[check.met]
            lines.append(f"{OURS} {check.name} ({check.target}): {verdict}")
    return "\n".join(lines)
