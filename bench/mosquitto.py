"""A real MQTT broker for tests, demos and probes: Debian's Mosquitto on a loopback port,
and a client that watches everything on it.

:class:`Mosquitto` runs ``mosquitto -c <conf>`` listening on 127.0.0.1 only, anonymous,
without persistence, optionally over TLS with a throw-away CA made by ``openssl``
(:func:`make_test_ca`), exactly as a home broker with its own CA is set up.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0
INSTALL_HINT = "install Debian's mosquitto (sudo apt-get install mosquitto; scripts/setup does)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class TlsFiles:
    """A CA certificate and a server certificate and key it signed (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_test_ca(workdir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throw-away CA and a certificate for ``host`` (an IP address) signed by it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed: sudo apt-get install openssl")
    workdir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(workdir / "ca.pem", workdir / "server.pem", workdir / "server.key")
    ca_key, csr, ext = workdir / "ca.key", workdir / "server.csr", workdir / "server.ext"
    ext.write_text(f"subjectAltName=IP:{host}\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for args in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", files.ca, "-days", "2",
         "-subj", "/CN=bargein test CA"],
        ["req", *ec, "-keyout", files.key, "-out", csr, "-subj", f"/CN={host}"],
        ["x509", "-req", "-in", csr, "-CA", files.ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", files.cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True)
    return files


class Mosquitto:
    """``mosquitto -c <conf>`` on 127.0.0.1:``port``; :meth:`stop` ends it."""

    def __init__(self, workdir: Path, port: int, tls: TlsFiles | None = None) -> None:
        if not MOSQUITTO.exists():
            raise RuntimeError(f"{MOSQUITTO} is missing: {INSTALL_HINT}")
        self.port = port
        self.tls = tls
        self.conf = workdir / "mosquitto.conf"
        lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false"]
        if tls is not None:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        if os.geteuid() == 0:
            # Started as root (CI), mosquitto drops to user "mosquitto" before it reads
            # the certificates, which live in the caller's private temporary directory.
            lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n")
        self.log_path = workdir / "mosquitto.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.conf)], stdout=self._log,
                                     stderr=self._log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                self._log.close()
                raise RuntimeError(f"mosquitto exited at start: "
                                   f"{self.log_path.read_text(errors='replace')[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not listen on {port} within "
                                       f"{START_TIMEOUT_S:.0f} s") from None
                time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(START_TIMEOUT_S)
        self._log.close()


@dataclass(frozen=True)
class Message:
    """One message as the watcher got it: arrival (``time.monotonic()``), topic, payload."""

    t_s: float
    topic: str
    payload: str
    retain: bool


class MqttWatcher:
    """A paho client subscribed to ``#``, keeping every message with its arrival time."""

    def __init__(self, port: int, timeout_s: float = START_TIMEOUT_S,
                 ca: Path | None = None) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bargein-watcher")
        if ca is not None:  # TLS, trusting this CA
            self.client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([("#", 0)])
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(timeout_s):
            self.close()
            raise RuntimeError(f"could not subscribe at 127.0.0.1:{port}")

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Message(time.monotonic(), message.topic,
                                         message.payload.decode(errors="replace"),
                                         bool(message.retain)))

    def seen(self, topic: str, after_s: float = 0.0) -> list[str]:
        """The payloads on ``topic`` that arrived after ``after_s``, in order."""
        with self._lock:
            return [m.payload for m in self.messages if m.topic == topic and m.t_s >= after_s]

    def wait(self, topic: str, predicate: Callable[[str], bool], after_s: float = 0.0,
             timeout_s: float = START_TIMEOUT_S) -> float:
        """When a message on ``topic`` matching ``predicate`` arrived (after ``after_s``);
        TimeoutError, naming what did arrive, when none does within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for m in self.messages:
                    if m.topic == topic and m.t_s >= after_s and predicate(m.payload):
                        return m.t_s
            time.sleep(0.005)
        raise TimeoutError(f"no matching message on {topic} within {timeout_s} s; "
                           f"saw {self.seen(topic)[-10:]}")

    def publish(self, topic: str, payload: str, retain: bool = False) -> float:
        """Publish and wait until it left; when it was handed to paho."""
        sent_s = time.monotonic()
        self.client.publish(topic, payload, qos=0, retain=retain).wait_for_publish(
            START_TIMEOUT_S)
        return sent_s

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
