"""Word spans from Piper's phoneme timings.

Piper reports how many samples each phoneme occupies. Words are the runs of
phonemes between the ``' '`` phonemes and punctuation; the leading ``^`` and
trailing ``$`` are silence. espeak does not always keep the text's words apart:
it joins short function words ("on the" → ``ɔnðə``) and can split one written
word into several. So the phoneme words are matched to the spoken words by a
small dynamic programme over their phonemes (each text word phonemized alone),
allowing merges and splits. A word that shares a phoneme word with others is
cut at the phoneme where its own phonemes end, or proportionally when that
cannot be found, and marked ``approx``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from piper.voice import AudioChunk

from bargein.tts.normalise import SpokenWord
from bargein.tts.speech import WordSpan

_SILENCE = {"^", "$", "_"}
_MODIFIERS = set("ˈˌːˑ‿ʲ˞")
_STRESS = set("ˈˌ")
# Moves of the word-level alignment: (text words, phoneme words) per step.
_MOVES = ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3), (1, 0), (0, 1))
_BAND_WORDS = 5
# How much of the pad after a phoneme counts as that phoneme (the rest is gap).
PAD_SHARE = 0.5


@dataclass
class _Unit:
    """One phoneme (with its stress and length marks) and its samples."""

    symbol: str
    start: int
    end: int


@dataclass
class _PhonemeWord:
    units: list[_Unit]

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end

    @property
    def key(self) -> str:
        return "".join(u.symbol for u in self.units)


def phoneme_key(phonemes: str) -> str:
    """Only the sounds of a phoneme string: no stress, length, spaces or punctuation."""
    return "".join(
        c for c in phonemes
        if c not in _MODIFIERS and not unicodedata.combining(c) and unicodedata.category(c)[0] == "L"
    )


def _is_sound(phoneme: str) -> bool:
    return unicodedata.category(phoneme[0])[0] == "L" or unicodedata.combining(phoneme[0]) != 0


def phoneme_words(chunks: Sequence[AudioChunk]) -> list[_PhonemeWord]:
    """The phoneme words of consecutive chunks, with sample spans from the first chunk's start."""
    words: list[_PhonemeWord] = []
    offset = 0
    for chunk in chunks:
        current: list[_Unit] = []
        stress_start: int | None = None
        position = offset
        id_samples = chunk.phoneme_id_samples
        id_index = 0
        for alignment in chunk.phoneme_alignments or ():
            phoneme, n = alignment.phoneme, int(alignment.num_samples)
            start, end = position, position + n
            position = end
            n_ids = len(alignment.phoneme_ids)
            if id_samples is not None and n_ids > 1 and phoneme not in _SILENCE:
                # The last id is the pad the model puts after every phoneme: most of
                # it is the fade out of the sound, not the sound itself.
                pad = int(id_samples[id_index + n_ids - 1])
                end -= int(pad * (1.0 - PAD_SHARE))
            id_index += n_ids
            if phoneme in _SILENCE or not _is_sound(phoneme):
                if current:
                    words.append(_PhonemeWord(current))
                current, stress_start = [], None
            elif phoneme in _STRESS:
                stress_start = start if stress_start is None else stress_start
            elif (phoneme in _MODIFIERS or unicodedata.combining(phoneme[0])) and current:
                current[-1].end = end
            else:
                unit_start = start if stress_start is None else stress_start
                current.append(_Unit(phoneme, unit_start, end))
                stress_start = None
        if current:
            words.append(_PhonemeWord(current))
        offset += len(chunk.audio_float_array)
    return words


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
