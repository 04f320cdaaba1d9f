"""Speaker-to-mic delay, measured from the audio itself.

The configured or device-reported latency can be wrong by tens of milliseconds
(USB converters, resampling in ALSA plugins). :class:`DelayEstimator` keeps the
last few seconds of the mic and of the speaker reference on the same clock (the
reference taken with zero delay) and, while the speaker is playing, cross-
correlates them with GCC-PHAT (phase transform: a whitened cross-spectrum, so the
peak is sharp for speech and the room's colouring does not move it). A peak that
stands clearly above the rest of the correlation and repeats on the next update
becomes the new :attr:`delay_s`.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from bargein.core.frames import CAPTURE_RATE_HZ

log = logging.getLogger(__name__)

_MIN_PEAK_RATIO = 6.0
"""The correlation peak must be this many times the RMS of the other lags."""
_AGREE_S = 0.002
"""Two successive estimates this close confirm each other."""
_MIN_ACTIVE_FRACTION = 0.3
"""Share of the window the speaker must have played something audible for an update."""
_ACTIVE_DBFS = -50.0


class DelayEstimator:
    """GCC-PHAT of mic against reference over a sliding window; one update per ``update_s``."""

    def __init__(
        self,
        max_delay_s: float = 0.4,
        window_s: float = 3.0,
        update_s: float = 1.0,
        rate_hz: int = CAPTURE_RATE_HZ,
    ) -> None:
        if not 0.0 < max_delay_s < window_s:
            raise ValueError(f"max_delay_s must be in (0, window_s), got {max_delay_s}, {window_s}")
        self.rate_hz = rate_hz
        self.max_lag = round(max_delay_s * rate_hz)
        self.window = round(window_s * rate_hz)
        self.update_samples = round(update_s * rate_hz)
        self._fft_n = 1 << math.ceil(math.log2(self.window + self.max_lag))
        self._mic = np.zeros(self.window, dtype=np.float32)
        self._ref = np.zeros(self.window, dtype=np.float32)
        self._filled = 0
        self._since_update = 0
        self._candidate_s: float | None = None
        self.delay_s: float | None = None
        """The confirmed delay, or ``None`` until two updates agree."""
        self.last_peak_ratio = 0.0

    def add(self, mic_pcm: np.ndarray, ref_zero_delay: np.ndarray) -> float | None:
        """Append one frame (mic int16, reference float32 played at the same times).

        Returns the new delay when this frame confirmed a changed estimate, else ``None``.
        """
        n = len(mic_pcm)
        self._mic = np.roll(self._mic, -n)
        self._ref = np.roll(self._ref, -n)
        self._mic[-n:] = mic_pcm.astype(np.float32) / 32768.0
        self._ref[-n:] = ref_zero_delay
        self._filled = min(self.window, self._filled + n)
        self._since_update += n
        if self._filled < self.window or self._since_update < self.update_samples:
            return None
        self._since_update = 0
        if not self._speaker_active():
            return None
        estimate = self.estimate()
        if estimate is None:
            self._candidate_s = None
            return None
        confirmed = (
            self._candidate_s is not None and abs(estimate - self._candidate_s) <= _AGREE_S
        )
        self._candidate_s = estimate
        if confirmed and (self.delay_s is None or abs(estimate - self.delay_s) > _AGREE_S):
            log.info(
                "speaker-to-mic delay measured: %.1f ms (peak %.1f x the rest)",
                estimate * 1000.0, self.last_peak_ratio,
            )
            self.delay_s = estimate
            return estimate
        return None

    def _speaker_active(self) -> bool:
        block = self.rate_hz // 100
        usable = self.window - self.window % block
        power = np.mean(np.square(self._ref[:usable].reshape(-1, block)), axis=1)
        active = power > 10.0 ** (_ACTIVE_DBFS / 10.0)
        return float(np.mean(active)) >= _MIN_ACTIVE_FRACTION

    def estimate(self) -> float | None:
        """The delay at the GCC-PHAT peak of the current window, if the peak is clear."""
        spec_mic = np.fft.rfft(self._mic, self._fft_n)
        spec_ref = np.fft.rfft(self._ref, self._fft_n)
        cross = spec_mic * np.conj(spec_ref)
        magnitude = np.abs(cross)
        cross /= magnitude + 1e-3 * float(np.max(magnitude)) + 1e-20
        corr = np.fft.irfft(cross, self._fft_n)[: self.max_lag + 1]
        lag = int(np.argmax(corr))
        peak = float(corr[lag])
        guard = max(1, self.rate_hz // 1000)
        rest = np.concatenate((corr[: max(0, lag - guard)], corr[lag + guard + 1 :]))
        rest_rms = float(np.sqrt(np.mean(np.square(rest)))) if len(rest) else 0.0
        self.last_peak_ratio = peak / rest_rms if rest_rms > 0.0 else math.inf
        if peak <= 0.0 or self.last_peak_ratio < _MIN_PEAK_RATIO:
            return None
        return lag / self.rate_hz
