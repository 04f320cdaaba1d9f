"""``bargein doctor``: is this machine ready to run the appliance, and if not, what to do.

Each check gives ok, WARN (runs, but something is off) or FAIL (``bargein run`` would
not start, or could not do its job), with the fix. The exit status is 1 when any
check fails. Checks: config, microphone and speaker (opened for real: rate and
channels), the recognizer's model (Vosk or pocketsphinx, loaded for real), the Piper
voice, the wake word model (loaded and run on a second of silence), GPIO, the
event-log directory, the agent (a one-token probe when an LLM is configured; Home
Assistant's ``GET /api/`` with the token when it is) and the systemd service.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bargein.core.errors import BargeinError
from bargein.device.config import Config, load_config

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "WARN", "FAIL"
SERVICE = "bargein"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def _what_and_fix(message: str, fallback_fix: str) -> tuple[str, str]:
    """Split the project's one-line errors, ``"what went wrong; how to fix it"``."""
    what, sep, fix = message.rpartition("; ")
    return (what, fix) if sep else (message, fallback_fix)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check devices, models, GPIO, config, agent and service")
    p.add_argument("--config", help="config file (default /etc/bargein/config.toml if present)")
    p.set_defaults(func=run)


# -- the checks -----------------------------------------------------------------------


def check_config(path: str | None) -> tuple[Check, Config]:
    try:
        config = load_config(path)
    except BargeinError as exc:
        return Check("config", FAIL, str(exc), "fix the key named; `bargein config --example` "
                     "shows every key"), Config()
    where = path or os.environ.get("BARGEIN_CONFIG") or "/etc/bargein/config.toml or defaults"
    return Check("config", OK, f"{where} is valid"), config


def check_service() -> Check:
    if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
        return Check("service", OK, "no systemd on this machine (run `bargein run` yourself)")
    result = subprocess.run(["systemctl", "is-active", SERVICE], capture_output=True, text=True,
                            timeout=10)
    state = result.stdout.strip() or result.stderr.strip()
    if state == "active":
        return Check("service", OK, f"{SERVICE}.service is active")
    if state in ("inactive", "unknown") and not _unit_installed():
        return Check("service", WARN, f"{SERVICE}.service is not installed",
                     "sudo scripts/install.sh")
    return Check("service", WARN, f"{SERVICE}.service is {state}",
                 f"sudo systemctl restart {SERVICE}; see: journalctl -u {SERVICE} -e")


def _unit_installed() -> bool:
    result = subprocess.run(["systemctl", "cat", f"{SERVICE}.service"], capture_output=True,
                            timeout=10)
    return result.returncode == 0


def check_sound(config: Config, service_active: bool) -> list[Check]:
    if config.audio.backend == "virtual":
        return [Check("sound", OK, "virtual room (no sound card used)")]
    from bargein.audio.alsa_quiet import open_pyaudio, portaudio_lock

    checks = []
    pa = open_pyaudio()
    try:
        for kind, probe in (("input", _probe_input), ("output", _probe_output)):
            name = "microphone" if kind == "input" else "speaker"
            try:
                with portaudio_lock:
                    detail = probe(pa, config)
                checks.append(Check(name, OK, detail))
            except (OSError, ValueError) as exc:
                what, fix = _what_and_fix(str(exc), "plug it in, or set [audio] "
                                          f"{kind}_device to a name or index from `bargein devices`")
                if service_active:
                    checks.append(Check(name, WARN, f"{what} (the running service may hold it)",
                                        f"sudo systemctl stop {SERVICE} to test it alone"))
                else:
                    checks.append(Check(name, FAIL, what, fix))
    finally:
        with portaudio_lock:
            pa.terminate()
    return checks


