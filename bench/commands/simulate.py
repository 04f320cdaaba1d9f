"""``bargein simulate``: one scenario in the virtual room, with its timeline picture."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bargein.bench.scenario import load_scenario
from bargein.bench.scoring import score_scenario
from bargein.bench.sim_recognition import add_asr_arguments, asr_choice
from bargein.bench.simulate import STRATEGIES, run_scenario
from bargein.bench.timeline import render_timeline
from bargein.core.frames import write_wav
from bargein.device.appliance_settings import LISTEN_MODES
from bargein.device.commands import output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run one scenario in the virtual room")
    p.add_argument("scenario", type=Path, help="scenario TOML (see bench/scenarios/README.md)")
    p.add_argument("--out", type=Path, required=True, help="directory for the outputs")
    p.add_argument("--strategy", default="bargein", choices=STRATEGIES)
    p.add_argument("--listen-mode", choices=LISTEN_MODES,
                   help="listen this way instead of the scenario's [listen] mode")
    add_asr_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    output_dir(args.out)
    result = run_scenario(scenario, args.strategy, asr_latency_ms=args.asr_latency_ms,
                          log_path=args.out / "events.jsonl", asr=asr_choice(args),
                          listen_mode=args.listen_mode)
    print(f"recognition: {result.asr}")
    write_wav(args.out / "speaker.wav", result.speaker, result.rate_hz)
    write_wav(args.out / "mic.wav", result.mic, 16000)
    score = score_scenario(scenario, result.events, cpu_s=result.cpu_s)
    (args.out / "summary.json").write_text(json.dumps(score.to_json(), indent=2) + "\n")
    render_timeline(result.speaker.astype("float32") / 32768.0,
                    result.mic.astype("float32") / 32768.0, 16000, result.events,
                    args.out / "timeline.png", f"{scenario.name} ({args.strategy})")
    verdict = "as expected" if score.correct else "NOT as expected"
    if score.idle:
        mode = args.listen_mode or scenario.listen_mode
        rings = f", {score.rings} timer rings said" if score.rings or scenario.expect.rings else ""
        if score.ring_cuts:
            rings += f" (stopped by {', '.join(score.ring_cuts)})"
        print(f"{scenario.name} ({mode}): {score.outcome}, {verdict}; {score.turns} turns "
              f"(first {score.request!r}), {score.ignored} utterances ignored{rings}")
    else:
        print(f"{scenario.name}: {score.outcome} ({score.type or '-'}), {verdict}; "
              f"detect {score.detect_ms} ms, silent {score.cut_ms} ms after onset")
    print(f"wrote {args.out}/speaker.wav mic.wav events.jsonl summary.json timeline.png")
    return 0
