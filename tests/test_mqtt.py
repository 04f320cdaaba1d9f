"""The MQTT link against a real Mosquitto (Debian's package) on a loopback port, with a
real paho client watching: Home Assistant discovery, state during a conversation in the
virtual-room daemon, the stop button cutting the voice, mute and volume from the broker,
and the broker going away without disturbing the loop."""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_daemon import START_TIMEOUT_S, NotifySocket

from bargein.agent.conversation import Conversation
from bargein.agent.interruption import InterruptionType
from bargein.bench.mosquitto import Mosquitto, MqttWatcher, free_port, make_test_ca
from bargein.bench.probes.mqtt_stop import percentile, stop_over_mqtt
from bargein.bench.virtual_daemon import run_with_script
from bargein.core.errors import ConfigError
from bargein.device.appliance_settings import MqttSettings
from bargein.device.commands.doctor import FAIL, OK, check_mqtt
from bargein.device.config import config_from_dict
from bargein.device.mqtt_link import MqttLink, public_state

WAIT_S = 10.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, free_port())
    yield server
    server.stop()


class Watcher(MqttWatcher):
    """The bench's watcher, failing the test (with what it saw) instead of timing out."""

    def wait(self, topic: str, predicate: Callable[[str], bool], after_s: float = 0.0,
             timeout_s: float = WAIT_S) -> float:
        try:
            return super().wait(topic, predicate, after_s, timeout_s)
        except TimeoutError as exc:
            pytest.fail(str(exc))


def test_discovery_configs_are_retained_with_their_topics(
        broker: Mosquitto, caplog: pytest.LogCaptureFixture) -> None:
    settings = MqttSettings(enabled=True, url=f"mqtt://127.0.0.1:{broker.port}",
                            node_id="kitchen")
    presses: list[float] = []
    link = MqttLink(settings, on_stop=lambda: presses.append(time.monotonic()),
                    version="1.2.3")
    link.publish_state("speaking_ducked", False)
    link.start()
    try:
        assert link.connected.wait(WAIT_S)
        time.sleep(0.2)  # the retained messages reach the broker
        watcher = Watcher(broker.port)  # subscribes afterwards: sees only what is retained
        try:
            watcher.wait("bargein/kitchen/state", lambda p: p == "speaking")
            configs = {}
            for topic in link.discovery():
                configs[topic] = json.loads(watcher.seen(topic)[0] if watcher.seen(topic) else
                                            _wait_payload(watcher, topic))
            availability = watcher.seen("bargein/kitchen/availability")
            # a stop published now is a press, retained or not (subscribers get it live);
            # left retained on the broker, it is not a press again at the next subscribe
            watcher.client.publish("bargein/kitchen/stop", "PRESS", retain=True).wait_for_publish(
                WAIT_S)
            watcher.publish("bargein/kitchen/stop", "PRESS")
            deadline = time.monotonic() + WAIT_S
            while len(presses) < 2:
                assert time.monotonic() < deadline, "the stop command did not arrive"
                time.sleep(0.01)
            link.client.unsubscribe("bargein/kitchen/stop")
            link.client.subscribe("bargein/kitchen/stop")  # now the retained one arrives
            time.sleep(0.3)
        finally:
            watcher.close()
    finally:
        link.close()
    by_kind = {tuple(t.split("/")[1:4:2]): c for t, c in configs.items()}
    assert sorted(by_kind) == [
        ("binary_sensor", "interruption_alert"), ("button", "stop"), ("number", "volume"),
        ("sensor", "interruption_rate"), ("sensor", "last_interruption"), ("sensor", "state"),
        ("switch", "mute")]
    assert all(t.startswith("homeassistant/") and t.endswith("/kitchen/" + t.split("/")[3]
                                                              + "/config") for t in configs)
    assert by_kind[("button", "stop")]["command_topic"] == "bargein/kitchen/stop"
    assert by_kind[("switch", "mute")]["command_topic"] == "bargein/kitchen/mute/set"
    assert by_kind[("switch", "mute")]["state_topic"] == "bargein/kitchen/mute"
    assert by_kind[("number", "volume")]["command_topic"] == "bargein/kitchen/volume/set"
    assert (by_kind[("number", "volume")]["min"], by_kind[("number", "volume")]["max"]) == (0, 2)
    assert by_kind[("sensor", "state")]["state_topic"] == "bargein/kitchen/state"
    assert by_kind[("sensor", "last_interruption")]["value_template"] == "{{ value_json.type }}"
    assert {c["availability_topic"] for c in configs.values()} == {"bargein/kitchen/availability"}
    assert {c["device"]["sw_version"] for c in configs.values()} == {"1.2.3"}
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)
    assert all("object_id" not in c for c in configs.values())  # gone since HA 2026.4
    assert by_kind[("switch", "mute")]["default_entity_id"] == "switch.bargein_kitchen_mute"
    assert {c["default_entity_id"].split(".")[0] for c in configs.values()} == {
        component for component, _ in by_kind}
    assert availability == ["online"]
    assert len(presses) == 2  # the two live ones; the retained one replayed is ignored
    assert "ignoring a retained stop command" in caplog.text


