"""Which recognizer a virtual-room run hears with: the choice, and building it.

``bargein bench``, ``simulate`` and ``demo`` take ``--asr oracle | pocketsphinx |
vosk`` (default ``auto``: Vosk where an English model is installed, else
pocketsphinx), ``--model``, ``--cpu-scale`` and ``--decode-cost``. A real engine
runs with its command spotter and (pocketsphinx) its phrase judge, listening for the
phrase book's phrases, on the virtual clock
(:class:`~bargein.bench.virtual_asr.VirtualAsrWorker`), as the daemon's worker
runs them on the device; the oracle releases the scenario's own words a fixed
latency after each ends, to judge the state machine alone.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bargein.asr.results import Final, Partial
from bargein.bench.oracle import OracleRecognizer
from bargein.bench.virtual_asr import DECODE_COST_MODES, DecodeCost, VirtualAsrWorker
from bargein.core.errors import ConfigError
from bargein.device.pipeline import NoRecognition, Recognition

ASR_CHOICES = ("auto", "oracle", "pocketsphinx", "vosk")


class OracleRecognition(NoRecognition):
    """The oracle behind the pipeline's seam: ignores audio, releases the scenario's words."""

    def __init__(self, oracle: OracleRecognizer) -> None:
        self.oracle = oracle

    def poll(self, now_s: float) -> list[Partial | Final]:
        return self.oracle.poll(now_s)


def english_model_dir() -> Path | None:
    """The English Vosk model, if one is installed where the appliance looks for it."""
    from bargein.asr.model import missing_parts, model_dir_from
    from bargein.asr.settings import AsrSettings
    from bargein.device.config import load_config

    config = load_config()
    path = model_dir_from(AsrSettings(model=config.asr.model), config.events.state_dir)
    return path if not missing_parts(path) else None


@dataclass(frozen=True)
class AsrChoice:
    """Which recognizer a run hears with, and what its decoding costs on the virtual clock.

    ``engine``: ``"auto"`` (Vosk where an English model is installed, else
    pocketsphinx), ``"oracle"``, ``"pocketsphinx"`` or ``"vosk"``; ``model``: the
    engine's model directory ("" = its default: the bundled en-us model for
    pocketsphinx, the installed English model for Vosk).
    """

    engine: str = "auto"
    model: str = ""
    cpu_scale: float = 1.0
    decode_cost: str = "profile"

    def __post_init__(self) -> None:
        if self.engine not in ASR_CHOICES:
            raise ValueError(f"unknown recognizer {self.engine!r}; use one of "
                             f"{', '.join(ASR_CHOICES)}")

    def resolved(self) -> AsrChoice:
        """``auto`` made concrete for this machine."""
        if self.engine != "auto":
            return self
        english = english_model_dir()
        if english is not None:
            return dataclasses.replace(self, engine="vosk", model=str(english))
        return dataclasses.replace(self, engine="pocketsphinx")


def recognition_for(choice: AsrChoice, oracle: OracleRecognizer,
                    language: str = "en") -> tuple[Recognition, str]:
    """The recognition a run uses and its name for every output ("oracle",
    "pocketsphinx:en-us (with spotter, with phrase judge, decode cost profile, cpu x1)",
    ...); its spotter listens for ``language``'s phrase pack. A language other than
    English needs ``--asr vosk --model`` (its model) or the oracle: the default engines
    hear English, and a Korean run must never be heard in English."""
    from bargein.asr.settings import AsrSettings

    if language != "en" and choice.engine not in ("oracle", "vosk"):
        raise ConfigError(f"a {language!r} scenario needs --asr vosk --model DIR (a {language!r} "
                          f"Vosk model) or --asr oracle; --asr {choice.engine} hears English")
    if language != "en" and choice.engine == "vosk" and not choice.model:
        raise ConfigError(f"a {language!r} scenario needs --model DIR, its {language!r} Vosk "
                          "model (the default is the English one)")
    choice = choice.resolved()
    if choice.engine == "oracle":
        return OracleRecognition(oracle), f"oracle ({oracle.latency_s * 1000:.0f} ms after each word)"
    engines = _engines(choice.engine, choice.model, language)
    cost = DecodeCost(engines.name, choice.decode_cost, choice.cpu_scale)
    recognizers = [engines.main()] + ([engines.spotter()] if engines.spotter else [])
    recognizers += [engines.judge()] if engines.judge else []
    spotter = "with spotter" if engines.spotter else "no spotter"
    judge = ", with phrase judge" if engines.judge else ""
    worker = VirtualAsrWorker(recognizers, cost, queue_frames=AsrSettings().queue_frames)
    return worker, f"{engines.name} ({spotter}{judge}, {cost.describe()})"


_ENGINES: dict[tuple[str, str, str], object] = {}


def _engines(engine: str, model: str, language: str):  # noqa: ANN202 - bargein.asr.engines.Engines
    """The engine's recognizer factories, built once per process (models load slowly);
    the spotter and the phrase judge listen for ``language``'s phrase book."""
    from bargein.agent.classifier import PhraseBook
    from bargein.asr.engines import build_recognizers
    from bargein.asr.settings import AsrSettings
    from bargein.device.assemble import asr_for_language
    from bargein.device.config import load_config

    key = (engine, model, language)
    if key not in _ENGINES:
        config = load_config()
        settings = asr_for_language(AsrSettings(engine=engine, model=model), language)
        phrases = PhraseBook.load(language).phrase_texts()
        _ENGINES[key] = build_recognizers(settings, config.events.state_dir, phrases)
    return _ENGINES[key]


def add_asr_arguments(parser: argparse.ArgumentParser) -> None:
    """The recognition options every virtual-room command shares."""
    parser.add_argument("--asr", choices=ASR_CHOICES, default="auto",
                        help="recognizer: auto (Vosk where an English model is installed, "
                             "else pocketsphinx), oracle (the scenario's own words), "
                             "pocketsphinx or vosk")
    parser.add_argument("--model", default="",
                        help="the engine's model directory (default: its English model)")
    parser.add_argument("--cpu-scale", type=float, default=1.0,
                        help="decode time on the virtual clock x this (4: a Raspberry Pi 4 core)")
    parser.add_argument("--decode-cost", choices=DECODE_COST_MODES, default="profile",
                        help="profile: each engine's calibrated CPU cost (repeatable); "
                             "measured: the CPU time each call took (not repeatable)")
    parser.add_argument("--asr-latency-ms", type=float, default=150.0,
                        help="oracle only: delay from a word's end to its partial")


def asr_choice(args: argparse.Namespace) -> AsrChoice:
    """The :class:`AsrChoice` the options ask for; a bad combination raises ConfigError."""
    if args.model and args.asr in ("auto", "oracle"):
        raise ConfigError(f"--model needs --asr pocketsphinx or vosk (not {args.asr})")
    if not 0.05 <= args.cpu_scale <= 100:
        raise ConfigError(f"--cpu-scale must be between 0.05 and 100, got {args.cpu_scale}")
    return AsrChoice(args.asr, args.model, args.cpu_scale, args.decode_cost)
