"""The echo reference: what the speaker played, on the capture clock, at 16 kHz.

:class:`EchoReference` is the playback ring's reference tap
(:meth:`PlaybackRing.set_reference_tap`). On the device thread, :meth:`write`
copies each period the speaker plays, exactly as it went to the DAC (after fade
and duck), with the capture-clock time its first sample reaches the speaker, into
a preallocated ring; nothing is allocated and the lock guards only two integers.

On the capture side, :meth:`reference_for` answers "which speaker samples reach
the mic during this capture frame, given a speaker-to-mic delay": it places the
remembered periods by their DAC times on a window ``delay_s`` earlier than the
frame (so an underrun or a clock jump leaves silence, not misaligned audio) and
resamples the window to 16 kHz when the speaker runs at another rate.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import soxr

from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

_RESAMPLE_MARGIN = 64
"""Capture samples of context on each side of a window that is resampled."""


class EchoReference:
    """A ring of played speaker periods with their DAC times (one writer, one reader)."""

    def __init__(
        self,
        speaker_rate_hz: int,
        period_frames: int,
        history_s: float = 3.0,
        nominal_delay_s: float = 0.0,
    ) -> None:
        if speaker_rate_hz <= 0 or period_frames <= 0 or history_s <= 0:
            raise ValueError(
                f"EchoReference needs positive speaker_rate_hz, period_frames and history_s, "
                f"got {speaker_rate_hz}, {period_frames}, {history_s}"
            )
        self.speaker_rate_hz = int(speaker_rate_hz)
        self.period_frames = int(period_frames)
        self.nominal_delay_s = float(nominal_delay_s)
        """Speaker-to-mic delay from the devices' reported latencies (a starting point)."""
        self._periods = max(8, math.ceil(history_s * speaker_rate_hz / period_frames))
        self._pcm = np.zeros((self._periods, self.period_frames), dtype=np.int16)
        self._n = np.zeros(self._periods, dtype=np.int64)
        self._dac_s = np.zeros(self._periods, dtype=np.float64)
        self._count = 0
        self._lock = threading.Lock()
        self._scale = np.float32(1.0 / 32768.0)

    # ------------------------------------------------------------------ device thread

    def write(self, period: np.ndarray, dac_time_s: float) -> None:
        """One period as played (int16), ``period[0]`` reaching the speaker at ``dac_time_s``.

        Real-time path: copies into preallocated memory, no allocation, no logging.
        """
        slot = self._count % self._periods
        n = min(period.shape[0], self.period_frames)
        np.copyto(self._pcm[slot, :n], period[:n])
        with self._lock:
            self._n[slot] = n
            self._dac_s[slot] = dac_time_s
            self._count += 1

    # ------------------------------------------------------------------ capture side

    def reference_for(self, frame: AudioFrame, delay_s: float) -> np.ndarray:
        """The speaker samples that reach the mic during ``frame`` (float32 at 16 kHz).

        Sample ``i`` of the answer was played at ``frame.t_seconds + i / 16000 - delay_s``;
        times the speaker played nothing (before the first period, in a gap, or not
        yet handed over) read as silence.
        """
        return self.played_between(frame.t_seconds - delay_s, len(frame.pcm))

    def played_between(self, start_s: float, samples: int) -> np.ndarray:
        """``samples`` 16 kHz samples of speaker output starting at speaker time ``start_s``."""
        if self.speaker_rate_hz == CAPTURE_RATE_HZ:
            return self._window(start_s, samples)
        ratio = self.speaker_rate_hz / CAPTURE_RATE_HZ
        margin_s = _RESAMPLE_MARGIN / CAPTURE_RATE_HZ
        window_n = math.ceil((samples + 2 * _RESAMPLE_MARGIN) * ratio)
        window = self._window(start_s - margin_s, window_n)
        resampled = soxr.resample(window, self.speaker_rate_hz, CAPTURE_RATE_HZ)
        out = np.zeros(samples, dtype=np.float32)
        part = resampled[_RESAMPLE_MARGIN : _RESAMPLE_MARGIN + samples]
        out[: len(part)] = part
        return out

    def latest_dac_s(self) -> float | None:
        """Speaker time of the end of the last period written, or ``None`` before any."""
        with self._lock:
            if self._count == 0:
                return None
            slot = (self._count - 1) % self._periods
            return float(self._dac_s[slot] + self._n[slot] / self.speaker_rate_hz)

    def _window(self, start_s: float, n_samples: int) -> np.ndarray:
        """Speaker-rate samples over [start_s, start_s + n/rate), periods placed by DAC time."""
        rate = self.speaker_rate_hz
        out = np.zeros(n_samples, dtype=np.float32)
        end_s = start_s + n_samples / rate
        with self._lock:
            count = self._count
        oldest = max(0, count - self._periods + 1)  # the slot being overwritten is skipped
        for k in range(count - 1, oldest - 1, -1):
            slot = k % self._periods
            n = int(self._n[slot])
            dac_s = float(self._dac_s[slot])
            if dac_s >= end_s:
                continue
            if dac_s + n / rate <= start_s:
                break
            offset = round((dac_s - start_s) * rate)
            lo, hi = max(0, offset), min(n_samples, offset + n)
            if hi > lo:
                np.multiply(self._pcm[slot, lo - offset : hi - offset], self._scale, out=out[lo:hi])
        return out
