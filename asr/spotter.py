"""The command spotter: a second recognizer that only knows the command phrases.

A Vosk grammar shrinks the search to a handful of phrases plus an unknown-word
token, so the spotter decodes far faster than the full graph and commits to a word
sooner. Vosk silently drops grammar words missing from the model; here each phrase
is checked against the model's vocabulary first (matching the model's letter case)
and the dropped ones are named in the log.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import vosk

from bargein.asr.recognizer import StreamingRecognizer
from bargein.asr.settings import parse_phrases
from bargein.asr.vocabulary import model_vocabulary

__all__ = ["known_phrases", "make_spotter", "parse_phrases", "spotter_grammar"]

log = logging.getLogger(__name__)

_UNK_TOKENS = ("[unk]", "<unk>", "<UNK>")


@functools.lru_cache(maxsize=4)
def _vocabulary(model_dir: Path) -> frozenset[str]:
    return model_vocabulary(model_dir)


def _in_vocabulary(word: str, vocabulary: frozenset[str]) -> str | None:
    for form in (word, word.lower(), word.upper()):
        if form in vocabulary:
            return form
    return None


def known_phrases(model_dir: Path, phrases: Sequence[str]) -> list[str] | None:
    """The phrases whose every word the model at ``model_dir`` knows (any letter case);
    None when the model does not say what it knows."""
    vocabulary = _vocabulary(Path(model_dir).resolve())
    if not vocabulary:
        return None
    return [p for p in phrases if all(_in_vocabulary(w, vocabulary) for w in p.split())]


def spotter_grammar(
    phrases: Sequence[str], vocabulary: frozenset[str]
) -> tuple[list[str], dict[str, str], frozenset[str]]:
    """Grammar phrases in the model's spelling, the map back to ours, and the unk tokens.

    An empty ``vocabulary`` (the model does not say) keeps the phrases as they are.
    """
    if not vocabulary:
        return [*phrases, "[unk]"], {}, frozenset({"[unk]"})
    grammar: list[str] = []
    rename: dict[str, str] = {}
    dropped: list[str] = []
    for phrase in phrases:
        forms = [_in_vocabulary(w, vocabulary) for w in phrase.split()]
        if None in forms:
            dropped.append(phrase)
            continue
        grammar.append(" ".join(f for f in forms if f))
        rename.update({f: w for f, w in zip(forms, phrase.split()) if f and f != w})
    if dropped:
        log.warning("command spotter: the model does not know %s; dropped", ", ".join(dropped))
    unk = frozenset(t for t in _UNK_TOKENS if t in vocabulary)
    grammar.extend(sorted(unk))
    return grammar, rename, unk


def make_spotter(
    model: vosk.Model, model_dir: Path, phrases: Sequence[str], start_t_seconds: float = 0.0
) -> StreamingRecognizer | None:
    """A grammar recognizer for ``phrases`` emitting ``source="spotter"`` partials.

    Returns None (and logs why) when the model knows none of the phrases. Partials
    carry no word times (``SetPartialWords`` costs the spotter its speed); the result at
    an endpoint does, and that is how the machine tells the spotter's settled result from
    an open hypothesis the next one may take back (``Hearing.hear_spotted``).
    """
    grammar, rename, unk = spotter_grammar(phrases, _vocabulary(Path(model_dir).resolve()))
    if not [g for g in grammar if g not in unk]:
        log.warning("command spotter off: the model knows none of %s", ", ".join(phrases))
        return None
    return StreamingRecognizer(
        model,
        grammar=grammar,
        partial_words=False,
        source="spotter",
        emit_finals=False,
        rename=rename,
        ignore_words=unk,
        start_t_seconds=start_t_seconds,
    )
