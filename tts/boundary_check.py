"""Measuring word-boundary accuracy against pauses found in the audio itself.

In connected speech the true boundary between two words is not observable, so
the reference is built where it is: phrases whose words are separated by commas
make Piper leave a real pause, and the pause's edges (where the frame energy
falls below, and rises back above, -40 dB of the phrase's loudest frame) are the
true end of one word and the true start of the next; the phrase's first onset
and last offset count too. The error is the distance from each predicted word
edge to these reference edges.
"""

from __future__ import annotations

import numpy as np

from bargein.tts.speech import SpeechChunk

SILENCE_DB = -40.0
FRAME_MS = 5.0
HOP_MS = 1.0
SEARCH_MS = 150.0

PHRASES = (
    "Apples, bananas, cherries, dates, figs.",
    "Monday, Tuesday, Wednesday, Thursday, Friday.",
    "Seven, eleven, nineteen, twenty, forty.",
    "Red, orange, yellow, green, blue, violet.",
    "Stop, wait, listen, think, speak.",
    "Paris, London, Tokyo, Sydney, Cairo.",
    "Music, lamps, windows, oven, kettle.",
    "Morning, evening, midnight, noon, dawn.",
)


def boundary_errors_ms(chunk: SpeechChunk) -> list[float]:
    """Absolute errors (ms) of the word edges of one comma-separated phrase.

    The phrase's words must each be followed by a pause (a comma or the end).
    """
    rate = chunk.rate_hz
    frame = int(rate * FRAME_MS / 1000)
    hop = int(rate * HOP_MS / 1000)
    pcm = chunk.pcm.astype(np.float64)
    n = (len(pcm) - frame) // hop + 1
    energy = np.sqrt(np.mean(pcm[np.arange(frame)[None, :] + hop * np.arange(n)[:, None]] ** 2, axis=1))
    loud = energy > energy.max() * 10 ** (SILENCE_DB / 20)

    def sample_of(i: int) -> int:
        return i * hop + frame // 2

    words = [w for w in chunk.words]
    offset = chunk.offset_samples
    errors: list[int] = []
    onset = int(np.argmax(loud))
    offset_frame = len(loud) - 1 - int(np.argmax(loud[::-1]))
    errors.append(words[0].start_sample - offset - sample_of(onset))
    errors.append(words[-1].end_sample - offset - sample_of(offset_frame))
    search = int(rate * SEARCH_MS / 1000)
    for left, right in zip(words[:-1], words[1:]):
        lo = max(0, (left.end_sample - offset - search) // hop)
        hi = min(len(loud), (right.start_sample - offset + search) // hop)
        silent_start, silent_end = _longest_quiet_run(loud, lo, hi)
        errors.append(left.end_sample - offset - sample_of(silent_start))
        errors.append(right.start_sample - offset - sample_of(silent_end))
    return [abs(e) * 1000.0 / rate for e in errors]


def _longest_quiet_run(loud: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    best = (lo, lo)
    i = lo
    while i < hi:
        if loud[i]:
            i += 1
            continue
        j = i
        while j < hi and not loud[j]:
            j += 1
        if j - i > best[1] - best[0]:
            best = (i, j)
        i = j
    return best
