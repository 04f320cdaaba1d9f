"""Acoustic echo cancellers behind one small interface.

``process(mic_frame, ref_pcm)`` takes a 16 kHz capture frame and the speaker
samples that reach the mic during it (from :class:`EchoReference`, float32 in
[-1, 1], same length) and returns the frame with the echo removed.

* :class:`SpeexCanceller`: libspeexdsp's MDF adaptive filter (``speex_echo_*``)
  followed by its preprocessor's residual echo suppressor, through ctypes. The
  library is the maintained one Raspberry Pi OS and Debian ship (``libspeexdsp1``).
* :class:`WebRtcCanceller`: WebRTC's AEC3 through the ``aec-audio-processing``
  wheel, when that package is installed (it builds from source).
* :class:`PassThrough`: no cancelling (``canceller = "none"``, or a USB array
  that cancels echo itself).

:func:`make_canceller` picks one from :class:`EchoSettings`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
from typing import Protocol

import numpy as np

from bargein.audio.settings import EchoSettings
from bargein.core.errors import ConfigError, ModelMissingError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

_SPEEX_ECHO_SET_SAMPLING_RATE = 24
_SPEEX_PREPROCESS_SET_DENOISE = 0
_SPEEX_PREPROCESS_SET_AGC = 2
_SPEEX_PREPROCESS_SET_DEREVERB = 8
_SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18
_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS = 20
_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE = 22
_SPEEX_PREPROCESS_SET_ECHO_STATE = 24

_INT16_SCALE = 32767.0


class EchoCanceller(Protocol):
    """Removes the speaker's echo from capture frames."""

    name: str

    def process(self, mic_frame: AudioFrame, ref_pcm: np.ndarray) -> AudioFrame:
        """``mic_frame`` with the echo of ``ref_pcm`` (16 kHz float32, same length) removed."""
        ...

    def reset(self) -> None:
        """Forget the learned echo path (after the speaker or mic was reopened)."""
        ...


def erle_db(mic_pcm: np.ndarray, cleaned_pcm: np.ndarray) -> float:
    """Echo return loss enhancement: mic energy over cleaned energy, in dB (echo-only audio)."""
    mic_energy = float(np.sum(np.square(mic_pcm, dtype=np.float64)))
    out_energy = float(np.sum(np.square(cleaned_pcm, dtype=np.float64)))
    return 10.0 * math.log10((mic_energy + 1.0) / (out_energy + 1.0))


