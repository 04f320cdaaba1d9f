"""The appliance in a house: Home Assistant answers, Mosquitto carries its state.

``bargein run`` on the virtual room (:class:`~bargein.bench.virtual_daemon.VirtualDaemon`)
with ``[agent] kind = "homeassistant"`` against the test server that speaks Home
Assistant's conversation API (:mod:`bargein.bench.ha_server`) and ``[mqtt]`` on against a
real Mosquitto (:mod:`bargein.bench.mosquitto`), in the default ``wake_word`` mode. A
person (the Piper voice, through the room's mic) says:

1. "Alexa. Could you turn off the kitchen lights?" (Home Assistant acts and answers);
2. "Alexa. What's happening at home?"; over the long answer "yeah" (it talks on),
   then "stop" (it cuts; the record goes out on MQTT);
3. the same question again; Home Assistant's stop button (an MQTT message) cuts it;
4. "Alexa. Are the kitchen lights on?".

Each step waits for the state the appliance publishes on MQTT, as Home Assistant sees
it. Everything is written to the output folder: ``mqtt.jsonl`` (every message, with its
time), ``events.jsonl`` (the interruption records), ``speaker.wav`` / ``mic.wav``, the
daemon's log and config.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bargein.bench.ha_server import HaRequest, HaTestServer
from bargein.bench.mosquitto import Message, Mosquitto, MqttWatcher, free_port
from bargein.bench.virtual_daemon import VirtualDaemon
from bargein.core.frames import write_wav
from bargein.tts.synth import synthesize_all
from bargein.tts.voice import Voice, load_voice

NODE = "living_room"
TOKEN = "house-demo-token"
TURN_TIMEOUT_S = 60.0
"""Longest wait for one step's state (recognition, Home Assistant and synthesis)."""
USER_LEVEL_DB = -24.0
TALKED_ON = ("ignored", "continued")
"""An interruption record's ``handling`` when the voice went on (noise, a backchannel)."""
WAKE = "Alexa."
PAUSE_S = 0.4
"""After the wake word, as people pause for the appliance to listen."""
LINES = {
    "light": (WAKE, "Could you turn off the kitchen lights?"),
    "report": (WAKE, "What's happening at home?"),
    "yeah": (None, "yeah"),
    "stop": (None, "stop"),
    "ask": (WAKE, "Are the kitchen lights on?"),
}
"""What the person says (Piper's voice): the wake word, if any, and the words. Worded as
pocketsphinx, the recognizer here, hears the Piper voice right: "turn off the kitchen
light" comes out as "i'm off the kitchen like", and "uh huh" as "huh", which is a
clarification ("huh?"), and cuts. The benchmark's scenarios measure those; this shows
the house."""


@dataclass
class HouseRun:
    """What happened: the messages, records, requests and where the files are."""

    out: Path
    started_s: float
    messages: list[Message] = field(default_factory=list)
    requests: list[HaRequest] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    kitchen_light_on: bool = True
    exit_code: int = 0

    def on(self, topic: str) -> list[Message]:
        return [m for m in self.messages if m.topic == topic]


def _write_clip(voice: Voice, path: Path, wake: str | None, text: str) -> Path:
    parts = [synthesize_all(voice, text)]
    if wake is not None:
        parts[:0] = [synthesize_all(voice, wake),
                     np.zeros(round(PAUSE_S * voice.rate_hz), parts[0].dtype)]
    write_wav(path, np.concatenate(parts), voice.rate_hz)
    return path


def run_house(out: Path) -> HouseRun:
    """The conversation above; raises RuntimeError (with the daemon's log) if a step's
    state never comes."""
    out.mkdir(parents=True, exist_ok=True)
    voice = load_voice(None)
    clips = {name: _write_clip(voice, out / f"user-{name}.wav", wake, text)
             for name, (wake, text) in LINES.items()}
    run = HouseRun(out, time.monotonic())
    with contextlib.ExitStack() as stack:
        ha = HaTestServer(TOKEN).start()
        stack.callback(ha.stop)
        broker = Mosquitto(out, free_port())
        stack.callback(broker.stop)
        watcher = MqttWatcher(broker.port)
        stack.callback(watcher.close)
        config = (f'[listen]\nmode = "wake_word"\n'
                  f'[agent]\nkind = "homeassistant"\nha_url = "{ha.url}"\n'
                  f'[mqtt]\nenabled = true\nurl = "{broker.url}"\nnode_id = "{NODE}"\n')
        daemon = VirtualDaemon(out, config, env={**os.environ, "BARGEIN_HA_TOKEN": TOKEN},
                               record=True, log_transcripts=True)  # a demo: shows what it heard
        try:
            _converse(daemon, watcher, clips, run)
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}; the daemon's log ends:\n{daemon.log_tail()}") from exc
        finally:
            run.exit_code = daemon.stop()
            run.messages = list(watcher.messages)
            run.requests = [r for r in ha.requests if r.method == "POST"]
            run.kitchen_light_on = ha.light_on("kitchen")
            _save(run, daemon)
    return run


