"""``bargein house-demo``: the appliance with Home Assistant and MQTT, in the virtual room."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bargein.bench.house_demo import NODE, HouseRun, run_house, speaker_levels
from bargein.core.frames import read_wav
from bargein.device.commands import output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "house-demo", help="the daemon in the virtual room with the Home Assistant agent (a "
        "test server) and MQTT (a local Mosquitto): what Home Assistant sees")
    p.add_argument("--out", type=Path, default=Path("house-out"), help="output directory")
    p.set_defaults(func=run)


def _report(run: HouseRun) -> list[str]:
    def at(t_s: float) -> str:
        return f"{t_s - run.started_s:7.2f}s"

    lines = ["Home Assistant (conversation API) was asked:"]
    lines += [f"  {json.dumps((r.body or {}).get('text'))}"
              f" (conversation_id {'sent' if (r.body or {}).get('conversation_id') else 'new'})"
              for r in run.requests]
    lines.append(f"Kitchen light afterwards: {'on' if run.kitchen_light_on else 'off'}")
    base = f"bargein/{NODE}"
    discovery = sorted(m.topic for m in run.messages if m.topic.startswith("homeassistant/"))
    lines.append(f"MQTT discovery ({len(discovery)} retained configs):")
    lines += [f"  {topic}" for topic in discovery]
    lines.append("MQTT state, availability, mute and volume, as they arrived:")
    for m in run.messages:
        if m.topic.split("/")[-1] in ("state", "availability", "mute", "volume"):
            lines.append(f"  {at(m.t_s)} {m.topic} {m.payload}")
    lines.append("MQTT interruption records and rate:")
    for m in run.messages:
        if m.topic == f"{base}/interruption":
            r = json.loads(m.payload)
            lines.append(f"  {at(m.t_s)} {m.topic} type={r['type']} handling={r['handling']} "
                         f"heard=\"{' '.join(r.get('words_heard', [])[-6:])}\" "
                         f"cut_in={json.dumps(r.get('word_cut'))} "
                         f"progress={r.get('progress_pct', 0):.0f}% "
                         f"onset_to_silence_ms={r.get('onset_to_silence_ms')}")
        elif m.topic in (f"{base}/rate", f"{base}/rate_alert"):
            lines.append(f"  {at(m.t_s)} {m.topic} {m.payload}")
    for m in run.messages:
        if m.topic == f"{base}/stop":
            lines.append(f"  {at(m.t_s)} {m.topic} {m.payload} (Home Assistant's stop button)")
    speaker = run.out / "speaker.wav"
    if speaker.exists():
        pcm, rate_hz = read_wav(speaker)
        lines.append("What the speaker played (stretches, RMS):")
        lines += [f"  {start:7.2f}s to {end:7.2f}s  {db:6.1f} dBFS"
                  for start, end, db in speaker_levels(pcm, rate_hz)]
    return lines


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    output_dir(out)
    print("bargein house-demo: bargein run in the virtual room, agent = homeassistant (a test "
          "server speaking its conversation API), MQTT on (a local Mosquitto).", flush=True)
    try:
        result = run_house(out)
    except RuntimeError as exc:  # no Mosquitto, or the daemon stopped short (its log is in it)
        print(f"bargein house-demo: {exc}", file=sys.stderr)
        return 1
    print("\n".join(_report(result)))
    print(f"\nwrote {out}/mqtt.jsonl, events.jsonl, speaker.wav, mic.wav, daemon.log")
    return result.exit_code
