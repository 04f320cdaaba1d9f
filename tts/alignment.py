"""Word spans from Piper's phoneme timings.

Piper reports how many samples each phoneme id occupies (the model's ``w_ceil``
durations × its hop of 256 samples; they sum exactly to the audio length, so
there is no offset to correct). The ids run ``^ _ p1 _ p2 _ ... $``: every
phoneme is followed by a pad id, and that pad is where the model puts the
transition into the next sound (the fade of a vowel, the release of a stop).
Words are the runs of phonemes between the ``' '`` phonemes and punctuation;
``^``/``$`` and punctuation are silence.

Where a word starts and ends inside its edge phonemes depends on the kind of
sound (:data:`START_SHARE`, :data:`END_SHARE`): a vowel starts in the pad
before it, an /s/ hisses from almost the start of the pad before it while a
weak /f/ becomes audible only inside its own time, a fricative's hiss runs to
the end of its pad, a nasal fades inside it. (The fitted word-end share of
the weak fricatives is the sibilants': no tuning phrase has a word ending in
one.) A word-final stop before a pause is the one case the durations
cannot decide: the voice sometimes releases it (a burst at the end of the
stop's time) and sometimes not (the word is silent from the closure on, up to
100 ms earlier). So for those stops only, the chunk's own audio is looked at
for a burst (a rise of :data:`BURST_RISE_DB` above the closure's level, louder
than :data:`BURST_FLOOR_DB` under the chunk's peak) and the word ends at the
closure when there is none. The shares and the burst test were fitted on
:data:`bargein.tts.boundary_check.TUNING_PHRASES` only; the accuracy is
measured on other phrases (see that module).

espeak does not always keep the text's words apart: it joins short function
words ("on the" → ``ɔnðə``) and can split one written word into several. So the
phoneme words are matched to the spoken words by a small dynamic programme over
their phonemes (each text word phonemized alone), allowing merges and splits. A
word that shares a phoneme word with others is cut at the phoneme where its own
phonemes end, or proportionally when that cannot be found, and marked
``approx``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from piper.voice import AudioChunk

from bargein.tts.normalise import SpokenWord
from bargein.tts.speech import WordSpan

_SILENCE = {"^", "$", "_"}
_PAUSES = set(".,;:!?$")
_MODIFIERS = set("ˈˌːˑ‿ʲ˞")
_STRESS = set("ˈˌ")
_STOPS = set("ptkbdɡgʔ")
_SIBILANTS = set("szʃʒ")
_FRICATIVES = set("fvθðhxç")
_SONORANTS = set("mnŋlɹrjwɾ")
# Moves of the word-level alignment: (text words, phoneme words) per step.
_MOVES = ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3), (1, 0), (0, 1))
_BAND_WORDS = 5
# Cuts inside a merged phoneme word: how much of the pad after a phoneme counts as it.
PAD_SHARE = 0.5
# Word start: the first phoneme's start plus this share of its own samples, or
# (negative) minus this share of the pad before it. Fitted on TUNING_PHRASES.
START_SHARE = {
    "stop": 0.0, "sibilant": -0.9, "fricative": 0.4, "sonorant": -0.1, "vowel": -0.7,
}
# Word end: the last phoneme's start plus this share of its samples and the pad after it.
END_SHARE = {
    "stop": 0.9, "stop_unreleased": 0.05, "sibilant": 1.0, "fricative": 1.0,
    "sonorant": 0.85, "vowel": 1.0,
}
# A burst: 5 ms energy rising this much above the lowest level since the stop
# began, and above this level under the chunk's loudest 5 ms.
BURST_RISE_DB = 6.0
BURST_FLOOR_DB = -50.0
_FRAME_S = 0.005
_HOP_S = 0.001


def sound_class(phoneme: str) -> str:
    """``stop``, ``sibilant``, ``fricative`` (the weak ones), ``sonorant`` or ``vowel``.

    Stress and length marks count as vowels: they stand before or after one.
    """
    if phoneme in _STOPS:
        return "stop"
    if phoneme in _SIBILANTS:
        return "sibilant"
    if phoneme in _FRICATIVES:
        return "fricative"
    if phoneme in _SONORANTS:
        return "sonorant"
    return "vowel"


def level_db(pcm: np.ndarray, rate_hz: int) -> tuple[np.ndarray, int, int]:
    """RMS of 5 ms frames every 1 ms in dB under the loudest frame; with frame and hop samples."""
    frame = max(1, int(rate_hz * _FRAME_S))
    hop = max(1, int(rate_hz * _HOP_S))
    if len(pcm) < frame:
        return np.zeros(0), frame, hop
    squares = np.concatenate([[0.0], np.cumsum(pcm.astype(np.float64) ** 2)])
    starts = np.arange(0, len(pcm) - frame + 1, hop)
    rms = np.sqrt((squares[starts + frame] - squares[starts]) / frame) + 1e-12
    return 20 * np.log10(rms / rms.max()), frame, hop


def _has_burst(level: np.ndarray, frame: int, hop: int, start: int, end: int) -> bool:
    lo = max(0, (start - frame // 2) // hop)
    hi = min(len(level), max(lo, (end - frame // 2) // hop) + 1)
    window = level[lo:hi]
    if len(window) == 0:
        return True  # too short to tell: keep the duration model's answer
    rise = window - np.minimum.accumulate(window)
    return bool(np.any((rise > BURST_RISE_DB) & (window > BURST_FLOOR_DB)))


@dataclass
class _Unit:
    """One phoneme (with its stress and length marks) and its samples."""

    symbol: str
    start: int
    end: int


@dataclass
class _PhonemeWord:
    units: list[_Unit]
    start: int
    end: int

    @property
    def key(self) -> str:
        return "".join(u.symbol for u in self.units)


@dataclass
class _Token:
    """One phoneme of the stream: its own samples and the pad after it."""

    phoneme: str
    start: int
    own_end: int
    pad_end: int

    @property
    def pad_before_next(self) -> int:
        return self.pad_end - self.own_end


def phoneme_key(phonemes: str) -> str:
    """Only the sounds of a phoneme string: no stress, length, spaces or punctuation."""
    return "".join(
        c for c in phonemes
        if c not in _MODIFIERS and not unicodedata.combining(c) and unicodedata.category(c)[0] == "L"
    )


def _is_sound(phoneme: str) -> bool:
    return unicodedata.category(phoneme[0])[0] == "L" or unicodedata.combining(phoneme[0]) != 0


def _tokens(chunk: AudioChunk, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    position = offset
    id_samples = chunk.phoneme_id_samples
    id_index = 0
    for alignment in chunk.phoneme_alignments or ():
        n = int(alignment.num_samples)
        n_ids = len(alignment.phoneme_ids)
        pad = 0
        if id_samples is not None and n_ids > 1:
            pad = int(id_samples[id_index + n_ids - 1])  # the pad id after every phoneme
        id_index += n_ids
        tokens.append(_Token(alignment.phoneme, position, position + n - pad, position + n))
        position += n
    return tokens


def _is_word_sound(phoneme: str) -> bool:
    return phoneme not in _SILENCE and _is_sound(phoneme)


def phoneme_words(chunks: Sequence[AudioChunk]) -> list[_PhonemeWord]:
    """The phoneme words of consecutive chunks, with sample spans from the first chunk's start."""
    words: list[_PhonemeWord] = []
    offset = 0
    for chunk in chunks:
        tokens = _tokens(chunk, offset)
        level: tuple[np.ndarray, int, int] | None = None
        k = 0
        while k < len(tokens):
            if not _is_word_sound(tokens[k].phoneme):
                k += 1
                continue
            first = k
            while k < len(tokens) and _is_word_sound(tokens[k].phoneme):
                k += 1
            run = tokens[first:k]
            units = _units(run)
            if not units:
                continue
            before = tokens[first - 1] if first > 0 else None
            after = tokens[k] if k < len(tokens) else None
            start = _word_start(run[0], before)
            last = run[-1]
            kind = sound_class(last.phoneme)
            if kind == "stop" and (after is None or after.phoneme in _PAUSES):
                if level is None:
                    level = level_db(chunk.audio_float_array, chunk.sample_rate)
                if not _has_burst(*level, last.start - offset, last.pad_end - offset):
                    kind = "stop_unreleased"
            end = last.start + round(END_SHARE[kind] * (last.pad_end - last.start))
            if words:
                start = max(start, words[-1].end)
            start = min(start, units[0].end)
            end = max(end, start, units[-1].start)
            units[0].start, units[-1].end = start, end
            words.append(_PhonemeWord(units, start, end))
        offset += len(chunk.audio_float_array)
    return words


