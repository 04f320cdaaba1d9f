"""The timeline picture of one simulation: what was played, what was heard, what was decided.

Three lanes on one time axis:

- **speaker**: what came out of the speaker, each word the appliance played written
  under its sound (red when the sound stopped inside it), the ducked stretches
  shaded, and the silence after a cut;
- **mic**: what the microphone heard, the true span of every user clip (what was
  said, or "noise"), the VAD's speech spans shaded, and each partial transcript
  written where it arrived;
- **decisions**: duck, unduck, pause, resume, cut, cancel and button presses, each
  with its latency from the true onset of the sound that caused it.

Red lines through every lane mark cuts; the speaker going silent is a dashed line
labelled with both latencies (from the onset and from the deciding word).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from bargein.bench.scoring import Cause, cause_of, causes_of, find_stops
from bargein.bench.sim_log import SimEvent, of_kind
from bargein.core.errors import BargeinError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

_FIG_W_IN, _FIG_H_IN, _DPI = 16.0, 8.0, 110
_BINS = 4000
_COLORS = {
    "speaker": "#1f5fa8", "mic": "#555555", "duck": "#e08a00", "unduck": "#2a9d3a",
    "cut": "#d62728", "cancel": "#d62728", "pause": "#7b3fb5", "resume": "#2a9d3a",
    "button": "#111111", "vad": "#2a9d3a", "user": "#8e44ad", "noise": "#8c6d31",
    "partial": "#0b6e4f", "ducked": "#ffd9a0", "silent": "#f2c6c6", "ring": "#1f5fa8",
}


def _envelope(signal: np.ndarray, rate_hz: int, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max envelope of ``signal`` over ``bins`` equal slices (fast to draw, keeps the peaks)."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    if signal.size == 0:
        return np.zeros(1), np.zeros(1), np.zeros(1)
    bins = max(1, min(bins, signal.size))
    per_bin = signal.size // bins
    trimmed = signal[: per_bin * bins].reshape(bins, per_bin)
    t_s = (np.arange(bins) * per_bin + per_bin / 2) / rate_hz
    return t_s, trimmed.min(axis=1), trimmed.max(axis=1)


class _Rows:
    """Places labels on the first free row so they do not overprint each other."""

    def __init__(self, ax: Axes, span_s: float, fontsize: float, rows: Sequence[float]) -> None:
        width_in = ax.get_position().width * _FIG_W_IN
        self.s_per_char = fontsize * 0.62 / 72.0 / width_in * span_s
        self.rows = list(rows)
        self.free_from_s = [-math.inf] * len(rows)

    def place(self, x_s: float, text: str, centred: bool = True) -> float:
        width_s = len(text) * self.s_per_char
        left_s = x_s - width_s / 2 if centred else x_s
        for i, free_s in enumerate(self.free_from_s):
            if left_s >= free_s:
                self.free_from_s[i] = left_s + width_s + self.s_per_char
                return self.rows[i]
        i = int(np.argmin(self.free_from_s))
        self.free_from_s[i] = left_s + width_s + self.s_per_char
        return self.rows[i]


def _ms_label(t_s: float, cause: Cause | None) -> str:
    if cause is None:
        return ""
    return f" +{(t_s - cause.onset_s) * 1000:.0f} ms"


def _draw_wave(ax: Axes, signal: np.ndarray, rate_hz: int, color: str, label: str) -> float:
    t_s, lo, hi = _envelope(signal, rate_hz, _BINS)
    ax.fill_between(t_s, lo, hi, color=color, linewidth=0, alpha=0.85)
    peak = float(max(np.max(np.abs(lo)), np.max(np.abs(hi)), 1e-4))
    ax.set_ylim(-peak * 1.9, peak * 1.25)
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=11, fontweight="bold")
    return peak


def _speaker_lane(ax: Axes, speaker: np.ndarray, rate_hz: int, events: Sequence[SimEvent],
                  span_s: float, end_s: float) -> None:
    peak = _draw_wave(ax, speaker, rate_hz, _COLORS["speaker"], "speaker")
    # ducked stretches: from each duck to the next unduck/cut/pause
    duck_from = None
    for event in events:
        if event.kind == "duck" and duck_from is None:
            duck_from = event.t_s
        elif event.kind in ("unduck", "cut", "pause") and duck_from is not None:
            ax.axvspan(duck_from, event.t_s, color=_COLORS["ducked"], alpha=0.6, zorder=0, lw=0)
            duck_from = None
    if duck_from is not None:
        ax.axvspan(duck_from, end_s, color=_COLORS["ducked"], alpha=0.6, zorder=0, lw=0)
    for silent in of_kind(events, "speaker_silent"):
        resumed = [e.t_s for e in events if e.kind in ("speak", "resume", "word_played") and e.t_s > silent.t_s + 0.05]
        until_s = min(resumed) if resumed else end_s
        ax.axvspan(silent.t_s, until_s, color=_COLORS["silent"], alpha=0.5, zorder=0, lw=0)
    rows = _Rows(ax, span_s, 8.5, [-peak * 1.3, -peak * 1.6])
    for word in of_kind(events, "word_played"):
        mid_s = (word["start_s"] + word["end_s"]) / 2
        text = str(word["text"])
        complete = word.get("complete", True)
        y = rows.place(mid_s, text)
        ax.text(mid_s, y, text, ha="center", va="center", fontsize=8.5,
                color="#222222" if complete else _COLORS["cut"],
                fontweight="normal" if complete else "bold")
        ax.plot([word["start_s"], word["end_s"]], [-peak * 1.08] * 2, lw=2.2, solid_capstyle="butt",
                color=_COLORS["speaker"] if complete else _COLORS["cut"], alpha=0.7)


def _mic_lane(ax: Axes, mic: np.ndarray, rate_hz: int, events: Sequence[SimEvent],
              span_s: float, end_s: float) -> None:
    peak = _draw_wave(ax, mic, rate_hz, _COLORS["mic"], "mic")
    starts = of_kind(events, "speech_started")
    ends = of_kind(events, "speech_ended")
    for start in starts:
        stop = next((e for e in ends if e.t_s >= start.t_s), None)
        stop_s = float(stop.get("end_s", stop.t_s)) if stop is not None else end_s
        ax.axvspan(float(start["onset_s"]), stop_s, color=_COLORS["vad"], alpha=0.13, lw=0, zorder=0)
        ax.text(float(start["onset_s"]), peak * 1.12, " VAD speech", fontsize=7.5,
                color=_COLORS["vad"], va="center")
    for truth in of_kind(events, "truth_user"):
        text = str(truth["text"]).strip()
        color = _COLORS["user"] if text else _COLORS["noise"]
        ax.plot([truth["onset_s"], truth["end_s"]], [peak * 0.98] * 2, lw=5, color=color,
                solid_capstyle="butt")
        ax.text(truth["onset_s"], peak * 0.82, f"user: “{text}”" if text else "noise",
                fontsize=9, color=color, fontweight="bold", va="top")
    rows = _Rows(ax, span_s, 8.5, [-peak * 1.15, -peak * 1.42, -peak * 1.69])
    for result in of_kind(events, "partial", "final"):
        label = f"“{result['text']}”" + (" (final)" if result.kind == "final" else "")
        y = rows.place(result.t_s, label, centred=False)
        ax.plot([result.t_s, result.t_s], [y, -peak * 0.2], color=_COLORS["partial"], lw=0.6, alpha=0.6)
        ax.text(result.t_s, y, label, fontsize=8.5, color=_COLORS["partial"], va="center", ha="left",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": _COLORS["partial"], "lw": 0.5})


def _decision_lane(ax: Axes, events: Sequence[SimEvent], span_s: float) -> None:
    causes = causes_of(events)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("decisions", rotation=0, ha="right", va="center", fontsize=11, fontweight="bold")
    rows = _Rows(ax, span_s, 8.5, [0.78, 0.5, 0.22])
    marks = {"duck": "v", "unduck": "^", "pause": "s", "resume": ">", "cut": "X", "cancel": "X"}
    for event in events:
        if event.kind in marks:
            label = event.kind + _ms_label(event.t_s, cause_of(event.t_s, causes))
            if event.kind in ("cut", "cancel") and event.get("type"):
                label += f" ({event['type']})"
        elif event.kind == "decision":
            label = f"= {event['type']}"
        elif event.kind == "truth_button":
            label = "button pressed"
        elif event.kind == "ring":
            label = f"timer rang: “{event['text']}”"
        elif event.kind == "interruption":
            heard = [str(w) for w in event.get("words_heard") or []]
            label = f"record: {event['type']}, heard {len(heard)} words"
            if heard:
                label += f" (…{heard[-1]})"
            if event.get("word_cut"):
                label += f", cut in “{event['word_cut']}”"
            if event.get("handled"):
                label += f", {event['handled']}"
        else:
            continue
        color = _COLORS.get(event.kind, "#333333")
        y = rows.place(event.t_s, label, centred=False)
        if event.kind in marks:
            ax.plot(event.t_s, y, marker=marks[event.kind], color=color, ms=8, ls="none")
        elif event.kind in ("truth_button", "ring"):
            ax.plot(event.t_s, y, marker="o", color=color, ms=7, ls="none")
        ax.text(event.t_s + span_s * 0.004, y, label, fontsize=8.5, color=color, va="center",
                fontweight="bold" if event.kind in ("cut", "cancel", "truth_button") else "normal")


def _pyplot() -> ModuleType:
    """matplotlib's pyplot on the file-only Agg backend, imported when a picture is drawn:
    matplotlib is the ``bench`` extra, which the appliance on a Pi does not install."""
    try:
        import matplotlib
    except ModuleNotFoundError as exc:
        raise BargeinError(
            "the timeline picture needs matplotlib, the bench extra: install it with "
            "`pip install 'bargein[bench]'` (scripts/setup does)") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def render_timeline(speaker: np.ndarray, mic: np.ndarray, rate_hz: int, events: Sequence[SimEvent],
                    out_png: Path | str, title: str) -> Path:
    """Draw the run's timeline to ``out_png`` and return its path.

    ``speaker`` and ``mic`` are mono float arrays on the shared virtual clock (sample 0
    = t 0) at ``rate_hz``; ``events`` are the run's ``events.jsonl`` events.
    """
    out_png = Path(out_png)
    events = sorted(events, key=lambda e: e.t_s)
    audio_end_s = max(len(speaker), len(mic)) / rate_hz
    end_s = max([audio_end_s] + [e.t_s for e in events]) if events else audio_end_s
    end_s = max(end_s, 0.5)

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=(_FIG_W_IN, _FIG_H_IN), dpi=_DPI,
                             gridspec_kw={"height_ratios": [3, 3, 1.6], "hspace": 0.06})
    fig.subplots_adjust(left=0.08, right=0.985, top=0.9, bottom=0.075)
    ax_speaker, ax_mic, ax_decisions = axes
    _speaker_lane(ax_speaker, speaker, rate_hz, events, end_s, end_s)
    _mic_lane(ax_mic, mic, rate_hz, events, end_s, end_s)
    _decision_lane(ax_decisions, events, end_s)

    for press in of_kind(events, "truth_button"):
        for ax in axes:
            ax.axvline(float(press["at_s"]), color=_COLORS["button"], ls=":", lw=1.2)
    for stop in find_stops(events):
        for ax in axes:
            ax.axvline(stop.t_s, color=_COLORS["cut"], lw=1.3, alpha=0.9)
        if stop.silent_s is not None:
            for ax in axes:
                ax.axvline(stop.silent_s, color=_COLORS["cut"], lw=1.0, ls="--", alpha=0.9)
            parts = []
            if stop.cause is not None:
                origin = "press" if stop.cause.source == "button" else "onset"
                parts.append(f"+{(stop.silent_s - stop.cause.onset_s) * 1000:.0f} ms from {origin}")
            if stop.deciding_s is not None and (stop.cause is None or stop.cause.source != "button"):
                parts.append(f"+{(stop.silent_s - stop.deciding_s) * 1000:.0f} ms after the deciding word")
            ymax = ax_speaker.get_ylim()[1]
            ax_speaker.text(stop.silent_s + end_s * 0.004, ymax * 0.93,
                            "speaker silent" + (": " + ", ".join(parts) if parts else ""),
                            fontsize=9, color=_COLORS["cut"], fontweight="bold", va="top",
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": _COLORS["cut"], "lw": 0.6})

    ax_decisions.set_xlim(0.0, end_s)
    ax_decisions.set_xlabel("time (s, virtual clock)", fontsize=10)
    for ax in axes:
        ax.grid(axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    legend = [
        plt.Rectangle((0, 0), 1, 1, fc=_COLORS["ducked"], alpha=0.6, label="ducked"),
        plt.Rectangle((0, 0), 1, 1, fc=_COLORS["silent"], alpha=0.5, label="speaker silent after cut"),
        plt.Rectangle((0, 0), 1, 1, fc=_COLORS["vad"], alpha=0.13, label="VAD speech"),
        plt.Line2D([], [], color=_COLORS["user"], lw=5, label="true user speech"),
        plt.Line2D([], [], color=_COLORS["cut"], lw=1.3, label="cut"),
        plt.Line2D([], [], color=_COLORS["cut"], lw=1.0, ls="--", label="speaker silent"),
        plt.Line2D([], [], color=_COLORS["button"], lw=1.2, ls=":", label="button"),
    ]
    fig.legend(handles=legend, loc="upper right", ncol=len(legend), fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.985, 0.955))
    fig.suptitle(title, x=0.08, y=0.975, ha="left", fontsize=13, fontweight="bold")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    log.info("timeline written to %s", out_png)
    return out_png
