"""The virtual room: a simulated speaker and microphone on a virtual clock.

The room is the sound-card seam for tests, benchmarks and the demo. Each
:meth:`VirtualRoom.step` advances the clock by one capture frame, far faster
than real time:

* speaker side: every output period it calls ``ring.read_into(buf, dac_time_s)``,
  exactly as the real device backend does, and records what the speaker played;
* mic side: it mixes the user clips placed in time, the speaker's own output
  (delayed, attenuated and optionally reverberated) and seeded noise, records the
  result and returns it as an :class:`AudioFrame` stamped with its capture time.

Speaker time and capture time are one clock: sample ``i`` of :meth:`speaker_audio`
reached the speaker at ``i / speaker_rate_hz`` seconds, and sample ``i`` of
:meth:`mic_audio` was captured at ``i / 16000`` seconds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr

from bargein.audio.playback import PlaybackRing
from bargein.core.errors import AudioDeviceError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

_ACTIVE_BLOCK_MS = 10
_ACTIVE_RANGE_DB = 30.0
"""A clip's 10 ms blocks within this many dB of its loudest block count as its active part."""
_RESAMPLE_MARGIN = 64
"""Capture samples of context on each side when resampling the speaker for the echo path."""
_REVERB_DECAY_DB = 60.0
_REVERB_TAIL_ENERGY = 0.5
"""Energy of the reverberation tail relative to the direct echo path."""


@dataclass(frozen=True)
class RoomSettings:
    """Acoustics and timing of the virtual room."""

    echo_gain_db: float = -20.0
    """Level of the speaker's direct path at the mic, relative to what it played."""
    echo_delay_ms: float = 30.0
    """Time from the speaker to the mic (air path plus any converter delay)."""
    reverb_ms: float = 0.0
    """Length of the exponential reverberation tail (decays 60 dB); 0 = none."""
    noise_db: float = -70.0
    """RMS of the white noise at the mic, dBFS; ``float('-inf')`` = none."""
    seed: int = 0
    """Seeds the noise and the reverberation tail, so runs repeat exactly."""
    speaker_rate_hz: int = 16_000
    """Rate of the ring the room makes when none is given."""
    period_ms: float = 10.0
    """Output period of the ring the room makes when none is given."""
    frame_ms: int = 30
    """Length of each capture frame returned by :meth:`VirtualRoom.step`."""
    output_latency_ms: float = 0.0
    """Time between a speaker period being handed over and it reaching the speaker."""
    history_s: float = math.inf
    """Seconds of speaker and mic audio (and of past user clips) kept in memory. The
    recordings (:meth:`VirtualRoom.speaker_audio`, :meth:`VirtualRoom.mic_audio`) then
    hold only about the last ``history_s``; the daemon bounds it so a long run stores
    no audio and does not grow."""


@dataclass(frozen=True)
class PlacedClip:
    """A user clip as the mic hears it: 16 kHz float samples starting at ``at_s``."""

    at_s: float
    samples: np.ndarray
    gain_db: float

    @property
    def end_s(self) -> float:
        return self.at_s + len(self.samples) / CAPTURE_RATE_HZ


