"""The wake word detector: real microWakeWord models on real speech (espeak-ng, Piper),
fed 30 ms capture frames as the pipeline gives them."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

from bargein.audio.settings import WakeSettings
from bargein.audio.wake_word import (
    BUNDLED_MODELS,
    MODELS_DIR,
    WakeDetected,
    WakeWordDetector,
    WakeWordError,
    find_wake_model,
)
from bargein.bench.espeak import espeak_pcm
from bargein.core.errors import ConfigError, ModelMissingError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16
from bargein.device.commands.doctor import FAIL, OK, check_wake_model
from bargein.device.config import Config, load_config

FRAME = 480  # 30 ms
START_S = 100.0  # the capture clock does not start at 0 in a running daemon
DEFAULT = WakeSettings()


def _at_dbfs(samples: np.ndarray, level_db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return (samples * (10.0 ** (level_db / 20.0) / rms)).astype(np.float32)


def _trimmed(samples: np.ndarray) -> np.ndarray:
    """espeak pads its speech with silence: keep from the first to the last loud sample."""
    loud = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())
    return samples[loud[0]:loud[-1] + 1]


def _scene(*parts: np.ndarray | float) -> tuple[np.ndarray, list[float]]:
    """Clips and silences (seconds) in a row over -60 dBFS noise, as int16 of whole frames;
    also the time (from the start) each clip ends."""
    pieces, ends, t = [], [], 0
    for part in parts:
        if isinstance(part, float):
            piece = np.zeros(round(part * CAPTURE_RATE_HZ), np.float32)
        else:
            piece = part
            ends.append((t + len(piece)) / CAPTURE_RATE_HZ)
        pieces.append(piece)
        t += len(piece)
    audio = np.concatenate(pieces)
    audio = np.concatenate([audio, np.zeros(-len(audio) % FRAME, np.float32)])
    noise = np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32) * 1e-3
    return to_int16(audio + noise), ends


def _feed(detector: WakeWordDetector, pcm: np.ndarray, frame: int = FRAME,
          start_s: float = START_S) -> list[WakeDetected]:
    found = []
    for i in range(0, len(pcm), frame):
        hit = detector.process(AudioFrame(pcm[i:i + frame], start_s + i / CAPTURE_RATE_HZ))
        if hit is not None:
            found.append(hit)
    return found


@pytest.fixture(scope="module")
def detector() -> WakeWordDetector:
    d = WakeWordDetector(DEFAULT)
    yield d
    d.close()


@pytest.fixture(scope="module")
def phrase() -> np.ndarray:
    """The default model's wake phrase, clearly spoken by espeak-ng at -20 dBFS."""
    text = find_wake_model(DEFAULT.model).wake_word.lower()
    return _at_dbfs(_trimmed(np.asarray(espeak_pcm(text, "en-us", 160))), -20.0)


def test_the_default_model_hears_its_phrase_and_times_it_at_the_phrase_end(detector, phrase):
    detector.reset()
    pcm, (end_s,) = _scene(1.0, phrase, 1.5)
    found = _feed(detector, pcm)
    assert len(found) == 1, found
    hit = found[0]
    assert hit.model == DEFAULT.model and hit.wake_word == detector.model.wake_word
    assert hit.probability > detector.probability_cutoff
    # On the capture clock: just after the phrase's last sound, never before its middle.
    assert START_S + end_s - 0.25 <= hit.t_seconds <= START_S + end_s + 0.5, (hit, end_s)


def test_one_utterance_fires_once_and_the_next_one_fires_again(detector, phrase):
    detector.reset()
    # The window stays above the cutoff for several 30 ms steps of one phrase: without the
    # refractory period one utterance would be reported more than once.
    pcm, ends = _scene(1.0, phrase, 0.3, phrase, 3.0, phrase, 1.5)
    trace = []
    found = []
    for i in range(0, len(pcm), FRAME):
        hit = detector.process(AudioFrame(pcm[i:i + FRAME], START_S + i / CAPTURE_RATE_HZ))
        trace.append(detector.last_probability)
        if hit is not None:
            found.append(hit)
    assert sum(p > detector.probability_cutoff for p in trace) >= 2
    # "Alexa ... Alexa" within the refractory period is one wake; the phrase 3 s later another.
    assert len(found) == 2, found
    assert found[0].t_seconds < START_S + ends[1] + 0.5
    assert abs(found[1].t_seconds - (START_S + ends[2])) < 0.5
    assert found[1].t_seconds - found[0].t_seconds >= DEFAULT.refractory_ms / 1000.0


