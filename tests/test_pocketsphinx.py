"""The pocketsphinx engine with its bundled en-us model on espeak-ng speech: partials and
finals on the capture clock, the keyphrase spotter, the engine setting and the worker."""

from __future__ import annotations

import dataclasses
import logging
import queue
import time
from pathlib import Path

import numpy as np
import pytest

from bargein.asr.engine import REPEAT_PARTIAL_S
from bargein.asr.engines import build_recognizers
from bargein.asr.pocketsphinx_engine import (
    PocketsphinxRecognizer,
    is_filler,
    spoken_word,
)
from bargein.asr.pocketsphinx_model import bundled_model, find_model, model_from
from bargein.asr.pocketsphinx_spotter import make_pocketsphinx_spotter
from bargein.asr.results import Final, Partial
from bargein.asr.settings import AsrSettings
from bargein.asr.worker import AsrWorker
from bargein.bench.espeak import espeak_pcm
from bargein.core.errors import ConfigError, ModelMissingError
from bargein.core.frames import AudioFrame, to_int16
from bargein.device.config import config_from_dict

RATE_HZ = 16000
FRAME = 480  # 30 ms
LEAD_S = 0.5
TAIL_S = 1.0
WAIT_S = 30.0
COMMANDS = ["stop", "wait", "cancel", "never mind", "hold on"]
US = ("en-us", None)
"""espeak-ng's American voice at its own pace."""
US_M3 = ("en-us+m3", 140)
"""A lower male variant, slower: the bundled model hears a lone "stop" better in it."""
WARM_UP = ["hello there, how are you doing today? I am fine, thank you.",
           "the quick brown fox jumps over the lazy dog"]


def speech(text: str, voice: tuple[str, int | None] = US) -> np.ndarray:
    """``text`` spoken by espeak-ng, int16 at 16 kHz, with silence before and after."""
    pcm = to_int16(np.asarray(espeak_pcm(text, voice[0], voice[1])))
    return np.concatenate([np.zeros(int(LEAD_S * RATE_HZ), np.int16), pcm,
                           np.zeros(int(TAIL_S * RATE_HZ), np.int16)])


def speech_span(pcm: np.ndarray, t0_s: float) -> tuple[float, float]:
    loud = np.nonzero(np.abs(pcm) > 300)[0]
    return t0_s + loud[0] / RATE_HZ, t0_s + (loud[-1] + 1) / RATE_HZ


def frames(pcm: np.ndarray, t0_s: float) -> list[AudioFrame]:
    return [AudioFrame(pcm[i : i + FRAME], t0_s + i / RATE_HZ) for i in range(0, len(pcm), FRAME)]


def decode(rec: PocketsphinxRecognizer, pcm: np.ndarray, t0_s: float) -> list[Partial | Final]:
    events = [e for f in frames(pcm, t0_s) for e in rec.accept(f)]
    return events + rec.finish()


def warm_up(voice: tuple[str, int | None]) -> np.ndarray:
    """Speech that moves pocketsphinx's running cepstral mean off its built-in guess (as
    the worker's warm-up does): without it the first words of a fresh decoder suffer."""
    return np.concatenate([speech(text, voice) for text in WARM_UP])


def warmed(voice: tuple[str, int | None] = US) -> PocketsphinxRecognizer:
    recognizer = PocketsphinxRecognizer()
    recognizer.absorb(warm_up(voice))
    return recognizer


@pytest.mark.parametrize(("text", "voice"), [("stop", US_M3), ("never mind", US)])
def test_commands_alone_are_recognised(text: str, voice: tuple[str, int | None]) -> None:
    rec = warmed(voice)
    rec.reset(0.0)
    events = decode(rec, speech(text, voice), 0.0)
    finals = [e for e in events if isinstance(e, Final)]
    assert [f.text for f in finals] == [text], events


