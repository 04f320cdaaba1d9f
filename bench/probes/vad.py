"""``bargein perf`` figures for the VAD: onset accuracy and per-frame cost.

espeak-ng speech is placed at known times in the virtual room (noise, no speaker
output) and the :class:`VoiceDetector` runs on the mic frames. The true onset of a
clip is its first sample above 1 % of the clip's peak; the error is the distance
from the detected onset to it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from bargein.audio.settings import VadSettings
from bargein.audio.vad import SpeechStarted, VoiceDetector
from bargein.audio.virtual_room import PlacedClip, RoomSettings, VirtualRoom
from bargein.bench.espeak import espeak_native
from bargein.core.frames import CAPTURE_RATE_HZ

log = logging.getLogger(__name__)

TEXTS = (
    "Hello there, how are you today?",
    "Stop.",
    "Wait, no, I said Tuesday.",
    "Okay.",
    "Could you repeat that please?",
    "Mm hmm, go on.",
    "What time is it in Paris?",
    "Turn the volume down a little.",
    "Sorry, I meant the other one.",
    "Yes.",
    "Please cancel the timer.",
    "Actually, make it seven thirty.",
    "Fine, thanks.",
    "Never mind.",
)
ONSET_THRESHOLD = 0.01
"""A clip's true onset: its first sample above this fraction of its peak."""
_SPACING_S = 3.0
_LEVELS_DB = (-36.0, -30.0, -24.0, -18.0)
_NOISE_DB = -60.0


@dataclass(frozen=True)
class OnsetTrial:
    true_onset_s: float
    detected_onset_s: float | None

    @property
    def error_ms(self) -> float:
        if self.detected_onset_s is None:
            return float("inf")
        return abs(self.detected_onset_s - self.true_onset_s) * 1000.0


def true_onset_s(clip: PlacedClip) -> float:
    """Time of the clip's first sample above ``ONSET_THRESHOLD`` of its peak."""
    magnitude = np.abs(clip.samples)
    first = int(np.argmax(magnitude > ONSET_THRESHOLD * float(magnitude.max())))
    return clip.at_s + first / CAPTURE_RATE_HZ


def onset_trials(placements: int, seed: int = 7, settings: VadSettings | None = None) -> list[OnsetTrial]:
    """Place espeak-ng clips at known times and compare the detector's onsets to the truth."""
    rng = np.random.default_rng(seed)
    room = VirtualRoom(RoomSettings(noise_db=_NOISE_DB, seed=seed))
    voices = ("en", "en-us", "en+f3", "en+m3")
    clips = []
    for i in range(placements):
        pcm, rate_hz = espeak_native(TEXTS[i % len(TEXTS)], voices[i % len(voices)])
        at_s = 1.0 + i * _SPACING_S + float(rng.uniform(0.0, 0.5))
        level_db = _LEVELS_DB[int(rng.integers(len(_LEVELS_DB)))]
        clips.append(room.add_clip(pcm, rate_hz, at_s, level_db))
    detector = VoiceDetector(settings)
    onsets = []
    for frame in room.advance(clips[-1].end_s + 1.0):
        event = detector.process(frame)
        if isinstance(event, SpeechStarted):
            onsets.append(event.onset_s)
    trials = []
    for clip in clips:
        truth = true_onset_s(clip)
        near = [t for t in onsets if clip.at_s - 0.5 < t < clip.end_s]
        trials.append(OnsetTrial(truth, near[0] if near else None))
    return trials


def detector_us_per_frame(frames_count: int) -> float:
    """Mean µs per 30 ms frame of :meth:`VoiceDetector.process` on speech with noise."""
    room = VirtualRoom(RoomSettings(noise_db=_NOISE_DB, frame_ms=30))
    rng = np.random.default_rng(3)
    t = np.arange(CAPTURE_RATE_HZ) / CAPTURE_RATE_HZ
    voiced = np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    room.add_clip(voiced + 0.05 * rng.standard_normal(len(t)), CAPTURE_RATE_HZ, 0.2, -24.0)
    frames = room.advance(frames_count * 0.03)
    detector = VoiceDetector()
    start = time.perf_counter_ns()
    for frame in frames:
        detector.process(frame)
    elapsed_ns = time.perf_counter_ns() - start
    return elapsed_ns / 1000.0 / len(frames)


def figures(quick: bool) -> dict[str, float]:
    trials = onset_trials(6 if quick else 48)
    errors = np.array([trial.error_ms for trial in trials])
    missed = int(np.sum(~np.isfinite(errors)))
    if missed:
        log.warning("VAD missed %d of %d placed clips", missed, len(trials))
    return {
        "vad_onset_error_ms_p95": float(np.percentile(errors, 95)),
        "vad_onset_error_ms_p50": float(np.percentile(errors, 50)),
        "vad_missed_clips": float(missed),
        "capture_vad_us_per_frame": detector_us_per_frame(100 if quick else 2000),
    }
