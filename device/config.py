"""The appliance's config: one TOML file read once into frozen dataclasses.

Every problem stops start-up with one line naming the file, the key and what is
allowed. The example config (``systemd/config.example.toml``) is rendered from the
same declarations, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import typing
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bargein.agent.classifier import PhraseBook
from bargein.agent.settings import AgentSettings
from bargein.asr.settings import AsrSettings
from bargein.audio.settings import (
    AudioSettings,
    EchoSettings,
    VadSettings,
    WakeSettings,
)
from bargein.core.errors import ConfigError
from bargein.device.appliance_settings import (
    BargeinSettings,
    ButtonSettings,
    EventsSettings,
    ListenSettings,
    MqttSettings,
)
from bargein.tts.settings import TtsSettings

DEFAULT_CONFIG_PATH = Path("/etc/bargein/config.toml")
CONFIG_ENV = "BARGEIN_CONFIG"
MAX_CONFIG_BYTES = 1_000_000


@dataclass(frozen=True)
class Config:
    """The whole config: one attribute per TOML table."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    echo: EchoSettings = field(default_factory=EchoSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    bargein: BargeinSettings = field(default_factory=BargeinSettings)
    button: ButtonSettings = field(default_factory=ButtonSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    events: EventsSettings = field(default_factory=EventsSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _check_value(where: str, value: Any, fld: dataclasses.Field, kind: type) -> Any:
    meta = fld.metadata
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is bool:
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok:
        raise ConfigError(
            f"{where}: expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r}"
        )
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}: {value!r} is not a finite number; give a number")
    if kind is str and "\0" in value:
        raise ConfigError(f"{where}: contains a NUL character; remove it")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{where}: {value!r} is not allowed; use one of {allowed}")
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        raise ConfigError(f"{where}: {value!r} is out of range; allowed {lo} to {hi}{unit}")
    return value


def _build_section(source: str, name: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in table.items():
        where = f"{source}: [{name}] {key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{where}: unknown key; keys of [{name}] are {known}")
        values[key] = _check_value(where, value, fields[key], hints[key])
        check = _WHAT_IT_IS.get(f"{name}.{key}")
        if check is not None:
            check(where, values[key])
    return cls(**values)


def _url(where: str, value: str, example: str = "http://127.0.0.1:11434/v1",
         schemes: tuple[str, ...] = ("http", "https")) -> None:
    """A URL of one of ``schemes`` with a host (and a valid port, if it names one)."""
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a URL ({exc}); write it like "
                          f"{example}") from exc
    if parts.scheme not in schemes or not parts.hostname or re.search(r"\s", value):
        kinds = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(f"{where}: {value!r} is not an {kinds} URL with a host; "
                          f"write it like {example}")


def _existing_dir(where: str, value: str) -> None:
    """Empty (the default applies), or a directory that exists."""
    if value and not Path(value).expanduser().is_dir():
        raise ConfigError(f"{where}: {value!r} is not an existing directory; give the model "
                          "directory's path or leave it empty for the default")


def _existing_file(where: str, value: str) -> None:
    """Empty (the default applies), or a file that exists."""
    if value and not Path(value).expanduser().is_file():
        raise ConfigError(f"{where}: {value!r} is not an existing file; give the file's path "
                          "or leave it empty for the default")


def _state_dir(where: str, value: str) -> None:
    """An absolute path; if something is there already, it is a directory."""
    path = Path(value)
    if not path.is_absolute():
        raise ConfigError(f"{where}: {value!r} is not an absolute path; write it like "
                          "/var/lib/bargein")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{where}: {value!r} exists and is not a directory; pick a directory")


