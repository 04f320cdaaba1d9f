"""``bargein demo``: a scripted conversation in the virtual room, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from bargein.device.demo import DEMO_QUESTION, demo_scenario
from bargein.device.simulate import run_scenario, write_wav
from bargein.device.timeline import render_timeline


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a conversation in the virtual room (no sound card needed)")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output directory")
    p.set_defaults(func=run)


def _transcript(result) -> list[str]:  # noqa: ANN001 - SimResult
    lines = [f"  you      : {DEMO_QUESTION}?"]
    records = iter(result.interruptions)
    for event in sorted(result.events, key=lambda e: e.t_s):
        t = f"{event.t_s:6.2f}s"
        if event.kind == "speak" and event["text"]:
            lines.append(f"{t} bargein  : {event['text']}")
        elif event.kind == "truth_user":
            said = event["text"] or "(coughs)"
            lines.append(f"{t} you      : {said}")
        elif event.kind == "interruption":
            record = next(records, None)
            if record is None:
                continue
            heard = " ".join(record.words_heard[-6:])
            line = (f"{t}   record: {record.type.value}, {record.handling}")
            if record.handling in ("cut", "cancelled", "button"):
                line += (f"; heard ...\"{heard}\", cut in \"{record.word_cut or '-'}\", "
                         f"{len(record.words_unplayed)} words unplayed, "
                         f"{record.progress_pct:.0f}% played")
            lines.append(line)
    return lines


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    scenario = demo_scenario(out)
    print("bargein demo: a conversation in the virtual room (no sound card used).")
    result = run_scenario(scenario, "bargein", log_path=out / "events.jsonl",
                          opening_question=DEMO_QUESTION, max_s=scenario.duration_s or 40.0,
                          asr="auto")
    if result.asr == "oracle":
        print("Recognition: the oracle recognizer (reports the scripted words 150 ms after each "
              "word ends), because no English Vosk model is installed; scripts/fetch-models "
              "installs it.")
    else:
        print(f"Recognition: Vosk ({result.asr}).")
    write_wav(out / "speaker.wav", result.speaker, result.rate_hz)
    write_wav(out / "mic.wav", result.mic, 16000)
    render_timeline(result.speaker.astype("float32") / 32768.0,
                    result.mic.astype("float32") / 32768.0, 16000, result.events,
                    out / "timeline.png", "bargein demo: backchannel, correction, cough, stop, continue")
    print()
    print("\n".join(_transcript(result)))
    print()
    print(f"wrote {out}/speaker.wav (what the appliance said), mic.wav, events.jsonl, timeline.png")
    return 0
