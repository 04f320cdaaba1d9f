"""Deciding on evidence: stable words, the other ears, and the sound of the stretch."""

from __future__ import annotations

import pytest
from test_machine import classifier, kinds, speaking_room  # noqa: F401 - fixture

from bargein.agent.interruption import InterruptionType
from bargein.asr.results import Word
from bargein.audio.speech_evidence import SpanEvidence
from bargein.device.events import (
    Cut,
    FinalTranscript,
    LogInterruption,
    PartialTranscript,
    SendToAgent,
    SpeechAcoustics,
    SpeechEnded,
    SpeechStarted,
    State,
    Unduck,
)
from bargein.device.hearing import Hearing

VOICE = SpanEvidence(duration_ms=400.0, voiced_ms=300.0, level_dbfs=-22.0, background_dbfs=None)


def sound(**fields) -> SpanEvidence:
    return SpanEvidence(**{**VOICE.__dict__, **fields})


def words(*items: tuple[str, float, float, float]) -> tuple[Word, ...]:
    return tuple(Word(text, start, end, conf) for text, start, end, conf in items)


def evenly(said: str, onset: float, conf: float = 0.9, step_s: float = 0.2) -> tuple[Word, ...]:
    """The words of ``said`` one after another from ``onset``, ``step_s`` each."""
    return tuple(Word(w, onset + step_s * i, onset + step_s * (i + 1), conf)
                 for i, w in enumerate(said.split()))


def start(room, voice: SpanEvidence | None = VOICE) -> float:
    """The person starts talking over the voice; returns the onset."""
    onset = room.t
    room.feed(SpeechStarted(onset, room.at(0.1)))
    if voice is not None:
        room.feed(SpeechAcoustics(voice, room.at(0.03)))
    return onset


def final_type(room) -> InterruptionType:
    (record,) = [a.record for a in room.actions if isinstance(a, LogInterruption)][-1:]
    return record.type