def _word_start(first: _Token, before: _Token | None) -> int:
    share = START_SHARE[sound_class(first.phoneme)]
    if share >= 0:
        return first.start + round(share * (first.own_end - first.start))
    pad = before.pad_before_next if before is not None else 0
    return first.start + round(share * pad)


def _units(run: Sequence[_Token]) -> list[_Unit]:
    """The phonemes of one word; stress marks start the next unit, length marks extend the last."""
    units: list[_Unit] = []
    stress_start: int | None = None
    for token in run:
        end = token.own_end + round(PAD_SHARE * token.pad_before_next)
        if token.phoneme in _STRESS:
            stress_start = token.start if stress_start is None else stress_start
        elif (token.phoneme in _MODIFIERS or unicodedata.combining(token.phoneme[0])) and units:
            units[-1].end = end
        else:
            start = token.start if stress_start is None else stress_start
            units.append(_Unit(token.phoneme, start, end))
            stress_start = None
    return units


def align_words(
    words: Sequence[SpokenWord],
    chunks: Sequence[AudioChunk],
    word_phonemes: Callable[[str], str],
    offset_samples: int = 0,
) -> tuple[WordSpan, ...]:
    """The span of every spoken word, utterance-relative (``offset_samples`` added).

    Every word gets a span, in order, non-overlapping, inside the chunks' audio.
    """
    if not words:
        return ()
    total = sum(len(c.audio_float_array) for c in chunks)
    keys = [phoneme_key(word_phonemes(w.text)) for w in words]
    pwords = phoneme_words(chunks) if all(c.phoneme_alignments for c in chunks) else []
    if not pwords:
        spans = _proportional(keys, 0, total)
        return tuple(_span(w, s, e, True, offset_samples) for w, (s, e) in zip(words, spans))
    path = _word_path(keys, [p.key for p in pwords])
    result: list[tuple[int, int, bool]] = []
    pending_start: int | None = None
    for (i0, i1), (j0, j1) in path:
        if i1 == i0:  # phoneme word with no text word: belongs to the word before it
            if result:
                s, _, _ = result[-1]
                result[-1] = (s, pwords[j1 - 1].end, True)
            else:
                pending_start = pwords[j0].start
            continue
        if j1 == j0:  # text word espeak did not voice: an empty span where it stands
            at = result[-1][1] if result else (pending_start or pwords[0].start)
            result.append((at, at, True))
            continue
        start = pwords[j0].start if pending_start is None else pending_start
        pending_start = None
        if i1 - i0 == 1:
            result.append((start, pwords[j1 - 1].end, False))
        else:
            for s, e in _split_merged(keys[i0:i1], pwords[j0]):
                result.append((max(s, start), e, True))
    return tuple(
        _span(w, s, e, approx, offset_samples) for w, (s, e, approx) in zip(words, result)
    )