def _probe_input(pa, config: Config) -> str:  # noqa: ANN001 - pyaudio.PyAudio
    import pyaudio

    from bargein.audio.capture import _channels_to_open, _pick_rate
    from bargein.audio.devices import find_device, open_error

    device = find_device(config.audio.input_device, "input", pa)
    channels = _channels_to_open(device, config.audio)
    rate_hz = _pick_rate(pa, device, channels)
    block = rate_hz * config.audio.frame_ms // 1000
    try:
        stream = pa.open(format=pyaudio.paInt16, channels=channels, rate=rate_hz, input=True,
                         input_device_index=device.index, frames_per_buffer=block)
        try:
            stream.read(block, exception_on_overflow=False)
        finally:
            stream.close()
    except OSError as exc:
        raise open_error(device, "input", exc) from exc
    resample = "" if rate_hz == 16000 else " (resampled to 16000 Hz)"
    return f"{device.describe()}: opened {channels} ch at {rate_hz} Hz{resample}"


def _probe_output(pa, config: Config) -> str:  # noqa: ANN001 - pyaudio.PyAudio
    import pyaudio

    from bargein.audio.devices import find_device, open_error
    from bargein.audio.speaker import _channels_to_open

    device = find_device(config.audio.output_device, "output", pa)
    rate_hz = config.audio.output_rate_hz or device.default_rate_hz
    channels = _channels_to_open(pa, device, rate_hz)
    period = max(1, rate_hz * config.audio.period_ms // 1000)
    try:
        stream = pa.open(format=pyaudio.paInt16, channels=channels, rate=rate_hz, output=True,
                         output_device_index=device.index, frames_per_buffer=period)
        try:
            stream.write(b"\0\0" * channels * period)
        finally:
            stream.close()
    except OSError as exc:
        raise open_error(device, "output", exc) from exc
    return f"{device.describe()}: opened {channels} ch at {rate_hz} Hz, period {period} frames"


def check_asr_model(config: Config) -> Check:
    """The configured engine's model is there and loads (a real load, as the daemon does)."""
    if config.asr.engine == "pocketsphinx":
        return _check_pocketsphinx(config)
    from bargein.asr.model import check_model_dir, load_model, model_dir_from

    model_dir = model_dir_from(config.asr, config.events.state_dir)
    try:
        check_model_dir(model_dir)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "scripts/fetch-models")
        if config.audio.backend == "virtual" and not config.asr.model:
            return Check("vosk model", WARN, f"no model at {model_dir}; the virtual room runs "
                         "with pocketsphinx and its bundled en-us model instead", fix)
        return Check("vosk model", FAIL, what, fix)
    started_s = time.monotonic()
    try:
        load_model(model_dir)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "scripts/fetch-models")
        return Check("vosk model", FAIL, what, fix)
    return Check("vosk model", OK, f"{model_dir} loads in {time.monotonic() - started_s:.1f} s")


def _check_pocketsphinx(config: Config) -> Check:
    from bargein.asr.pocketsphinx_model import check_loads, model_from

    try:
        model = model_from(config.asr.model)
        load_s = check_loads(model)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "leave [asr] model empty for the bundled en-us model")
        return Check("pocketsphinx model", FAIL, what, fix)
    return Check("pocketsphinx model", OK, f"{model.name} ({model.acoustic_dir.parent}) loads "
                 f"in {load_s:.1f} s")


def check_voice(config: Config) -> Check:
    from bargein.tts.voice import load_voice

    started_s = time.monotonic()
    try:
        voice = load_voice(config.tts.voice or None)
    except BargeinError as exc:
        what, _, fix = str(exc).partition(": set [tts]")
        return Check("piper voice", FAIL, what, f"set [tts]{fix}" if fix else
                     "set [tts] voice to a Piper .onnx file with its .onnx.json beside it")
    return Check("piper voice", OK, f"{config.tts.voice or 'en_US-joe-medium'}: "
                 f"{voice.rate_hz} Hz, loads in {time.monotonic() - started_s:.1f} s")


