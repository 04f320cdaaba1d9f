"""Seconds of audio fed to a recognizer, mapped onto the capture clock.

Recognizers report word times in seconds of audio they were fed. The capture clock
can jump: frames dropped by a full queue, or audio fed only around speech. So the
clock keeps anchors (samples fed so far, capture time of the next sample) wherever
the incoming frames' ``t_seconds`` do not continue the previous frame, and maps
every recognizer time through them. Every engine uses it (Vosk, pocketsphinx).
"""

from __future__ import annotations

import bisect

_GAP_TOLERANCE_S = 0.001
_MAX_ANCHORS = 256


class StreamClock:
    """Maps seconds of audio fed to a recognizer onto the capture clock."""

    def __init__(self, rate_hz: int) -> None:
        self._rate_hz = rate_hz
        self._fed_samples = 0
        self._anchor_fed: list[int] = []
        self._anchor_t: list[float] = []
        self.end_t_seconds = 0.0
        """Capture-clock time just after the last sample fed."""

    @property
    def fed_samples(self) -> int:
        """Samples fed since the clock was made."""
        return self._fed_samples

    def _anchor(self, t_seconds: float) -> None:
        if self._anchor_fed and self._anchor_fed[-1] == self._fed_samples:
            self._anchor_t[-1] = t_seconds
        else:
            self._anchor_fed.append(self._fed_samples)
            self._anchor_t.append(t_seconds)
            if len(self._anchor_fed) > _MAX_ANCHORS:
                del self._anchor_fed[: _MAX_ANCHORS // 2]
                del self._anchor_t[: _MAX_ANCHORS // 2]
        self.end_t_seconds = t_seconds

    def restart_at(self, t_seconds: float) -> None:
        """The next sample fed is at ``t_seconds``."""
        self._anchor(t_seconds)

    def feed(self, t_seconds: float, samples: int) -> None:
        """``samples`` fed, the first of them captured at ``t_seconds``."""
        if not self._anchor_fed or abs(t_seconds - self.end_t_seconds) > _GAP_TOLERANCE_S:
            self._anchor(t_seconds)
        self._fed_samples += samples
        self.end_t_seconds = t_seconds + samples / self._rate_hz

    def to_capture(self, fed_s: float) -> float:
        """The capture time of the audio ``fed_s`` seconds into what was fed."""
        fed = fed_s * self._rate_hz
        i = max(bisect.bisect_right(self._anchor_fed, fed + 0.5) - 1, 0)
        return self._anchor_t[i] + (fed - self._anchor_fed[i]) / self._rate_hz
