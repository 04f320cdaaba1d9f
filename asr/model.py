"""Finding, checking and loading the Vosk model (once per process)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bargein.asr.settings import AsrSettings
from bargein.core.errors import ModelMissingError

if TYPE_CHECKING:  # the library loads when a model does: a pocketsphinx appliance never needs it
    import vosk

log = logging.getLogger(__name__)

MODEL_ENV = "BARGEIN_VOSK_MODEL"
DEFAULT_MODEL_NAME = "vosk-model-small-en-us-0.15"
FETCH_COMMAND = "sudo /opt/bargein/venv/bin/python /opt/bargein/src/scripts/fetch-models"
"""How a Pi installed by ``scripts/install.sh`` fetches models (``--dest DIR`` picks where)."""

_REQUIRED_FILES = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf")
_IVECTOR_FILES = (
    "final.dubm", "final.ie", "final.mat", "global_cmvn.stats", "online_cmvn.conf", "splice.conf",
)

_models: dict[Path, vosk.Model] = {}
_models_lock = threading.Lock()


def model_dir_from(settings: AsrSettings, state_dir: str | Path,
                   default_name: str = DEFAULT_MODEL_NAME) -> Path:
    """The model directory: ``[asr] model``, then ``$BARGEIN_VOSK_MODEL``, then the state
    dir's ``models/<default_name>`` (the language's model; English by default)."""
    if settings.model:
        return Path(settings.model)
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    return Path(state_dir) / "models" / default_name


def missing_parts(model_dir: Path) -> list[str]:
    """What a Vosk model directory lacks (relative paths); empty when it looks complete."""
    if not model_dir.is_dir():
        return ["the directory itself"]
    missing = [rel for rel in _REQUIRED_FILES if not (model_dir / rel).is_file()]
    graph = model_dir / "graph"
    has_hclg = (graph / "HCLG.fst").is_file()
    lookahead = ("HCLr.fst", "Gr.fst", "disambig_tid.int")
    if not has_hclg:
        absent = [rel for rel in lookahead if not (graph / rel).is_file()]
        if len(absent) == len(lookahead):
            missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
        else:
            missing.extend(f"graph/{rel}" for rel in absent)
    if not (graph / "phones" / "word_boundary.int").is_file():
        missing.append("graph/phones/word_boundary.int (needed for word times)")
    ivector = model_dir / "ivector"
    if ivector.is_dir():
        missing.extend(f"ivector/{rel}" for rel in _IVECTOR_FILES if not (ivector / rel).is_file())
    return missing


def fetch_hint(model_dir: Path) -> str:
    """The exact command that puts a model at ``model_dir``."""
    command = f"{FETCH_COMMAND} --dest {model_dir.parent}"
    if model_dir.name != DEFAULT_MODEL_NAME:
        return f"{command} and point [asr] model at {model_dir.parent / DEFAULT_MODEL_NAME}"
    return command


def check_model_dir(model_dir: Path) -> None:
    """Raise :class:`ModelMissingError` (one line: what is missing, how to fetch) if incomplete."""
    missing = missing_parts(model_dir)
    if missing:
        raise ModelMissingError(
            f"Vosk model {model_dir} is incomplete: missing {', '.join(missing)}; "
            f"fetch it with: {fetch_hint(model_dir)}"
        )


def load_model(model_dir: Path | str) -> vosk.Model:
    """Check and load the model at ``model_dir``; later calls return the same object."""
    import vosk

    key = Path(model_dir).resolve()
    with _models_lock:
        if key in _models:
            return _models[key]
        check_model_dir(key)
        vosk.SetLogLevel(-2)  # -1 still prints Kaldi warnings (word-align, grammar)
        started_s = time.monotonic()
        try:
            model = vosk.Model(str(key))
        except Exception as err:  # vosk raises a bare Exception when Kaldi refuses the files
            raise ModelMissingError(
                f"Vosk could not load {key} ({err}); the files may be corrupt, "
                f"re-fetch with: {fetch_hint(key)}"
            ) from err
        log.info("loaded Vosk model %s in %.1f s", key, time.monotonic() - started_s)
        _models[key] = model
        return model
