"""The wake word: a microWakeWord model (pymicro-wakeword) on the echo-cancelled mic.

:class:`WakeWordDetector` takes capture frames after echo cancellation (16 kHz mono
int16, any whole number of 10 ms blocks: the pipeline's 30 ms frames are three) and
runs them through the model 10 ms at a time, as microWakeWord does on an ESP32:

* the TFLite Micro audio frontend (``micro_features_cpp``, from pymicro-features)
  turns each 10 ms block into 40 features over a 30 ms window;
* every ``stride`` feature rows (3 for every bundled model: one inference per 30 ms)
  the streaming model gives a probability;
* the mean of the last ``sliding_window_size`` probabilities above the cutoff is a
  detection (:class:`WakeDetected`), stamped with the capture-clock time of the end
  of the block that decided it;
* after a detection the window is emptied and nothing is reported for
  ``refractory_ms``, so one utterance triggers once.

A model is a bundled name (:data:`BUNDLED_MODELS`, the ``.tflite`` and ``.json``
files in pymicro-wakeword's ``models/`` folder) or the path of a ``.tflite`` an owner
trained with microWakeWord, its ``.json`` beside it; :func:`find_wake_model` resolves
and checks it, and the detector loads it (a corrupt file is refused before the TFLite
library can crash on it).

Per-frame rules (this runs on the capture path): no I/O, no logging, no locks, and
no numpy allocation. pymicro-wakeword's own ``process_streaming_prob`` concatenates,
quantises into a new array, allocates the output and calls ``statistics.mean`` on
every inference; here the same steps run on the interpreter it loaded, in buffers
made once (``tests/test_wake_word.py`` checks the probabilities are the same). The
only objects made per block are the frontend's list of 40 floats and Python floats.
One thread feeds a detector; it is not shared.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import micro_features_cpp
import numpy as np
import pymicro_wakeword
from pymicro_wakeword import MicroWakeWord
from pymicro_wakeword.wakeword import TfLiteWakeWord

from bargein.audio.settings import WakeSettings
from bargein.core.errors import BargeinError, ConfigError, ModelMissingError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

BLOCK_SAMPLES = 160
"""One 10 ms block at 16 kHz: what the frontend consumes per step."""
FEATURES_PER_BLOCK = 40
"""Frontend features per 10 ms block (the models' input width)."""

_PACKAGE_DIR = Path(pymicro_wakeword.__file__).resolve().parent
MODELS_DIR = _PACKAGE_DIR / "models"
"""Where pymicro-wakeword keeps its bundled ``<name>.tflite`` and ``<name>.json``."""
BUNDLED_MODELS: tuple[str, ...] = tuple(sorted(m.value for m in pymicro_wakeword.Model))
"""The models pymicro-wakeword ships: alexa, hey_jarvis, hey_mycroft, okay_nabu."""

_TFLITE_INT8, _TFLITE_UINT8 = 9, 3
_QUANT_TYPES = {_TFLITE_INT8: np.int8, _TFLITE_UINT8: np.uint8}
_REINSTALL = "pip install --force-reinstall 'pymicro-wakeword>=2.5,<2.6'"


class WakeWordError(BargeinError, RuntimeError):
    """The wake word model failed while running (the TFLite interpreter returned an error)."""


def _choices() -> str:
    return (f"use one of the bundled models {', '.join(BUNDLED_MODELS)}, or the path of a "
            "microWakeWord .tflite with its .json beside it")


# -- finding a model --------------------------------------------------------------------


@dataclass(frozen=True)
class WakeModel:
    """A microWakeWord model on disk and what its ``.json`` says about it."""

    name: str
    """The bundled name, or the ``.tflite`` file's stem."""
    wake_word: str
    """The phrase, as the ``.json`` spells it (``"Okay Nabu"``)."""
    tflite_path: Path
    json_path: Path
    probability_cutoff: float
    """The model's own cutoff (``micro.probability_cutoff``)."""
    sliding_window_size: int
    """The model's own window (``micro.sliding_window_size``), in model outputs."""
    trained_languages: tuple[str, ...]
    bundled: bool


def find_wake_model(spec: str) -> WakeModel:
    """The model ``[wake] model`` names: a bundled name or a path to a ``.tflite``/``.json``.

    Raises :class:`ConfigError` for a name that is neither and
    :class:`ModelMissingError` for missing or malformed files, each naming the fix.
    Only the ``.json`` is read here; the detector loads the ``.tflite``.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError(f"[wake] model is empty; {_choices()}")
    looks_like_path = "/" in spec or spec.startswith(("~", ".")) or spec.endswith(
        (".tflite", ".json"))
    if not looks_like_path:
        if spec not in BUNDLED_MODELS:
            raise ConfigError(f"[wake] model {spec!r} is not a bundled wake word model; "
                              f"{_choices()}")
        json_path = MODELS_DIR / f"{spec}.json"
        if not json_path.is_file():
            raise ModelMissingError(f"bundled wake model {json_path} is missing; reinstall "
                                    f"pymicro-wakeword: {_REINSTALL}")
        return _from_json(json_path, MODELS_DIR / f"{spec}.tflite", bundled=True)
    path = Path(spec).expanduser()
    if path.suffix == ".json":
        if not path.is_file():
            raise ModelMissingError(f"wake model config {path} not found; {_choices()}")
        return _from_json(path, None, bundled=False)
    if path.suffix != ".tflite":
        raise ConfigError(f"[wake] model {spec!r} is not a .tflite file; {_choices()}")
    if not path.is_file():
        raise ModelMissingError(f"wake model {path} not found; {_choices()}")
    json_path = path.with_suffix(".json")
    if not json_path.is_file():
        raise ModelMissingError(
            f"wake model {path} has no {json_path.name} next to it; put the .json that "
            "microWakeWord wrote with the model beside it (it holds the wake word, "
            "probability_cutoff and sliding_window_size)")
    return _from_json(json_path, path, bundled=False)


def _from_json(json_path: Path, tflite_path: Path | None, bundled: bool) -> WakeModel:
    fix = ("give the .json microWakeWord wrote with the model (keys wake_word, model, "
           "micro.probability_cutoff, micro.sliding_window_size)")
    try:
        manifest = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelMissingError(f"wake model config {json_path} is unreadable ({exc}); "
                                f"{fix}") from exc
    micro = manifest.get("micro") if isinstance(manifest, dict) else None
    if not isinstance(micro, dict):
        raise ModelMissingError(f"wake model config {json_path} has no \"micro\" table; {fix}")
    cutoff = micro.get("probability_cutoff")
    window = micro.get("sliding_window_size")
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not 0.0 < cutoff < 1.0:
        raise ModelMissingError(f"wake model config {json_path}: micro.probability_cutoff "
                                f"{cutoff!r} is not a number between 0 and 1; {fix}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ModelMissingError(f"wake model config {json_path}: micro.sliding_window_size "
                                f"{window!r} is not a positive integer; {fix}")
    named = manifest.get("model")
    if tflite_path is None:
        tflite_path = json_path.parent / (named if isinstance(named, str) and named
                                          else f"{json_path.stem}.tflite")
        if not tflite_path.is_file():
            raise ModelMissingError(f"wake model {tflite_path} (named by {json_path.name}) not "
                                    "found; put the .tflite beside its .json")
    elif isinstance(named, str) and named and named != tflite_path.name and not bundled:
        log.info("%s names model %s; using %s beside it", json_path, named, tflite_path.name)
    if not tflite_path.is_file():
        raise ModelMissingError(f"wake model {tflite_path} is missing; reinstall "
                                f"pymicro-wakeword: {_REINSTALL}")
    languages = manifest.get("trained_languages") or []
    return WakeModel(
        name=json_path.stem if bundled else tflite_path.stem,
        wake_word=str(manifest.get("wake_word") or tflite_path.stem.replace("_", " ")),
        tflite_path=tflite_path.resolve(),
        json_path=json_path.resolve(),
        probability_cutoff=float(cutoff),
        sliding_window_size=int(window),
        trained_languages=tuple(str(lang) for lang in languages),
        bundled=bundled,
    )


# -- loading ----------------------------------------------------------------------------


def _tflite_library() -> Path:
    found = sorted((_PACKAGE_DIR / "lib").glob("*tensorflowlite_c.*"))
    if not found:
        raise ModelMissingError(f"pymicro-wakeword's TensorFlow Lite library is missing from "
                                f"{_PACKAGE_DIR / 'lib'} (no wheel for this machine?); "
                                f"reinstall it: {_REINSTALL}")
    return found[0]


def _check_loads(lib: ctypes.CDLL, model: WakeModel) -> None:
    """Open the model with the TFLite C API and check its tensors, so a corrupt or foreign
    file is an error here: ``MicroWakeWord`` would hand a NULL model to the interpreter
    and crash the process."""
    path = str(model.tflite_path).encode()
    fix = "train or download it again, or use a bundled model"
    handle = lib.TfLiteModelCreateFromFile(path)
    if not handle:
        raise ModelMissingError(f"wake model {model.tflite_path} is not a TensorFlow Lite "
                                f"model (corrupt or truncated); {fix}")
    interpreter = None
    try:
        interpreter = lib.TfLiteInterpreterCreate(handle, None)
        if not interpreter or lib.TfLiteInterpreterAllocateTensors(interpreter) != 0:
            raise ModelMissingError(f"wake model {model.tflite_path} does not load in "
                                    f"TensorFlow Lite; {fix}")
        tensor_in = lib.TfLiteInterpreterGetInputTensor(interpreter, 0)
        tensor_out = lib.TfLiteInterpreterGetOutputTensor(interpreter, 0)
        rank = lib.TfLiteTensorNumDims(tensor_in)
        dims = [lib.TfLiteTensorDim(tensor_in, i) for i in range(rank)]
        types = (lib.TfLiteTensorType(tensor_in), lib.TfLiteTensorType(tensor_out))
        if (len(dims) != 3 or dims[0] != 1 or dims[1] < 1 or dims[2] != FEATURES_PER_BLOCK
                or any(t not in _QUANT_TYPES for t in types)
                or lib.TfLiteTensorByteSize(tensor_out) != 1):
            raise ModelMissingError(
                f"wake model {model.tflite_path} is not a streaming microWakeWord model "
                f"(input {dims}, types {types}; expected quantised [1, stride, "
                f"{FEATURES_PER_BLOCK}] in, one probability out); {fix}")
    finally:
        if interpreter:
            lib.TfLiteInterpreterDelete(interpreter)
        lib.TfLiteModelDelete(handle)


def load_wake_model(model: WakeModel) -> MicroWakeWord:
    """The model loaded in pymicro-wakeword's interpreter, after checking it loads safely."""
    library = _tflite_library()
    _check_loads(TfLiteWakeWord(library).lib, model)
    return MicroWakeWord(
        model.name,
        wake_word=model.wake_word,
        tflite_model=model.tflite_path,
        probability_cutoff=model.probability_cutoff,
        sliding_window_size=model.sliding_window_size,
        trained_languages=list(model.trained_languages),
        libtensorflowlite_c_path=library,
    )


# -- detecting --------------------------------------------------------------------------


@dataclass(frozen=True)
class WakeDetected:
    """The wake word was heard."""

    t_seconds: float
    """Capture-clock time of the end of the 10 ms block that decided it (just after the
    phrase ends)."""
    probability: float
    """The window's mean probability that crossed the cutoff."""
    model: str
    wake_word: str


class WakeWordDetector:
    """Runs a microWakeWord model over echo-cancelled capture frames.

    ``WakeWordDetector(settings)`` loads the model ``settings.model`` names (a bundled
    name or a ``.tflite`` path) with the cutoff and window from the settings, or the
    model's own where they are 0. :meth:`process` takes one :class:`AudioFrame` and
    returns a :class:`WakeDetected` or ``None``.
    """

    def __init__(self, settings: WakeSettings | None = None) -> None:
        self.settings = settings or WakeSettings()
        s = self.settings
        self.model = find_wake_model(s.model)
        self.probability_cutoff = s.probability_cutoff or self.model.probability_cutoff
        self.sliding_window_size = s.sliding_window_size or self.model.sliding_window_size
        self.refractory_s = s.refractory_ms / 1000.0
        self._mww = load_wake_model(self.model)
        self._frontend = micro_features_cpp.create_frontend()
        self._bind()
        self._window = [0.0] * self.sliding_window_size
        self._window_next = 0
        self._window_count = 0
        self._quiet_until_s = -math.inf
        self.last_probability = 0.0
        """The window's mean after the last inference (0 until the window is full)."""
        self.last_output = 0.0
        """The model's own probability at the last inference (before the window)."""
        self.detections = 0
        """Detections reported since construction."""
        log.info("wake word %r: model %s (%s), cutoff %.2f, window %d x %d0 ms, refractory "
                 "%d ms", self.model.wake_word, self.model.name,
                 "bundled" if self.model.bundled else self.model.tflite_path,
                 self.probability_cutoff, self.sliding_window_size, self.stride,
                 s.refractory_ms)

    def _bind(self) -> None:
        """Take the loaded interpreter's tensors and make the buffers the hot path reuses."""
        mww = self._mww
        self._lib = mww.lib
        self._interpreter = mww.interpreter
        self._tensor_in = mww.input_tensor
        self._tensor_out = mww.output_tensor
        self.stride = int(mww.stride)
        self._features = np.zeros((self.stride, FEATURES_PER_BLOCK), dtype=np.float64)
        self._scaled = np.zeros_like(self._features)
        self._quantised = np.zeros((self.stride, FEATURES_PER_BLOCK), dtype=mww.input_dtype)
        self._quantised_ptr = self._quantised.ctypes.data
        self._quantised_bytes = self._quantised.nbytes
        info = np.iinfo(mww.input_dtype)
        self._q_lo, self._q_hi = float(info.min), float(info.max)
        self._inv_scale = 1.0 / float(mww.input_scale)
        self._zero_point = float(mww.input_zero_point)
        self._output = np.zeros(1, dtype=mww.output_dtype)
        self._output_ptr = self._output.ctypes.data
        self._out_scale = float(mww.output_scale)
        self._out_zero_point = int(mww.output_zero_point)
        self._rows = 0

    # ------------------------------------------------------------------ hot path

    def process(self, frame: AudioFrame) -> WakeDetected | None:
        """Feed one capture frame (whole 10 ms blocks); a detection, or ``None``.

        At most one detection per call: feed frames no longer than ``refractory_ms``
        (the pipeline's are 10 to 30 ms) so none is hidden.
        """
        pcm = frame.pcm
        n = pcm.shape[0]
        if (frame.rate_hz != CAPTURE_RATE_HZ or pcm.dtype != np.int16 or pcm.ndim != 1
                or n == 0 or n % BLOCK_SAMPLES or not pcm.flags.c_contiguous):
            raise ValueError(
                f"the wake word detector needs 16 kHz mono int16 frames of whole 10 ms blocks "
                f"({BLOCK_SAMPLES} samples), got {pcm.dtype} shape {pcm.shape} at "
                f"{frame.rate_hz} Hz; feed the capture frames (10, 20 or 30 ms) after echo "
                "cancellation")
        if self._interpreter is None:
            raise WakeWordError("the wake word detector was closed; make a new one")
        found = None
        for start in range(0, n, BLOCK_SAMPLES):
            features, _ = micro_features_cpp.process_samples(
                self._frontend, pcm[start:start + BLOCK_SAMPLES])
            if not features:  # the frontend's first 30 ms window is not full yet
                continue
            self._features[self._rows] = features
            self._rows += 1
            if self._rows < self.stride:
                continue
            self._rows = 0
            probability = self._infer()
            end_s = frame.t_seconds + (start + BLOCK_SAMPLES) / CAPTURE_RATE_HZ
            if (found is None and probability > self.probability_cutoff
                    and end_s >= self._quiet_until_s):
                found = WakeDetected(end_s, probability, self.model.name, self.model.wake_word)
                self.detections += 1
                self._quiet_until_s = end_s + self.refractory_s
                self._window_count = 0
        return found

    def _infer(self) -> float:
        """One model step on the stored feature rows; the window's mean (0 until full)."""
        np.multiply(self._features, self._inv_scale, out=self._scaled)
        np.add(self._scaled, self._zero_point, out=self._scaled)
        np.rint(self._scaled, out=self._scaled)
        np.clip(self._scaled, self._q_lo, self._q_hi, out=self._scaled)
        np.copyto(self._quantised, self._scaled, casting="unsafe")
        lib = self._lib
        lib.TfLiteTensorCopyFromBuffer(self._tensor_in, self._quantised_ptr, self._quantised_bytes)
        if lib.TfLiteInterpreterInvoke(self._interpreter) != 0:
            raise WakeWordError(f"wake model {self.model.tflite_path} failed to run; check the "
                                "file with `bargein doctor`, or use a bundled model")
        lib.TfLiteTensorCopyToBuffer(self._tensor_out, self._output_ptr, 1)
        p = (int(self._output[0]) - self._out_zero_point) * self._out_scale
        self.last_output = p
        self._window[self._window_next] = p
        self._window_next = (self._window_next + 1) % self.sliding_window_size
        self._window_count += 1
        if self._window_count < self.sliding_window_size:
            self.last_probability = 0.0
        else:
            self.last_probability = sum(self._window) / self.sliding_window_size
        return self.last_probability

    # ------------------------------------------------------------------ life cycle

    def reset(self) -> None:
        """Forget everything heard (after the mic was reopened). Reloads the model, whose
        streaming state lives in the interpreter: not for the per-frame path."""
        self._mww.reset()
        micro_features_cpp.reset_frontend(self._frontend)
        self._bind()
        self._window_count = 0
        self._window_next = 0
        self._quiet_until_s = -math.inf
        self.last_probability = 0.0
        self.last_output = 0.0

    def close(self) -> None:
        """Release the interpreter (also done when the detector is collected)."""
        self._mww.close()
        self._interpreter = None

    @property
    def wake_word(self) -> str:
        """The phrase as the model's ``.json`` spells it ("Alexa")."""
        return self.model.wake_word

    def describe(self) -> str:
        """One line for logs and ``bargein doctor``."""
        where = "bundled" if self.model.bundled else str(self.model.tflite_path)
        return (f"{self.model.name} ({self.model.wake_word!r}, {where}): cutoff "
                f"{self.probability_cutoff:.2f}, window {self.sliding_window_size}, refractory "
                f"{self.settings.refractory_ms} ms")
