"""Building the configured recognizer engine: Vosk or pocketsphinx, chosen once.

Both engines speak :class:`~bargein.asr.engine.Recognizer`. The recognizers come as
factories: the worker renews the main one (a fresh one every
``renew_after_utterances``), and the benchmark starts every run with fresh ones
(pocketsphinx's running cepstral mean and Vosk's speaker adaptation would otherwise
carry one run into the next). The phrase judge (pocketsphinx only, for now: Vosk has
no judge yet) is built only when the caller passes the phrase pack's phrases: asr does
not import agent, where the phrase book lives. Each engine's modules are imported only
when it is chosen, so a pocketsphinx appliance never loads Vosk's library, and the
other way round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bargein.asr.engine import Recognizer
from bargein.asr.settings import AsrSettings, parse_phrases
from bargein.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engines:
    """The configured engine's recognizers."""

    name: str
    """``engine:model``, e.g. ``"vosk:vosk-model-small-en-us-0.15"``, ``"pocketsphinx:en-us"``."""
    main: Callable[[], Recognizer]
    """Builds a fresh main recognizer (``source="asr"``)."""
    spotter: Callable[[], Recognizer] | None
    """Builds a command spotter (``source="spotter"``); None when off or it knows no phrase."""
    judge: Callable[[], Recognizer] | None = None
    """Builds a phrase judge (``source="phrases"``); None when off, when no phrases were
    given, or for an engine without one (Vosk)."""


def build_recognizers(settings: AsrSettings, state_dir: str | Path,
                      phrases: Sequence[str] = ()) -> Engines:
    """Check and load the ``[asr]`` engine's model; raise ModelMissingError if it cannot.

    ``phrases``: the phrase pack's phrases (``PhraseBook.phrase_texts()``) for the phrase
    judge, built when ``[asr] phrase_judge`` is on and the engine has one.
    """
    if settings.engine == "pocketsphinx":
        return _pocketsphinx(settings, phrases)
    if settings.engine == "vosk":
        return _vosk(settings, state_dir)
    raise ConfigError(f"[asr] engine: {settings.engine!r} is not allowed; use one of 'vosk', "
                      f"'pocketsphinx'")


def _vosk(settings: AsrSettings, state_dir: str | Path) -> Engines:
    from bargein.asr.model import load_model, model_dir_from
    from bargein.asr.recognizer import StreamingRecognizer
    from bargein.asr.spotter import make_spotter

    model_dir = model_dir_from(settings, state_dir)
    model = load_model(model_dir)

    def main() -> Recognizer:
        return StreamingRecognizer(model, partial_words=settings.partial_words)

    phrases = parse_phrases(settings.command_phrases)

    def spotter() -> Recognizer:
        built = make_spotter(model, model_dir, phrases)
        assert built is not None  # checked below, once
        return built

    knows_phrases = settings.command_spotter and make_spotter(model, model_dir, phrases) is not None
    return Engines(f"vosk:{model_dir.name}", main, spotter if knows_phrases else None)


def _pocketsphinx(settings: AsrSettings, judge_phrases: Sequence[str]) -> Engines:
    from bargein.asr.pocketsphinx_engine import PocketsphinxRecognizer
    from bargein.asr.pocketsphinx_judge import make_pocketsphinx_judge
    from bargein.asr.pocketsphinx_model import model_from
    from bargein.asr.pocketsphinx_spotter import make_pocketsphinx_spotter

    model = model_from(settings.model)

    def main() -> Recognizer:
        return PocketsphinxRecognizer(model)

    phrases = parse_phrases(settings.command_phrases)

    def spotter() -> Recognizer:
        built = make_pocketsphinx_spotter(phrases, model=model)
        assert built is not None  # checked below, once
        return built

    knows_phrases = (settings.command_spotter
                     and make_pocketsphinx_spotter(phrases, model=model) is not None)

    def judge() -> Recognizer:
        built = make_pocketsphinx_judge(judge_phrases, model=model)
        assert built is not None  # checked below, once
        return built

    judging = (settings.phrase_judge and bool(judge_phrases)
               and make_pocketsphinx_judge(judge_phrases, model=model) is not None)
    return Engines(f"pocketsphinx:{model.name}", main, spotter if knows_phrases else None,
                   judge if judging else None)
