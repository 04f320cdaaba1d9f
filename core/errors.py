"""One exception family for the appliance.

Every member also inherits the builtin it resembles, so callers that only know
Python's own exceptions still catch them. Messages name the fix, in one line.
"""

from __future__ import annotations


class BargeinError(Exception):
    """Base of every error raised on purpose by bargein."""


class ConfigError(BargeinError, ValueError):
    """A config file has an unknown key, a wrong type or an out-of-range value."""


class ModelMissingError(BargeinError, FileNotFoundError):
    """A speech model (Vosk or Piper) is missing, incomplete or corrupt."""


class AudioDeviceError(BargeinError, OSError):
    """A sound device is missing, busy, unplugged or cannot do the asked format."""


class AgentError(BargeinError, ConnectionError):
    """An agent could not produce a reply (unreachable, refused, timed out, malformed)."""


class OutputError(BargeinError, OSError):
    """A file or directory the user asked a command to write cannot be written there."""
