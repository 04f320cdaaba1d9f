"""Errors raised by speech synthesis (members of the appliance's one family)."""

from __future__ import annotations

from bargein.core.errors import BargeinError


class TextError(BargeinError, ValueError):
    """The text given to synthesis cannot be spoken (empty, or only symbols)."""


class SynthStopTimeout(BargeinError, TimeoutError):
    """The synthesis worker did not finish within the time allowed to stop it."""
