"""What the wake word figures are measured on: the recorded readings cut into phrases for
the false-accept corpus, the model outputs the cutoff/window sweep reads, and the
conversation the daemon's wake-on/off CPU comparison holds (real espeak-ng, Piper,
recordings and microWakeWord models)."""

from __future__ import annotations

import numpy as np
import soxr

from bargein.audio.settings import WakeSettings
from bargein.audio.wake_word import WakeWordDetector
from bargein.bench.espeak import espeak_pcm
from bargein.bench.probes.wake_word import RECORDINGS, phrases
from bargein.bench.probes.wake_word_cpu import WAKE_SCRIPT
from bargein.bench.recordings import read_recording, resolve_recording
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16

FRAME = 480


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * CAPTURE_RATE_HZ), np.float32)


def _trimmed(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    return np.asarray(samples[loud[0]:loud[-1] + 1], np.float32)


def test_a_recording_is_cut_into_phrases_at_its_pauses_and_clicks_are_left_out():
    first = _trimmed(espeak_pcm("Good morning.", "en-us"))
    second = _trimmed(espeak_pcm("Turn on the light", "en-gb-x-rp"))
    third = _trimmed(espeak_pcm("please", "en-gb-x-rp"))
    click = np.full(round(0.03 * CAPTURE_RATE_HZ), 0.3, np.float32)
    audio = np.concatenate([_silence(0.4), first, _silence(0.7), second, _silence(0.1), third,
                            _silence(0.8), click, _silence(0.5)])
    got = phrases(audio)
    second_at_s = (0.4 * CAPTURE_RATE_HZ + len(first)) / CAPTURE_RATE_HZ + 0.7
    assert [round(start_s, 2) for start_s, _ in got] == [0.35, round(second_at_s - 0.05, 2)]
    # A 0.1 s pause is inside a phrase: "turn on the light ... please" stays one clip.
    expected_s = (len(second) + len(third)) / CAPTURE_RATE_HZ + 0.1 + 0.1
    assert abs(len(got[1][1]) / CAPTURE_RATE_HZ - expected_s) < 0.02
    assert phrases(np.zeros(16000, np.float32)) == []


def test_every_recorded_reading_gives_phrases_and_the_beckett_redirect_is_one_of_them():
    """'No matter. Try again.' (the scenario human-redirect-beckett-try-again cuts it from
    3.35 s) is a phrase of its own after a silence: the false-accept corpus hears it so."""
    for spec in RECORDINGS:
        pcm = read_recording(resolve_recording(spec))
        assert phrases(pcm), spec
    beckett = phrases(read_recording(resolve_recording("moonshine_voice:assets/beckett.wav")))
    assert any(3.35 <= start_s <= 3.6 and len(piece) / CAPTURE_RATE_HZ < 2.5
               for start_s, piece in beckett), [(s, len(p)) for s, p in beckett]


def test_the_window_is_the_mean_of_the_models_own_outputs():
    # A cutoff nothing reaches, so no detection empties the window on the way.
    detector = WakeWordDetector(WakeSettings(probability_cutoff=0.999))
    audio = np.concatenate([_silence(0.5), _trimmed(espeak_pcm("alexa", "en-us", 160)) * 0.3,
                            _silence(1.0)])
    pcm = to_int16(np.concatenate([audio, np.zeros(-len(audio) % FRAME, np.float32)]))
    outputs, means = [], []
    for i in range(0, len(pcm), FRAME):
        detector.process(AudioFrame(pcm[i:i + FRAME], i / CAPTURE_RATE_HZ))
        outputs.append(detector.last_output)
        means.append(detector.last_probability)
    detector.close()
    window = detector.sliding_window_size
    assert max(outputs) > 0.9
    # Frame 0 holds no inference (the frontend's first row comes from its third block).
    for i in range(window, len(outputs)):
        assert abs(means[i] - sum(outputs[i - window + 1:i + 1]) / window) < 1e-9, i


def test_the_cpu_comparisons_question_wakes_the_default_model_in_the_soaks_voice():
    """Both soak runs must answer the same turns: in wake_word mode the question opens
    one only if the default model hears its phrase in the Piper voice the soak speaks."""
    from bargein.tts.voice import load_voice

    voice = load_voice()
    _, name, text = WAKE_SCRIPT[0]
    assert name == "question"
    speech = np.concatenate([c.audio_float_array for c in voice.synthesize(text, varied=False)])
    speech = soxr.resample(speech.astype(np.float32), voice.rate_hz, CAPTURE_RATE_HZ)
    audio = np.concatenate([_silence(1.0), speech * 0.1, _silence(1.0)])
    pcm = to_int16(np.concatenate([audio, np.zeros(-len(audio) % FRAME, np.float32)]))
    detector = WakeWordDetector(WakeSettings())
    found = [hit for i in range(0, len(pcm), FRAME)
             if (hit := detector.process(AudioFrame(pcm[i:i + FRAME], i / CAPTURE_RATE_HZ)))]
    detector.close()
    assert len(found) == 1 and found[0].t_seconds < 1.0 + 1.2, found


# -- openWakeWord as a second opinion (measured by the perf, not built: docs/wake.md) ----


def _scene_pcm(clip: np.ndarray, before_s: float = 2.5, after_s: float = 1.0) -> np.ndarray:
    """A clip after a silence, over -60 dBFS noise, as int16 of whole 30 ms frames."""
    audio = np.concatenate([_silence(before_s), clip, _silence(after_s)])
    audio = np.concatenate([audio, np.zeros(-len(audio) % FRAME, np.float32)])
    noise = np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32) * 1e-3
    return to_int16(audio + noise)


