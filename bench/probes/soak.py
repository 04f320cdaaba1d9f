"""Soak figures for ``bargein perf``: the running daemon's memory and CPU over a long
virtual-room conversation.

``bargein run`` is started as systemd would (``NOTIFY_SOCKET`` bound here, READY
awaited) on the virtual room, paced faster than real time for the full run. A person
keeps talking to it: a question opened by the wake word, a backchannel, a "stop", a
"continue", over and over (clips spoken by the Piper voice). Until this cycle said the
wake word, the default ``wake_word`` mode ignored its question and the soak measured an
appliance answering nothing. From ``/proc/<pid>`` it reads:

- ``daemon_rss_mb``: peak resident memory (VmHWM) over the run;
- ``daemon_rss_growth_mb``: resident memory over the last minute minus over the
  minute after the first (the target is no growth). Each is the median of samples
  taken every 50 ms: a single sample lands at random inside or outside a synthesis,
  whose tensors come and go (tens of MB), and would measure that instead;
- ``daemon_cpu_pct``: CPU time per second of conversation, in percent of one core
  (normalised to real time when the room runs faster);
- ``daemon_rss_ceiling_mb``: the largest per-minute median after the first minute
  (where resident memory levels off; a renewal gives its recognizer's memory back);
- ``daemon_asr_renewals``: Vosk recognizers the daemon replaced by fresh ones
  (``[asr] renew_after_utterances``), from its log.

The log also gives the median RSS per minute and per 10 minutes. ``quick`` runs about
20 s of conversation in real time; the full run 10 minutes at 4x
(``$BARGEIN_SOAK_MINUTES`` sets another length, e.g. 60 for the hour the README quotes).
The daemon uses the configured Vosk model (``$BARGEIN_VOSK_MODEL``) when there is one,
else pocketsphinx (see :func:`bargein.device.daemon.make_recognition`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bargein.bench.virtual_daemon import VirtualDaemon
from bargein.core.frames import write_wav
from bargein.tts.synth import synthesize_all
from bargein.tts.voice import load_voice

log = logging.getLogger(__name__)

FULL_S, FULL_SPEED = 600.0, 4.0
MINUTES_ENV = "BARGEIN_SOAK_MINUTES"
QUICK_S, QUICK_SPEED = 20.0, 1.0
FIRST_MINUTE_S = 60.0
REPORT_SPAN_S = 600.0
CYCLE = (
    (0.0, "question", "Alexa, what can you do for me today?"),
    (4.0, "backchannel", "uh huh"),
    (7.0, "stop", "stop"),
    (9.0, "continue", "continue"),
)
CYCLE_S = 14.0




def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM in MB from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024.0
    return out


def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def soak(conversation_s: float, speed: float, extra_config: str = "",
         script: tuple[tuple[float, str, str], ...] = CYCLE) -> dict[str, float]:
    """Run the daemon for ``conversation_s`` virtual seconds; its memory and CPU figures.

    ``extra_config`` is appended to the daemon's config (TOML tables other than
    ``[audio]`` and ``[events]``), to compare settings; ``script`` is what the person says
    and when (``(at_s, name, text)`` within each ``CYCLE_S``), :data:`CYCLE` unless given.
    ``daemon_replies`` counts the replies the daemon asked its agent for, so two runs
    can be checked to have had the same conversation."""
    with tempfile.TemporaryDirectory(prefix="bargein-soak-", dir="/tmp") as tmp:
        work = Path(tmp)
        voice = load_voice(None)
        clips = {}
        for _, name, text in script:
            clips[name] = work / f"{name}.wav"
            write_wav(clips[name], synthesize_all(voice, text), voice.rate_hz)
        daemon = VirtualDaemon(work, extra_config, speed=speed, env=os.environ)
        with daemon:
            try:
                figures = _converse(daemon, clips, conversation_s, speed, script)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; the daemon's log ends:\n{daemon.log_tail()}") from exc
        daemon_log = daemon.log_text()
        if daemon.proc is not None and daemon.proc.returncode != 0:
            raise RuntimeError(f"bargein run exited with {daemon.proc.returncode}:\n"
                               f"{daemon_log[-2000:]}")
        renewals = [line for line in daemon_log.splitlines() if "ASR recognizer renewed" in line]
        for line in renewals:  # with what each renewal gave back, and the heap after it
            log.info("soak: daemon %s", line.split(": ", 1)[-1])
        figures["daemon_asr_renewals"] = float(len(renewals))
        figures["daemon_replies"] = float(len(re.findall(r"reply \d+ requested", daemon_log)))
        return figures


def _converse(daemon: VirtualDaemon, clips: dict[str, Path], conversation_s: float,
              speed: float, script: tuple[tuple[float, str, str], ...]) -> dict[str, float]:
    pid = daemon.pid
    start_s = time.monotonic()
    cpu_start_s = _cpu_s(pid)
    first_minute_s = min(FIRST_MINUTE_S, conversation_s / 3)
    rss_by_minute: dict[int, list[float]] = {}
    cycle = 0
    step = 0
    next_report_s = 0.0
    while True:
        virtual_s = (time.monotonic() - start_s) * speed
        if virtual_s >= conversation_s:
            break
        if not daemon.alive():
            raise RuntimeError(f"bargein run died during the soak ({daemon.proc.returncode})")
        at_s, name, _ = script[step]
        if virtual_s >= cycle * CYCLE_S + at_s:
            daemon.say(clips[name])
            step += 1
            if step == len(script):
                step, cycle = 0, cycle + 1
        rss_mb = _proc_status(pid)["VmRSS"]
        rss_by_minute.setdefault(int(virtual_s // first_minute_s), []).append(rss_mb)
        if virtual_s >= next_report_s:
            next_report_s += first_minute_s
            log.info("soak: %.0f s of conversation, daemon RSS %.1f MB", virtual_s, rss_mb)
        time.sleep(0.05)
    elapsed_s = time.monotonic() - start_s
    cpu_s = _cpu_s(pid) - cpu_start_s
    status = _proc_status(pid)
    medians = {minute: float(np.median(v)) for minute, v in sorted(rss_by_minute.items())}
    log.info("soak: %.0f s of conversation in %.0f s, %d cycles; median daemon RSS per "
             "%.0f s: %s MB", conversation_s, elapsed_s, cycle, first_minute_s,
             ", ".join(f"{v:.0f}" for v in medians.values()))
    spans = _span_medians(rss_by_minute, first_minute_s, REPORT_SPAN_S)
    if len(spans) > 1:
        log.info("soak: median daemon RSS per %.0f min: %s MB", REPORT_SPAN_S / 60,
                 ", ".join(f"{v:.0f}" for v in spans))
    full = [m for m in medians if m >= 1 and len(rss_by_minute[m]) >= 10]
    growth_mb = medians[full[-1]] - medians[full[0]] if full else 0.0
    ceiling_mb = max(medians[m] for m in full) if full else status["VmRSS"]
    return {
        "daemon_rss_mb": round(status["VmHWM"], 1),
        "daemon_rss_growth_mb": round(growth_mb, 1),
        "daemon_rss_ceiling_mb": round(ceiling_mb, 1),
        "daemon_cpu_pct": round(100.0 * cpu_s / (elapsed_s * speed), 1),
    }


def _span_medians(rss_by_slot: dict[int, list[float]], slot_s: float,
                  span_s: float) -> list[float]:
    """Median RSS over each ``span_s`` of conversation, from samples kept per ``slot_s``."""
    per_span = max(1, round(span_s / slot_s))
    spans: dict[int, list[float]] = {}
    for slot, samples in rss_by_slot.items():
        spans.setdefault(slot // per_span, []).extend(samples)
    return [float(np.median(spans[k])) for k in sorted(spans)]


def figures(quick: bool) -> dict[str, float]:
    if quick:
        return soak(QUICK_S, QUICK_SPEED)
    minutes = os.environ.get(MINUTES_ENV)
    return soak(float(minutes) * 60.0 if minutes else FULL_S, FULL_SPEED)
