"""``bargein perf`` figures: the daemon's CPU with the wake word on and off (issue 14).

The soak (:mod:`bargein.bench.probes.soak`) runs ``bargein run`` on the virtual room with the
same conversation in ``[listen] mode = "wake_word"`` (the wake word detector runs on
every capture frame) and in ``mode = "open"`` (no detector), alternating, ``FULL_ROUNDS``
times each. Every 14 s the person asks "Alexa, what can you do for me today?" (the
default model's phrase in the Piper voice, which that model hears), says "uh huh"
during the answer and "stop" a little later, so the appliance is idle again when the
next question comes and both modes answer every question; ``daemon_replies_wake_*``
checks it. (The soak's own cycle goes on with "continue", which resumes the answer
over the next question; an answer playing meets "Alexa" as an interruption in one
mode and as words in the other, so the two modes would not hold the same talk.)

- ``daemon_cpu_pct_wake_on`` / ``daemon_cpu_pct_wake_off``: CPU time per second of
  conversation, percent of one core, as ``daemon_cpu_pct`` of the soak (the mean of
  the rounds);
- ``daemon_cpu_pct_wake_cost``: on minus off; ``daemon_cpu_pct_wake_spread``: the
  largest difference between two rounds of one mode, the noise that difference
  stands in (``wake_us_per_frame`` of :mod:`bargein.bench.probes.wake_word` is the
  detector's own cost, measured directly);
- ``daemon_replies_wake_on`` / ``_off``: replies asked of the agent, summed over rounds.

``quick``: 20 s of conversation once per mode in real time; full: 3 minutes at 2x,
twice per mode.
"""

from __future__ import annotations

import logging

from bargein.bench.probes.soak import CYCLE, QUICK_S, QUICK_SPEED, soak

log = logging.getLogger(__name__)

FULL_S, FULL_SPEED, FULL_ROUNDS = 180.0, 2.0, 2
WAKE_SCRIPT: tuple[tuple[float, str, str], ...] = tuple(
    line for line in CYCLE if line[1] in ("question", "backchannel", "stop"))
"""The soak's conversation (the wake word opens its question) without the "continue"."""
MODES = {"on": '[listen]\nmode = "wake_word"\n', "off": '[listen]\nmode = "open"\n'}


def figures(quick: bool) -> dict[str, float]:
    conversation_s, speed, rounds = ((QUICK_S, QUICK_SPEED, 1) if quick
                                     else (FULL_S, FULL_SPEED, FULL_ROUNDS))
    cpu: dict[str, list[float]] = {name: [] for name in MODES}
    replies = dict.fromkeys(MODES, 0.0)
    for round_no in range(rounds):
        for name, config in MODES.items():
            run = soak(conversation_s, speed, extra_config=config, script=WAKE_SCRIPT)
            cpu[name].append(run["daemon_cpu_pct"])
            replies[name] += run["daemon_replies"]
            log.info("wake word %s, round %d: daemon CPU %.1f %% of a core, %d replies in "
                     "%.0f s of conversation", name, round_no + 1, run["daemon_cpu_pct"],
                     run["daemon_replies"], conversation_s)
    out: dict[str, float] = {}
    for name in MODES:
        out[f"daemon_cpu_pct_wake_{name}"] = round(sum(cpu[name]) / rounds, 1)
        out[f"daemon_replies_wake_{name}"] = replies[name]
    out["daemon_cpu_pct_wake_cost"] = round(
        out["daemon_cpu_pct_wake_on"] - out["daemon_cpu_pct_wake_off"], 1)
    out["daemon_cpu_pct_wake_spread"] = round(max(max(v) - min(v) for v in cpu.values()), 1)
    return out