def _wait_payload(watcher: Watcher, topic: str) -> str:
    watcher.wait(topic, lambda p: True)
    return watcher.seen(topic)[0]


def test_public_state_names_what_home_assistant_shows() -> None:
    assert [public_state(s, False) for s in ("idle", "listening", "interrupted", "thinking",
                                             "speaking", "speaking_ducked", "paused")] == [
        "idle", "listening", "listening", "thinking", "speaking", "speaking", "speaking"]
    assert public_state("speaking", True) == "muted"
    assert public_state("idle", False, follow_up=True) == "listening"  # no wake word needed
    assert public_state("idle", True, follow_up=True) == "muted"


def test_doctor_connects_to_the_broker_and_names_the_fix_when_it_is_gone(
        broker: Mosquitto) -> None:
    config = config_from_dict({"mqtt": {"enabled": True,
                                        "url": f"mqtt://127.0.0.1:{broker.port}"}})
    [check] = check_mqtt(config)
    assert check.status == OK and "accepted us" in check.detail
    broker.stop()
    [check] = check_mqtt(config)
    assert check.status == FAIL and "ConnectionRefusedError" in check.detail
    assert "systemctl start mosquitto" in check.fix
    assert check_mqtt(config_from_dict({})) == []


def test_mqtts_with_the_brokers_own_ca_carries_state_and_stop(tmp_path: Path) -> None:
    """A broker whose certificate a home CA signed: trusted through [mqtt] ca_file."""
    tls = make_test_ca(tmp_path / "tls")
    server = Mosquitto(tmp_path, free_port(), tls=tls)
    presses: list[float] = []
    try:
        settings = MqttSettings(enabled=True, url=server.url, ca_file=str(tls.ca),
                                node_id="hall")
        assert server.url.startswith("mqtts://")
        link = MqttLink(settings, on_stop=lambda: presses.append(time.monotonic()))
        link.start()
        try:
            assert link.connected.wait(WAIT_S), "no TLS connection with the CA file"
            link.publish_state("listening", False)
            watcher = Watcher(server.port, ca=tls.ca)
            try:
                watcher.wait("bargein/hall/state", lambda p: p == "listening")
                watcher.publish("bargein/hall/stop", "PRESS")
                deadline = time.monotonic() + WAIT_S
                while not presses:
                    assert time.monotonic() < deadline, "the stop did not arrive over TLS"
                    time.sleep(0.01)
            finally:
                watcher.close()
        finally:
            link.close()
        # the plain port refuses a plain client: nothing talks to this broker unencrypted
        with pytest.raises(Exception):  # noqa: B017,PT011 - paho raises what the socket does
            Watcher(server.port, timeout_s=2.0)
    finally:
        server.stop()
    assert len(presses) == 1


def test_doctor_names_ca_file_when_the_brokers_certificate_is_not_trusted(
        tmp_path: Path) -> None:
    tls = make_test_ca(tmp_path / "tls")
    server = Mosquitto(tmp_path, free_port(), tls=tls)
    try:
        untrusted = config_from_dict({"mqtt": {"enabled": True, "url": server.url}})
        [check] = check_mqtt(untrusted)
        assert check.status == FAIL and "CERTIFICATE_VERIFY_FAILED" in check.detail
        assert "[mqtt] ca_file" in check.fix
        trusted = config_from_dict({"mqtt": {"enabled": True, "url": server.url,
                                             "ca_file": str(tls.ca)}})
        [check] = check_mqtt(trusted)
        assert check.status == OK, check
    finally:
        server.stop()


