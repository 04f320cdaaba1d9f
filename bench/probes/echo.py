"""``bargein perf`` figures for echo control.

The appliance's voice (espeak-ng sentences) plays through the virtual room's
playback ring; the echo reference is the ring's tap. Figures:

* ``aec_erle_db``: echo return loss enhancement of the chosen canceller on
  echo-only speech at -6 dB coupling with a 200 ms reverberation tail, measured
  after the first 2 s (convergence); ``aec_us_per_frame``: its cost per 10 ms.
* ``aec_erle_db_<candidate>`` / ``aec_us_per_frame_<candidate>``: the same for each
  candidate that is installed (``speex``, ``speex_filter_only`` without residual
  suppression, ``webrtc`` when ``aec-audio-processing`` is installed).
* ``echo_vad_starts_per_min_<coupling>`` and ``plain_vad_starts_per_min_<coupling>``:
  speech starts on echo alone at -20, -10, 0 and +6 dB coupling.
* ``echo_vad_user_recall_minus6db`` and ``echo_vad_user_detect_ms_p95_minus6db``:
  a user's espeak speech at -20 dBFS over -6 dB echo.
* ``echo_vad_user_recall_at_start_minus6db`` and
  ``echo_vad_user_detect_ms_p95_at_start_minus6db``: the same user starting 100 ms
  after the appliance's first sound (double talk before any echo-only audio).
* ``dtd_us_per_frame``: cost of the double-talk detector's correlation per 30 ms frame.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from bargein.audio.echo_canceller import (
    EchoCanceller,
    SpeexCanceller,
    WebRtcCanceller,
    erle_db,
    webrtc_available,
)
from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import EchoAwareVad, echo_correlation
from bargein.audio.settings import EchoSettings, VadSettings
from bargein.audio.vad import SpeechStarted, VoiceDetector
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.bench.espeak import espeak_native
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

APPLIANCE_TEXTS = (
    "Here is the news summary for this morning. The city council approved the new cycle "
    "lanes along the river, and construction starts next month.",
    "Train services between the two airports will run every fifteen minutes from Monday. "
    "The library is extending its opening hours on weekends.",
    "Our refund policy covers every purchase made in the last thirty days. You can return "
    "an item in its original packaging, and we will refund the full price.",
    "In sport, the local football team won their third match in a row, two goals to one, "
    "with a late header in the final minute.",
)
USER_TEXTS = ("stop", "wait, that's not right", "no, I said Tuesday", "hang on a second")
COUPLINGS_DB = {"minus20db": -20.0, "minus10db": -10.0, "0db": 0.0, "plus6db": 6.0}
_CONVERGED_S = 2.0
_USER_LEVEL_DB = -20.0
_ECHO_DELAY_MS = 10.0


def _appliance_speech(workdir: Path, quick: bool) -> tuple[np.ndarray, int]:
    texts = APPLIANCE_TEXTS[:1] if quick else APPLIANCE_TEXTS
    pieces, rate_hz = [], CAPTURE_RATE_HZ
    for text in texts:
        pcm, rate_hz = espeak_native(text, "en")
        pieces.append(pcm)
        pieces.append(np.zeros(rate_hz // 2, dtype=np.int16))
    return np.concatenate(pieces), rate_hz


def _room(speech: np.ndarray, rate_hz: int, gain_db: float, reverb_ms: float):
    room = VirtualRoom(RoomSettings(
        echo_gain_db=gain_db, echo_delay_ms=_ECHO_DELAY_MS, reverb_ms=reverb_ms, noise_db=-55.0,
    ))
    reference = EchoReference(room.ring.rate_hz, room.ring.period_frames)
    room.ring.set_reference_tap(reference)
    room.ring.enqueue(speech, rate_hz, utterance_id=1)
    room.ring.end_utterance(1)
    return room, reference, len(speech) / rate_hz


def _canceller_figures(
    canceller: EchoCanceller, speech: np.ndarray, rate_hz: int
) -> tuple[float, float]:
    """(ERLE after convergence in dB, microseconds per 10 ms) at -6 dB with 200 ms reverb."""
    room, reference, seconds = _room(speech, rate_hz, -6.0, 200.0)
    mic, cleaned = [], []
    spent_s = 0.0
    while room.now_s < seconds:
        frame = room.step()
        ref = reference.reference_for(frame, _ECHO_DELAY_MS / 1000.0 - 0.005)
        started = time.perf_counter()
        out = canceller.process(frame, ref)
        spent_s += time.perf_counter() - started
        if frame.t_seconds >= _CONVERGED_S:
            mic.append(frame.pcm)
            cleaned.append(out.pcm)
    blocks = seconds * 100.0
    return erle_db(np.concatenate(mic), np.concatenate(cleaned)), spent_s / blocks * 1e6


def _false_starts_per_min(speech: np.ndarray, rate_hz: int, gain_db: float) -> tuple[float, float]:
    room, reference, seconds = _room(speech, rate_hz, gain_db, 150.0)
    echo_vad = EchoAwareVad(VadSettings(), EchoSettings(latency_ms=0.0), reference)
    plain = VoiceDetector(VadSettings())
    echo_starts = plain_starts = 0
    while room.now_s < seconds + 0.5:
        frame = room.step()
        echo_starts += isinstance(echo_vad.process(frame), SpeechStarted)
        plain_starts += isinstance(plain.process(frame), SpeechStarted)
    minutes = room.now_s / 60.0
    return echo_starts / minutes, plain_starts / minutes


def _user_detection(
    speech: np.ndarray, rate_hz: int, workdir: Path, times: tuple[float, ...]
) -> tuple[float, float]:
    """(recall, p95 of decision minus true onset in ms) for users over -6 dB echo."""
    delays_ms, trials = [], 0
    for i, at_s in enumerate(times):
        user, user_hz = espeak_native(USER_TEXTS[i % len(USER_TEXTS)], "en-us")
        room, reference, _ = _room(speech, rate_hz, -6.0, 150.0)
        clip = room.add_clip(user, user_hz, float(at_s), _USER_LEVEL_DB)
        magnitude = np.abs(clip.samples)
        onset_s = clip.at_s + int(np.argmax(magnitude > 0.01 * magnitude.max())) / CAPTURE_RATE_HZ
        vad = EchoAwareVad(VadSettings(), EchoSettings(latency_ms=0.0), reference)
        trials += 1
        while room.now_s < clip.end_s + 0.3:
            event = vad.process(room.step())
            if isinstance(event, SpeechStarted) and event.onset_s >= clip.at_s - 0.05:
                delays_ms.append((event.decided_s - onset_s) * 1000.0)
                break
    recall = len(delays_ms) / trials if trials else math.nan
    p95 = float(np.percentile(delays_ms, 95)) if delays_ms else math.nan
    return recall, p95


def _first_sound_s(speech: np.ndarray, rate_hz: int) -> float:
    magnitude = np.abs(speech.astype(np.float64))
    return int(np.argmax(magnitude > 0.01 * magnitude.max())) / rate_hz


def _double_talk_cost_us(speech: np.ndarray, rate_hz: int, frames: int = 100) -> float:
    """Microseconds per 30 ms frame of the double-talk detector's correlation."""
    room, reference, _ = _room(speech, rate_hz, -6.0, 150.0)
    lag_samples = round(0.1 * CAPTURE_RATE_HZ)
    spent_s = 0.0
    for _ in range(frames):
        frame = room.step()
        history = AudioFrame(np.zeros(len(frame.pcm) + lag_samples, np.int16),
                             t_seconds=frame.t_seconds - lag_samples / CAPTURE_RATE_HZ)
        ref = reference.reference_for(history, 0.0)
        started = time.perf_counter()
        echo_correlation(frame.pcm, ref)
        spent_s += time.perf_counter() - started
    return spent_s / frames * 1e6


