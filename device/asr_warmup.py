"""The spoken clip that warms up a new Vosk recognizer (see :mod:`bargein.asr.worker`).

It is said by the appliance's own Piper voice at start: no recording ships with the
package and nothing is stored. The phrases are the short ones a person says to the
appliance most (the stop and wait words, a backchannel, a question), so the parts
of the decoding graph they pass through are built before anyone speaks.
"""

from __future__ import annotations

import numpy as np
import soxr

from bargein.core.frames import CAPTURE_RATE_HZ, to_int16
from bargein.tts.synth import iter_chunks
from bargein.tts.voice import Voice

WARM_UP_TEXT = "Stop. Wait, what was that? Okay, go on. What can you do for me today?"
_GAP_S = 0.3


def warm_up_pcm(voice: Voice, text: str = WARM_UP_TEXT) -> np.ndarray:
    """``text`` in ``voice``, as 16 kHz mono int16, sentences apart by a short pause."""
    gap = np.zeros(int(_GAP_S * CAPTURE_RATE_HZ), np.float32)
    parts = []
    for chunk in iter_chunks(voice, text):
        parts.append(soxr.resample(chunk.pcm.astype(np.float32), chunk.rate_hz, CAPTURE_RATE_HZ))
        parts.append(gap)
    return to_int16(np.concatenate(parts))
