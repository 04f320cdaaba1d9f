"""Phrase judge figures for ``bargein perf`` and its calibration (the judge's ``WEIGHTS``).

The judge (:mod:`bargein.asr.pocketsphinx_judge`) is fed, frame by frame through its
Recognizer interface, the utterances the device's VAD would hand it: 150..250 ms of
lead-in, the sound, 200..400 ms of tail. Each is heard in two conditions:

- ``clean``: the sound alone (plus noise at -75 dBFS);
- ``mixed``: what the judge hears on the device after echo cancellation: the sound
  at -20 dBFS (speech: RMS of its active part), the appliance's own echo residue
  (Piper's or espeak-ng's speech at -45..-35 dBFS) and room noise (pink, -60 dBFS).

What is heard:

- ``in``: every phrase of the phrase book, said by espeak-ng;
- ``prefix``: sentences that open with a phrase ("no, I said Tuesday"): the category
  the classifier gives the whole sentence is the one to find;
- ``oop_short`` / ``oop_long``: sentences without a phrase, one to three words and
  five to eight words (most of these last longer than the judge's 2 s);
- ``recording``: cuts of real recorded speech (the moonshine-voice wheel's assets,
  ``/usr/share/sounds/alsa``), none holding a phrase;
- ``noise``: the benchmark's noise clips (cough, door, clap, keys, knock, drop) at
  -30, -20 and -10 dBFS peak, and ALSA's noise test;
- ``echo``: echo residue and room noise alone;
- ``tv``: recorded speech at -35..-25 dBFS with echo residue (a television across the room).

Voices: ``CALIBRATION_VOICES`` (the judge's weights are fitted on these) and
``HELD_OUT_VOICES`` (never fitted on). pocketsphinx-testdata recordings are not used:
they are kept for held-out evaluation elsewhere.

Figures (``phrase_judge_<set>_...``, ``set`` = ``cal`` or ``heldout``): ``phrase`` and
``category``: share of in-pack phrases the judge named right (the phrase, or one of
the same category); ``wrong_category``: share accepted with another category;
``category_<name>`` per category; ``prefix_category``; ``fa_<kind>``: share of each
kind of non-phrase sound the judge accepted a phrase for; ``rtf``: CPU seconds of
``finish`` per second of audio judged. The quick run uses one held-out voice and
every fourth phrase.

``python -m bargein.bench.probes.phrase_judge --calibrate`` fits the weights on the
calibration voices and prints them with the full table (a few minutes).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from bargein.agent.classifier import InterruptionClassifier, PhraseBook
from bargein.asr.pocketsphinx_judge import (
    ACCEPT_CONF,
    MAX_S,
    WEIGHTS,
    PhraseJudge,
    calibrated,
    make_pocketsphinx_judge,
)
from bargein.bench.espeak import espeak_pcm
from bargein.bench.scenario import CLIPS_DIR
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

CALIBRATION_VOICES = ("en-us", "en-us+f2", "en-gb-x-rp")
HELD_OUT_VOICES = ("en-us+m3", "en-029", "en-us+f4", "en-gb-scotland")
PREFIXED = ("no, I said Tuesday", "no, the other one", "wait, what time is it",
            "stop, that's wrong", "actually, make it seven", "can you turn it down",
            "what about tomorrow", "i meant the kitchen", "sorry, which one",
            "hold on, go back", "never mind the weather", "tell me the time")
OOP_SHORT = ("lights", "seven", "kitchen", "turn it up", "thanks a lot", "hello there",
             "music", "the blue one", "tomorrow morning", "good morning", "coffee",
             "that one", "maybe later", "five minutes", "in the garden", "my phone",
             "it is cold", "three", "happy birthday", "thank you")
OOP_LONG = ("turn on the lights in the kitchen", "the weather is nice today",
            "my name is john and i live here", "put the kettle on for me",
            "set a timer for ten minutes", "play some music in the living room",
            "remind me to call my mother", "the train leaves at nine tomorrow",
            "it has been raining all day long", "buy milk eggs and bread")
ECHO_TEXT = ("The weather tomorrow will be sunny with a high of twenty three degrees. "
             "Your next meeting is at three o'clock in the afternoon. "
             "Here is a recipe for a simple tomato soup that takes twenty minutes. "
             "The train to London leaves from platform four at nine fifteen.")
RECORDINGS = ("moonshine_voice:assets/beckett.wav", "moonshine_voice:assets/two_cities.wav",
              "moonshine_voice:assets/endgame_nagg_nell.wav",
              "moonshine_voice:assets/clone-test.wav")
ALSA_DIR = Path("/usr/share/sounds/alsa")
NEGATIVE_KINDS = ("oop_short", "oop_long", "recording", "noise", "echo", "tv")
CATEGORIES = ("backchannel", "cancellation", "correction", "clarification", "redirect",
              "resume")
FRAME_SAMPLES = 480


@dataclass(frozen=True)
class Item:
    """One utterance for the judge, and what it is."""

    kind: str
    truth: str
    category: str
    voice: str
    condition: str
    pcm: np.ndarray


@dataclass(frozen=True)
class Judged:
    """An :class:`Item` and the judge's verdict on it."""

    item: Item
    text: str
    conf: float
    features: tuple[float, ...]
    cpu_s: float