def test_partials_then_a_final_with_words_on_the_capture_clock() -> None:
    t0 = 100.0
    pcm = speech("what is the weather like in london")
    rec = warmed()
    rec.reset(t0)
    events = decode(rec, pcm, t0)
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1, events
    final = finals[0]
    assert final.text == "what is the weather like in london"
    partials = [e for e in events if isinstance(e, Partial)]
    assert partials and events.index(final) > events.index(partials[-1])
    assert all(p.source == "asr" and p.text for p in partials)
    # a change, or the same hypothesis held for REPEAT_PARTIAL_S more audio
    assert all(a.text != b.text or b.t_seconds - a.t_seconds >= REPEAT_PARTIAL_S - 1e-9
               for a, b in zip(partials, partials[1:]))
    assert all(p.words and " ".join(w.text for w in p.words) == p.text for p in partials)
    start_s, end_s = speech_span(pcm, t0)
    for event in [*partials, final]:
        for word in event.words:
            assert start_s - 0.15 <= word.start_s < word.end_s <= end_s + 0.15, (word, start_s)
    starts = [w.start_s for w in final.words]
    assert starts == sorted(starts)
    # an endpoint: 0.5 s of decoded audio after the last word, before the audio ran out
    assert final.words[-1].end_s + 0.5 <= final.t_seconds <= final.words[-1].end_s + 0.65
    assert final.t_seconds < t0 + len(pcm) / RATE_HZ
    # the partial that first showed "weather" came while the audio was still being fed
    first = next(p for p in partials if "weather" in p.text.split())
    weather = next(w for w in first.words if w.text == "weather")
    assert weather.end_s <= first.t_seconds <= end_s + 0.5


def test_a_hypothesis_that_holds_is_reported_again() -> None:
    rec = warmed()
    rec.reset(0.0)
    events = decode(rec, speech("stop"), 0.0)
    partials = [e for e in events if isinstance(e, Partial)]
    repeats = [b for a, b in zip(partials, partials[1:]) if a.text == b.text]
    assert repeats, partials
    assert all(b.t_seconds - a.t_seconds >= REPEAT_PARTIAL_S - 1e-9
               for a, b in zip(partials, partials[1:]) if a.text == b.text)


