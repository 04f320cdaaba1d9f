"""Acoustic evidence about a stretch of speech, for when the words are unreliable.

A real recognizer finds words in a cough, a door or a television, so the words alone
cannot tell a person taking the floor from a noise. The sound can:

- **voicing**: a person's speech is mostly voiced (the vocal folds make a periodic
  wave with a pitch between 60 and 400 Hz); a cough, a clap, a door or keys are not.
  Each frame's voicing is the peak of its normalised autocorrelation over those pitch
  lags; :attr:`SpanEvidence.voiced_ms` counts frames above ``VOICED_PERIODICITY``.
- **level**: the RMS level of a span's voiced frames at the mic (after echo
  cancellation), as a clip's active level is measured. Someone talking to the appliance is close and loud; a television or
  two people talking across the room are far and quiet.
- **background speech**: the level (RMS) of the voiced frames the room held outside the VAD's
  spans, and in spans judged background, over the ``BACKGROUND_WINDOW_S`` before a span
  (a radio, a television that talks on and on). It is only known when voiced
  frames filled at least ``BACKGROUND_MIN_SHARE`` of that window: a quiet room, or one
  person talking now and then, has none.

:class:`SpeechEvidence` is fed every capture frame (after echo control) with the
VAD's verdict for it, and is told where spans begin; it keeps no audio.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from bargein.core.frames import AudioFrame

MIN_PITCH_HZ = 60.0
MAX_PITCH_HZ = 400.0
VOICED_PERIODICITY = 0.45
"""Normalised autocorrelation peak above which a frame is voiced. Vowels of recorded and
synthetic speech sit at 0.6-0.95; coughs, claps, knocks, keys and room noise below 0.35."""
MIN_VOICED_DBFS = -60.0
"""Frames quieter than this are never voiced (periodicity of near-silence means nothing)."""
SAME_ONSET_S = 0.1
"""A stretch's onset (the machine's) and its span's start (here) differ by the VAD's
lead at most."""
BACKGROUND_WINDOW_S = 8.0
BACKGROUND_MIN_HISTORY_S = 4.0
BACKGROUND_MIN_SHARE = 0.3
_INT16_FULL_SCALE = 32768.0


def frame_dbfs(pcm: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (-120 for silence)."""
    if len(pcm) == 0:
        return -120.0
    x = pcm.astype(np.float64)
    rms = math.sqrt(float(np.dot(x, x)) / len(x))
    return 20.0 * math.log10(rms / _INT16_FULL_SCALE) if rms > 0 else -120.0