def test_a_ca_file_that_is_missing_or_no_certificate_is_named_with_its_fix(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[mqtt\] ca_file: .* is not an existing file"):
        config_from_dict({"mqtt": {"url": "mqtts://127.0.0.1", "ca_file": "/nonexistent.pem"}})
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    settings = MqttSettings(enabled=True, url="mqtts://127.0.0.1:8883", ca_file=str(junk))
    with pytest.raises(ConfigError, match=r"\[mqtt\] ca_file: .* is not a PEM CA certificate"):
        MqttLink(settings, on_stop=lambda: None)
    [check] = check_mqtt(config_from_dict({"mqtt": {"enabled": True, "url":
                                                     "mqtts://127.0.0.1:8883",
                                                     "ca_file": str(junk)}}))
    assert check.status == FAIL and "not a PEM CA certificate" in check.detail


def test_the_daemon_on_the_broker_states_records_stop_mute_volume_and_rides_out_its_loss(
    broker: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The virtual-room daemon in this process with [mqtt] on: a timer's ring is a
    conversation turn (state speaking, then listening after the stop button cuts it, a
    button record); stop cuts the voice (message to silence measured, printed, not
    asserted); mute and volume act; then the broker dies and the loop goes on."""
    from bargein.device.daemon import Daemon

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    monkeypatch.delenv("BARGEIN_VOSK_MODEL", raising=False)
    for name in ("INVOCATION_ID", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    sock_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    notify = NotifySocket(sock_dir / f"bargein-mqtt-{os.getpid()}.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    config = config_from_dict({
        "audio": {"backend": "virtual"}, "listen": {"mode": "open"},
        "asr": {"warm_up": False}, "events": {"state_dir": str(tmp_path / "state")},
        "bargein": {"listen_timeout_s": 1.0},  # the turn the stop press opens closes soon
        "mqtt": {"enabled": True, "url": f"mqtt://127.0.0.1:{broker.port}",
                 "node_id": "room"},
    })
    daemon = Daemon(config, environ=dict(os.environ))
    returned: list[Mosquitto] = []
    stop_to_silence_ms: list[float] = []
    seen: dict[str, list[str]] = {}
    base = "bargein/room"

    def script() -> None:
        watcher = None
        try:
            notify.wait_for("READY=1", START_TIMEOUT_S)
            watcher = Watcher(broker.port)
            watcher.wait(f"{base}/availability", lambda p: p == "online")
            watcher.wait(f"{base}/state", lambda p: p == "idle")
            stop_to_silence_ms.extend(stop_over_mqtt(daemon, watcher, base, runs=5).to_silence_ms)
            assert len(daemon.pipeline.interruptions) == 5
            # mute and volume from the broker
            sent_s = watcher.publish(f"{base}/mute/set", "ON")
            watcher.wait(f"{base}/state", lambda p: p == "muted", sent_s)
            watcher.wait(f"{base}/mute", lambda p: p == "ON", sent_s)
            assert daemon.pipeline.muted
            sent_s = watcher.publish(f"{base}/mute/set", "OFF")
            watcher.wait(f"{base}/mute", lambda p: p == "OFF", sent_s)
            sent_s = watcher.publish(f"{base}/volume/set", "0.5")
            watcher.wait(f"{base}/volume", lambda p: p == "0.5", sent_s)
            assert daemon.speech.synth.volume == 0.5
            watcher.publish(f"{base}/volume/set", "loud")  # refused with a warning
            for topic in ("state", "interruption", "rate", "rate_alert", "mute", "volume"):
                seen[topic] = watcher.seen(f"{base}/{topic}")
            watcher.close()
            watcher = None
            # the broker goes away: the loop runs on, a timer still rings, logged once
            broker.stop()
            deadline = time.monotonic() + 30.0
            while daemon.mqtt.connected.is_set():
                assert time.monotonic() < deadline, "the link did not notice the broker go"
                time.sleep(0.05)
            lost_s = time.monotonic()
            conversation = Conversation()
            conversation.add_user("set a timer for one second")
            "".join(daemon.agent.reply(conversation))
            notify.wait_for("STATUS=speaking", 30.0, after_s=lost_s)
            time.sleep(4.0)  # several reconnect attempts (1 s, 2 s, ...)
            # the broker is back (empty: no persistence): the link reconnects and
            # publishes everything retained again
            back_dir = tmp_path / "back"
            back_dir.mkdir()
            returned.append(Mosquitto(back_dir, broker.port))
            assert daemon.mqtt.connected.wait(30.0), "the link did not reconnect"
            watcher = Watcher(broker.port)
            watcher.wait(f"{base}/availability", lambda p: p == "online")
            watcher.wait(f"{base}/state", lambda p: p in ("speaking", "listening", "idle"))
            watcher.wait("homeassistant/button/room/stop/config", lambda p: True)
        finally:
            if watcher is not None:
                watcher.close()

    try:
        with caplog.at_level(logging.INFO):
            code = run_with_script(daemon, script)
    finally:
        notify.close()
        for server in returned:
            server.stop()
    assert code == 0
    print(f"\nMQTT stop -> silence over {len(stop_to_silence_ms)} runs: p50 "
          f"{statistics.median(stop_to_silence_ms):.1f} ms, p95 "
          f"{percentile(stop_to_silence_ms, 0.95):.1f} ms (bargein perf --only mqtt_stop)")
    for topic, payloads in seen.items():
        print(f"{base}/{topic}: {payloads[:8]}")
    states = seen["state"]
    assert states[0] == "idle" and "speaking" in states and "muted" in states
    record = json.loads(seen["interruption"][-1])
    assert record["type"] == InterruptionType.BUTTON.value and record["handling"] == "button"
    assert record["agent_text"] == "Your one second timer is done."
    assert seen["volume"][-1] == "0.5"
    assert float(seen["rate"][-1]) > 0
    link_log = [r for r in caplog.records if r.name == "bargein.device.mqtt_link"]
    lost = [r.getMessage() for r in link_log if "lost" in r.getMessage()]
    assert len(lost) == 1, lost
    connected = [r for r in link_log if r.getMessage().startswith("MQTT: connected")]
    assert len(connected) == 2  # at start and once back
    assert any("volume/set takes a number" in r.getMessage() for r in link_log)