def _ref_to_int16(ref_pcm: np.ndarray, out: np.ndarray) -> None:
    scaled = np.multiply(ref_pcm, _INT16_SCALE, dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    np.copyto(out, scaled, casting="unsafe")


def _reference_blocks(
    name: str, block: int, mic_frame: AudioFrame, ref_pcm: np.ndarray, ref16: np.ndarray
) -> np.ndarray:
    """Check the frame is whole ``block``-sample blocks with a reference of the same length,
    and return the reference as int16 (in ``ref16`` when it has the right size)."""
    n = len(mic_frame.pcm)
    if n % block or len(ref_pcm) != n:
        raise ValueError(
            f"{name} needs frames of whole {block}-sample blocks and a reference of the "
            f"same length, got {n} and {len(ref_pcm)}"
        )
    if ref16.shape[0] != n:
        ref16 = np.zeros(n, dtype=np.int16)
    _ref_to_int16(ref_pcm, ref16)
    return ref16


class PassThrough:
    """No cancelling: the frame comes back unchanged."""

    name = "none"

    def process(self, mic_frame: AudioFrame, ref_pcm: np.ndarray) -> AudioFrame:
        return mic_frame

    def reset(self) -> None:
        """Nothing adapts, so nothing to forget."""


def _load_speexdsp() -> ctypes.CDLL:
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise ModelMissingError(
            f"libspeexdsp not found ({exc}): install it with `apt-get install libspeexdsp1`"
        ) from exc
    vp = ctypes.c_void_p
    i16p = ctypes.POINTER(ctypes.c_int16)
    lib.speex_echo_state_init.restype = vp
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_destroy.argtypes = [vp]
    lib.speex_echo_state_reset.argtypes = [vp]
    lib.speex_echo_cancellation.argtypes = [vp, i16p, i16p, i16p]
    lib.speex_echo_ctl.argtypes = [vp, ctypes.c_int, vp]
    lib.speex_preprocess_state_init.restype = vp
    lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_preprocess_state_destroy.argtypes = [vp]
    lib.speex_preprocess_ctl.argtypes = [vp, ctypes.c_int, vp]
    lib.speex_preprocess_run.argtypes = [vp, i16p]
    return lib


class SpeexCanceller:
    """libspeexdsp MDF echo canceller plus residual echo suppression, 10 ms blocks.

    ``tail_ms`` is the filter length: it must cover the speaker-to-mic delay error
    plus the room's reverberation. ``suppress_db`` is the residual echo suppression
    of the preprocessor (0 = the adaptive filter alone).
    """

    name = "speex"
    NOISE_SUPPRESS_DB = 0

    def __init__(
        self,
        tail_ms: float = 250.0,
        block_ms: int = 10,
        suppress_db: float = 40.0,
        rate_hz: int = CAPTURE_RATE_HZ,
    ) -> None:
        self._lib = _load_speexdsp()
        self.rate_hz = rate_hz
        self.block = rate_hz * block_ms // 1000
        self.tail = round(tail_ms * rate_hz / 1000.0)
        self.suppress_db = suppress_db
        self._echo: int | None = None
        self._pre: int | None = None
        self._rec = np.zeros(self.block, dtype=np.int16)
        self._play = np.zeros(self.block, dtype=np.int16)
        self._out = np.zeros(self.block, dtype=np.int16)
        self._ref16 = np.zeros(0, dtype=np.int16)
        self._i16p = ctypes.POINTER(ctypes.c_int16)
        self._open()

    def _open(self) -> None:
        lib = self._lib
        self._echo = lib.speex_echo_state_init(self.block, self.tail)
        if not self._echo:
            raise MemoryError("speex_echo_state_init failed")
        rate = ctypes.c_int(self.rate_hz)
        lib.speex_echo_ctl(self._echo, _SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        self._pre = None
        if self.suppress_db > 0.0:
            self._pre = lib.speex_preprocess_state_init(self.block, self.rate_hz)
            off = ctypes.c_int(0)
            for request in (_SPEEX_PREPROCESS_SET_AGC, _SPEEX_PREPROCESS_SET_DEREVERB):
                lib.speex_preprocess_ctl(self._pre, request, ctypes.byref(off))
            # The echo suppressor works through the noise-suppression gain, so denoise
            # stays on; its own stationary-noise suppression is kept mild.
            on = ctypes.c_int(1)
            lib.speex_preprocess_ctl(self._pre, _SPEEX_PREPROCESS_SET_DENOISE, ctypes.byref(on))
            noise = ctypes.c_int(-self.NOISE_SUPPRESS_DB)
            lib.speex_preprocess_ctl(
                self._pre, _SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, ctypes.byref(noise)
            )
            lib.speex_preprocess_ctl(
                self._pre, _SPEEX_PREPROCESS_SET_ECHO_STATE, ctypes.c_void_p(self._echo)
            )
            suppress = ctypes.c_int(-round(self.suppress_db))
            active = ctypes.c_int(-round(self.suppress_db * 0.4))
            lib.speex_preprocess_ctl(
                self._pre, _SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, ctypes.byref(suppress)
            )
            lib.speex_preprocess_ctl(
                self._pre, _SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, ctypes.byref(active)
            )
        self._rec_p = self._rec.ctypes.data_as(self._i16p)
        self._play_p = self._play.ctypes.data_as(self._i16p)
        self._out_p = self._out.ctypes.data_as(self._i16p)

    def process(self, mic_frame: AudioFrame, ref_pcm: np.ndarray) -> AudioFrame:
        n = len(mic_frame.pcm)
        self._ref16 = _reference_blocks("SpeexCanceller", self.block, mic_frame, ref_pcm,
                                        self._ref16)
        cleaned = np.empty(n, dtype=np.int16)
        lib = self._lib
        for lo in range(0, n, self.block):
            hi = lo + self.block
            np.copyto(self._rec, mic_frame.pcm[lo:hi])
            np.copyto(self._play, self._ref16[lo:hi])
            lib.speex_echo_cancellation(self._echo, self._rec_p, self._play_p, self._out_p)
            if self._pre is not None:
                lib.speex_preprocess_run(self._pre, self._out_p)
            cleaned[lo:hi] = self._out
        return AudioFrame(pcm=cleaned, t_seconds=mic_frame.t_seconds, rate_hz=mic_frame.rate_hz)

    def reset(self) -> None:
        self._close()
        self._open()

    def _close(self) -> None:
        if self._pre:
            self._lib.speex_preprocess_state_destroy(self._pre)
            self._pre = None
        if self._echo:
            self._lib.speex_echo_state_destroy(self._echo)
            self._echo = None

    def __del__(self) -> None:
        try:
            self._close()
        except AttributeError:  # __init__ failed before the states existed
            pass


def webrtc_available() -> bool:
    """Whether the WebRTC binding (``aec-audio-processing``) is importable."""
    try:
        import aec_audio_processing  # noqa: F401
    except ImportError:
        return False
    return True


class WebRtcCanceller:
    """WebRTC audio processing (AEC3) through the ``aec-audio-processing`` binding."""

    name = "webrtc"

    def __init__(self, rate_hz: int = CAPTURE_RATE_HZ, suppress: bool = True) -> None:
        try:
            from aec_audio_processing import AudioProcessor
        except ImportError as exc:
            raise ModelMissingError(
                "the WebRTC canceller needs the `aec-audio-processing` package: "
                "`pip install aec-audio-processing`, or set [echo] canceller = \"speex\""
            ) from exc
        self.rate_hz = rate_hz
        self.block = rate_hz // 100
        self._suppress = suppress
        self._factory = AudioProcessor
        self._ref16 = np.zeros(0, dtype=np.int16)
        self._open()

    def _open(self) -> None:
        ap = self._factory(enable_aec=True, enable_ns=False, enable_agc=False, enable_vad=False)
        ap.set_stream_format(self.rate_hz, 1, self.rate_hz, 1)
        ap.set_reverse_stream_format(self.rate_hz, 1)
        ap.set_stream_delay(0)
        self._ap = ap

    def process(self, mic_frame: AudioFrame, ref_pcm: np.ndarray) -> AudioFrame:
        n = len(mic_frame.pcm)
        self._ref16 = _reference_blocks("WebRtcCanceller", self.block, mic_frame, ref_pcm,
                                        self._ref16)
        pieces = []
        for lo in range(0, n, self.block):
            hi = lo + self.block
            self._ap.process_reverse_stream(self._ref16[lo:hi].tobytes())
            pieces.append(self._ap.process_stream(mic_frame.pcm[lo:hi].tobytes()))
        cleaned = np.frombuffer(b"".join(pieces), dtype=np.int16).copy()
        return AudioFrame(pcm=cleaned, t_seconds=mic_frame.t_seconds, rate_hz=mic_frame.rate_hz)

    def reset(self) -> None:
        self._open()


def make_canceller(settings: EchoSettings) -> EchoCanceller:
    """The canceller ``settings`` ask for; ``auto`` = speex (see docs/echo.md for why)."""
    if settings.device_aec or settings.canceller == "none":
        return PassThrough()
    if settings.canceller in ("auto", "speex"):
        return SpeexCanceller(tail_ms=settings.tail_ms, suppress_db=settings.residual_suppress_db)
    if settings.canceller == "webrtc":
        return WebRtcCanceller()
    raise ConfigError(
        f"[echo] canceller = {settings.canceller!r} is not known: use auto, speex, webrtc or none"
    )