def _converse(daemon: VirtualDaemon, watcher: MqttWatcher, clips: dict[str, Path],
              run: HouseRun) -> None:
    base = f"bargein/{NODE}"

    def state(predicate: Callable[[str], bool], after_s: float) -> float:
        if not daemon.alive():
            raise RuntimeError("bargein run stopped during the conversation")
        return watcher.wait(f"{base}/state", predicate, after_s, TURN_TIMEOUT_S)

    def turn(name: str) -> float:
        """Say a request; when the answer started playing."""
        said_s = time.monotonic()
        daemon.say(clips[name], USER_LEVEL_DB)
        return state(lambda p: p == "speaking", said_s)

    def back_to_idle(after_s: float) -> None:
        state(lambda p: p == "idle", after_s)

    def cut_record(after_s: float) -> None:
        watcher.wait(f"{base}/interruption",
                     lambda p: json.loads(p)["handling"] not in TALKED_ON, after_s,
                     TURN_TIMEOUT_S)

    daemon.start()
    run.started_s = time.monotonic()
    watcher.wait(f"{base}/state", lambda p: p == "idle", 0.0, TURN_TIMEOUT_S)
    back_to_idle(turn("light"))

    speaking_s = turn("report")
    time.sleep(3.0)
    daemon.say(clips["yeah"], USER_LEVEL_DB)
    time.sleep(3.0)
    stop_s = time.monotonic()
    daemon.say(clips["stop"], USER_LEVEL_DB)
    cut_record(stop_s)
    back_to_idle(speaking_s)

    turn("report")
    time.sleep(4.0)
    sent_s = watcher.publish(f"{base}/stop", "PRESS")  # Home Assistant's stop button
    cut_record(sent_s)
    back_to_idle(sent_s)

    back_to_idle(turn("ask"))
    time.sleep(0.5)  # the last state and rate messages arrive


def _save(run: HouseRun, daemon: VirtualDaemon) -> None:
    with (run.out / "mqtt.jsonl").open("w") as fh:
        for m in run.messages:
            fh.write(json.dumps({"t_s": round(m.t_s - run.started_s, 3), "topic": m.topic,
                                 "payload": m.payload, "retain": m.retain}) + "\n")
    events = daemon.state_dir / "events.jsonl"
    if events.exists():
        shutil.copy(events, run.out / "events.jsonl")
        run.records = [json.loads(line) for line in events.read_text().splitlines() if line]


def speaker_levels(speaker: np.ndarray, rate_hz: int, gap_s: float = 0.6,
                   floor_db: float = -50.0) -> list[tuple[float, float, float]]:
    """(start s, end s, RMS dBFS) of each stretch the speaker played, split at silences
    of ``gap_s``: how loud each answer really was."""
    hop = rate_hz // 100
    frames = speaker[: len(speaker) // hop * hop].astype(np.float64).reshape(-1, hop) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = rms > 10.0 ** (floor_db / 20.0)
    stretches: list[tuple[float, float, float]] = []
    start, quiet = None, 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            start, quiet = (i if start is None else start), 0
        elif start is not None:
            quiet += 1
            if quiet * 0.01 >= gap_s:
                stretches.append(_stretch(frames, start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        stretches.append(_stretch(frames, start, len(loud) - quiet))
    return stretches


def _stretch(frames: np.ndarray, start: int, stop: int) -> tuple[float, float, float]:
    energy = float(np.mean(frames[start:stop] ** 2))
    return start * 0.01, stop * 0.01, 10.0 * np.log10(max(energy, 1e-12))
