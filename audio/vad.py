"""Voice activity: webrtcvad's per-frame verdicts turned into speech start/end events.

:class:`SpeechSegmenter` is a pure state machine (no audio, no clock of its own):
it is fed one verdict per frame with the frame's capture time and answers with
events. Speech starts once ``min_speech_ms`` of voiced frames have accumulated
(a single unvoiced frame inside the run is tolerated), and the event carries the
time of the run's first voiced frame, not the moment of the decision. Speech ends
after ``hangover_ms`` of unvoiced frames.

A frame can also be *masked*: nobody can tell whether a person is in it (while
the speaker plays, the echo it leaves explains the frame, and a quiet stretch of
a voice, such as a stop closure or the break between two syllables, is that
quiet). In a run that has had a *clear* voiced frame (a voice well above the
echo, not only unlike it), a masked frame is no evidence either way: it neither
adds to the run nor breaks it, for up to ``masked_gap_ms`` after the run's last
voiced frame. Elsewhere it is an unvoiced frame.

:class:`VoiceDetector` runs webrtcvad on 16 kHz capture frames and feeds the
segmenter.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

from bargein.audio.settings import VadSettings
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

_EPS_S = 1e-9
_VAD_FRAME_MS = (10, 20, 30)


@dataclass(frozen=True)
class SpeechStarted:
    """Someone started talking at ``onset_s``; the segmenter knew at ``decided_s``."""

    onset_s: float
    decided_s: float


@dataclass(frozen=True)
class SpeechEnded:
    """The talking stopped at ``end_s`` (end of the last voiced frame), known at ``decided_s``."""

    end_s: float
    decided_s: float


SpeechEvent = SpeechStarted | SpeechEnded


class SpeechSegmenter:
    """Start/stop hysteresis over per-frame speech verdicts; times on the capture clock."""

    def __init__(
        self, min_speech_ms: float = 100.0, hangover_ms: float = 300.0, masked_gap_ms: float = 90.0
    ) -> None:
        self.min_speech_s = min_speech_ms / 1000.0
        self.hangover_s = hangover_ms / 1000.0
        self.masked_gap_s = masked_gap_ms / 1000.0
        self.reset()

    def reset(self) -> None:
        """Forget any run in progress and return to silence."""
        self.speaking = False
        self._run_onset_s: float | None = None
        self._run_voiced_s = 0.0
        self._run_gap_frames = 0
        self._run_gap_s = 0.0
        self._run_clear = False
        self._last_voiced_end_s = 0.0
        self._unvoiced_s = 0.0

    def feed(
        self,
        is_speech: bool,
        t_seconds: float,
        frame_s: float,
        masked: bool = False,
        clear: bool = True,
    ) -> SpeechEvent | None:
        """One frame's verdict (frame starting at ``t_seconds``, ``frame_s`` long).

        ``masked`` (an unvoiced frame nobody could judge) and ``clear`` (a voiced
        frame well above the echo) are described in the module docstring; while
        speaking, a masked frame is unvoiced.
        """
        end_s = t_seconds + frame_s
        if self.speaking:
            if is_speech:
                self._unvoiced_s = 0.0
                self._last_voiced_end_s = end_s
                return None
            self._unvoiced_s += frame_s
            if self._unvoiced_s + _EPS_S >= self.hangover_s:
                self.speaking = False
                self._unvoiced_s = 0.0
                return SpeechEnded(end_s=self._last_voiced_end_s, decided_s=end_s)
            return None

        if is_speech:
            if self._run_onset_s is None:
                self._run_onset_s = t_seconds
                self._run_voiced_s = 0.0
                self._run_clear = False
            self._run_clear = self._run_clear or clear
            self._run_voiced_s += frame_s
            self._run_gap_frames = 0
            self._run_gap_s = 0.0
            if self._run_voiced_s + _EPS_S >= self.min_speech_s:
                onset_s = self._run_onset_s
                self._run_onset_s = None
                self.speaking = True
                self._unvoiced_s = 0.0
                self._last_voiced_end_s = end_s
                return SpeechStarted(onset_s=onset_s, decided_s=end_s)
            return None

        if self._run_onset_s is not None:
            self._run_gap_s += frame_s
            if not (masked and self._run_clear):
                self._run_gap_frames += 1
            if self._run_gap_frames > 1 or self._run_gap_s > self.masked_gap_s + _EPS_S:
                self._run_onset_s = None
        return None


class VoiceDetector:
    """webrtcvad plus the segmenter, fed 16 kHz int16 capture frames of 10, 20 or 30 ms.

    The segmenter's onset is the start of the first voiced frame, so it is early by
    up to a frame. The detector sharpens it with energy: it keeps the power of the
    last few 5 ms blocks and a noise floor learned on unvoiced frames, and moves the
    onset to the first block of that frame that rises ``ONSET_RISE_DB`` above the
    floor, or back over the blocks just before it that were already that loud.
    """

    MASKED_GAP_MS = 90.0
    """Longest echo-masked stretch a starting run survives (see the module docstring):
    a stop closure or the break between two syllables (up to ~100 ms), not a pause
    between words."""
    BLOCK_MS = 5
    ONSET_RISE_DB = 6.0
    LOOKBACK_MS = 60
    WARM_UP_MS = 150
    """A fresh webrtcvad calls its first 100-150 ms of any sound speech, room noise at
    -62 dBFS included (its noise model starts empty; measured at every aggressiveness
    below 3 and frame size). The first this-much of audio after the detector starts
    counts as unvoiced: otherwise every start "hears" a person who is not there."""

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        self._vad = webrtcvad.Vad(self.settings.aggressiveness)
        self._unwarmed_s = self.WARM_UP_MS / 1000.0
        self.segmenter = SpeechSegmenter(
            self.settings.min_speech_ms, self.settings.hangover_ms, self.MASKED_GAP_MS
        )
        self.last_is_speech = False
        """webrtcvad's verdict on the last frame processed."""
        self._block = CAPTURE_RATE_HZ * self.BLOCK_MS // 1000
        history = (self.settings.min_speech_ms + 2 * self.LOOKBACK_MS) // self.BLOCK_MS + 8
        self._block_t: deque[float] = deque(maxlen=history)
        self._block_power: deque[float] = deque(maxlen=history)
        self._noise_power: float | None = None
        self._frame_s = 0.03

    @property
    def speaking(self) -> bool:
        return self.segmenter.speaking

    def reset_segment(self) -> None:
        """Forget the stretch of speech in progress: ongoing speech starts a new one."""
        self.segmenter.reset()

    def is_speech(self, frame: AudioFrame) -> bool:
        """webrtcvad's verdict on one frame, without touching the segmenter."""
        if frame.rate_hz != CAPTURE_RATE_HZ:
            raise ValueError(f"VoiceDetector needs {CAPTURE_RATE_HZ} Hz frames, got {frame.rate_hz}")
        if len(frame.pcm) * 1000 not in [ms * CAPTURE_RATE_HZ for ms in _VAD_FRAME_MS]:
            raise ValueError(
                f"VoiceDetector needs 10, 20 or 30 ms frames, got {len(frame.pcm)} samples"
            )
        return self._vad.is_speech(frame.pcm.tobytes(), CAPTURE_RATE_HZ)

    def process(self, frame: AudioFrame) -> SpeechEvent | None:
        """Classify one frame and advance the segmenter; the event it produced, if any."""
        self.last_is_speech = self.is_speech(frame)
        if self._unwarmed_s > 1e-9:  # see WARM_UP_MS
            self._unwarmed_s -= frame.duration_s
            self.last_is_speech = False
        self._frame_s = frame.duration_s
        self._track_energy(frame)
        event = self.segmenter.feed(
            self.last_is_speech, frame.t_seconds, frame.duration_s, *self._evidence()
        )
        if isinstance(event, SpeechStarted):
            event = SpeechStarted(onset_s=self._sharpen(event.onset_s), decided_s=event.decided_s)
        if event is not None:
            log.debug("%s", event)
        return event

    def _evidence(self) -> tuple[bool, bool]:
        """(masked, clear) for the frame just judged: the plain VAD has no echo to hide a voice."""
        return False, True

    def _track_energy(self, frame: AudioFrame) -> None:
        blocks = len(frame.pcm) // self._block
        samples = frame.pcm[: blocks * self._block].astype(np.float32).reshape(blocks, self._block)
        powers = np.mean(np.square(samples), axis=1) + 1.0
        for i, power in enumerate(powers.tolist()):
            self._block_t.append(frame.t_seconds + i * self._block / CAPTURE_RATE_HZ)
            self._block_power.append(power)
        if not self.last_is_speech and not self.segmenter.speaking:
            frame_power = float(np.mean(powers))
            if self._noise_power is None:
                self._noise_power = frame_power
            else:
                self._noise_power += 0.1 * (frame_power - self._noise_power)

    def _sharpen(self, frame_onset_s: float) -> float:
        """The onset moved to where the energy rose, within the first voiced frame or just before."""
        if self._noise_power is None:
            return frame_onset_s
        threshold = self._noise_power * 10.0 ** (self.ONSET_RISE_DB / 10.0)
        times = list(self._block_t)
        powers = list(self._block_power)
        first = next((i for i, t in enumerate(times) if t >= frame_onset_s - 1e-9), None)
        if first is None:
            return frame_onset_s
        frame_end_s = frame_onset_s + self._frame_s
        for i in range(first, len(times)):
            if times[i] >= frame_end_s - 1e-9:
                return frame_onset_s
            if powers[i] > threshold:
                break
        else:
            return frame_onset_s
        onset = i
        if onset == first:
            earliest_s = frame_onset_s - self.LOOKBACK_MS / 1000.0
            while onset > 0 and powers[onset - 1] > threshold and times[onset - 1] >= earliest_s - 1e-9:
                onset -= 1
        return times[onset]
