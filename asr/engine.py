"""The seam every recognizer engine fits (Vosk, pocketsphinx): one streaming interface.

The worker, the daemon and the benchmark only speak :class:`Recognizer`; which engine
stands behind it is chosen once, from ``[asr] engine`` (see ``bargein.asr.engines``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from bargein.asr.results import Final, Partial
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

AsrEvent = Partial | Final

REPEAT_PARTIAL_S = 0.15
"""A hypothesis that holds is reported again after this much more decoded audio (once
per such stretch), so a listener can tell a word the decoder keeps as the audio goes on
from one it flickered through on its way to another."""


class Recognizer(Protocol):
    """A streaming recognizer fed 16 kHz mono int16 frames on one thread.

    ``accept`` and ``finish`` return the events the audio produced: a :class:`Partial`
    whenever the hypothesis changes, a :class:`Final` at each endpoint (a spotter,
    ``source == "spotter"``, emits Partials only). Word times are on the capture clock.
    """

    source: str
    """``"asr"`` (the full decoder), ``"spotter"`` (the command spotter) or ``"phrases"``
    (the phrase judge, which emits one Final per utterance)."""

    @property
    def t_seconds(self) -> float:
        """Capture-clock time just after the last sample fed."""
        ...

    def accept(self, frame: AudioFrame) -> list[AsrEvent]:
        """Decode one frame; refuse anything but 16 kHz mono int16."""
        ...

    def finish(self) -> list[AsrEvent]:
        """Flush the utterance in progress (end of input or of a turn)."""
        ...

    def reset(self, t_seconds: float) -> None:
        """Drop the utterance in progress; the next audio fed starts at ``t_seconds``."""
        ...

    def absorb(self, pcm: np.ndarray) -> None:
        """Decode 16 kHz mono int16 audio that reports nothing: a warm-up."""
        ...


def check_frame(frame: AudioFrame) -> None:
    """Raise ValueError unless ``frame`` is 16 kHz mono int16 (what the engines take)."""
    pcm = frame.pcm
    if frame.rate_hz != CAPTURE_RATE_HZ:
        raise ValueError(
            f"ASR takes {CAPTURE_RATE_HZ} Hz audio, got a frame at {frame.rate_hz} Hz; "
            f"resample it (soxr) before the recognizer"
        )
    if not isinstance(pcm, np.ndarray) or pcm.ndim != 1 or pcm.dtype != np.int16:
        shape = getattr(pcm, "shape", "?")
        dtype = getattr(pcm, "dtype", type(pcm).__name__)
        raise ValueError(
            f"ASR takes mono int16 frames of shape (samples,), got {dtype} {shape}; "
            f"mix down to one channel first"
        )
