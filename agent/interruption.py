"""The kinds of interruption the appliance tells apart."""

from __future__ import annotations

from enum import Enum


class InterruptionType(str, Enum):
    """What a person meant by talking over the appliance (or pressing its button)."""

    BACKCHANNEL = "backchannel"      # "uh-huh", "yeah": keep talking
    CANCELLATION = "cancellation"    # "stop", "never mind": cut, acknowledge briefly
    CORRECTION = "correction"        # "no, I said Tuesday": cut, take it in
    REDIRECT = "redirect"            # "what about ...": cut, answer the new request
    CLARIFICATION = "clarification"  # "wait, what?": cut, repeat more slowly
    NOISE = "noise"                  # cough, clap, door: keep talking
    BUTTON = "button"                # the hardware button: cut at once
    WAKE_WORD = "wake_word"          # the wake word over the answer: cut at once, new turn


CUT_TYPES = frozenset(
    {
        InterruptionType.CANCELLATION,
        InterruptionType.CORRECTION,
        InterruptionType.REDIRECT,
        InterruptionType.CLARIFICATION,
        InterruptionType.BUTTON,
        InterruptionType.WAKE_WORD,
    }
)
"""Types that stop the voice; the others (backchannel, noise) let it keep talking."""