def _env_name(where: str, value: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ConfigError(f"{where}: {value!r} is not an environment variable name; use "
                          "letters, digits and _ (like BARGEIN_API_KEY)")


def _language(where: str, value: str) -> None:
    """A language whose phrase pack ships, and checks."""
    try:
        PhraseBook.load(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _ha_language(where: str, value: str) -> None:
    """Empty (Home Assistant's own language) or a language tag like en, en-GB, ko."""
    if value and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ConfigError(f"{where}: {value!r} is not a language tag; write it like en, "
                          "en-GB or ko, or leave it empty for Home Assistant's own language")


def _ha_agent_id(where: str, value: str) -> None:
    """Empty (Home Assistant's default agent) or an agent id: an entity id such as
    conversation.openai_conversation, or a config entry's id (letters and digits)."""
    if value and not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)?", value):
        raise ConfigError(f"{where}: {value!r} is not a Home Assistant agent id; write it like "
                          "conversation.openai_conversation (Settings > Voice assistants shows "
                          "it), or leave it empty for Home Assistant's default agent")


def _mqtt_url(where: str, value: str) -> None:
    """mqtt:// or mqtts:// with a host (and a valid port, if it names one)."""
    _url(where, value, "mqtt://127.0.0.1:1883 (mqtts:// for TLS)", ("mqtt", "mqtts"))


def _topic_word(where: str, value: str) -> None:
    """A single MQTT topic level Home Assistant accepts: letters, digits, _ and -."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ConfigError(f"{where}: {value!r} must be letters, digits, _ and - only "
                          "(it is one MQTT topic level); e.g. \"kitchen_bargein\"")


_WHAT_IT_IS: dict[str, Callable[[str, Any], None]] = {
    "bargein.language": _language,
    "agent.llm_url": _url,
    "agent.api_key_env": _env_name,
    "agent.ha_url": lambda where, value: _url(where, value, "http://homeassistant.local:8123"),
    "agent.ha_token_env": _env_name,
    "agent.ha_language": _ha_language,
    "agent.ha_agent_id": _ha_agent_id,
    "asr.model": _existing_dir,
    "tts.voice": _existing_file,
    "events.state_dir": _state_dir,
    "mqtt.url": _mqtt_url,
    "mqtt.ca_file": _existing_file,
    "mqtt.node_id": _topic_word,
    "mqtt.password_env": _env_name,
    "mqtt.discovery_prefix": _topic_word,
}
"""Checks beyond type and range, by ``table.key``: what the value must be to work."""


def config_from_dict(data: dict[str, Any], source: str = "<config>") -> Config:
    """Build a checked :class:`Config` from parsed TOML."""
    sections = {f.name: f for f in dataclasses.fields(Config)}
    hints = typing.get_type_hints(Config)
    built = {}
    for name, table in data.items():
        if name == "appliance":
            raise ConfigError(f"{source}: [appliance]: unknown table; the language is "
                              "[bargein] language (e.g. language = \"ko\")")
        if name not in sections:
            known = ", ".join(f"[{s}]" for s in sections)
            raise ConfigError(f"{source}: [{name}]: unknown table; tables are {known}")
        built[name] = _build_section(source, name, hints[name], table)
    return Config(**built)


def load_config(path: Path | str | None = None) -> Config:
    """Read the config file, or the defaults when no file is given and none exists.

    ``path`` wins; then ``$BARGEIN_CONFIG``; then ``/etc/bargein/config.toml`` if
    present. A path named explicitly must exist.
    """
    explicit = path is not None or CONFIG_ENV in os.environ
    chosen = Path(path) if path is not None else Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_PATH))
    if not chosen.exists():
        if explicit:
            raise ConfigError(
                f"{chosen}: config file not found; create it from systemd/config.example.toml "
                "or leave --config out to use the defaults"
            )
        return Config()
    if not chosen.is_file():
        raise ConfigError(f"{chosen}: not a regular file; point --config at the TOML file")
    try:
        with chosen.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"{chosen}: cannot read the config ({exc.strerror}); make it readable by the "
            "service user"
        ) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{chosen}: larger than {MAX_CONFIG_BYTES} bytes; not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{chosen}: not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML ({exc}); fix the syntax at that line") from exc
    return config_from_dict(data, str(chosen))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def render_example() -> str:
    """The example config: every key at its default, with its meaning, unit and range."""
    lines = [
        "# bargein config: /etc/bargein/config.toml",
        "# Every key is optional; the value shown is the built-in default.",
        "# Generated by `bargein config --example`; a test keeps it in sync.",
    ]
    defaults = Config()
    for section in dataclasses.fields(Config):
        lines += ["", f"[{section.name}]"]
        cls = type(getattr(defaults, section.name))
        if cls.__doc__:
            lines.append(f"# {cls.__doc__.strip().splitlines()[0]}")
        for fld in dataclasses.fields(cls):
            meta = fld.metadata
            notes = []
            if meta.get("unit"):
                notes.append(f"unit: {meta['unit']}")
            if meta.get("choices") is not None:
                notes.append("one of: " + ", ".join(_toml_value(c) for c in meta["choices"]))
            elif meta.get("min") is not None or meta.get("max") is not None:
                notes.append(f"range: {meta.get('min')} to {meta.get('max')}")
            doc = meta.get("doc", "")
            lines.append(f"# {doc}" + (f" ({'; '.join(notes)})" if notes else ""))
            lines.append(f"{fld.name} = {_toml_value(getattr(getattr(defaults, section.name), fld.name))}")
    return "\n".join(lines) + "\n"