def _at_minus20(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, np.float32)
    return samples * (0.1 / float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def _second_opinions(pcm: np.ndarray, second) -> list[tuple[float, float]]:
    """(microWakeWord's probability, openWakeWord's score) at each detection, the second
    opinion hearing the same frames as the detector, as the perf does."""
    detector = WakeWordDetector(WakeSettings())
    out = []
    for i in range(0, len(pcm), FRAME):
        frame = AudioFrame(pcm[i:i + FRAME], i / CAPTURE_RATE_HZ)
        second.hear(frame.pcm)
        hit = detector.process(frame)
        if hit is not None:
            out.append((hit.probability, second.verify()))
    detector.close()
    return out


def test_the_second_opinion_gives_pyopen_wakewords_own_scores():
    from pyopen_wakeword import Model, OpenWakeWord, OpenWakeWordFeatures

    from bargein.bench.probes.wake_word import SecondOpinion

    second = SecondOpinion()
    pcm = _scene_pcm(_at_minus20(_trimmed(espeak_pcm("alexa", "en-us", 160))), 2.0, 0.5)
    window = pcm[-second.samples:]
    ours = second.score(window)
    # pyopen-wakeword streams from the window's fourth 10 ms block (our melspectrogram
    # frames counted back from the end begin there), 1280 samples at a time.
    features = OpenWakeWordFeatures.from_builtin()
    features.new_audio_samples = 0  # not its 8 s of leading zeros
    classifier = OpenWakeWord.from_builtin(Model.ALEXA)
    theirs = [p for embedding in features.process_streaming(window[3 * 160:].tobytes())
              for p in classifier.process_streaming(embedding)]
    assert len(ours) == 7 and len(theirs) == 6
    assert np.allclose(ours[:6], theirs, atol=1e-5), (ours, theirs)
    assert max(ours) > 0.5  # the phrase is in the window
    second.close()


def test_the_second_opinion_does_not_separate_the_false_wake_from_wake_words():
    """openWakeWord's alexa agrees on Piper's "Alexa, what time is it?", but scores some
    espeak-ng "alexa"s that microWakeWord hears near 0 and the recorded false wake ("No
    matter. Try again.") after a silence above them: no threshold keeps the one and
    drops the other."""
    from bargein.bench.probes.wake_word import SecondOpinion
    from bargein.tts.voice import load_voice

    second = SecondOpinion()
    voice = load_voice()
    speech = np.concatenate([c.audio_float_array for c in voice.synthesize(
        "Alexa, what time is it?", varied=False)])
    speech = soxr.resample(speech.astype(np.float32), voice.rate_hz, CAPTURE_RATE_HZ)
    [(_, piper)] = _second_opinions(_scene_pcm(_at_minus20(_trimmed(speech))), second)
    assert piper > 0.5
    espeak = [score for voice_name, wpm in (("en-029", 175), ("en-us+f4", 130))
              for _, score in _second_opinions(_scene_pcm(_at_minus20(_trimmed(
                  espeak_pcm("alexa", voice_name, wpm)))), second)]
    assert len(espeak) == 2 and max(espeak) < 0.2, espeak  # both heard by microWakeWord
    beckett = next(piece for start_s, piece in phrases(read_recording(resolve_recording(
        "moonshine_voice:assets/beckett.wav"))) if 3.35 <= start_s <= 3.6)
    [(_, no_matter)] = _second_opinions(_scene_pcm(_at_minus20(beckett)), second)
    assert no_matter > max(espeak), (no_matter, espeak)
    second.close()