def check_wake_model(config: Config) -> Check:
    """The ``[wake]`` model loads in pymicro-wakeword's interpreter and runs."""
    started_s = time.monotonic()
    try:
        import numpy as np

        from bargein.audio.wake_word import WakeWordDetector
        from bargein.core.frames import AudioFrame
    except ImportError as exc:
        return Check("wake word", FAIL, f"pymicro-wakeword is not installed ({exc})",
                     "pip install 'pymicro-wakeword>=2.5,<2.6'")
    try:
        detector = WakeWordDetector(config.wake)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "set [wake] model to alexa, hey_jarvis, "
                                  "hey_mycroft or okay_nabu")
        return Check("wake word", FAIL, what, fix)
    try:
        load_s = time.monotonic() - started_s
        silence = np.zeros(480, dtype=np.int16)
        started_s = time.perf_counter()
        fired = sum(detector.process(AudioFrame(silence, i * 0.03)) is not None
                    for i in range(34))
        us_per_block = (time.perf_counter() - started_s) / (34 * 3) * 1e6
        detail = detector.describe()
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "use a bundled model in [wake] model")
        return Check("wake word", FAIL, what, fix)
    finally:
        detector.close()
    if fired:
        return Check("wake word", WARN, f"{detail}: fired on silence",
                     "raise [wake] probability_cutoff, or retrain the model")
    return Check("wake word", OK, f"{detail}; loads in {load_s:.2f} s, "
                 f"{us_per_block:.0f} us per 10 ms")


def check_gpio(config: Config) -> Check:
    button = config.button
    if not button.enabled and button.led_pin < 0:
        return Check("gpio", OK, "button and LED disabled in [button]")
    from gpiozero import Button, Device
    from gpiozero.exc import BadPinFactory, GPIOZeroError, PinFactoryFallback

    fix = "on a Pi: sudo apt install python3-lgpio, and the user in group gpio"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            probe = Button(button.pin, pull_up=True)
        factory = type(Device.pin_factory).__name__
        probe.close()
    except BadPinFactory as exc:
        return Check("gpio", WARN, f"no GPIO on this machine ({exc}); the daemon runs without "
                     "the button", fix)
    except (GPIOZeroError, OSError) as exc:
        return Check("gpio", WARN, f"GPIO{button.pin} unusable: {exc}",
                     "pick a free pin in [button] pin, or stop what holds it")
    return Check("gpio", OK, f"button pin GPIO{button.pin} usable ({factory})")


def check_state_dir(config: Config) -> Check:
    state = Path(config.events.state_dir)
    probe = state if state.exists() else next((p for p in state.parents if p.exists()), Path("/"))
    if not os.access(probe, os.W_OK):
        return Check("event log", FAIL, f"{probe} is not writable by this user",
                     "run as the service user, or set [events] state_dir to a writable directory")
    return Check("event log", OK, f"{state / 'events.jsonl'} writable")


def check_agent(config: Config) -> Check:
    if config.agent.kind == "local":
        return Check("agent", OK, "local rules agent (offline)")
    if config.agent.kind == "homeassistant":
        return check_home_assistant(config)
    from bargein.agent.conversation import Conversation
    from bargein.agent.credentials import load_api_key
    from bargein.agent.llm import LlmAgent

    key = load_api_key(config.agent)
    settings = dataclasses.replace(config.agent, max_tokens=1)
    agent = LlmAgent(settings, key)
    conversation = Conversation()
    conversation.add_user("Say OK.")
    started_s = time.monotonic()
    try:
        stream = agent.reply(conversation)
        try:
            next(iter(stream), "")
        finally:
            stream.cancel()
    except BargeinError as exc:
        return Check("agent", WARN, f"{config.agent.llm_url} unreachable: {exc}; the local agent "
                     "answers instead",
                     "check [agent] llm_url and model; the key goes in /etc/bargein/agent-api-key"
                     f" or ${config.agent.api_key_env}")
    finally:
        agent.close()
    return Check("agent", OK, f"{config.agent.llm_url} model {config.agent.model} answered in "
                 f"{(time.monotonic() - started_s) * 1000:.0f} ms (key: "
                 f"{key.source if key else 'none'})")


