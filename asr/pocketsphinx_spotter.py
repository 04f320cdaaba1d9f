"""The pocketsphinx command spotter: keyphrase (kws) search for the command phrases.

Keyphrase search runs each phrase's HMM chain beside a free phone loop and reports a
phrase once its path scores within a threshold of the phone loop's best path; a
detection is never retracted.

Why kws and not a JSGF grammar with a garbage loop: both were measured in streaming
(any partial counts) on espeak-ng speech, the ten default phrases in five sentence
frames each and twelve sentences without a command, nine voices (en-us, its f2, f3,
m1, m3 and f4 variants, en-gb-x-rp, en-gb-scotland, en-029): 450 command items, 108
clean sentences.

=========================================  ========  ======  ===========  =====
search                                     commands  "stop"  false alarm  RTF
=========================================  ========  ======  ===========  =====
kws, the thresholds chosen here            133/450   33/45   3/108        0.022
kws, looser thresholds                     171/450   35/45   6/108        0.022
grammar, phone-loop garbage (weight 10)    182/450   19/45   18/108       0.044
grammar, phone-loop garbage (weight 1)     240/450   27/45   28/108       0.046
=========================================  ========  ======  ===========  =====

A grammar's partial hypotheses flicker between a command and garbage, and every
flicker is a false alarm downstream. A grammar whose garbage is 100 or 300 common
words (final results only, five voices) found 130/250 and 95/250 commands with 5/60
and 1/60 false alarms at RTF 0.06 and 0.10, needs a word list, and with
pocketsphinx's default ``bestpath`` its lattice made it slower than real time. kws
finds "stop", "cancel" and "wait" best, at half the CPU, and fails quietly: three
false alarms in 108 sentences (a wrongly stopped answer costs more than a command
left to the full recognizer). It hears "quiet", "enough" and "pause" badly.

A fixed threshold does not fit phrases of different lengths: the score margin a true
phrase reaches shrinks with every phone it has. The threshold is set per phrase from
its phone count (:func:`threshold_margin`), calibrated on that speech.

``kws_delay`` is 0: pocketsphinx otherwise holds a detection back 10 frames (100 ms)
before reporting it. The delay only postpones reporting (detections are never
withdrawn), so dropping it cost no hit and added no false alarm on the speech above,
and "stop" is reported about 150 ms sooner (``bargein perf``
``pocketsphinx_spotter_stop_ms_*``).

The spotter's decoder loads a dictionary of the command words only (scanned once
from the model's and written to a temporary file): it loads in about 20 ms and 6 MB
instead of the full dictionary's 0.2 s and 27 MB.
"""

from __future__ import annotations

import functools
import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bargein.asr.pocketsphinx_engine import PocketsphinxRecognizer, decoder_for
from bargein.asr.pocketsphinx_model import PocketsphinxModel, bundled_model
from bargein.asr.pronunciation import dictionary_lines

log = logging.getLogger(__name__)

MARGIN_BASE = 375
"""Score margin (pocketsphinx's scaled log units) a phrase of no phones would need."""
MARGIN_PER_PHONE = -120
"""Margin allowance per phone: longer phrases may trail the phone loop by more."""
KWS_DELAY_FRAMES = 0
"""Frames pocketsphinx holds a detection back before reporting it (its default is 10)."""
_LOG_BASE = 1.0001
_SCORE_SHIFT = 10
"""pocketsphinx's ``SENSCR_SHIFT``: kws compares thresholds shifted right by this."""


@functools.lru_cache(maxsize=4)
def dictionary_entries(dict_path: Path, words: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """The lines of ``dict_path`` for ``words`` (every pronunciation), as (token, phones)."""
    wanted = {w.lower() for w in words}
    return tuple((token, phones) for token, phones in dictionary_lines(dict_path)
                 if token.split("(", 1)[0] in wanted)


def threshold_margin(phones: int) -> int:
    """The score margin over the phone loop a phrase of ``phones`` phones must reach."""
    return MARGIN_BASE + MARGIN_PER_PHONE * phones


def kws_threshold(phones: int) -> float:
    """:func:`threshold_margin` as the probability-like number a kws file takes."""
    return math.exp(threshold_margin(phones) * (1 << _SCORE_SHIFT) * math.log(_LOG_BASE))


def make_pocketsphinx_spotter(
    phrases: Sequence[str],
    start_t_seconds: float = 0.0,
    *,
    model: PocketsphinxModel | None = None,
) -> PocketsphinxRecognizer | None:
    """A keyphrase recognizer for ``phrases`` emitting ``source="spotter"`` partials.

    Phrases with a word the dictionary lacks are dropped with one warning naming them;
    None (logged) when none is left. ``model`` None means the bundled en-us model.
    A multi-word phrase is reported as one word (kws times the phrase, not its words).
    """
    model = model or bundled_model()
    words = frozenset(w.lower() for p in phrases for w in p.split())
    entries = dictionary_entries(model.dict_path, words)
    pronunciations: dict[str, list[str]] = {}
    for token, phones in entries:
        pronunciations.setdefault(token.split("(", 1)[0], []).append(phones)
    kept = [p.lower() for p in phrases if all(w.lower() in pronunciations for w in p.split())]
    dropped = [p for p in phrases if p.lower() not in kept]
    if dropped:
        log.warning("command spotter: the dictionary does not know %s; dropped",
                    ", ".join(dropped))
    if not kept:
        log.warning("command spotter off: the dictionary knows none of %s", ", ".join(phrases))
        return None
    with tempfile.TemporaryDirectory(prefix="bargein-kws-") as tmp:
        dict_path = Path(tmp) / "commands.dict"
        dict_path.write_text("".join(f"{t} {ph}\n" for t, ph in entries), encoding="utf-8")
        kws_path = Path(tmp) / "commands.kws"
        lines = []
        for phrase in dict.fromkeys(kept):
            phones = sum(len(pronunciations[w][0].split()) for w in phrase.split())
            lines.append(f"{phrase} /{kws_threshold(phones):.3e}/\n")
        kws_path.write_text("".join(lines), encoding="utf-8")
        decoder = decoder_for(model, lm=None, kws=str(kws_path), dict=str(dict_path),
                              kws_delay=KWS_DELAY_FRAMES)
    return PocketsphinxRecognizer(decoder=decoder, source="spotter", emit_finals=False,
                                  start_t_seconds=start_t_seconds)