# -- sound ----------------------------------------------------------------------------


def _rms_db(x: np.ndarray) -> float:
    return 10.0 * np.log10(float(np.mean(np.square(x, dtype=np.float64))) + 1e-20)


def _active(x: np.ndarray, below: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > below * float(np.max(np.abs(x))))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


def _at_db(x: np.ndarray, level_db: float) -> np.ndarray:
    """``x`` scaled so its active part's RMS is ``level_db`` dBFS."""
    return (x * 10.0 ** ((level_db - _rms_db(_active(x))) / 20.0)).astype(np.float32)


def _pink(samples: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, samples).astype(np.float32)


class Room:
    """Frames a sound as the VAD would hand it over and mixes in the room."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.echo_sources = [_piper_speech(), np.asarray(espeak_pcm(ECHO_TEXT, "en-us+m1"),
                                                         np.float32)]

    def utterance(self, sound: np.ndarray, condition: str) -> np.ndarray:
        rng = self.rng
        lead = np.zeros(int(rng.uniform(0.15, 0.25) * CAPTURE_RATE_HZ), np.float32)
        tail = np.zeros(int(rng.uniform(0.2, 0.4) * CAPTURE_RATE_HZ), np.float32)
        x = np.concatenate([lead, sound.astype(np.float32), tail])
        if condition == "mixed":
            source = self.echo_sources[int(rng.integers(len(self.echo_sources)))]
            start = int(rng.integers(0, max(1, len(source) - len(x))))
            echo = np.resize(source[start:start + len(x)], len(x))
            x = x + _at_db(echo, float(rng.uniform(-45.0, -35.0)))
            room = _pink(len(x), rng)
            x = x + room * 10.0 ** ((-60.0 - _rms_db(room)) / 20.0)
        else:
            x = x + rng.standard_normal(len(x)).astype(np.float32) * 10.0 ** (-75.0 / 20.0)
        return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def _piper_speech() -> np.ndarray:
    from bargein.tts.voice import load_voice

    voice = load_voice()
    pcm = np.concatenate([c.audio_float_array for c in voice.synthesize(ECHO_TEXT, varied=False)])
    return soxr.resample(pcm.astype(np.float32), voice.rate_hz, CAPTURE_RATE_HZ).astype(np.float32)


def _recording(spec: str) -> np.ndarray | None:
    from bargein.bench.recordings import (
        RecordingError,
        read_recording,
        resolve_recording,
    )

    try:
        return read_recording(resolve_recording(spec))
    except RecordingError as err:
        log.warning("phrase judge perf: %s; left out", err)
        return None


# -- what is heard ----------------------------------------------------------------------


def category_of(classifier: InterruptionClassifier, resume: frozenset[str]) -> Callable[[str], str]:
    """The category the classifier gives a text: its interruption type, or ``resume``
    for a resume phrase the classifier has no cut category for, ``none`` for no text."""
    def category(text: str) -> str:
        if not text:
            return "none"
        kind = classifier.classify_final(text).value
        if kind in ("noise", "redirect") and " ".join(classifier.normalise(text)) in resume:
            return "resume"
        return kind
    return category


def speech_items(voices: Sequence[str], phrases: Sequence[str], room: Room,
                 category: Callable[[str], str], step: int = 1) -> Iterator[Item]:
    """Phrases, prefixed sentences and sentences without a phrase, in ``voices``."""
    groups = (("in", phrases[::step]), ("prefix", PREFIXED[::step]),
              ("oop_short", OOP_SHORT[::step]), ("oop_long", OOP_LONG[::step]))
    for voice in voices:
        for condition in ("clean", "mixed"):
            for kind, texts in groups:
                for text in texts:
                    sound = _at_db(np.asarray(espeak_pcm(text, voice), np.float32), -20.0)
                    truth_category = category(text) if kind in ("in", "prefix") else "none"
                    yield Item(kind, text, truth_category, voice, condition,
                               room.utterance(_active(sound), condition))


def other_items(room: Room, step: int = 1) -> Iterator[Item]:
    """Recorded speech, noises, echo residue alone and a television: no phrase in any."""
    rng = room.rng
    alsa = sorted(p for p in ALSA_DIR.glob("*.wav") if p.name != "Noise.wav")
    recordings = [r for r in (_recording(s) for s in RECORDINGS) if r is not None]
    clips = sorted(CLIPS_DIR.glob("*.wav"))
    if not clips:
        log.warning("phrase judge perf: no noise clips in %s; noises left out", CLIPS_DIR)
    for condition in ("clean", "mixed"):
        for path in alsa[::step]:
            sound = _recording(str(path))
            if sound is not None:
                yield Item("recording", path.stem, "none", "alsa", condition,
                           room.utterance(_active(_at_db(sound, -20.0)), condition))
        for k, rec in enumerate(recordings):
            for _ in range(max(1, 6 // step)):
                cut_s = rng.uniform(0.5, 1.8)
                at_s = rng.uniform(0.0, len(rec) / CAPTURE_RATE_HZ - cut_s)
                sound = rec[int(at_s * CAPTURE_RATE_HZ):int((at_s + cut_s) * CAPTURE_RATE_HZ)]
                if np.max(np.abs(sound)) < 0.01:
                    continue
                yield Item("recording", f"{RECORDINGS[k]}@{at_s:.1f}", "none", "recorded",
                           condition, room.utterance(_at_db(sound, -20.0), condition))
        for path in clips:
            sound = _recording(str(path))
            if sound is None:
                continue
            for peak_db in (-30.0, -20.0, -10.0)[::step]:
                peak = sound * (10.0 ** (peak_db / 20.0) / float(np.max(np.abs(sound))))
                yield Item("noise", f"{path.stem}@{peak_db:g}", "none", "-", condition,
                           room.utterance(peak, condition))
        noise = _recording(str(ALSA_DIR / "Noise.wav"))
        if noise is not None:
            yield Item("noise", "alsa-noise", "none", "-", condition,
                       room.utterance(_at_db(noise, -25.0), condition))
    for k in range(40 // step):
        silence = np.zeros(int(rng.uniform(0.3, 1.4) * CAPTURE_RATE_HZ), np.float32)
        yield Item("echo", f"echo{k}", "none", "-", "mixed", room.utterance(silence, "mixed"))
    for k in range(30 // step) if recordings else ():
        rec = recordings[k % len(recordings)]
        cut_s = rng.uniform(0.6, 1.6)
        at_s = rng.uniform(0.0, len(rec) / CAPTURE_RATE_HZ - cut_s)
        sound = rec[int(at_s * CAPTURE_RATE_HZ):int((at_s + cut_s) * CAPTURE_RATE_HZ)]
        yield Item("tv", f"tv{k}@{at_s:.1f}", "none", "-", "mixed",
                   room.utterance(_at_db(sound, float(rng.uniform(-35.0, -25.0))), "mixed"))


# -- judging ----------------------------------------------------------------------------


def judge_items(judge: PhraseJudge, items: Sequence[Item]) -> list[Judged]:
    """Feed each item to ``judge`` in 30 ms frames, finish, and keep its verdict."""
    out = []
    t = 0.0
    for item in items:
        judge.reset(t)
        for i in range(0, len(item.pcm), FRAME_SAMPLES):
            frame = AudioFrame(item.pcm[i:i + FRAME_SAMPLES], t)
            judge.accept(frame)
            t = frame.end_s
        cpu0 = time.thread_time()
        judge.finish()
        cpu_s = time.thread_time() - cpu0
        verdict = judge.last_verdict
        text, conf, features = ("", 0.0, ()) if verdict is None else (
            verdict.text, verdict.conf, verdict.features)
        out.append(Judged(item, text, conf, features, cpu_s))
        t += 1.0
    return out


def rescored(judged: Sequence[Judged], weights: Sequence[float]) -> list[Judged]:
    """``judged`` with every ``conf`` recomputed under ``weights``."""
    return [Judged(j.item, j.text, calibrated(j.features, weights) if j.text else 0.0,
                   j.features, j.cpu_s) for j in judged]


def table(judged: Sequence[Judged], category: Callable[[str], str], prefix: str,
          accept_conf: float = ACCEPT_CONF) -> dict[str, float]:
    """The figures for one set of verdicts (see the module docstring)."""
    def accepted(j: Judged) -> bool:
        return bool(j.text) and j.conf >= accept_conf

    def share(rows: list[Judged], hit: Callable[[Judged], bool]) -> float:
        return round(sum(map(hit, rows)) / len(rows), 3) if rows else float("nan")

    right = lambda j: accepted(j) and category(j.text) == j.item.category  # noqa: E731
    out: dict[str, float] = {}
    phrases = [j for j in judged if j.item.kind == "in"]
    out[f"{prefix}_phrase"] = share(phrases, lambda j: accepted(j) and j.text == j.item.truth)
    out[f"{prefix}_category"] = share(phrases, right)
    for condition in ("clean", "mixed"):
        out[f"{prefix}_category_{condition}"] = share(
            [j for j in phrases if j.item.condition == condition], right)
    out[f"{prefix}_wrong_category"] = share(phrases, lambda j: accepted(j) and not right(j))
    for name in CATEGORIES:
        out[f"{prefix}_category_{name}"] = share(
            [j for j in phrases if j.item.category == name], right)
    prefixed = [j for j in judged if j.item.kind == "prefix"]
    out[f"{prefix}_prefix_category"] = share(prefixed, right)
    out[f"{prefix}_prefix_wrong_category"] = share(prefixed,
                                                   lambda j: accepted(j) and not right(j))
    for kind in NEGATIVE_KINDS:
        out[f"{prefix}_fa_{kind}"] = share([j for j in judged if j.item.kind == kind], accepted)
    decoded = [j for j in judged if len(j.item.pcm) <= MAX_S * CAPTURE_RATE_HZ]
    decoded_s = sum(len(j.item.pcm) for j in decoded) / CAPTURE_RATE_HZ
    out[f"{prefix}_rtf"] = round(sum(j.cpu_s for j in decoded) / decoded_s, 4)
    return out


def fit_weights(judged: Sequence[Judged], category: Callable[[str], str],
                l2: float = 0.01, iterations: int = 50) -> tuple[float, ...]:
    """Logistic weights (bias first) saying whether a verdict's category is right,
    fitted by Newton's method on the verdicts that name a phrase."""
    rows = [j for j in judged if j.text]
    x = np.array([(1.0, *j.features) for j in rows])
    y = np.array([float(j.item.kind in ("in", "prefix") and category(j.text) == j.item.category)
                  for j in rows])
    w = np.zeros(x.shape[1])
    ridge = l2 * np.diag(np.r_[0.0, np.ones(x.shape[1] - 1)])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + ridge
        w -= np.linalg.solve(hessian, gradient)
    return tuple(round(float(v), 3) for v in w)


