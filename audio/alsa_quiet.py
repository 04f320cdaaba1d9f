"""Silence the screenful of ALSA and JACK warnings PortAudio prints when it starts.

PortAudio probes every PCM the ALSA config knows about (surround51, iec958, hdmi, ...)
and tries to reach a JACK server; on a Pi with a USB mic each failed probe prints a line
to stderr ("ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear",
"jack server is not running or cannot be started"). None of them matter. We silence
them at the source: ALSA's library-wide error handler and JACK's error/info functions
are replaced by no-ops before PyAudio initialises. Our own messages are single log
lines written by the code that knows what matters.

The handlers run on whatever thread ALSA reports from (possibly the audio thread), so
they only count: no logging, no allocation beyond what ctypes does for the call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

import pyaudio

log = logging.getLogger(__name__)

# void (*snd_lib_error_handler_t)(const char *file, int line, const char *function,
#                                 int err, const char *fmt, ...)
# The variadic tail is ignored: the callee never reads it.
_ALSA_HANDLER_T = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
# void (*)(const char *msg)
_JACK_HANDLER_T = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

_lock = threading.Lock()
portaudio_lock = threading.RLock()
"""Held around PortAudio set-up and tear-down (initialise, open, close, terminate).

PortAudio's global state is not thread-safe, and the microphone and the speaker reopen
their devices from their own threads. Never taken on an audio callback.
"""
_installed = False
_suppressed = {"alsa": 0, "jack": 0}


def _alsa_handler(file, line, function, err, fmt):  # noqa: ANN001 - ctypes signature
    _suppressed["alsa"] += 1


def _jack_handler(msg):  # noqa: ANN001 - ctypes signature
    _suppressed["jack"] += 1


# The C side keeps raw pointers to these: they must live as long as the process.
_ALSA_HANDLER = _ALSA_HANDLER_T(_alsa_handler)
_JACK_HANDLER = _JACK_HANDLER_T(_jack_handler)


def _load(names: tuple[str, ...]) -> ctypes.CDLL | None:
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    found = ctypes.util.find_library(names[0].split(".so")[0].removeprefix("lib"))
    if found:
        try:
            return ctypes.CDLL(found)
        except OSError:
            return None
    return None


def silence_audio_library_warnings() -> bool:
    """Install the no-op ALSA (and, if present, JACK) message handlers once per process.

    Returns True when the ALSA handler is in place. Loading the same sonames that
    PortAudio links against gives the same library instance, so the handlers apply to
    PortAudio's own calls.
    """
    global _installed
    with _lock:
        if _installed:
            return True
        asound = _load(("libasound.so.2", "libasound.so"))
        if asound is None:
            log.debug("libasound not loadable; ALSA messages are not silenced")
            return False
        asound.snd_lib_error_set_handler.argtypes = [_ALSA_HANDLER_T]
        asound.snd_lib_error_set_handler.restype = ctypes.c_int
        asound.snd_lib_error_set_handler(_ALSA_HANDLER)
        jack = _load(("libjack.so.0", "libjack.so"))
        if jack is not None:
            for fn_name in ("jack_set_error_function", "jack_set_info_function"):
                fn = getattr(jack, fn_name, None)
                if fn is not None:
                    fn.argtypes = [_JACK_HANDLER_T]
                    fn.restype = None
                    fn(_JACK_HANDLER)
        _installed = True
        return True


def suppressed_counts() -> dict[str, int]:
    """How many ALSA and JACK messages were swallowed so far (for diagnostics)."""
    return dict(_suppressed)


def open_pyaudio() -> pyaudio.PyAudio:
    """A fresh ``pyaudio.PyAudio()`` (PortAudio initialised) with library chatter silenced.

    The caller owns it and calls ``terminate()``. PortAudio counts initialisations: its
    device list is only rebuilt when every instance in the process has been terminated.
    """
    silence_audio_library_warnings()
    with portaudio_lock:
        return pyaudio.PyAudio()


def close_stream(pa: pyaudio.PyAudio, stream: pyaudio.Stream) -> None:
    """Stop and close a stream and terminate its PyAudio, even when the device is gone."""
    with portaudio_lock:
        try:
            stream.stop_stream()
        except OSError:
            pass  # the device is gone; closing still frees PortAudio's side
        try:
            stream.close()
        finally:
            pa.terminate()
