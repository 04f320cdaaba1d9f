"""Measuring word-boundary accuracy against pauses found in the audio itself.

In connected speech the true boundary between two words is not observable, so
the reference is built where it is: in phrases whose words are separated by
commas Piper leaves a real pause, and the pause's edges are the true end of one
word and the true start of the next; the phrase's first onset and last offset
count too. The end of word N is compared with the start of the pause after it,
the start of word N+1 with the end of that pause.

The pause is the longest run of 5 ms frames (1 ms apart) quieter than
:data:`SILENCE_DB` under the phrase's loudest frame, searched from 150 ms
before the predicted end of word N to 150 ms after the predicted start of word
N+1. Piper's pauses sit at about -80 dB; the reference is -50 dB, not -40 dB,
because at -40 dB quiet parts of words are taken for pause: the hiss of word
edge /f/, /θ/, /h/ and the release burst of a final stop lie between -40 and
-50 dB ("Stop," bursts at -42 dB; "scarf" ends in an /f/ under -40 dB), which
made the reference, not the spans, wrong by 30 to 100 ms. The error against
the -40 dB reference is reported too (``ref40db``) so the choice is visible.

Honesty of the figures: the alignment's shares and burst test
(:mod:`bargein.tts.alignment`) were fitted on :data:`TUNING_PHRASES` only.
:data:`DEV_PHRASES` were used to compare a handful of variants (the reference
threshold, the burst test's settings, per-class versus single shares, and
sibilants apart from the weak fricatives). :data:`TEST_PHRASES` were written
after the last change, before the final shares were ever run on them, and are
only measured: ``bargein perf`` reports them. Piper's durations are random (noise_w), so each
phrase is synthesized more than once.
"""

from __future__ import annotations

import numpy as np

from bargein.tts.alignment import level_db
from bargein.tts.speech import SpeechChunk

SILENCE_DB = -50.0
SEARCH_MS = 150.0

TUNING_PHRASES = (
    "Apples, bananas, cherries, dates, figs.",
    "Monday, Tuesday, Wednesday, Thursday, Friday.",
    "Seven, eleven, nineteen, twenty, forty.",
    "Red, orange, yellow, green, blue, violet.",
    "Stop, wait, listen, think, speak.",
    "Paris, London, Tokyo, Sydney, Cairo.",
    "Music, lamps, windows, oven, kettle.",
    "Morning, evening, midnight, noon, dawn.",
)
DEV_PHRASES = (
    "Carpet, basket, pillow, blanket, mirror.",
    "Cloud, rain, thunder, snow, wind, frost.",
    "Pencil, paper, rubber, ruler, stapler.",
    "Horse, sheep, goat, rabbit, duck, mouse.",
    "Bread, butter, jam, honey, cheese, milk.",
    "Lemon, peach, grape, melon, plum, lime.",
    "Piano, guitar, drum, violin, flute.",
    "Kitchen, garden, attic, cellar, garage.",
    "Jacket, scarf, gloves, boots, hat.",
    "River, valley, forest, desert, island.",
    "Doctor, teacher, pilot, baker, farmer.",
    "Silver, copper, iron, nickel, zinc, gold.",
    # Measured once with the first version of the shares; its failures (word
    # initial /s/) led to the sibilant class, so it is development data now.
    "Tablet, laptop, speaker, cable, charger.",
    "Robin, sparrow, eagle, parrot, pigeon.",
    "Salad, noodles, rice, soup, toast.",
    "Hammer, wrench, drill, saw, chisel.",
    "Coffee, tea, cocoa, water, soda.",
    "Circle, square, triangle, oval, star.",
    "Wallet, keys, phone, ticket, umbrella.",
    "Spring, summer, autumn, winter, harvest.",
    "Father, mother, sister, brother, cousin.",
    "Rocket, planet, comet, asteroid, moon.",
    "Candle, lantern, torch, lamp, bulb.",
    "Bishop, knight, castle, pawn, queen, king.",
)
TEST_PHRASES = (
    "Ladder, bucket, shovel, rake, hose.",
    "Falcon, heron, pelican, swan, crow.",
    "Mango, papaya, kiwi, apricot, olive.",
    "Sofa, bench, stool, desk, shelf.",
    "Thimble, needle, button, ribbon, thread.",
    "Tiger, zebra, camel, monkey, panda.",
    "Pocket, sleeve, collar, zipper, belt.",
    "Bottle, bowl, cup, plate, fork, spoon.",
    "Harbor, bridge, tunnel, tower, market.",
    "Marble, granite, slate, chalk, sand.",
    "Sunset, sunrise, twilight, shadow, daylight.",
    "Hockey, tennis, soccer, boxing, golf.",
)


def boundary_errors_ms(chunk: SpeechChunk, silence_db: float = SILENCE_DB) -> list[float]:
    """Absolute errors (ms) of the word edges of one comma-separated phrase.

    The phrase's words must each be followed by a pause (a comma or the end).
    """
    rate = chunk.rate_hz
    level, frame, hop = level_db(chunk.pcm, rate)
    loud = level > silence_db

    def sample_of(i: int) -> int:
        return i * hop + frame // 2

    words = chunk.words
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