def test_a_first_word_that_flickers_never_cuts(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = room.talk_over((150, "if"), (180, "it"), (210, "stop"), (240, "so"), (270, "top"),
                         confirm_ms=None)
    assert Cut not in kinds(out), "'stop' was one hypothesis among five"
    out = room.talk_over((300, "stop"), (330, "stop"), confirm_ms=None)
    assert Cut in kinds(out), "a 'stop' the next hypothesis keeps is evidence"


def test_a_spotted_command_the_open_decode_agrees_with_cuts_at_once(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    out = room.feed(PartialTranscript("stop", room.at(0.1), source="spotter"))
    assert Cut not in kinds(out), "the spotter alone does not cut while the person talks"
    out = room.feed(PartialTranscript("if stop", room.at(0.03),
                                      words=words(("if", onset, onset + 0.1, 1.0),
                                                  ("stop", onset + 0.1, onset + 0.3, 1.0))))
    assert Cut in kinds(out), "a word of the spotted command in the open decode: agreement"


def test_a_spotted_command_decides_when_the_open_decode_heard_nothing_confident(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(PartialTranscript("stop", room.at(0.2), source="spotter"))
    room.feed(SpeechEnded(onset + 0.45, room.at(0.3)))
    out = room.feed(FinalTranscript("if top", room.at(0.05),
                                    words=words(("if", onset, onset + 0.1, 0.12),
                                                ("top", onset + 0.1, onset + 0.4, 0.2))))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


def test_low_confidence_words_are_not_a_redirect(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(SpeechEnded(onset + 0.5, room.at(0.4)))
    out = room.feed(FinalTranscript("for our eight", room.at(0.05), words=words(
        ("for", onset, onset + 0.2, 0.10), ("our", onset + 0.2, onset + 0.3, 0.09),
        ("eight", onset + 0.3, onset + 0.5, 0.13))))
    assert Cut not in kinds(out) and Unduck in kinds(out)
    assert final_type(room) is InterruptionType.NOISE
    assert room.machine.state is State.SPEAKING


def test_words_that_ended_before_the_onset_belong_to_the_past(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(SpeechEnded(onset + 0.4, room.at(0.3)))
    out = room.feed(FinalTranscript("no okay", room.at(0.05), words=words(
        ("no", onset - 0.4, onset - 0.1, 0.9), ("okay", onset, onset + 0.4, 0.9))))
    assert Cut not in kinds(out)
    assert final_type(room) is InterruptionType.BACKCHANNEL


def test_the_appliances_own_word_before_the_onset_never_starts_a_decision(classifier):
    room = speaking_room(classifier)
    room.play_to(1.5)  # "The refund policy lets ..." has played
    onset = start(room)
    out = room.feed(*[PartialTranscript("refund policy lets", room.at(0.03), words=words(
        ("refund", onset - 0.05, onset + 0.2, 1.0), ("policy", onset + 0.2, onset + 0.4, 1.0),
        ("lets", onset + 0.4, onset + 0.5, 1.0))) for _ in range(2)])
    assert room.machine._barge.hearing.stable[0] == "policy"
    assert Cut not in kinds(out)


def test_a_noise_with_words_is_still_a_noise(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(voiced_ms=0.0, level_dbfs=None))
    out = room.feed(*[PartialTranscript("if that", room.at(0.03)) for _ in range(3)])
    assert Cut not in kinds(out)
    out = room.feed(SpeechEnded(onset + 0.3, room.at(0.2)))
    assert Unduck in kinds(out), "an unvoiced burst lets the voice come back at its end"
    assert final_type(room) is InterruptionType.NOISE


def test_distant_speech_never_cuts_and_a_close_person_over_it_does(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    start(room, sound(level_dbfs=-40.0))
    out = room.feed(*[PartialTranscript("stop", room.at(0.05)) for _ in range(5)])
    assert Cut not in kinds(out), "-40 dBFS at the mic is a television, not a person"

    room = speaking_room(classifier)
    room.play_to(1.0)
    start(room, sound(level_dbfs=-29.0, background_dbfs=-31.0))
    out = room.feed(*[PartialTranscript("stop", room.at(0.05)) for _ in range(5)])
    assert Cut not in kinds(out), "as loud as the radio that talks all the time: the radio"

    room = speaking_room(classifier)
    room.play_to(1.0)
    start(room, sound(level_dbfs=-30.0, background_dbfs=-40.0))
    out = room.feed(*[PartialTranscript("stop", room.at(0.05)) for _ in range(5)])
    assert Cut in kinds(out), "a person at -30 dBFS over a television at -40"


def test_voiced_speech_whose_words_are_late_waits_for_them(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    out = room.feed(SpeechEnded(onset + 0.4, room.at(0.3)))
    assert Unduck not in kinds(out), "voiced and close: the words are still on their way"
    assert room.machine.state is State.SPEAKING_DUCKED
    out = room.feed(FinalTranscript("stop", room.at(0.8), words=words(
        ("stop", onset + 0.05, onset + 0.4, 0.9))))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


def test_the_phrase_judge_settles_a_short_utterance_the_open_decode_misheard(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(SpeechEnded(onset + 0.4, room.at(0.3)))
    room.feed(FinalTranscript("okay", room.at(0.02), source="phrases",
                              words=words(("okay", onset, onset + 0.4, 0.9))))
    out = room.feed(FinalTranscript("look you", room.at(0.01), words=words(
        ("look", onset, onset + 0.2, 0.86), ("you", onset + 0.2, onset + 0.4, 0.84))))
    assert Cut not in kinds(out)
    assert final_type(room) is InterruptionType.BACKCHANNEL


def judge_then_decode(room, judged: tuple[str, float], heard: str) -> list:
    """A short utterance: the judge's verdict, then the open decode's final (sure words)."""
    onset = start(room)
    room.feed(SpeechEnded(onset + 0.4, room.at(0.3)))
    phrase, conf = judged
    room.feed(FinalTranscript(phrase, room.at(0.02), source="phrases", words=words(
        *[(w, onset, onset + 0.4, conf) for w in phrase.split()])))
    return room.feed(FinalTranscript(heard, room.at(0.01), words=words(
        *[(w, onset, onset + 0.4, 0.5) for w in heard.split()])))


def test_a_less_sure_verdict_counts_where_the_open_decode_heard_the_same_sounds(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = judge_then_decode(room, ("stop it", 0.69), "top")
    assert Cut in kinds(out), "'top' is 'stop it' misspelt: two ears agree"
    assert final_type(room) is InterruptionType.CANCELLATION

    room = speaking_room(classifier)
    room.play_to(1.0)
    out = judge_then_decode(room, ("quiet", 0.77), "dwight")
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


def test_a_less_sure_verdict_the_open_decode_does_not_echo_is_not_evidence(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = judge_then_decode(room, ("okay stop", 0.7), "okay")
    assert Cut not in kinds(out), "'okay' heard does not confirm 'okay stop'"
    assert final_type(room) is InterruptionType.BACKCHANNEL

    room = speaking_room(classifier)
    room.play_to(1.0)
    out = judge_then_decode(room, ("stop it", 0.4), "top")
    assert Cut not in kinds(out), "below judge_agree_conf a verdict never counts"


def test_hearing_keeps_only_the_words_of_its_stretch():
    hearing = Hearing(onset_s=5.0)
    hearing.end_s = 6.0
    kept = hearing.in_span(words(("past", 4.5, 4.9, 1.0), ("here", 5.0, 5.4, 1.0),
                                 ("hangover", 6.1, 6.3, 1.0)))
    assert [w.text for w in kept] == ["here"]


def test_a_stretch_the_vad_split_in_two_keeps_its_words(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(SpeechEnded(onset + 0.35, room.at(0.3)))
    assert room.machine.state is State.SPEAKING_DUCKED, "voiced: its words are on their way"
    room.feed(SpeechStarted(onset + 0.7, room.at(0.1)))  # the second word: the same stretch
    out = room.feed(FinalTranscript("never mind", room.at(0.7), words=words(
        ("never", onset, onset + 0.35, 0.9), ("mind", onset + 0.7, onset + 1.1, 0.9))))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


def test_the_spans_of_one_stretch_add_their_voicing(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(voiced_ms=300.0))
    room.feed(SpeechEnded(onset + 0.5, room.at(0.3)))
    room.feed(SpeechStarted(onset + 0.8, room.at(0.1)))
    room.feed(SpeechAcoustics(sound(voiced_ms=300.0), room.at(0.3)))
    assert room.machine._barge.hearing.sound.voiced_ms == 600.0
    out = room.feed(FinalTranscript("front left", room.at(0.2), words=words(
        ("front", onset, onset + 0.5, 0.9), ("left", onset + 0.8, onset + 1.3, 0.9))))
    assert Cut in kinds(out), "two words over 600 ms of voice: someone taking the floor"
    assert final_type(room) is InterruptionType.REDIRECT


def long_unsure_utterance(room, be_conf: float) -> list:
    """1.1 s of close voice heard as "not meant to be honest", "be honest" at ``be_conf``."""
    onset = start(room, sound(duration_ms=1700.0, voiced_ms=1100.0))
    room.feed(SpeechEnded(onset + 1.7, room.at(1.7)))
    return room.feed(FinalTranscript("not meant to be honest", room.at(0.1), words=words(
        ("not", onset, onset + 0.25, 0.26), ("meant", onset + 0.25, onset + 0.5, 0.05),
        ("to", onset + 0.5, onset + 0.6, 0.02), ("be", onset + 0.7, onset + 0.9, be_conf),
        ("honest", onset + 0.9, onset + 1.4, be_conf))))


@pytest.mark.parametrize("be_conf, expected", [
    (0.75, InterruptionType.REDIRECT),     # what it heard surely: a redirect
    (0.15, InterruptionType.CORRECTION),   # nothing sure: how it opens
])
def test_a_person_taking_the_floor_in_unsure_words_is_not_resumed_over(classifier, be_conf,
                                                                         expected):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = long_unsure_utterance(room, be_conf)
    assert Cut in kinds(out), "1.1 s of close voice: someone has taken the floor"
    assert final_type(room) is expected


def test_unsure_words_with_little_voice_are_not_enough_to_stop_for(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=500.0, voiced_ms=200.0))
    room.feed(SpeechEnded(onset + 0.5, room.at(0.3)))
    out = room.feed(FinalTranscript("not meant", room.at(0.1), words=words(
        ("not", onset, onset + 0.25, 0.26), ("meant", onset + 0.25, onset + 0.5, 0.05))))
    assert Cut not in kinds(out), "unsure words and little voice: not enough to stop for"


def test_words_without_a_command_take_the_floor_only_from_close_by(classifier):
    said = "we laugh less heartily so we have still that resource"
    for level_dbfs, cuts in ((-29.0, False), (-22.0, True)):
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room, sound(duration_ms=2500.0, voiced_ms=1800.0, level_dbfs=level_dbfs))
        room.feed(SpeechEnded(onset + 2.5, room.at(2.5)))
        out = room.feed(FinalTranscript(said, room.at(0.1), words=evenly(said, onset)))
        assert (Cut in kinds(out)) is cuts, level_dbfs
    assert final_type(room) is InterruptionType.REDIRECT


def interim_verdict(room, onset: float, phrase: str, conf: float, said_s: float = 0.3) -> list:
    """The judge's verdict on the first ``said_s`` of the utterance."""
    return room.feed(PartialTranscript(phrase, room.at(0.25), source="phrases", words=words(
        *[(w, onset, onset + said_s, conf) for w in phrase.split()])))


def test_the_judges_verdict_on_the_utterance_so_far_cuts_while_it_goes_on(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    out = interim_verdict(room, onset, "cancel", 0.9)
    assert Cut in kinds(out), "a sure verdict need not wait for the VAD's hangover"
    assert room.machine.state is State.INTERRUPTED

    for phrase, conf in (("cancel", 0.7), ("okay", 0.95)):
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room)
        out = interim_verdict(room, onset, phrase, conf)
        assert Cut not in kinds(out), (phrase, conf)


def test_a_few_words_that_change_part_of_what_was_just_said_are_a_correction(classifier):
    for said, expected in (("thirty weeks", InterruptionType.CORRECTION),
                           ("blue shoes", InterruptionType.REDIRECT)):
        room = speaking_room(classifier)
        room.play_to(3.2)  # "... return items within thirty" has just been said
        onset = start(room, sound(duration_ms=900.0, voiced_ms=700.0))
        room.feed(SpeechEnded(onset + 0.9, room.at(0.9)))
        first, second = said.split()
        out = room.feed(FinalTranscript(said, room.at(0.1), words=words(
            (first, onset + 0.05, onset + 0.45, 0.9), (second, onset + 0.45, onset + 0.85, 0.9))))
        assert Cut in kinds(out)
        assert final_type(room) is expected, said


def test_a_quiet_redirect_waits_for_its_end_where_a_close_one_cuts_at_once(classifier):
    said = "could you book a table for four tonight"
    for level_dbfs, cuts_while_talking in ((-25.5, False), (-20.0, True)):
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room, sound(duration_ms=1500.0, voiced_ms=1000.0, level_dbfs=level_dbfs))
        out = room.feed(*[PartialTranscript(said, room.at(0.15)) for _ in range(4)])
        assert (Cut in kinds(out)) is cuts_while_talking, level_dbfs
        if not cuts_while_talking:
            room.feed(SpeechEnded(onset + 2.0, room.at(0.5)))
            out = room.feed(FinalTranscript(said, room.at(0.1), words=evenly(said, onset)))
            assert Cut in kinds(out), "above redirect_min_dbfs over the whole stretch"
            assert final_type(room) is InterruptionType.REDIRECT


def test_speech_that_resumes_after_a_short_pause_continues_the_stretch_let_go(classifier):
    for gap_s, one_utterance in ((0.35, True), (1.0, False)):
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room, sound(duration_ms=400.0, voiced_ms=330.0))
        room.feed(SpeechEnded(onset + 0.4, room.at(0.3)))
        out = room.feed(FinalTranscript("a friend", room.at(0.1), words=words(
            ("a", onset, onset + 0.05, 0.07), ("friend", onset + 0.05, onset + 0.4, 0.16))))
        assert Unduck in kinds(out), "unsure words, little voice: let go"
        second = onset + 0.4 + gap_s
        room.feed(SpeechStarted(second, max(room.t, second) + 0.1))
        room.feed(SpeechAcoustics(sound(duration_ms=550.0, voiced_ms=330.0), room.at(0.03)))
        room.feed(SpeechEnded(second + 0.55, room.at(0.6)))
        out = room.feed(FinalTranscript("left", room.at(0.1), words=words(
            ("left", second, second + 0.5, 0.2))))
        assert (Cut in kinds(out)) is one_utterance, gap_s


def test_a_command_that_cut_stands_when_a_television_drowns_the_rest_of_the_stretch(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=400.0, voiced_ms=300.0, level_dbfs=-21.0))
    out = room.feed(*[PartialTranscript("stop", room.at(0.1)) for _ in range(3)])
    assert Cut in kinds(out)
    # The television talks on: the VAD's span stays open for seconds, its level sinks.
    room.feed(SpeechAcoustics(sound(duration_ms=9000.0, voiced_ms=8000.0, level_dbfs=-33.0,
                                    background_dbfs=None), room.at(9.0)))
    room.feed(SpeechEnded(onset + 9.0, room.at(0.3)))
    room.feed(FinalTranscript("so i'll really buy it also felt complete", room.at(0.1),
                                    words=words(("so", onset + 0.5, onset + 0.8, 0.4),
                                                ("really", onset + 1.0, onset + 1.4, 0.2))))
    assert final_type(room) is InterruptionType.CANCELLATION
    assert room.machine.state is not State.SPEAKING, "the answer stays stopped"


def test_a_command_heard_by_another_ear_cuts_at_once_where_the_open_decode_sounds_like_it(
        classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(PartialTranscript("top half", room.at(0.3)))
    out = room.feed(PartialTranscript("stop", room.at(0.02), source="spotter"))
    assert Cut in kinds(out), "'top' is the spotted 'stop' misspelt"

    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(PartialTranscript("top", room.at(0.3)))
    out = interim_verdict(room, onset, "stop it", 0.69)
    assert Cut in kinds(out), "a less sure verdict the open decode echoes in sound"

    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    room.feed(PartialTranscript("okay", room.at(0.3)))
    out = room.feed(PartialTranscript("stop", room.at(0.02), source="spotter"))
    out += interim_verdict(room, onset, "stop it", 0.69)
    assert Cut not in kinds(out), "nothing the open decode heard sounds like 'stop'"


def outgrown_judge(room, end_s: float, advance_s: float, final_words: tuple[Word, ...]) -> None:
    """The utterance ends at ``end_s`` (known ``advance_s`` later); the judge names no phrase
    for the whole of it (it is longer than the judge takes), and the open decode's final
    holds ``final_words``."""
    room.feed(SpeechEnded(end_s, room.at(advance_s)))
    room.feed(FinalTranscript("", room.at(0.02), source="phrases"))
    room.feed(FinalTranscript(" ".join(w.text for w in final_words), room.at(0.01),
                              words=final_words))


def test_the_last_sure_verdict_so_far_stands_when_the_utterance_outgrew_the_judge(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=1500.0, voiced_ms=1000.0))
    interim_verdict(room, onset, "actually", 0.96)
    assert room.machine.state is State.INTERRUPTED, "'actually' opens a correction: cut"
    interim_verdict(room, onset, "actually never mind", 0.94, said_s=1.4)
    interim_verdict(room, onset, "actually never mind", 0.6, said_s=1.45)
    outgrown_judge(room, onset + 1.5, 0.3, words(
        ("actually", onset, onset + 0.6, 1.0), ("that", onset + 0.6, onset + 0.8, 0.21),
        ("one", onset + 0.8, onset + 1.0, 0.06), ("minute", onset + 1.0, onset + 1.4, 0.3)))
    assert final_type(room) is InterruptionType.CANCELLATION


def test_a_verdict_on_the_opening_of_a_longer_utterance_does_not_speak_for_it(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=1500.0, voiced_ms=1000.0))
    interim_verdict(room, onset, "can you repeat", 0.93, said_s=0.6)  # "... the address"
    outgrown_judge(room, onset + 1.5, 1.5, words(
        ("can", onset, onset + 0.2, 0.32), ("you", onset + 0.2, onset + 0.35, 0.98),
        ("repeat", onset + 0.35, onset + 0.7, 0.03), ("a", onset + 0.8, onset + 0.9, 0.04),
        ("threat", onset + 0.9, onset + 1.4, 0.04)))
    assert final_type(room) is InterruptionType.REDIRECT


def test_the_open_decode_that_surely_heard_more_after_the_same_opening_keeps_its_reading(
        classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=1000.0, voiced_ms=700.0))
    room.feed(SpeechEnded(onset + 1.0, room.at(0.8)))
    room.feed(FinalTranscript("what about what", room.at(0.02), source="phrases",
                              words=evenly("what about what", onset, conf=0.92)))
    out = room.feed(FinalTranscript("what about tomorrow", room.at(0.01), words=words(
        ("what", onset, onset + 0.2, 0.59), ("about", onset + 0.2, onset + 0.5, 1.0),
        ("tomorrow", onset + 0.5, onset + 1.0, 1.0))))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.REDIRECT


def test_a_sure_verdict_on_an_opener_speaks_for_the_utterance_it_opens(classifier):
    for later, expected in (
            (("and", 0.69), InterruptionType.CORRECTION),  # "no, I said Tuesday" misheard
            (("tomorrow", 0.9), InterruptionType.CORRECTION),
            (("tell me", 0.9), InterruptionType.REDIRECT)):  # the later words name a cut
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room, sound(duration_ms=1400.0, voiced_ms=1000.0))
        out = interim_verdict(room, onset, "no", 0.94, said_s=0.35)
        assert Cut in kinds(out)
        interim_verdict(room, onset, "no i said", 0.8, said_s=0.9)  # not sure: no evidence
        text, conf = later
        outgrown_judge(room, onset + 1.4, 1.2, words(
            ("the", onset - 0.05, onset + 0.1, 0.45), ("old", onset + 0.1, onset + 0.4, 0.29),
            ("fight", onset + 0.4, onset + 0.7, 0.01)) + evenly(text, onset + 0.7, conf=conf,
                                                                 step_s=0.3))
        assert final_type(room) is expected, later


def test_a_spotted_command_the_open_decode_heard_in_a_few_words_is_the_command(classifier):
    for heard, expected in (("top half of", InterruptionType.CANCELLATION),
                            ("that half of", InterruptionType.REDIRECT)):
        room = speaking_room(classifier)
        room.play_to(1.0)
        onset = start(room, sound(duration_ms=900.0, voiced_ms=660.0))
        room.feed(PartialTranscript("stop", room.at(0.3), source="spotter"))
        room.feed(SpeechEnded(onset + 0.9, room.at(0.9)))
        first, second, third = heard.split()
        out = room.feed(FinalTranscript(heard, room.at(0.1), words=words(
            (first, onset, onset + 0.55, 0.19), (second, onset + 0.58, onset + 0.8, 0.52),
            (third, onset + 0.8, onset + 0.95, 0.48))))
        assert Cut in kinds(out), heard
        assert final_type(room) is expected, heard


def test_the_judges_phrases_after_an_opener_of_open_content_are_no_evidence(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=1100.0, voiced_ms=800.0))
    out = interim_verdict(room, onset, "what about", 0.94, said_s=0.6)
    assert Cut in kinds(out), "'what about' opens a redirect"
    room.feed(SpeechEnded(onset + 1.1, room.at(0.9)))
    # "What about Saturday?": the phrase-biased judge makes phrases of "Saturday".
    room.feed(FinalTranscript("what about stop that right", room.at(0.02), source="phrases",
                              words=evenly("what about stop that right", onset, conf=0.92)))
    room.feed(FinalTranscript("what about the soft and i", room.at(0.01), words=words(
        ("what", onset, onset + 0.2, 0.53), ("about", onset + 0.2, onset + 0.5, 0.93),
        ("the", onset + 0.5, onset + 0.56, 0.06), ("soft", onset + 0.56, onset + 0.83, 0.04),
        ("and", onset + 0.83, onset + 0.96, 0.27), ("i", onset + 0.96, onset + 1.1, 0.68))))
    assert final_type(room) is InterruptionType.REDIRECT


def test_a_verdict_on_an_opener_that_never_stands_alone_does_not_speak_for_more(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(duration_ms=2400.0, voiced_ms=1800.0))
    interim_verdict(room, onset, "i mean", 0.94, said_s=0.3)  # "I need a table for four ..."
    said = "i mean that the goal for for people to debate"
    confs = (0.55, 0.24, 0.05, 0.01, 0.01, 0.67, 0.5, 0.6, 0.4, 0.3)
    outgrown_judge(room, onset + 2.4, 2.2, tuple(
        Word(w.text, w.start_s, w.end_s, conf) for w, conf in zip(evenly(said, onset), confs)))
    assert final_type(room) is InterruptionType.REDIRECT


def test_a_cut_after_a_backchannel_in_the_judges_verdict_so_far_must_hold(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    out = interim_verdict(room, onset, "yeah", 0.95)
    out += interim_verdict(room, onset, "yes wrong", 0.91, said_s=0.55)  # "yeah, right"
    assert Cut not in kinds(out), "the word after 'yes' is the newest and still moving"
    out = interim_verdict(room, onset, "yes right", 0.91, said_s=0.7)
    assert Cut not in kinds(out)

    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room)
    out = interim_verdict(room, onset, "okay stop", 0.93, said_s=0.5)
    assert Cut not in kinds(out)
    out = interim_verdict(room, onset, "okay stop", 0.92, said_s=0.6)
    assert Cut in kinds(out), "the same cut twice has held"


def test_a_cancellation_is_settled_when_it_is_over_though_a_television_holds_the_span_open(
        classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(level_dbfs=-21.0))
    out = interim_verdict(room, onset, "stop it", 0.9, said_s=0.4)
    assert Cut in kinds(out)
    # The person stopped at onset + 0.4; the television keeps the VAD's span open. The
    # judge, trimming to the loud part, keeps finding the same "stop it".
    room.feed(PartialTranscript("so i'll believe it", room.at(0.4)))
    interim_verdict(room, onset, "stop it", 0.88, said_s=0.4)
    assert final_type(room) is InterruptionType.CANCELLATION, "settled while the span goes on"
    assert room.machine.state is State.IDLE
    # The span ends seconds later; its final is the television's, and no turn.
    room.feed(SpeechEnded(onset + 9.0, room.at(8.0)))
    out = room.feed(FinalTranscript("so i'll believe it if if the little", room.at(0.1),
                                    words=evenly("so i'll believe it if if the little", onset)))
    assert not any(isinstance(a, SendToAgent) for a in out)
    assert [a for a in out if isinstance(a, LogInterruption)] == []

    # A person still talking moves the judge's verdict: nothing is settled early.
    room = speaking_room(classifier)
    room.play_to(1.0)
    onset = start(room, sound(level_dbfs=-21.0))
    interim_verdict(room, onset, "stop", 0.9, said_s=0.3)
    interim_verdict(room, onset, "stop it", 0.9, said_s=0.5)
    assert room.machine.state is State.INTERRUPTED
    assert not [a for a in room.actions if isinstance(a, LogInterruption)]
