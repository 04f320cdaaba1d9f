"""The link to an MQTT broker: Home Assistant discovery, state out, commands in.

One job: keep a connection to the broker (``[mqtt] url``) and carry messages across it.
paho-mqtt runs the connection on its own network thread (``loop_start``): connecting,
reconnecting with back-off (1 s doubling to 60 s) and reading commands all happen there,
so the audio loop never waits on the network. :meth:`MqttLink.publish_state` and the
other publishers only queue a message in paho's buffer and return; while the broker is
away they are dropped, and everything retained is published again on reconnect. A lost
broker is logged once per outage (and once when it is back), never per retry.

Topics (``<node>`` is ``[mqtt] node_id``)::

    bargein/<node>/availability      online / offline (the last will), retained
    bargein/<node>/state             idle, listening, thinking, speaking or muted, retained
    bargein/<node>/interruption      the last interruption record as JSON, retained
    bargein/<node>/rate              interruptions per minute over the window, retained
    bargein/<node>/rate_alert        ON / OFF: the rate is above [events] rate_warn_per_min
    bargein/<node>/mute              ON / OFF, retained; commands on .../mute/set
    bargein/<node>/volume            the [tts] volume factor, retained; commands on .../volume/set
    bargein/<node>/stop              the stop button: any message acts like a button press

and one retained discovery config per entity under
``<discovery_prefix>/<component>/<node>/<object>/config``.

Commands arrive on paho's thread. The stop button calls ``on_stop`` there at once (as
the hardware button's callback does: the ring's cut takes a lock for microseconds and
the machine hears of it through its own queue); mute and volume go into
:attr:`MqttLink.commands`, which the daemon's loop drains.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bargein.agent.credentials import ApiKey, load_secret
from bargein.core.errors import ConfigError
from bargein.device.appliance_settings import MqttSettings
from bargein.device.events import public_state

log = logging.getLogger(__name__)

PASSWORD_CREDENTIAL = "mqtt-password"
KEEPALIVE_S = 30
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60
VOLUME_MIN, VOLUME_MAX, VOLUME_STEP = 0.0, 2.0, 0.05
STOP_JOIN_S = 3.0


@dataclass(frozen=True)
class Command:
    """A command from the broker for the daemon's loop: ``mute`` (value 1.0 = on) or
    ``volume`` (the new [tts] volume factor)."""

    name: str
    value: float


@dataclass(frozen=True)
class Broker:
    """Where the broker is, from ``[mqtt] url``."""

    host: str
    port: int
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> Broker:
        parts = urllib.parse.urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


def load_password(settings: MqttSettings, environ: Any = None) -> ApiKey | None:
    """The broker password: systemd credential ``mqtt-password``, else ``$<password_env>``."""
    return load_secret(PASSWORD_CREDENTIAL, settings.password_env, environ)


def new_client(settings: MqttSettings, password: ApiKey | None, client_id: str) -> mqtt.Client:
    """A paho client set up for ``settings`` (credentials, TLS), not yet connected."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if settings.username:
        client.username_pw_set(settings.username, password.reveal() if password else None)
    if Broker.from_url(settings.url).tls:
        try:
            context = ssl.create_default_context(cafile=settings.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"[mqtt] ca_file: {settings.ca_file!r} is not a PEM CA "
                              f"certificate ({exc}); give the broker's CA certificate or "
                              "leave it empty for the system's") from exc
        client.tls_set_context(context)
    return client


