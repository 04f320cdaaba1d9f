"""``bargein perf`` figures: Home Assistant's stop button over MQTT, from the message to silence.

The daemon runs in this process on the virtual room with ``[mqtt]`` on, against a real
Mosquitto (:mod:`bargein.bench.mosquitto`). A timer set through the local agent rings
(a spoken utterance like any answer); 0.2 s into the ring a client publishes on
``bargein/<node>/stop``, as Home Assistant's stop button does. A watch between the
playback ring and its echo-reference tap notes when each speaker period is played and
whether it is silent:

- ``mqtt_stop_to_silence_ms_p50`` / ``_p95``: from the publish to the first silent
  period the speaker played (the broker, paho's network thread, the ring's cut and the
  fade, all in). The virtual room plays its speaker periods once per capture frame
  (30 ms), so this includes a wait of up to one room step that a sound card's 10 ms
  periods do not have;
- ``mqtt_stop_to_cut_ms_p50`` / ``_p95``: from the publish to the ring's cut done (the
  broker and paho's thread; the cut takes the ring's lock for microseconds), the part
  that is the same on a device;
- ``mqtt_stops``: how many were measured (each also checked to be recorded as a
  button interruption and to bring the appliance back to idle).

``quick``: 5 stops; full: 30.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bargein.agent.conversation import Conversation
from bargein.bench.mosquitto import Mosquitto, MqttWatcher, free_port
from bargein.bench.virtual_daemon import run_with_script
from bargein.device.config import config_from_dict

log = logging.getLogger(__name__)

QUICK_STOPS, FULL_STOPS = 5, 30
NODE = "probe"
STEP_TIMEOUT_S = 30.0
INTO_THE_RING_S = 0.2


class SpeakerWatch:
    """Stands between the ring and its echo-reference tap (passing every period on) and
    notes when each period reached the speaker and whether it was silent."""

    def __init__(self, ring: Any) -> None:
        self.inner = ring.reference_tap  # the echo reference, passed on
        self.periods: list[tuple[float, bool]] = []
        self._lock = threading.Lock()
        ring.set_reference_tap(self)

    def write(self, period: np.ndarray, dac_time_s: float) -> None:
        silent = not np.any(period)
        with self._lock:
            self.periods.append((time.monotonic(), silent))
            if len(self.periods) > 10_000:  # keep the last minute or so
                del self.periods[:5_000]
        if self.inner is not None:
            self.inner.write(period, dac_time_s)

    def silent_since(self, after_s: float) -> float | None:
        """When the first silent period after ``after_s`` was played, or None yet."""
        with self._lock:
            return next((t for t, silent in self.periods if t >= after_s and silent), None)


def ring_a_timer(daemon: Any, watcher: MqttWatcher, base: str) -> None:
    """Set a one-second timer through the daemon's local agent; return once the ring
    is heard from the speaker (its words playing)."""
    after_s = time.monotonic()
    conversation = Conversation()
    conversation.add_user("set a timer for one second")
    answer = "".join(daemon.agent.reply(conversation))
    if answer != "Timer set for one second.":
        raise RuntimeError(f"the local agent did not set the timer: {answer!r}")
    watcher.wait(f"{base}/state", lambda p: p == "speaking", after_s, STEP_TIMEOUT_S)
    ring = daemon.audio.ring
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not ring.position().playing:  # synthesis has started the ring's words
        if time.monotonic() > deadline:
            raise RuntimeError("the ring never reached the speaker")
        time.sleep(0.005)


@dataclass
class StopTimes:
    """Each stop's time from the publish, in ms: to the ring's cut (the broker, paho's
    network thread and the cut itself) and to the first silent speaker period."""

    to_cut_ms: list[float] = field(default_factory=list)
    to_silence_ms: list[float] = field(default_factory=list)


def stop_over_mqtt(daemon: Any, watcher: MqttWatcher, base: str, runs: int) -> StopTimes:
    """``runs`` times: a ring, then the stop message 0.2 s into it, timed (:class:`StopTimes`).
    Each must cut the voice, be recorded as a button interruption and bring the
    appliance back to idle."""
    speaker: SpeakerWatch | None = None
    times = StopTimes()
    cut_at_s: list[float] = []
    press = daemon.mqtt.on_stop

    def timed_press() -> None:  # on paho's thread, as the link calls it
        press()
        cut_at_s.append(time.monotonic())

    daemon.mqtt.on_stop = timed_press
    for _ in range(runs):
        ring_a_timer(daemon, watcher, base)
        time.sleep(INTO_THE_RING_S)  # well into the spoken ring
        speaker = speaker or SpeakerWatch(daemon.audio.ring)
        sent_s = watcher.publish(f"{base}/stop", "PRESS")
        deadline = sent_s + STEP_TIMEOUT_S
        while (silent_s := speaker.silent_since(sent_s)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the stop command did not cut the voice")
            time.sleep(0.001)
        if daemon.audio.ring.position().playing:
            raise RuntimeError("the voice went on after the stop command")
        times.to_silence_ms.append((silent_s - sent_s) * 1000.0)
        times.to_cut_ms.append((cut_at_s[-1] - sent_s) * 1000.0)
        watcher.wait(f"{base}/interruption", lambda p: json.loads(p)["type"] == "button",
                     sent_s, STEP_TIMEOUT_S)
        watcher.wait(f"{base}/state", lambda p: p == "idle", sent_s, STEP_TIMEOUT_S)
    daemon.mqtt.on_stop = press
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(quick: bool) -> dict[str, float]:
    from bargein.device.daemon import Daemon  # the appliance itself, in this process

    runs = QUICK_STOPS if quick else FULL_STOPS
    with tempfile.TemporaryDirectory(prefix="bargein-mqtt-stop-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work, free_port())
        try:
            config = config_from_dict({
                "audio": {"backend": "virtual"}, "listen": {"mode": "open"},
                "asr": {"warm_up": False}, "events": {"state_dir": str(work / "state")},
                "bargein": {"listen_timeout_s": 1.0},  # the turn a stop opens closes soon
                "mqtt": {"enabled": True, "url": broker.url, "node_id": NODE},
            })
            environ = {k: v for k, v in os.environ.items() if k not in (
                "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID")}
            environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
            daemon = Daemon(config, environ=environ)
            measured = StopTimes()

            def script() -> None:
                watcher = MqttWatcher(broker.port)
                try:
                    base = f"bargein/{NODE}"
                    watcher.wait(f"{base}/state", lambda p: p == "idle", 0.0, 180.0)
                    times = stop_over_mqtt(daemon, watcher, base, runs)
                    measured.to_cut_ms.extend(times.to_cut_ms)
                    measured.to_silence_ms.extend(times.to_silence_ms)
                finally:
                    watcher.close()

            code = run_with_script(daemon, script)
        finally:
            broker.stop()
    if code != 0:
        raise RuntimeError(f"the daemon exited with {code}")
    silence, cut = measured.to_silence_ms, measured.to_cut_ms
    log.info("MQTT stop -> silence over %d stops: %s ms", len(silence),
             ", ".join(f"{ms:.1f}" for ms in silence))
    log.info("MQTT stop -> the ring's cut: %s ms", ", ".join(f"{ms:.1f}" for ms in cut))
    return {
        "mqtt_stop_to_cut_ms_p50": round(statistics.median(cut), 1),
        "mqtt_stop_to_cut_ms_p95": round(percentile(cut, 0.95), 1),
        "mqtt_stop_to_silence_ms_p50": round(statistics.median(silence), 1),
        "mqtt_stop_to_silence_ms_p95": round(percentile(silence, 0.95), 1),
        "mqtt_stops": float(len(silence)),
    }
