"""The phrase judge (real pocketsphinx, espeak-ng speech): which phrase a short utterance
was, in the ASR worker's order and on the virtual clock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bargein.agent.classifier import PhraseBook
from bargein.asr.engines import build_recognizers
from bargein.asr.pocketsphinx_engine import PocketsphinxRecognizer
from bargein.asr.pocketsphinx_judge import (
    ACCEPT_CONF,
    PhraseJudge,
    make_pocketsphinx_judge,
)
from bargein.asr.results import Final, Partial
from bargein.asr.settings import AsrSettings
from bargein.asr.worker import AsrWorker
from bargein.bench.espeak import espeak_pcm
from bargein.bench.recordings import read_recording
from bargein.bench.scenario import CLIPS_DIR
from bargein.bench.virtual_asr import PROFILES, DecodeCost, VirtualAsrWorker
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLIPS = CLIPS_DIR
FRAME = 480
START_T_S = 100.0
PHRASES = PhraseBook.load("en").phrase_texts()


@pytest.fixture(scope="module")
def judge() -> PhraseJudge:
    built = make_pocketsphinx_judge(PHRASES)
    assert built is not None
    return built


def utterance(sound: np.ndarray, lead_s: float = 0.2, tail_s: float = 0.3) -> np.ndarray:
    """``sound`` (float, any level) at -10 dBFS peak with the VAD's pre-roll and hangover."""
    sound = np.asarray(sound, np.float32)
    sound = sound / float(np.max(np.abs(sound))) * 0.3
    return to_int16(np.concatenate([np.zeros(int(lead_s * CAPTURE_RATE_HZ), np.float32), sound,
                                    np.zeros(int(tail_s * CAPTURE_RATE_HZ), np.float32)]))


