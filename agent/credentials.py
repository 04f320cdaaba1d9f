"""Secrets for the online agents: from a systemd credential, else an environment variable.

The LLM's API key is credential ``agent-api-key`` (else ``[agent] api_key_env``);
Home Assistant's long-lived access token is credential ``ha-token`` (else
``[agent] ha_token_env``).

The key is a secret: it is never logged, never put in an error message and never
shown by ``repr``. :class:`ApiKey` wraps it so an accidental ``%r`` or f-string
prints a placeholder; only :meth:`ApiKey.reveal` gives the value (for the header).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bargein.agent.settings import AgentSettings
from bargein.core.errors import ConfigError

CREDENTIAL_NAME = "agent-api-key"
HA_CREDENTIAL_NAME = "ha-token"


class ApiKey:
    """A secret string that does not print itself."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # where it came from, safe to log ("credential", "$VAR")

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced by ``***``."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return f"ApiKey(<hidden>, source={self.source!r})"

    __str__ = __repr__


def load_api_key(
    settings: AgentSettings, environ: Mapping[str, str] | None = None
) -> ApiKey | None:
    """The key from ``$CREDENTIALS_DIRECTORY/agent-api-key``, else ``$<api_key_env>``.

    systemd's ``LoadCredential=agent-api-key:/etc/bargein/agent-api-key`` puts the
    file there, readable only by the service. Returns None when neither is set (many
    local servers, such as Ollama, need no key).
    """
    return load_secret(CREDENTIAL_NAME, settings.api_key_env, environ)


def load_ha_token(
    settings: AgentSettings, environ: Mapping[str, str] | None = None
) -> ApiKey | None:
    """Home Assistant's token from ``$CREDENTIALS_DIRECTORY/ha-token``, else ``$<ha_token_env>``.

    ``LoadCredential=ha-token:/etc/bargein/ha-token``. None when neither is set (Home
    Assistant will then refuse every request, which the agent reports).
    """
    return load_secret(HA_CREDENTIAL_NAME, settings.ha_token_env, environ)


def load_secret(
    credential: str, env_name: str, environ: Mapping[str, str] | None = None
) -> ApiKey | None:
    """The secret from ``$CREDENTIALS_DIRECTORY/<credential>``, else ``$<env_name>``."""
    env = os.environ if environ is None else environ
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / credential
        if path.is_file():
            try:
                value = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise ConfigError(
                    f"credential {credential}: cannot read it ({reason}); write the key "
                    "as one line of plain text"
                ) from None
            if value:
                return ApiKey(_checked(value, f"credential {credential}"), "credential")
    value = env.get(env_name, "").strip()
    if value:
        return ApiKey(_checked(value, f"${env_name}"), f"${env_name}")
    return None


def _checked(value: str, where: str) -> str:
    """The key if an HTTP header can carry it (printable ASCII); never shown in the error."""
    if not (value.isascii() and value.isprintable()):
        raise ConfigError(
            f"{where}: the API key holds characters other than printable ASCII (a pasted "
            "space, newline or typographic quote?); write the key exactly"
        )
    return value
