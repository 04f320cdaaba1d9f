"""``bargein demo``: a scripted conversation in the virtual room, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from bargein.bench.demo import DEMO_QUESTION, demo_scenario
from bargein.bench.sim_recognition import add_asr_arguments, asr_choice
from bargein.bench.simulate import run_scenario
from bargein.bench.timeline import render_timeline
from bargein.core.frames import write_wav
from bargein.device.commands import output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a conversation in the virtual room (no sound card needed)")
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output directory")
    add_asr_arguments(p)
    p.set_defaults(func=run)


def _spoken_lines(events) -> list[tuple[float, str]]:  # noqa: ANN001 - SimEvents
    """Each reply sentence at the moment its first word played, as far as it played.

    A sentence is handed to synthesis long before it is heard; the words the speaker
    actually played (``word_played``, indexed by word within the utterance) give its
    real time. A sentence cut short ends in a dash; one never played is left out.
    """
    played: dict[tuple[int, int], float] = {}
    for event in events:
        if event.kind == "word_played":
            played[(event["utterance_id"], event["index"])] = event["start_s"]
    lines = []
    first_word: dict[int, int] = {}
    for event in events:
        if event.kind != "speak" or not event["text"]:
            continue
        utterance = event["utterance_id"]
        tokens = event["text"].split()
        # Piper's spans are words: a dash standing alone between them is no word.
        spoken = [i for i, token in enumerate(tokens) if any(ch.isalnum() for ch in token)]
        start = first_word.get(utterance, 0)
        first_word[utterance] = start + len(spoken)
        heard = [i for n, i in enumerate(spoken) if (utterance, start + n) in played]
        if not heard:
            continue
        text = " ".join(tokens[: heard[-1] + 1])
        if len(heard) < len(spoken):
            text += " —"
        first = spoken.index(heard[0])
        lines.append((played[(utterance, start + first)], f"bargein  : {text}"))
    return lines


def _transcript(result) -> list[str]:  # noqa: ANN001 - SimResult
    timed = _spoken_lines(result.events)
    records = iter(result.interruptions)
    for event in result.events:
        if event.kind == "truth_user":
            timed.append((event.t_s, f"you      : {event['text'] or '(coughs)'}"))
        elif event.kind == "interruption":
            record = next(records, None)
            if record is None:
                continue
            line = f"  record: {record.type.value}, {record.handling}"
            if record.handling in ("cut", "cancelled", "button"):
                heard = " ".join(record.words_heard[-6:])
                where = (f"cut in \"{record.word_cut}\"" if record.word_cut
                         else "cut between words")
                line += (f"; heard ...\"{heard}\", {where}, "
                         f"{len(record.words_unplayed)} words unplayed, "
                         f"{record.progress_pct:.0f}% played")
            timed.append((event.t_s, line))
    lines = [f"  you      : {DEMO_QUESTION}?"]
    lines.extend(f"{t:6.2f}s {line}" for t, line in sorted(timed, key=lambda item: item[0]))
    return lines


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    output_dir(out)
    scenario = demo_scenario(out)
    print("bargein demo: a conversation in the virtual room (no sound card used).")
    result = run_scenario(scenario, "bargein", log_path=out / "events.jsonl",
                          opening_question=DEMO_QUESTION, max_s=scenario.duration_s or 40.0,
                          asr_latency_ms=args.asr_latency_ms,
                          asr=asr_choice(args))
    print(f"Recognition: {result.asr}.")
    write_wav(out / "speaker.wav", result.speaker, result.rate_hz)
    write_wav(out / "mic.wav", result.mic, 16000)
    render_timeline(result.speaker.astype("float32") / 32768.0,
                    result.mic.astype("float32") / 32768.0, 16000, result.events,
                    out / "timeline.png", "bargein demo: backchannel, cough, stop, continue, correction")
    print()
    print("\n".join(_transcript(result)))
    print()
    print(f"wrote {out}/speaker.wav (what the appliance said), mic.wav, events.jsonl, timeline.png")
    return 0