def test_silence_other_speech_and_the_appliance_voice_do_not_fire(detector):
    from bargein.tts.voice import load_voice

    detector.reset()
    others = [
        _at_dbfs(espeak_pcm("The weather tomorrow will be cloudy with a chance of rain "
                            "in the afternoon, so take an umbrella.", "en-us"), -20.0),
        _at_dbfs(espeak_pcm("Alex read the election results aloud, then we had a cup of "
                            "tea in the kitchen.", "en-gb-x-rp"), -20.0),
        _at_dbfs(espeak_pcm("Okay, now turn the lights off in the hall, hey, thanks.",
                            "en-us+f2"), -30.0),
    ]
    voice = load_voice()
    import soxr

    piper = np.concatenate([c.audio_float_array for c in voice.synthesize(
        "Here is the news summary for this morning: the council approved the new cycle "
        "lanes, and I can set a timer for your tea.", varied=False)])
    piper = _at_dbfs(soxr.resample(piper.astype(np.float32), voice.rate_hz, CAPTURE_RATE_HZ),
                     -20.0)
    pcm, _ = _scene(8.0, *[p for o in others for p in (o, 0.5)], piper, 1.0)
    before = detector.detections
    assert _feed(detector, pcm) == []
    assert detector.detections == before


def test_frames_of_any_whole_10ms_blocks_give_the_same_answer(phrase):
    pcm, _ = _scene(0.99, phrase, 1.5)
    pcm = pcm[: len(pcm) // 960 * 960]
    answers = []
    for frame in (160, 320, 960):
        d = WakeWordDetector(DEFAULT)
        answers.append([(round(h.t_seconds, 3), round(h.probability, 4))
                        for h in _feed(d, pcm, frame)])
        d.close()
    assert answers[0] and answers[0] == answers[1] == answers[2]


def test_probabilities_are_pymicro_wakewords_own(phrase):
    """The preallocated path computes what ``MicroWakeWord.process_streaming_prob`` does."""
    pcm, _ = _scene(0.5, phrase, 0.5, phrase, 0.5)
    ours = WakeWordDetector(dataclasses.replace(DEFAULT, probability_cutoff=0.999))
    theirs = MicroWakeWord.from_config(MODELS_DIR / f"{DEFAULT.model}.json")
    features = MicroWakeWordFeatures()
    expected = [theirs.process_streaming_prob(f) for f in features.process_streaming(pcm.tobytes())]
    got = []
    for i in range(0, len(pcm), FRAME):
        ours.process(AudioFrame(pcm[i:i + FRAME], i / CAPTURE_RATE_HZ))
        got.append(ours.last_probability)
    # pymicro answers 0.0 for every feature row; the model runs on every third. The
    # frontend's first row comes from the third block, so frame 0 holds no inference and
    # every later 30 ms frame exactly one.
    expected = expected[ours.stride - 1::ours.stride]
    assert got[0] == 0.0 and len(got) - 1 == len(expected) and max(expected) > 0.9
    np.testing.assert_allclose(got[1:], expected, atol=1e-6)
    ours.close()
    theirs.close()


def test_bad_frames_name_the_fix(detector):
    for pcm, rate in ((np.zeros(100, np.int16), 16000), (np.zeros(480, np.float32), 16000),
                      (np.zeros(480, np.int16), 48000)):
        with pytest.raises(ValueError, match="whole 10 ms blocks.*after echo cancellation"):
            detector.process(AudioFrame(pcm, 0.0, rate))


# -- choosing a model -------------------------------------------------------------------


def test_every_bundled_model_loads_with_its_own_cutoff_and_window():
    assert set(BUNDLED_MODELS) == {"okay_nabu", "hey_jarvis", "alexa", "hey_mycroft"}
    for name in BUNDLED_MODELS:
        d = WakeWordDetector(dataclasses.replace(DEFAULT, model=name))
        assert d.model.bundled and d.model.name == name
        assert 0.5 < d.probability_cutoff < 1.0
        assert d.probability_cutoff == d.model.probability_cutoff
        assert d.sliding_window_size == d.model.sliding_window_size
        d.close()
    d = WakeWordDetector(WakeSettings(model="okay_nabu", probability_cutoff=0.6,
                                      sliding_window_size=3))
    assert (d.probability_cutoff, d.sliding_window_size) == (0.6, 3)
    d.close()
    with pytest.raises(WakeWordError, match="closed"):  # not a NULL interpreter in C
        d.process(AudioFrame(np.zeros(FRAME, np.int16), 0.0))


def test_an_unknown_name_lists_the_bundled_models():
    with pytest.raises(ConfigError) as err:
        WakeWordDetector(WakeSettings(model="hey_google"))
    message = str(err.value)
    assert "'hey_google'" in message and "\n" not in message
    for name in BUNDLED_MODELS:
        assert name in message
    assert ".tflite with its .json" in message


def test_an_owners_model_is_a_tflite_with_its_json_beside_it(tmp_path: Path, phrase):
    tflite = tmp_path / "my_word.tflite"
    shutil.copy(MODELS_DIR / f"{DEFAULT.model}.tflite", tflite)
    with pytest.raises(ModelMissingError, match=r"has no my_word\.json next to it; put the \.json"):
        WakeWordDetector(WakeSettings(model=str(tflite)))
    shutil.copy(MODELS_DIR / f"{DEFAULT.model}.json", tmp_path / "my_word.json")
    d = WakeWordDetector(WakeSettings(model=str(tflite)))
    assert d.model.name == "my_word" and not d.model.bundled
    pcm, _ = _scene(1.0, phrase, 1.5)
    assert len(_feed(d, pcm)) == 1
    d.close()
    with pytest.raises(ModelMissingError, match="not found"):
        WakeWordDetector(WakeSettings(model=str(tmp_path / "absent.tflite")))


def test_a_corrupt_model_is_an_error_not_a_crash(tmp_path: Path):
    (tmp_path / "broken.tflite").write_bytes(b"\0\0\0\0TFL3" + bytes(range(256)) * 8)
    shutil.copy(MODELS_DIR / "alexa.json", tmp_path / "broken.json")
    with pytest.raises(ModelMissingError, match="not a TensorFlow Lite model"):
        WakeWordDetector(WakeSettings(model=str(tmp_path / "broken.tflite")))
    (tmp_path / "broken.json").write_text('{"wake_word": "Broken"}')
    with pytest.raises(ModelMissingError, match="no \"micro\" table"):
        WakeWordDetector(WakeSettings(model=str(tmp_path / "broken.tflite")))


# -- settings and doctor ----------------------------------------------------------------


def test_wake_settings_are_read_and_checked(tmp_path: Path):
    assert Config().wake == WakeSettings()
    path = tmp_path / "config.toml"
    path.write_text('[wake]\nmodel = "okay_nabu"\nprobability_cutoff = 0.8\nrefractory_ms = 1500\n')
    wake = load_config(path).wake
    assert (wake.model, wake.probability_cutoff, wake.refractory_ms) == ("okay_nabu", 0.8, 1500)
    for text, fragments in (
        ("[wake]\nrefractory_ms = 100\n",
         ["[wake] refractory_ms", "out of range", "300 to 10000 ms"]),
        ("[wake]\nprobability_cutoff = 1.5\n", ["[wake] probability_cutoff", "out of range"]),
        ("[wake]\nsliding_window_size = 2.5\n", ["[wake] sliding_window_size", "an integer"]),
        ("[wake]\ncutoff = 0.5\n", ["[wake] cutoff", "unknown key", "probability_cutoff"]),
        ("[wake]\nmodel = 3\n", ["[wake] model", "expected a string"]),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_config(path)
        for fragment in fragments:
            assert fragment in str(err.value)


def test_doctor_loads_and_runs_the_wake_model(tmp_path: Path):
    good = check_wake_model(Config())
    assert good.status == OK, good
    assert DEFAULT.model in good.detail and "us per 10 ms" in good.detail
    bad = check_wake_model(Config(wake=WakeSettings(model="hey_google")))
    assert bad.status == FAIL and "hey_google" in bad.detail
    assert "okay_nabu" in bad.fix and ".tflite" in bad.fix
    shutil.copy(MODELS_DIR / "alexa.tflite", tmp_path / "mine.tflite")
    lonely = check_wake_model(Config(wake=WakeSettings(model=str(tmp_path / "mine.tflite"))))
    assert lonely.status == FAIL and "mine.json" in lonely.detail
    assert lonely.fix.startswith("put the .json")