def check_home_assistant(config: Config) -> Check:
    """``GET <ha_url>/api/`` with the token: Home Assistant answers "API running."

    A refused token is FAIL (nothing in the house can be controlled until it is
    fixed); an unreachable Home Assistant is WARN (the local agent answers meanwhile).
    """
    from bargein.agent.credentials import HA_CREDENTIAL_NAME, load_ha_token
    from bargein.agent.homeassistant import HomeAssistantAgent

    settings = config.agent
    try:
        token = load_ha_token(settings)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "rewrite the token")
        return Check("agent", FAIL, what, fix)
    where = f"Home Assistant at {settings.ha_url}"
    token_fix = (f"create a long-lived access token in Home Assistant (your profile, "
                 f"Security) and put it in /etc/bargein/{HA_CREDENTIAL_NAME} or "
                 f"${settings.ha_token_env}")
    if token is None:
        return Check("agent", FAIL, f"no token for {where}", token_fix)
    agent = HomeAssistantAgent(settings, token)
    started_s = time.monotonic()
    try:
        message = agent.check()
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), token_fix)
        if "refused the token" in what:
            return Check("agent", FAIL, what, token_fix)
        return Check("agent", WARN, f"{what}; the local agent answers instead", fix)
    finally:
        agent.close()
    return Check("agent", OK, f"{where}: {message!r} in "
                 f"{(time.monotonic() - started_s) * 1000:.0f} ms (token: {token.source})")


MQTT_TIMEOUT_S = 5.0


def check_mqtt(config: Config) -> list[Check]:
    """With ``[mqtt] enabled``: connect to the broker once within a timeout."""
    from bargein.device.mqtt_link import (
        PASSWORD_CREDENTIAL,
        check_broker,
        load_password,
    )

    settings = config.mqtt
    if not settings.enabled:
        return []
    try:
        password = load_password(settings)
    except BargeinError as exc:
        what, fix = _what_and_fix(str(exc), "rewrite the password")
        return [Check("mqtt", FAIL, what, fix)]
    started_s = time.monotonic()
    try:
        problem = check_broker(settings, password, MQTT_TIMEOUT_S)
    except BargeinError as exc:  # a CA file that is no certificate
        what, fix = _what_and_fix(str(exc), "correct [mqtt] ca_file")
        return [Check("mqtt", FAIL, what, fix)]
    where = f"MQTT broker at {settings.url}"
    if problem is None:
        return [Check("mqtt", OK, f"{where} accepted us in "
                      f"{(time.monotonic() - started_s) * 1000:.0f} ms")]
    if "CERTIFICATE_VERIFY_FAILED" in problem:
        fix = ("set [mqtt] ca_file to the CA certificate (PEM) that signed the broker's "
               "certificate, or check the host name in [mqtt] url matches the certificate")
    elif problem.startswith("the broker refused us"):
        fix = (f"check [mqtt] username and the password (/etc/bargein/{PASSWORD_CREDENTIAL} "
               f"or ${settings.password_env}) against the broker's users")
    else:
        fix = ("start the broker (sudo systemctl start mosquitto) or correct [mqtt] url; "
               "the appliance runs without it and keeps reconnecting")
    return [Check("mqtt", FAIL, f"{where}: {problem}", fix)]


# -- the command ----------------------------------------------------------------------


def run_checks(config_path: str | None) -> list[Check]:
    config_check, config = check_config(config_path)
    checks = [config_check]
    service = check_service()
    service_active = service.status == OK and service.detail.endswith("is active")
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: check_sound(config, service_active),
        lambda: check_asr_model(config),
        lambda: check_voice(config),
        lambda: check_wake_model(config),
        lambda: check_gpio(config),
        lambda: check_state_dir(config),
        lambda: check_agent(config),
        lambda: check_mqtt(config),
    ]
    for step in steps:
        result = step()
        checks.extend(result if isinstance(result, list) else [result])
    checks.append(service)
    return checks


def render(checks: list[Check]) -> str:
    """The table: one check a line, its fix on the next line when there is one."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.name.ljust(width)}  {c.status.ljust(4)}  {c.detail}")
        if c.fix and c.status != OK:
            lines.append(f"{'':{width}}  {'':4}  fix: {c.fix}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.ERROR)  # the table is the output
    checks = run_checks(args.config)
    print(render(checks))
    failed = [c.name for c in checks if c.status == FAIL]
    if failed:
        print(f"\n{len(failed)} problem(s) block running: {', '.join(failed)}")
        return 1
    warned = sum(c.status == WARN for c in checks)
    print("\nready to run" + (f" ({warned} warning(s))" if warned else ""))
    return 0
