"""Finding and checking a pocketsphinx model: acoustic model, language model, dictionary.

``[asr] model`` empty means the US-English model bundled in the pocketsphinx wheel
(nothing to download). A directory given there must hold the three parts the way
CMU Sphinx models ship: an acoustic model directory (``mdef``, ``means``, ...), an
n-gram language model (``*.lm.bin``, ``*.lm`` or ``*.arpa``) and a pronunciation
dictionary (``*.dict`` or ``*.dic``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pocketsphinx

from bargein.core.errors import ModelMissingError

log = logging.getLogger(__name__)

BUNDLED_NAME = "en-us"
_ACOUSTIC_FILES = ("mdef", "means", "variances", "transition_matrices")
_LM_SUFFIXES = (".lm.bin", ".lm", ".lm.gz", ".arpa", ".lm.dmp")
_DICT_SUFFIXES = (".dict", ".dic")
FIX = (
    "set [asr] model to a directory holding an acoustic model directory (with mdef), "
    "a language model (.lm.bin) and a pronunciation dictionary (.dict), or leave it "
    "empty for the en-us model bundled with pocketsphinx"
)


@dataclass(frozen=True)
class PocketsphinxModel:
    """The three files (and a name) a pocketsphinx decoder is built from."""

    name: str
    acoustic_dir: Path
    lm_path: Path
    dict_path: Path


def bundled_model() -> PocketsphinxModel:
    """The US-English model in the pocketsphinx wheel (``pocketsphinx.get_model_path()``)."""
    return find_model(Path(pocketsphinx.get_model_path(BUNDLED_NAME)))


def model_from(model_setting: str) -> PocketsphinxModel:
    """The model ``[asr] model`` names: empty means the bundled en-us model."""
    return find_model(Path(model_setting)) if model_setting else bundled_model()


def _pick(candidates: list[Path], name: str) -> Path | None:
    """The candidate named after the acoustic model if there is one, else the first."""
    ordered = sorted(candidates, key=lambda p: (name not in p.name, p.name))
    return ordered[0] if ordered else None


def find_model(model_dir: Path) -> PocketsphinxModel:
    """Check ``model_dir`` holds the three parts; raise :class:`ModelMissingError` if not.

    Phonetic language models (``*-phone.lm.bin``, for phone recognition) are passed over.
    """
    if not model_dir.is_dir():
        raise ModelMissingError(f"pocketsphinx model {model_dir} does not exist; {FIX}")
    entries = sorted(model_dir.iterdir())
    acoustic = next((p for p in entries if p.is_dir()
                     and all((p / f).is_file() for f in _ACOUSTIC_FILES)), None)
    name = acoustic.name if acoustic else model_dir.name
    lms = [p for p in entries if p.is_file() and "phone" not in p.name
           and p.name.lower().endswith(_LM_SUFFIXES)]
    dicts = [p for p in entries if p.is_file() and p.name.lower().endswith(_DICT_SUFFIXES)]
    lm, dictionary = _pick(lms, name), _pick(dicts, name)
    missing = [what for what, found in (
        ("an acoustic model directory (with " + ", ".join(_ACOUSTIC_FILES) + ")", acoustic),
        ("a language model (*.lm.bin, *.lm or *.arpa)", lm),
        ("a pronunciation dictionary (*.dict)", dictionary),
    ) if found is None]
    if missing or acoustic is None or lm is None or dictionary is None:
        raise ModelMissingError(
            f"pocketsphinx model {model_dir} lacks {' and '.join(missing)}; {FIX}"
        )
    return PocketsphinxModel(name, acoustic, lm, dictionary)


def check_loads(model: PocketsphinxModel) -> float:
    """Build a decoder from ``model`` (the real load); the seconds it took.

    Raises :class:`ModelMissingError` when pocketsphinx refuses the files.
    """
    from bargein.asr.pocketsphinx_engine import decoder_for

    started_s = time.monotonic()
    decoder_for(model)
    return time.monotonic() - started_s
