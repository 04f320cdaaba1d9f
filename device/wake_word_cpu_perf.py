"""``bargein perf`` figures: the daemon's CPU with the wake word on and off (issue 14).

The soak (:mod:`bargein.device.soak`) runs ``bargein run`` on the virtual room twice
with the same conversation, once with ``[listen] mode = "wake_word"`` (the wake word
detector runs on every capture frame) and once with ``mode = "open"`` (no detector).
The person's question begins with the wake word ("Alexa, what can you do for me
today?", the default model's phrase in the Piper voice, which that model hears), so
both runs answer the same turns; the backchannel, "stop" and "continue" that follow
fall inside the answer or its follow-up window, which need no wake word.

- ``daemon_cpu_pct_wake_on`` / ``daemon_cpu_pct_wake_off``: CPU time per second of
  conversation, percent of one core, as ``daemon_cpu_pct`` of the soak;
- ``daemon_cpu_pct_wake_cost``: on minus off (noisy on a shared machine: the two runs
  differ by more than the detector costs; ``wake_us_per_frame`` from
  :mod:`bargein.audio.wake_word_perf` is the detector's own cost);
- ``daemon_replies_wake_on`` / ``_off``: replies each run asked its agent for, to check
  that both had the same conversation.

``quick``: 20 s of conversation each in real time; full: 4 minutes each at 2x.
"""

from __future__ import annotations

import logging

from bargein.device.soak import CYCLE, QUICK_S, QUICK_SPEED, soak

log = logging.getLogger(__name__)

FULL_S, FULL_SPEED = 240.0, 2.0
WAKE_SCRIPT: tuple[tuple[float, str, str], ...] = (
    (CYCLE[0][0], "question", "Alexa, what can you do for me today?"), *CYCLE[1:])
"""The soak's conversation with the wake word before the question."""
MODES = {"on": '[listen]\nmode = "wake_word"\n', "off": '[listen]\nmode = "open"\n'}


def figures(quick: bool) -> dict[str, float]:
    conversation_s, speed = (QUICK_S, QUICK_SPEED) if quick else (FULL_S, FULL_SPEED)
    out: dict[str, float] = {}
    for name, config in MODES.items():
        run = soak(conversation_s, speed, extra_config=config, script=WAKE_SCRIPT)
        out[f"daemon_cpu_pct_wake_{name}"] = run["daemon_cpu_pct"]
        out[f"daemon_replies_wake_{name}"] = run["daemon_replies"]
        log.info("wake word %s: daemon CPU %.1f %% of a core, %d replies in %.0f s of "
                 "conversation", name, run["daemon_cpu_pct"], run["daemon_replies"],
                 conversation_s)
    out["daemon_cpu_pct_wake_cost"] = round(
        out["daemon_cpu_pct_wake_on"] - out["daemon_cpu_pct_wake_off"], 1)
    return out