def test_finals_carry_posteriors_and_no_filler_or_alternate_tokens() -> None:
    rec = warmed()
    rec.reset(0.0)
    noise = (np.random.default_rng(3).normal(0, 800, RATE_HZ // 2)).astype(np.int16)
    pcm = np.concatenate([speech("please turn off the kitchen lights"), noise,
                          speech("and then stop the music")])
    events = decode(rec, pcm, 0.0)
    finals = [e for e in events if isinstance(e, Final)]
    assert finals, events
    confs = [w.conf for f in finals for w in f.words]
    assert all(0.0 <= c <= 1.0 for c in confs)
    assert min(confs) < 0.99, confs  # real lattice posteriors, not the placeholder 1.0
    for event in events:
        tokens = event.text.split() + [w.text for w in event.words]
        assert not [t for t in tokens if is_filler(t) or "(" in t], event


def test_filler_and_alternate_tokens_are_named_right() -> None:
    assert all(is_filler(t) for t in ("<s>", "</s>", "<sil>", "[NOISE]", "++BREATH++", "+SPN+"))
    assert not any(is_filler(t) for t in ("stop", "don't", "a"))
    assert spoken_word("the(2)") == "the" and spoken_word("never mind ") == "never mind"


def test_endpoint_inside_a_stream_gives_a_final_without_finish() -> None:
    rec = warmed(US_M3)
    rec.reset(0.0)
    pcm = np.concatenate([speech("stop", US_M3), np.zeros(RATE_HZ, np.int16)])
    events = [e for f in frames(pcm, 0.0) for e in rec.accept(f)]
    assert [e.text for e in events if isinstance(e, Final)] == ["stop"], events
    assert rec.finish() == []


def test_reset_drops_the_utterance_in_progress() -> None:
    rec = warmed()
    rec.reset(0.0)
    first = speech("please turn off the kitchen lights")
    for frame in frames(first[: len(first) // 2], 0.0):
        rec.accept(frame)
    rec.reset(200.0)
    events = decode(rec, speech("never mind"), 200.0)
    finals = [e for e in events if isinstance(e, Final)]
    assert [f.text for f in finals] == ["never mind"], events
    assert all(w.start_s >= 200.0 for e in events for w in e.words)


def test_absorb_reports_nothing_and_reset_starts_the_clock() -> None:
    rec = PocketsphinxRecognizer(start_t_seconds=7.0)
    assert rec.t_seconds == 7.0
    warm = warm_up(US_M3)
    assert rec.absorb(warm) is None
    assert rec.t_seconds == pytest.approx(7.0 + len(warm) / RATE_HZ)
    rec.reset(50.0)
    assert rec.finish() == []  # the warm-up's words were dropped, not flushed
    events = decode(rec, speech("stop", US_M3), 50.0)
    assert [e.text for e in events if isinstance(e, Final)] == ["stop"]
    assert all(w.start_s >= 50.0 for e in events for w in e.words)


def test_frames_that_are_not_16k_mono_int16_are_refused() -> None:
    rec = PocketsphinxRecognizer()
    with pytest.raises(ValueError, match="16000 Hz"):
        rec.accept(AudioFrame(np.zeros(1440, np.int16), 0.0, rate_hz=48000))
    with pytest.raises(ValueError, match="mono int16"):
        rec.accept(AudioFrame(np.zeros((480, 2), np.int16), 0.0))
    with pytest.raises(ValueError, match="mono int16"):
        rec.accept(AudioFrame(np.zeros(480, np.float32), 0.0))


# -- the spotter ----------------------------------------------------------------------


@pytest.fixture
def spotter() -> PocketsphinxRecognizer:
    made = make_pocketsphinx_spotter(COMMANDS)
    assert made is not None
    made.absorb(warm_up(US))
    return made


def test_spotter_finds_stop_inside_a_sentence(spotter: PocketsphinxRecognizer) -> None:
    t0 = 30.0
    pcm = speech("i think we should stop now")
    spotter.reset(t0)
    events = decode(spotter, pcm, t0)
    assert events and all(isinstance(e, Partial) and e.source == "spotter" for e in events)
    assert any("stop" in e.text.split() for e in events), events
    hit = next(e for e in events if "stop" in e.text.split())
    stop = next(w for w in hit.words if w.text == "stop")
    start_s, end_s = speech_span(pcm, t0)
    assert start_s < stop.start_s < stop.end_s <= end_s + 0.1
    assert hit.t_seconds < end_s + 0.2  # reported while the sentence was still being fed
    assert not [e for e in events if set(e.text.split()) - {"stop"}], events


def test_spotter_stays_quiet_for_a_sentence_without_commands(
    spotter: PocketsphinxRecognizer,
) -> None:
    spotter.reset(0.0)
    assert decode(spotter, speech("what is the weather like tomorrow in london"), 0.0) == []


def test_spotter_drops_phrases_the_dictionary_lacks_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bargein.asr.pocketsphinx_spotter"):
        made = make_pocketsphinx_spotter(["stop", "frobnicatex", "hold zqxjv"])
    assert made is not None and made.source == "spotter"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "frobnicatex, hold zqxjv" in warnings[0], warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bargein.asr.pocketsphinx_spotter"):
        assert make_pocketsphinx_spotter(["frobnicatex"]) is None
    assert any("spotter off" in r.getMessage() for r in caplog.records)


# -- model, setting, engines, worker --------------------------------------------------


def test_model_directory_is_found_or_refused_in_one_line(tmp_path: Path) -> None:
    bundled = bundled_model()
    assert bundled.name == "en-us" and "phone" not in bundled.lm_path.name
    assert model_from("") == bundled
    copy = tmp_path / "mine"
    copy.mkdir()
    (copy / "acoustic").symlink_to(bundled.acoustic_dir)
    (copy / "mine.lm.bin").symlink_to(bundled.lm_path)
    (copy / "mine.dict").symlink_to(bundled.dict_path)
    assert find_model(copy).acoustic_dir == copy / "acoustic"
    (copy / "mine.dict").unlink()
    with pytest.raises(ModelMissingError) as err:
        model_from(str(copy))
    message = str(err.value)
    assert "\n" not in message and "pronunciation dictionary" in message
    what, _, fix = message.partition("; ")
    assert "acoustic" not in what and fix.startswith("set [asr] model to a directory")
    with pytest.raises(ModelMissingError, match="does not exist"):
        model_from(str(tmp_path / "absent"))


def test_engine_setting_is_checked_at_load() -> None:
    assert config_from_dict({"asr": {"engine": "pocketsphinx"}}).asr.engine == "pocketsphinx"
    assert AsrSettings().engine == "vosk"
    with pytest.raises(ConfigError) as err:
        config_from_dict({"asr": {"engine": "whisper"}}, "cfg.toml")
    assert str(err.value) == ("cfg.toml: [asr] engine: 'whisper' is not allowed; "
                              "use one of 'vosk', 'pocketsphinx'")


def test_build_recognizers_gives_fresh_mains_and_spotters(tmp_path: Path) -> None:
    settings = AsrSettings(engine="pocketsphinx", command_phrases="stop, frobnicatex")
    engines = build_recognizers(settings, tmp_path)
    assert engines.name == "pocketsphinx:en-us"
    first, second = engines.main(), engines.main()
    assert first is not second and first.source == second.source == "asr"
    assert engines.spotter is not None and engines.spotter().source == "spotter"
    assert engines.spotter() is not engines.spotter()  # fresh ones, for fresh runs
    off = build_recognizers(dataclasses.replace(settings, command_spotter=False), tmp_path)
    assert off.spotter is None


def _utterance(worker: AsrWorker, pcm: np.ndarray, t0_s: float) -> list[Partial | Final]:
    worker.reset(t0_s)
    for frame in frames(pcm, t0_s):
        assert worker.submit(frame)
    worker.finish()
    got: list[Partial | Final] = []
    deadline = time.monotonic() + WAIT_S
    while not any(isinstance(e, Final) for e in got):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no final within {WAIT_S} s: {got}"
        try:
            got.append(worker.events.get(timeout=remaining))
        except queue.Empty:
            raise AssertionError(f"no final within {WAIT_S} s: {got}") from None
    return got


def test_worker_from_settings_decodes_and_renews_pocketsphinx(tmp_path: Path) -> None:
    settings = AsrSettings(engine="pocketsphinx", queue_frames=1000, renew_after_utterances=1)
    worker = AsrWorker.from_settings(settings, tmp_path)
    assert worker.engine_name == "pocketsphinx:en-us"
    worker.warm_up(warm_up(US_M3))
    worker.start()
    try:
        sentence = speech("i think we should stop now", US_M3)
        events = _utterance(worker, sentence, 10.0)
        spotted = [e for e in events if isinstance(e, Partial) and e.source == "spotter"]
        assert any("stop" in e.text.split() for e in spotted), events
        final = next(e for e in events if isinstance(e, Final))
        assert "stop" in final.text.split() and final.words[0].start_s >= 10.0
        deadline = time.monotonic() + WAIT_S
        while worker.renewals < 1:  # a fresh decoder, warmed between utterances
            assert time.monotonic() < deadline, "no renewal after the utterance"
            time.sleep(0.05)
        events = _utterance(worker, sentence, 20.0)  # decoded by the fresh recognizer
        final = next(e for e in events if isinstance(e, Final))
        assert "stop" in final.text.split() and final.words[0].start_s >= 20.0
        assert worker.errors == 0
    finally:
        worker.stop(timeout_s=10.0)


# -- the appliance around it ----------------------------------------------------------


def test_doctor_loads_the_configured_pocketsphinx_model(tmp_path: Path) -> None:
    from bargein.device.commands.doctor import FAIL, OK, run_checks

    config = tmp_path / "config.toml"
    base = f'[audio]\nbackend = "virtual"\n[events]\nstate_dir = "{tmp_path / "s"}"\n'
    config.write_text(base + '[asr]\nengine = "pocketsphinx"\n')
    checks = {c.name: c for c in run_checks(str(config))}
    assert "vosk model" not in checks
    assert checks["pocketsphinx model"].status == OK
    assert checks["pocketsphinx model"].detail.startswith("en-us (")
    assert "loads in" in checks["pocketsphinx model"].detail

    config.write_text(base + f'[asr]\nengine = "pocketsphinx"\nmodel = "{tmp_path}"\n')
    check = {c.name: c for c in run_checks(str(config))}["pocketsphinx model"]
    assert check.status == FAIL and "lacks an acoustic model directory" in check.detail
    assert check.fix.startswith("set [asr] model to a directory")


def test_virtual_room_without_a_vosk_model_recognises_with_pocketsphinx(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bargein.device.daemon import make_recognition
    from bargein.device.threaded_asr import ThreadedAsr
    from bargein.tts.voice import load_voice

    config = config_from_dict({"audio": {"backend": "virtual"},
                               "asr": {"warm_up": False},
                               "events": {"state_dir": str(tmp_path)}})
    with caplog.at_level(logging.WARNING, logger="bargein.device.daemon"):
        recognition = make_recognition(config, {}, load_voice(None))
    try:
        assert isinstance(recognition, ThreadedAsr)
        assert recognition.worker.engine_name == "pocketsphinx:en-us"
        assert any("recognising with pocketsphinx" in r.getMessage() for r in caplog.records)
        pcm = speech("i think we should stop now", US_M3)
        recognition.begin(frames(pcm[:FRAME], 0.0))
        for frame in frames(pcm, 0.0)[1:]:
            recognition.feed(frame)
        recognition.end(len(pcm) / RATE_HZ)
        got: list[Partial | Final] = []
        deadline = time.monotonic() + WAIT_S
        while not any(isinstance(e, Final) for e in got):
            assert time.monotonic() < deadline, f"no final within {WAIT_S} s: {got}"
            got += recognition.poll(0.0)
            time.sleep(0.05)
        assert any(w for e in got for w in e.text.split())
    finally:
        recognition.stop(10.0)