def figures(quick: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bargein-echo-perf-") as tmp:
        workdir = Path(tmp)
        speech, rate_hz = _appliance_speech(workdir, quick)
        candidates: dict[str, EchoCanceller] = {
            "speex": SpeexCanceller(),
            "speex_filter_only": SpeexCanceller(suppress_db=0.0),
        }
        if webrtc_available():
            candidates["webrtc"] = WebRtcCanceller()
        else:
            log.info("webrtc candidate skipped: aec-audio-processing is not installed")
        for name, canceller in candidates.items():
            erle, cost = _canceller_figures(canceller, speech, rate_hz)
            out[f"aec_erle_db_{name}"] = round(erle, 1)
            out[f"aec_us_per_frame_{name}"] = round(cost, 1)
        out["aec_erle_db"] = out["aec_erle_db_speex"]
        out["aec_us_per_frame"] = out["aec_us_per_frame_speex"]
        for label, gain_db in COUPLINGS_DB.items():
            echo_rate, plain_rate = _false_starts_per_min(speech, rate_hz, gain_db)
            out[f"echo_vad_starts_per_min_{label}"] = round(echo_rate, 2)
            out[f"plain_vad_starts_per_min_{label}"] = round(plain_rate, 2)
        seconds = len(speech) / rate_hz
        times = (1.5, 4.5) if quick else tuple(np.arange(1.5, seconds - 2.0, 2.7))
        recall, p95 = _user_detection(speech, rate_hz, workdir, times)
        out["echo_vad_user_recall_minus6db"] = round(recall, 3)
        out["echo_vad_user_detect_ms_p95_minus6db"] = round(p95, 1)
        # Double talk from the start: the person talks 100 ms after the first sound.
        start_s = _first_sound_s(speech, rate_hz) + 0.1
        at_start = (start_s,) * (1 if quick else len(USER_TEXTS))
        recall, p95 = _user_detection(speech, rate_hz, workdir, at_start)
        out["echo_vad_user_recall_at_start_minus6db"] = round(recall, 3)
        out["echo_vad_user_detect_ms_p95_at_start_minus6db"] = round(p95, 1)
        out["dtd_us_per_frame"] = round(_double_talk_cost_us(speech, rate_hz), 1)
    return out