class MqttLink:
    """The appliance on the broker. :meth:`start` returns at once; paho connects."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        on_stop: Callable[[], None],
        password: ApiKey | None = None,
        version: str = "",
    ) -> None:
        self.settings = settings
        self.broker = Broker.from_url(settings.url)
        node = settings.node_id
        self.base = f"bargein/{node}"
        self.availability_topic = f"{self.base}/availability"
        self.on_stop = on_stop
        self.version = version
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._retained: dict[str, str] = {}  # topic -> payload, published again on reconnect
        self._outage_logged = False
        self._ever_connected = False
        self._closing = False
        self.client = new_client(settings, password, client_id=f"bargein-{node}")
        self.client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- topics and discovery ------------------------------------------------------------

    def topic(self, name: str) -> str:
        return f"{self.base}/{name}"

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Each retained discovery config, by its topic.

        The entity id is asked for with ``default_entity_id`` (``<component>.<id>``):
        Home Assistant 2025.10 deprecated ``object_id`` for it and 2026.4 stopped
        reading ``object_id``.
        """
        node, prefix = self.settings.node_id, self.settings.discovery_prefix
        device = {"identifiers": [f"bargein_{node}"], "name": f"bargein {node}",
                  "manufacturer": "bargein", "model": "voice appliance",
                  "sw_version": self.version}
        common = {"availability_topic": self.availability_topic, "device": device}
        entities: list[tuple[str, str, dict[str, Any]]] = [
            ("sensor", "state", {"name": "State", "state_topic": self.topic("state"),
                                 "icon": "mdi:account-voice"}),
            ("sensor", "last_interruption", {
                "name": "Last interruption", "state_topic": self.topic("interruption"),
                "value_template": "{{ value_json.type }}",
                "json_attributes_topic": self.topic("interruption"),
                "icon": "mdi:hand-back-left"}),
            ("sensor", "interruption_rate", {
                "name": "Interruption rate", "state_topic": self.topic("rate"),
                "unit_of_measurement": "1/min", "state_class": "measurement"}),
            ("binary_sensor", "interruption_alert", {
                "name": "Interruption rate alert", "state_topic": self.topic("rate_alert"),
                "device_class": "problem"}),
            ("switch", "mute", {"name": "Mute", "state_topic": self.topic("mute"),
                                "command_topic": self.topic("mute/set"),
                                "icon": "mdi:microphone-off"}),
            ("number", "volume", {"name": "Volume", "state_topic": self.topic("volume"),
                                  "command_topic": self.topic("volume/set"),
                                  "min": VOLUME_MIN, "max": VOLUME_MAX, "step": VOLUME_STEP,
                                  "mode": "slider"}),
            ("button", "stop", {"name": "Stop", "command_topic": self.topic("stop"),
                                "icon": "mdi:stop"}),
        ]
        return {
            f"{prefix}/{component}/{node}/{obj}/config":
                {**config, **common, "unique_id": f"bargein_{node}_{obj}",
                 "default_entity_id": f"{component}.bargein_{node}_{obj}"}
            for component, obj, config in entities
        }

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting on paho's thread; never waits for the broker."""
        for topic, config in self.discovery().items():
            self._retain(topic, json.dumps(config, sort_keys=True))
        self._retain(self.availability_topic, "online")
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        log.info("MQTT: connecting to %s:%d%s as node %s", self.broker.host, self.broker.port,
                 " (TLS)" if self.broker.tls else "", self.settings.node_id)

    def close(self) -> None:
        """Say offline (if connected), disconnect, stop paho's thread."""
        self._closing = True
        if self.connected.is_set():
            info = self.client.publish(self.availability_topic, "offline", qos=1, retain=True)
            info.wait_for_publish(1.0)
        self.client.disconnect()
        thread = self.client._thread  # paho's loop_stop joins without a timeout
        self.client.loop_stop()
        if thread is not None and thread.is_alive():
            raise RuntimeError("MQTT network thread did not stop")

    # -- publishing (any thread; never blocks on the network) -----------------------------

    def publish_state(self, state: str, muted: bool, follow_up: bool = False) -> None:
        self._retain(self.topic("state"), public_state(state, muted, follow_up))
        self._retain(self.topic("mute"), "ON" if muted else "OFF")

    def publish_volume(self, volume: float) -> None:
        self._retain(self.topic("volume"), f"{volume:g}")

    def publish_rate(self, per_minute: float, alert: bool) -> None:
        self._retain(self.topic("rate"), f"{per_minute:.2f}")
        self._retain(self.topic("rate_alert"), "ON" if alert else "OFF")

    def publish_interruption(self, record: dict[str, Any]) -> None:
        self._retain(self.topic("interruption"), json.dumps(record, sort_keys=True))

    def _retain(self, topic: str, payload: str) -> None:
        with self._lock:  # held over the publish: a reconnect's replay cannot overtake it
            if self._retained.get(topic) == payload:
                return
            self._retained[topic] = payload
            if self.connected.is_set():
                self.client.publish(topic, payload, qos=0, retain=True)

    # -- paho's thread -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._say_lost(f"refused: {reason}")
            return
        client.subscribe([(self.topic("stop"), 0), (self.topic("mute/set"), 0),
                          (self.topic("volume/set"), 0)])
        with self._lock:
            self.connected.set()
            for topic, payload in self._retained.items():
                client.publish(topic, payload, qos=0, retain=True)
        if self._outage_logged or not self._ever_connected:
            log.info("MQTT: connected to %s:%d", self.broker.host, self.broker.port)
        self._ever_connected = True
        self._outage_logged = False

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._say_lost("cannot connect")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.connected.clear()
        if not self._closing and getattr(reason, "is_failure", True):
            self._say_lost(str(reason))

    def _say_lost(self, reason: str) -> None:
        self.connected.clear()
        if not self._outage_logged:
            self._outage_logged = True
            log.warning("MQTT: broker %s:%d lost (%s); the appliance runs on and reconnects "
                        "with back-off up to %d s", self.broker.host, self.broker.port,
                        reason, RECONNECT_MAX_S)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        payload = message.payload.decode("utf-8", errors="replace").strip()
        if topic == self.topic("stop"):
            if message.retain:  # left on the broker earlier: not a press happening now
                log.warning("MQTT: ignoring a retained stop command; publish it unretained")
            else:
                self.on_stop()
        elif topic == self.topic("mute/set"):
            if payload.upper() in ("ON", "OFF"):
                self.commands.put(Command("mute", 1.0 if payload.upper() == "ON" else 0.0))
            else:
                log.warning("MQTT: mute/set takes ON or OFF, not %r", payload[:40])
        elif topic == self.topic("volume/set"):
            try:
                volume = float(payload)
            except ValueError:
                volume = math.nan
            if VOLUME_MIN <= volume <= VOLUME_MAX:
                self.commands.put(Command("volume", volume))
            else:
                log.warning("MQTT: volume/set takes a number from %g to %g, not %r",
                            VOLUME_MIN, VOLUME_MAX, payload[:40])


def check_broker(settings: MqttSettings, password: ApiKey | None, timeout_s: float) -> str | None:
    """Connect once within ``timeout_s``: None when the broker accepts us, else why not."""
    client = new_client(settings, password, client_id=f"bargein-{settings.node_id}-doctor")
    broker = Broker.from_url(settings.url)
    result: list[str | None] = []
    done = threading.Event()

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: Any, p: Any) -> None:
        result.append(f"the broker refused us: {reason}" if reason.is_failure else None)
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(broker.host, broker.port, keepalive=KEEPALIVE_S)
    except (OSError, ssl.SSLError) as exc:
        return f"{type(exc).__name__}: {exc}"
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            return f"no answer within {timeout_s:.0f} s"
        return result[0]
    finally:
        client.disconnect()
        client.loop_stop()
