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