def _span(word: SpokenWord, start: int, end: int, approx: bool, offset: int) -> WordSpan:
    return WordSpan(word.text, offset + start, offset + end, word.char_start, word.char_end, approx)


def _proportional(keys: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    weights = [max(len(k), 1) for k in keys]
    total = sum(weights)
    spans, cumulative = [], 0
    for w in weights:
        s = start + (end - start) * cumulative // total
        cumulative += w
        spans.append((s, start + (end - start) * cumulative // total))
    return spans


def _split_merged(keys: Sequence[str], pword: _PhonemeWord) -> list[tuple[int, int]]:
    """Cut one phoneme word among several text words where each one's phonemes end."""
    source = "".join(keys)
    labels = [k for k, key in enumerate(keys) for _ in key]
    target = [u.symbol for u in pword.units]
    matched = _char_alignment(source, target)
    unit_labels: list[int] = []
    last = 0
    for t in range(len(target)):
        s = matched[t]
        label = labels[s] if s is not None else last
        last = max(last, label)
        unit_labels.append(last)
    counts = [unit_labels.count(k) for k in range(len(keys))]
    if 0 in counts:
        return _proportional(keys, pword.start, pword.end)
    spans = []
    for k in range(len(keys)):
        first = unit_labels.index(k)
        end_index = first + counts[k] - 1
        spans.append((pword.units[first].start, pword.units[end_index].end))
    return spans


def _levenshtein(a: str, b: str) -> int:
    if a == b:
        return 0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _char_alignment(source: str, target: Sequence[str]) -> list[int | None]:
    """For each target symbol, the index of the source symbol it aligns with (or None)."""
    n, m = len(source), len(target)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (source[i - 1] != target[j - 1]))
    matched: list[int | None] = [None] * m
    i, j = n, m
    while i > 0 and j > 0:
        if d[i][j] == d[i - 1][j - 1] + (source[i - 1] != target[j - 1]):
            matched[j - 1] = i - 1
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return matched


def _word_path(
    text_keys: Sequence[str], phoneme_keys: Sequence[str]
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The cheapest grouping of text words with phoneme words, as ((i0, i1), (j0, j1)) steps.

    A band around the diagonal keeps it linear in the sentence length.
    """
    n, m = len(text_keys), len(phoneme_keys)
    best: dict[tuple[int, int], tuple[float, tuple[int, int] | None]] = {(0, 0): (0.0, None)}
    for i in range(n + 1):
        centre = i * m / n if n else 0
        for j in range(max(0, int(centre) - _BAND_WORDS), min(m, int(centre) + _BAND_WORDS + 1) + 1):
            if (i, j) == (0, 0):
                continue
            choice: tuple[float, tuple[int, int] | None] | None = None
            for a, b in _MOVES:
                previous = best.get((i - a, j - b))
                if previous is None:
                    continue
                t = "".join(text_keys[i - a:i])
                p = "".join(phoneme_keys[j - b:j])
                cost = previous[0] + _levenshtein(t, p)
                if (a, b) != (1, 1):
                    cost += 0.5 * (a + b - 1)
                if choice is None or cost < choice[0]:
                    choice = (cost, (i - a, j - b))
            if choice is not None:
                best[(i, j)] = choice
    path = []
    cell = (n, m)
    while cell != (0, 0):
        previous = best[cell][1]
        assert previous is not None
        path.append(((previous[0], cell[0]), (previous[1], cell[1])))
        cell = previous
    path.reverse()
    return path