def frames(pcm: np.ndarray, t0: float = START_T_S) -> list[AudioFrame]:
    return [AudioFrame(pcm[i:i + FRAME], t0 + i / CAPTURE_RATE_HZ)
            for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def judged(judge: PhraseJudge, pcm: np.ndarray) -> Final:
    judge.reset(START_T_S)
    for frame in frames(pcm):
        for interim in judge.accept(frame):  # verdicts on the utterance so far
            assert isinstance(interim, Partial) and interim.source == "phrases"
            assert interim.text and interim.t_seconds == judge.t_seconds
    results = judge.finish()
    assert len(results) == 1 and isinstance(results[0], Final)
    assert results[0].source == "phrases"
    return results[0]


@pytest.mark.parametrize("text", ["never mind", "stop talking", "what about", "excuse me"])
def test_an_in_pack_phrase_is_judged_to_that_phrase(judge: PhraseJudge, text: str) -> None:
    pcm = utterance(espeak_pcm(text, "en-us"))
    final = judged(judge, pcm)
    assert final.text == text
    assert [w.text for w in final.words] == text.split()
    for word in final.words:
        assert START_T_S <= word.start_s < word.end_s <= START_T_S + len(pcm) / CAPTURE_RATE_HZ
        assert ACCEPT_CONF <= word.conf <= 1.0
    assert judge.last_verdict is not None and judge.last_verdict.text == text


def test_a_command_is_judged_while_it_is_still_being_said(judge: PhraseJudge) -> None:
    pcm = utterance(espeak_pcm("cancel that", "en-us"), tail_s=0.3)
    judge.reset(START_T_S)
    interims, decoded = [], []
    for frame in frames(pcm):
        interims += judge.accept(frame)
        decoded.append(judge.decoded_s)
    said_until_s = START_T_S + len(pcm) / CAPTURE_RATE_HZ - 0.3
    early = [p for p in interims if p.t_seconds < said_until_s]
    assert early and early[-1].text.startswith("cancel"), interims
    assert sum(1 for d in decoded if d) >= 3, "it decodes every quarter second, not every frame"
    assert max(decoded) <= judge.max_s


def test_without_interim_verdicts_it_only_listens_until_the_end() -> None:
    quiet = make_pocketsphinx_judge(PHRASES)
    assert quiet is not None
    quiet.interim = False
    quiet.reset(START_T_S)
    for frame in frames(utterance(espeak_pcm("cancel that", "en-us"))):
        assert quiet.accept(frame) == [] and quiet.decoded_s == 0.0
    (final,) = quiet.finish()
    assert final.text == "cancel that" and quiet.decoded_s > 0


def test_the_verdict_does_not_depend_on_what_was_judged_before(judge: PhraseJudge) -> None:
    pcm = utterance(espeak_pcm("stop talking", "en-us+f2"))
    first = judged(judge, pcm)
    judged(judge, utterance(espeak_pcm("my name is john", "en-us")))
    assert judged(judge, pcm) == first
    never_mind = utterance(espeak_pcm("never mind", "en-us+m3"))
    fresh = judge.judge(never_mind)
    for end in (4800, 8800, 12800):  # what the interim verdicts decode first
        judge.judge(never_mind[:end])
    assert judge.judge(never_mind).conf == fresh.conf


@pytest.mark.parametrize("clip", ["cough.wav", "door.wav"])
def test_a_noise_is_not_accepted(judge: PhraseJudge, clip: str) -> None:
    final = judged(judge, utterance(read_recording(CLIPS / clip)))
    assert final.text == "" and final.words == ()


@pytest.mark.parametrize("voice", ["en-us", "en-us+f2"])
def test_an_out_of_pack_sentence_is_not_accepted(judge: PhraseJudge, voice: str) -> None:
    final = judged(judge, utterance(espeak_pcm("my name is john", voice)))
    assert final.text == "" and final.words == ()


def test_a_long_utterance_is_not_decoded_and_says_nothing(judge: PhraseJudge) -> None:
    pcm = utterance(espeak_pcm("never mind", "en-us"), tail_s=2.0)
    assert len(pcm) / CAPTURE_RATE_HZ > judge.max_s
    judge.reset(START_T_S)
    for frame in frames(pcm):
        judge.accept(frame)
    assert judge.pending_s == 0.0
    final = judge.finish()
    assert final == [Final("", (), judge.t_seconds, "phrases")]
    assert judge.last_verdict is None


def test_nothing_fed_gives_no_final_and_reset_drops_the_utterance(judge: PhraseJudge) -> None:
    judge.reset(START_T_S)
    assert judge.finish() == []
    for frame in frames(utterance(espeak_pcm("never mind", "en-us"))):
        judge.accept(frame)
    assert judge.pending_s > 0
    judge.reset(START_T_S + 10.0)
    assert judge.pending_s == 0.0 and judge.finish() == []
    assert judge.t_seconds == START_T_S + 10.0


def test_engines_build_the_judge_only_with_phrases_and_the_setting_on(tmp_path: Path) -> None:
    settings = AsrSettings(engine="pocketsphinx", command_spotter=False)
    assert build_recognizers(settings, tmp_path).judge is None
    assert build_recognizers(dataclasses.replace(settings, phrase_judge=False), tmp_path,
                             PHRASES).judge is None
    engines = build_recognizers(settings, tmp_path, PHRASES)
    assert engines.judge is not None
    first, second = engines.judge(), engines.judge()
    assert first is not second and first.source == "phrases"


def test_the_worker_hands_over_the_judges_final_before_the_main_one(tmp_path: Path) -> None:
    settings = AsrSettings(engine="pocketsphinx", warm_up=False)
    worker = AsrWorker.from_settings(settings, tmp_path, phrases=PHRASES)
    pcm = utterance(espeak_pcm("never mind", "en-us"), tail_s=0.2)
    worker.start()
    try:
        worker.reset(START_T_S)
        for frame in frames(pcm):
            assert worker.submit(frame)  # the queue holds the whole utterance
        worker.finish()
        finals: list[Final] = []
        while len(finals) < 2:
            event = worker.events.get(timeout=30.0)
            if isinstance(event, Final):
                finals.append(event)
    finally:
        worker.stop(timeout_s=10.0)
    assert [f.source for f in finals] == ["phrases", "asr"]
    assert finals[0].text == "never mind"


def test_the_virtual_worker_charges_the_judges_flush_and_orders_its_final_first() -> None:
    judge = make_pocketsphinx_judge(PHRASES)
    main = PocketsphinxRecognizer()
    cost = DecodeCost("pocketsphinx:en-us", "profile", 1.0)
    worker = VirtualAsrWorker([main, judge], cost)
    assert [r.source for r in worker.recognizers] == ["phrases", "asr"]
    pcm = utterance(espeak_pcm("never mind", "en-us"), tail_s=0.2)
    utt = frames(pcm)
    worker.begin(utt[:1])
    for frame in utt[1:]:
        worker.feed(frame)
    buffered_s = judge.pending_s
    assert buffered_s == pytest.approx(len(utt) * FRAME / CAPTURE_RATE_HZ)
    busy_before = worker.busy_s
    end_s = utt[-1].end_s
    worker.end(end_s)
    judge_profile, main_profile = PROFILES[("pocketsphinx", "phrases")], PROFILES[
        ("pocketsphinx", "asr")]
    judge_s = judge_profile.flush_ms / 1000.0 + buffered_s * judge_profile.flush_rtf
    assert worker.busy_s - busy_before == pytest.approx(judge_s + main_profile.flush_ms / 1000.0)
    released = [r for r in worker.poll(end_s + 60.0) if isinstance(r, Final)]
    assert [r.source for r in released] == ["phrases", "asr"]
    assert released[0].text == "never mind"
    assert worker.poll(end_s + 61.0) == []


def test_a_slower_cpu_delays_the_judges_verdict_in_proportion() -> None:
    verdict_at = {}
    for scale in (1.0, 4.0):
        judge = make_pocketsphinx_judge(PHRASES)
        worker = VirtualAsrWorker([judge], DecodeCost("pocketsphinx:en-us", "profile", scale))
        utt = frames(utterance(espeak_pcm("stop talking", "en-us")))
        worker.begin(utt)
        end_s = utt[-1].end_s + 5.0  # the buffering is long done: only the flush counts
        worker.end(end_s)
        worker.poll(end_s)  # the interim verdicts, decoded while the audio came
        t = end_s
        while not (released := worker.poll(t)) and t < end_s + 10.0:
            t += 0.001
        assert [(r.text, type(r)) for r in released] == [("stop talking", Final)]
        verdict_at[scale] = t - end_s
    assert verdict_at[4.0] > 3.0 * verdict_at[1.0] > 0.0