class _Tape:
    """A growable recording indexed by absolute sample; reads before 0 or past the end are 0.

    With ``keep`` samples, the oldest audio is dropped once twice that is held (reads
    of dropped samples give 0), so the tape stays bounded.
    """

    def __init__(self, dtype: type, initial: int, keep: int | None = None) -> None:
        self._data = np.zeros(initial if keep is None else min(initial, 2 * keep), dtype=dtype)
        self.length = 0
        self._keep = keep
        self._first = 0  # absolute index of _data[0]

    def append(self, samples: np.ndarray) -> None:
        if self._keep is not None and self.length - self._first + len(samples) > 2 * self._keep:
            drop = self.length - self._first - self._keep
            held = self.length - self._first
            self._data[: held - drop] = self._data[drop:held]
            self._first += drop
        end = self.length + len(samples)
        if end - self._first > len(self._data):
            grown = np.zeros(max(end - self._first, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self.length - self._first] = self._data[: self.length - self._first]
            self._data = grown
        self._data[self.length - self._first : end - self._first] = samples
        self.length = end

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros(stop - start, dtype=self._data.dtype)
        lo, hi = max(start, self._first), min(stop, self.length)
        if hi > lo:
            out[lo - start : hi - start] = self._data[lo - self._first : hi - self._first]
        return out

    def all(self) -> np.ndarray:
        return self._data[: self.length - self._first].copy()


class VirtualRoom:
    """A speaker and a mic in one simulated room, driven one capture frame at a time."""

    def __init__(self, settings: RoomSettings | None = None, ring: PlaybackRing | None = None):
        self.settings = settings or RoomSettings()
        s = self.settings
        if s.frame_ms not in (10, 20, 30):
            raise ValueError(f"RoomSettings.frame_ms must be 10, 20 or 30, got {s.frame_ms}")
        if ring is None:
            period_frames = max(1, round(s.speaker_rate_hz * s.period_ms / 1000.0))
            ring = PlaybackRing(s.speaker_rate_hz, period_frames)
        self.ring = ring
        self.speaker_rate_hz = ring.rate_hz
        self._period_frames = ring.period_frames
        self._latency_s = s.output_latency_ms / 1000.0
        ring.set_output_latency(self._latency_s)

        self._frame_samples = CAPTURE_RATE_HZ * s.frame_ms // 1000
        self._frames_done = 0
        self._periods_done = 0
        self._period_buf = np.zeros(self._period_frames, dtype=np.int16)
        keep_s = s.history_s if math.isfinite(s.history_s) else None
        self._speaker = _Tape(np.int16, 60 * self.speaker_rate_hz,
                              None if keep_s is None else round(keep_s * self.speaker_rate_hz))
        self._mic = _Tape(np.int16, 60 * CAPTURE_RATE_HZ,
                          None if keep_s is None else round(keep_s * CAPTURE_RATE_HZ))
        self._clips: list[PlacedClip] = []
        self._rng = np.random.default_rng(s.seed)
        self._noise_rms = 10.0 ** (s.noise_db / 20.0) if math.isfinite(s.noise_db) else 0.0
        self._echo_gain = 10.0 ** (s.echo_gain_db / 20.0)
        self._echo_delay = round(s.echo_delay_ms * CAPTURE_RATE_HZ / 1000.0)
        self._echo_ir = _echo_response(s.reverb_ms, np.random.default_rng(s.seed + 1))
        self._scheduled: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._mic_unplugged = False

    # ------------------------------------------------------------------ scene

    @property
    def now_s(self) -> float:
        """Virtual time: the end of the last capture frame."""
        return self._frames_done * self._frame_samples / CAPTURE_RATE_HZ

    @property
    def frame_ms(self) -> int:
        return self.settings.frame_ms

    def add_clip(self, pcm: np.ndarray, rate_hz: int, at_s: float, level_db: float) -> PlacedClip:
        """Place a user clip so the mic hears it from ``at_s``, its active part at ``level_db`` dBFS."""
        samples = np.asarray(pcm)
        if samples.dtype == np.int16:
            samples = samples.astype(np.float32) / 32768.0
        samples = samples.astype(np.float32, copy=False)
        if rate_hz != CAPTURE_RATE_HZ:
            samples = soxr.resample(samples, rate_hz, CAPTURE_RATE_HZ)
        active_rms = _active_rms(samples)
        if active_rms <= 0.0:
            raise ValueError("add_clip was given a silent clip; there is nothing to scale")
        gain_db = level_db - 20.0 * math.log10(active_rms)
        scaled = (samples * 10.0 ** (gain_db / 20.0)).astype(np.float32)
        clip = PlacedClip(at_s=at_s, samples=scaled, gain_db=gain_db)
        self._clips.append(clip)
        return clip

    def call_at(self, t_seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` at virtual time ``t_seconds``, as another thread would.

        It runs before the first speaker period handed over at or after that time,
        so a control such as ``ring.cut`` lands between two periods like a real call.
        """
        heapq.heappush(self._scheduled, (t_seconds, next(self._sequence), action))

    def unplug_mic(self) -> None:
        """From now on :meth:`step` raises :class:`AudioDeviceError` (the clock still runs)."""
        self._mic_unplugged = True
        log.info("virtual mic unplugged at %.3f s", self.now_s)

    def replug_mic(self) -> None:
        self._mic_unplugged = False
        log.info("virtual mic plugged back in at %.3f s", self.now_s)

    # ------------------------------------------------------------------ clock

    def step(self) -> AudioFrame:
        """Advance one capture frame: play the speaker periods due, return what the mic heard.

        While the mic is unplugged the speaker keeps playing, the mic recording gets
        zeros, and this raises :class:`AudioDeviceError` after advancing the clock.
        """
        start = self._frames_done * self._frame_samples
        stop = start + self._frame_samples
        frame_end_s = stop / CAPTURE_RATE_HZ
        while True:
            handover_s = self._periods_done * self._period_frames / self.speaker_rate_hz
            handover_s -= self._latency_s
            if handover_s >= frame_end_s:
                break
            self._run_scheduled(until_s=handover_s, inclusive=True)
            self._play_period()
        self._run_scheduled(until_s=frame_end_s, inclusive=False)
        self._frames_done += 1
        history_s = self.settings.history_s
        if self._clips and math.isfinite(history_s):
            forget_s = frame_end_s - history_s
            self._clips = [clip for clip in self._clips if clip.end_s > forget_s]
        if self._mic_unplugged:
            self._mic.append(np.zeros(self._frame_samples, dtype=np.int16))
            raise AudioDeviceError(
                "virtual mic unplugged: call VirtualRoom.replug_mic() to plug it back in"
            )
        pcm = self._mic_samples(start, stop)
        self._mic.append(pcm)
        return AudioFrame(pcm=pcm, t_seconds=start / CAPTURE_RATE_HZ)

    def advance(self, seconds: float) -> list[AudioFrame]:
        """Step until the clock has moved on by ``seconds``; the frames from a live mic."""
        frames = []
        target_s = self.now_s + seconds
        while self.now_s < target_s - 1e-9:
            try:
                frames.append(self.step())
            except AudioDeviceError:
                continue
        return frames

    def _run_scheduled(self, until_s: float, inclusive: bool) -> None:
        while self._scheduled and (
            self._scheduled[0][0] < until_s or (inclusive and self._scheduled[0][0] == until_s)
        ):
            _, _, action = heapq.heappop(self._scheduled)
            action()

    def _play_period(self) -> None:
        dac_time_s = self._periods_done * self._period_frames / self.speaker_rate_hz
        self.ring.read_into(self._period_buf, dac_time_s)
        self._periods_done += 1
        self._speaker.append(self._period_buf)

    def _speaker_at_capture_rate(self, start: int, stop: int) -> np.ndarray:
        """What the speaker played over capture samples [start, stop), as float at 16 kHz.

        A ring at another rate is resampled per window with a margin on each side
        (stateless soxr, so no streaming delay), aligned to the nearest 16 kHz sample.
        """
        if self.speaker_rate_hz == CAPTURE_RATE_HZ:
            return self._speaker.read(start, stop).astype(np.float32) / 32768.0
        ratio = self.speaker_rate_hz / CAPTURE_RATE_HZ
        first = math.floor((start - _RESAMPLE_MARGIN) * ratio)
        last = math.ceil((stop + _RESAMPLE_MARGIN) * ratio)
        window = self._speaker.read(first, last).astype(np.float32) / 32768.0
        resampled = soxr.resample(window, self.speaker_rate_hz, CAPTURE_RATE_HZ)
        offset = round(start - first / ratio)
        out = np.zeros(stop - start, dtype=np.float32)
        part = resampled[offset : offset + stop - start]
        out[: len(part)] = part
        return out

    def _mic_samples(self, start: int, stop: int) -> np.ndarray:
        mixed = np.zeros(stop - start, dtype=np.float32)
        for clip in self._clips:
            first = round(clip.at_s * CAPTURE_RATE_HZ)
            lo, hi = max(start, first), min(stop, first + len(clip.samples))
            if hi > lo:
                mixed[lo - start : hi - start] += clip.samples[lo - first : hi - first]
        if self._echo_gain > 0.0:
            taps = len(self._echo_ir)
            source = self._speaker_at_capture_rate(
                start - self._echo_delay - taps + 1, stop - self._echo_delay
            )
            if taps == 1:
                echo = source
            else:
                echo = np.convolve(source, self._echo_ir, mode="valid").astype(np.float32)
            mixed += self._echo_gain * echo
        if self._noise_rms > 0.0:
            mixed += self._rng.standard_normal(stop - start).astype(np.float32) * self._noise_rms
        return np.clip(np.rint(mixed * 32767.0), -32768, 32767).astype(np.int16)

    # ------------------------------------------------------------------ recordings

    def speaker_audio(self) -> np.ndarray:
        """Everything the speaker played (int16 at ``speaker_rate_hz``; sample i at i/rate s)."""
        return self._speaker.all()

    def mic_audio(self) -> np.ndarray:
        """Everything the mic captured (int16 at 16 kHz; zeros while unplugged)."""
        return self._mic.all()


def _echo_response(reverb_ms: float, rng: np.random.Generator) -> np.ndarray:
    """Impulse response of the echo path: the direct sound plus an exponential tail."""
    taps = round(reverb_ms * CAPTURE_RATE_HZ / 1000.0)
    if taps <= 1:
        return np.ones(1, dtype=np.float32)
    k = np.arange(taps, dtype=np.float64)
    decay = np.exp(-math.log(10.0 ** (_REVERB_DECAY_DB / 20.0)) * k / taps)
    tail = rng.standard_normal(taps) * decay
    tail[0] = 0.0
    tail *= math.sqrt(_REVERB_TAIL_ENERGY / float(np.sum(tail**2)))
    tail[0] = 1.0
    return tail.astype(np.float32)


def _active_rms(samples: np.ndarray) -> float:
    """RMS of the 10 ms blocks within ``_ACTIVE_RANGE_DB`` of the loudest block."""
    block = CAPTURE_RATE_HZ * _ACTIVE_BLOCK_MS // 1000
    usable = len(samples) - len(samples) % block
    if usable == 0:
        return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    power = np.mean(np.square(samples[:usable].reshape(-1, block), dtype=np.float64), axis=1)
    peak = float(power.max())
    if peak <= 0.0:
        return 0.0
    active = power[power >= peak * 10.0 ** (-_ACTIVE_RANGE_DB / 10.0)]
    return float(np.sqrt(active.mean()))