def _setup() -> tuple[list[str], Callable[[str], str], PhraseJudge]:
    book = PhraseBook.load("en")
    phrases = list(book.phrase_texts())
    category = category_of(InterruptionClassifier(book),
                           frozenset(" ".join(p) for p in book.resume))
    judge = make_pocketsphinx_judge(phrases)
    assert judge is not None, "the bundled dictionary knows the phrase book's words"
    return phrases, category, judge


def run(voices: Sequence[str], seed: int,
        step: int = 1) -> tuple[list[Judged], Callable[[str], str]]:
    """Build the items for ``voices`` (deterministically from ``seed``) and judge them."""
    phrases, category, judge = _setup()
    room = Room(seed)
    items = list(speech_items(voices, phrases, room, category, step))
    items += list(other_items(room, step))
    return judge_items(judge, items), category


def figures(quick: bool) -> dict[str, float]:
    if quick:
        judged, category = run(HELD_OUT_VOICES[:1], seed=3, step=4)
        return {f"phrase_judge_{k}": v for k, v in table(judged, category, "heldout").items()}
    result: dict[str, float] = {}
    for name, voices, seed in (("cal", CALIBRATION_VOICES, 1), ("heldout", HELD_OUT_VOICES, 3)):
        judged, category = run(voices, seed)
        result.update({f"phrase_judge_{k}": v for k, v in table(judged, category, name).items()})
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calibrate", action="store_true",
                        help="fit the judge's weights on the calibration voices and print "
                             "them with the figures at several thresholds")
    parser.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9")
    args = parser.parse_args(argv)
    cal, category = run(CALIBRATION_VOICES, seed=1)
    held, _ = run(HELD_OUT_VOICES, seed=3)
    weights = fit_weights(cal, category) if args.calibrate else WEIGHTS
    print(f"weights {weights}")
    cal, held = rescored(cal, weights), rescored(held, weights)
    for threshold in (float(t) for t in args.thresholds.split(",")):
        print(f"-- accept at conf >= {threshold}")
        for name, judged in (("cal", cal), ("heldout", held)):
            print("  ", {k: v for k, v in table(judged, category, name, threshold).items()})


if __name__ == "__main__":
    main()