def periodicity(pcm: np.ndarray, rate_hz: int) -> float:
    """Peak normalised autocorrelation over pitch lags (60-400 Hz): 1 = perfectly periodic."""
    x = pcm.astype(np.float64)
    x = x - x.mean()
    n = len(x)
    lo = int(rate_hz / MAX_PITCH_HZ)
    hi = min(int(rate_hz / MIN_PITCH_HZ), n - n // 4)
    if hi <= lo:
        return 0.0
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[:n]
    if acf[0] <= 0.0:
        return 0.0
    # Normalise each lag by the energy of the two overlapping parts (so the peak does not
    # fall with the lag just because fewer samples overlap).
    energy = np.cumsum(x * x)
    lags = np.arange(lo, hi)
    head = energy[n - 1 - lags]  # x[0 : n-lag]
    tail = energy[n - 1] - energy[lags - 1]  # x[lag : n]
    norm = np.sqrt(np.maximum(head * tail, 1e-12))
    return float(max(0.0, min(1.0, float(np.max(acf[lags] / norm)))))


def _power_mean_db(levels: list[float]) -> float:
    """The level of the frames together (their mean power), as a clip's RMS is measured."""
    return 10.0 * math.log10(float(np.mean(np.power(10.0, np.asarray(levels) / 10.0))))


@dataclass(frozen=True)
class SpanEvidence:
    """What the sound of one span says so far (times in ms from its onset)."""

    duration_ms: float
    voiced_ms: float
    level_dbfs: float | None
    """Level (RMS) of the span's voiced frames together; None before any."""
    background_dbfs: float | None
    """The room's continuous background speech level; None in a room without one."""


class SpeechEvidence:
    """Per-frame voicing and level, gathered per span and for the room's background."""

    def __init__(self) -> None:
        self._span_start_s: float | None = None
        self._span_t_s = 0.0
        self._voiced_ms = 0.0
        self._levels: list[float] = []
        self._history: deque[tuple[float, float, bool]] = deque()  # (t, dBFS, voiced)
        self._span_frames: list[tuple[float, float, bool]] = []
        self._last_span: list[tuple[float, float, bool]] = []
        self._span_background: float | None = None
        self._current_is_background = False

    def begin(self, onset_s: float, earlier: list[AudioFrame]) -> None:
        """A span starts at ``onset_s``; ``earlier`` frames (the VAD's lead) belong to it."""
        self._span_start_s = onset_s
        self._current_is_background = False
        self._voiced_ms, self._levels, self._span_frames = 0.0, [], []
        self._span_background = self._background_level()  # fixed for the span: once here
        self._span_t_s = onset_s
        for frame in earlier:
            if frame.end_s > onset_s:
                self._add_to_span(frame)

    def end(self) -> None:
        if self._span_start_s is not None:
            self._last_span = self._span_frames
            if self._current_is_background:
                self._join_background(self._last_span)
        self._span_start_s = None
        self._current_is_background = False

    def stretch_was_background(self, onset_s: float) -> None:
        """The stretch of speech that began at ``onset_s`` was judged background (a
        television, people across the room): its sound joins the room's background, so
        the next one is heard against it. The judgement can come before the VAD ends
        its span (the final transcript is in while the hangover runs): then the span in
        progress is the one; otherwise the span that ended last."""
        start = self._span_start_s
        if start is not None and start <= onset_s + SAME_ONSET_S:
            self._current_is_background = True
        else:
            self._join_background(self._last_span)

    def _join_background(self, frames: list[tuple[float, float, bool]]) -> None:
        if frames:
            self._history = deque(sorted([*self._history, *frames]))
            self._last_span = []

    def observe(self, frame: AudioFrame) -> None:
        """One capture frame (after echo control)."""
        level = frame_dbfs(frame.pcm)
        voiced = self._voiced(frame, level)
        if self._span_start_s is not None:
            self._add_to_span(frame, level, voiced)
        else:
            self._history.append((frame.end_s, level, voiced))
        while self._history and self._history[0][0] < frame.end_s - BACKGROUND_WINDOW_S:
            self._history.popleft()

    def span(self) -> SpanEvidence:
        start = self._span_start_s if self._span_start_s is not None else self._span_t_s
        level = _power_mean_db(self._levels) if self._levels else None
        return SpanEvidence(
            duration_ms=max(0.0, self._span_t_s - start) * 1000.0,
            voiced_ms=self._voiced_ms,
            level_dbfs=level,
            background_dbfs=self._span_background,
        )

    @staticmethod
    def _voiced(frame: AudioFrame, level: float) -> bool:
        return level >= MIN_VOICED_DBFS and \
            periodicity(frame.pcm, frame.rate_hz) >= VOICED_PERIODICITY

    def _add_to_span(self, frame: AudioFrame, level: float | None = None,
                     voiced: bool | None = None) -> None:
        level = frame_dbfs(frame.pcm) if level is None else level
        voiced = self._voiced(frame, level) if voiced is None else voiced
        self._span_t_s = max(self._span_t_s, frame.end_s)
        self._span_frames.append((frame.end_s, level, voiced))
        if voiced:
            self._voiced_ms += frame.duration_s * 1000.0
            self._levels.append(level)

    def _background_level(self) -> float | None:
        """Voiced level outside spans over the window before this span, if enough."""
        start = self._span_start_s if self._span_start_s is not None else math.inf
        before = [item for item in self._history
                  if start - BACKGROUND_WINDOW_S <= item[0] <= start]
        if not before or before[-1][0] - before[0][0] < BACKGROUND_MIN_HISTORY_S:
            return None
        voiced = [level for _t, level, is_voiced in before if is_voiced]
        if len(voiced) < BACKGROUND_MIN_SHARE * len(before):
            return None
        return _power_mean_db(voiced)  # measured as a span's level is, to compare the two
