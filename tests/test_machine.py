"""The pure barge-in state machine: conversations as event sequences, actions checked."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bargein.agent.classifier import InterruptionClassifier
from bargein.agent.interruption import InterruptionType
from bargein.asr.results import Word
from bargein.device.appliance_settings import BargeinSettings
from bargein.device.events import (
    AgentFailed,
    AgentText,
    ButtonHeld,
    ButtonPressed,
    CancelAgent,
    CancelSpeech,
    Cut,
    Duck,
    FinalTranscript,
    LogInterruption,
    PartialTranscript,
    Pause,
    PlaybackFinished,
    PlaybackPosition,
    Resume,
    SendToAgent,
    SetMute,
    Speak,
    SpeechChunkQueued,
    SpeechEnded,
    SpeechStarted,
    StartListening,
    State,
    StatusChanged,
    Tick,
    Unduck,
)
from bargein.device.machine import BargeinMachine
from bargein.tts.speech import WordSpan

RATE_HZ = 22_050
WORD_S = 0.30  # every test word lasts 300 ms ...
GAP_S = 0.05  # ... with 50 ms between words

SENTENCE_1 = "The refund policy lets you return items within thirty days."
SENTENCE_2 = "Keep the receipt and the original box."


@pytest.fixture(scope="module")
def classifier() -> InterruptionClassifier:
    return InterruptionClassifier.from_language("en")


def spans(text: str, start_s: float) -> tuple[tuple[WordSpan, ...], float]:
    """Word spans of ``text`` from ``start_s`` (utterance-relative) and the chunk's end."""
    words, t = [], start_s
    for word in text.split():
        words.append(WordSpan(word, round(t * RATE_HZ), round((t + WORD_S) * RATE_HZ)))
        t += WORD_S + GAP_S
    return tuple(words), t - GAP_S


@dataclass
class Room:
    """Drives one machine through a conversation, collecting every action."""

    machine: BargeinMachine
    t: float = 10.0
    actions: list = field(default_factory=list)
    reply_id: int | None = None
    utterance_id: int | None = None
    start_t: float = 0.0  # when the current utterance's first sample played

    def feed(self, *events) -> list:
        out = []
        for event in events:
            out += self.machine.handle(event)
        for action in out:
            if isinstance(action, SendToAgent):
                self.reply_id = action.reply_id
        self.actions += out
        return out

    def at(self, dt: float) -> float:
        self.t += dt
        return self.t

    def ask(self, text: str = "tell me about refunds") -> SendToAgent:
        self.feed(SpeechStarted(self.t, self.at(0.01)))
        self.feed(SpeechEnded(self.at(1.0), self.t))
        sent = [a for a in self.feed(FinalTranscript(text, self.at(0.2))) if isinstance(a, SendToAgent)]
        assert len(sent) == 1
        self.reply_id = sent[0].reply_id
        return sent[0]

    def reply(self, *sentences: str) -> None:
        """The agent streams ``sentences``; each is synthesized and queued; playback starts."""
        offset_s = 0.0
        for index, sentence in enumerate(sentences):
            last = index == len(sentences) - 1
            out = self.feed(AgentText(sentence, self.reply_id, self.at(0.05), final=last))
            assert Speak(sentence, self.reply_id, last) in out
            words, end_s = spans(sentence, offset_s)
            self.feed(SpeechChunkQueued(self.reply_id, words, RATE_HZ, offset_s, end_s, self.t))
            offset_s = end_s
        self.utterance_id = self.reply_id
        self.start_t = self.t
        self.feed(PlaybackPosition(self.reply_id, 0.0, self.t))

    def play_to(self, played_s: float) -> list:
        """Playback reaches ``played_s`` of the utterance (time advances with it)."""
        self.t = self.start_t + played_s
        return self.feed(PlaybackPosition(self.utterance_id, played_s, self.t))

    def talk_over(self, *partials: tuple[float, str], final: str | None = None,
                  length_s: float | None = None, confirm_ms: float | None = 30.0) -> list:
        """The person starts speaking now; partials arrive at (ms after onset, text).

        A recognizer that keeps its hypothesis reports it again ``confirm_ms`` later
        (words count once they survive into the next hypothesis); None: every partial
        is reported once, as given.
        """
        onset = self.t
        out = self.feed(SpeechStarted(onset, self.at(0.02)))
        times = [ms for ms, _ in partials]
        for i, (ms, text) in enumerate(partials):
            self.t = onset + ms / 1000.0
            out += self.feed(PartialTranscript(text, self.t))
            next_ms = times[i + 1] if i + 1 < len(times) else None
            if confirm_ms is not None and (next_ms is None or next_ms > ms + confirm_ms):
                self.t = onset + (ms + confirm_ms) / 1000.0
                out += self.feed(PartialTranscript(text, self.t))
        if final is not None:
            end = onset + (length_s if length_s is not None else max(0.5, self.t - onset + 0.1))
            self.t = max(self.t, end)
            out += self.feed(SpeechEnded(end, self.at(0.01)))
            out += self.feed(FinalTranscript(final, self.at(0.1)))
        return out

    def records(self) -> list:
        return [a.record for a in self.actions if isinstance(a, LogInterruption)]


def speaking_room(classifier, **settings) -> Room:
    room = Room(BargeinMachine(BargeinSettings(**settings), classifier))
    room.ask()
    room.reply(SENTENCE_1, SENTENCE_2)
    assert room.machine.state is State.SPEAKING
    return room


def kinds(actions) -> list[type]:
    """Action types in order, status changes left out."""
    return [type(a) for a in actions if not isinstance(a, StatusChanged)]


def word_start_s(index: int) -> float:
    return index * (WORD_S + GAP_S)


# -- the types and examples -------------------------------------------------------


def test_uh_huh_is_a_backchannel_the_voice_goes_on(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = room.talk_over((150, "uh"), (400, "uh huh"), final="Uh-huh")
    assert out[0] == Duck(-18.0)
    assert Unduck() in out
    assert not any(isinstance(a, (Cut, Pause, CancelAgent, SendToAgent)) for a in out)
    assert room.machine.state is State.SPEAKING
    (record,) = room.records()
    assert record.type is InterruptionType.BACKCHANNEL and record.handling == "continued"
    assert record.user_text == "Uh-huh"


def test_yeah_yeah_is_a_backchannel(classifier):
    room = speaking_room(classifier)
    room.play_to(0.5)
    out = room.talk_over((300, "yeah"), (600, "yeah yeah"), final="yeah yeah")
    assert Cut not in kinds(out)
    assert room.records()[0].type is InterruptionType.BACKCHANNEL
    assert room.machine.state is State.SPEAKING


def test_no_cut_on_yeah_prefix_until_the_words_decide(classifier):
    room = speaking_room(classifier)
    room.play_to(0.5)
    out = room.talk_over((500, "yeah"), (900, "yeah but"))
    assert Cut not in kinds(out), "'yeah' could still be a backchannel"
    out = room.talk_over((300, "yeah but what about"))  # a new stretch decides it
    assert Cut in kinds(room.actions)


def test_stop_it_cuts_and_cancels(classifier):
    room = speaking_room(classifier)
    room.play_to(1.2)
    out = room.talk_over((300, "stop"))
    assert kinds(out)[:4] == [Duck, Cut, CancelSpeech, CancelAgent]
    assert Cut(5.0) in out
    out = room.feed(SpeechEnded(room.t + 0.2, room.at(0.25)), FinalTranscript("stop it", room.at(0.1)))
    assert not any(isinstance(a, SendToAgent) for a in out), "a cancellation asks nothing"
    (record,) = room.records()
    assert record.type is InterruptionType.CANCELLATION and record.handling == "cancelled"
    # "stop" heard at 300 ms, confirmed by the next hypothesis 30 ms later, then the fade
    assert record.onset_to_silence_ms == pytest.approx(300 + 30 + 5.0)
    assert room.machine.state is State.IDLE


def test_actually_never_mind_cuts_early_but_is_recorded_as_cancellation(classifier):
    room = speaking_room(classifier)
    room.play_to(0.9)
    out = room.talk_over((350, "actually"))
    assert Cut in kinds(out), "the first decisive word cuts"
    out = room.talk_over((700, "actually never"), (900, "actually never mind"),
                         final="actually, never mind")
    record = room.records()[-1]
    assert record.type is InterruptionType.CANCELLATION
    assert not any(isinstance(a, SendToAgent) for a in room.actions[-len(out):])


def test_no_i_said_tuesday_is_a_correction_sent_with_what_was_heard(classifier):
    room = speaking_room(classifier)
    heard_until = word_start_s(3) + 0.1  # mid "lets"
    room.play_to(heard_until - 0.3)
    out = room.talk_over((300, "no"), (600, "no i said"), (900, "no i said tuesday"),
                         final="No, I said Tuesday")
    assert kinds(out).count(Cut) == 1
    (sent,) = [a for a in out if isinstance(a, SendToAgent)]
    assert sent.user_text == "No, I said Tuesday"
    record = sent.interruption
    assert record.type is InterruptionType.CORRECTION and record.handling == "cut"
    assert record.words_heard == ("The", "refund", "policy")
    assert record.word_cut == "lets"
    assert record.words_unplayed[:2] == ("you", "return")
    assert record.words_unplayed[-1] == "box."
    assert record.agent_text == f"{SENTENCE_1} {SENTENCE_2}"
    assert room.machine.state is State.THINKING


def test_what_about_friday_is_a_redirect(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = room.talk_over((300, "what"), (500, "what about"), (800, "what about friday"),
                         final="what about friday")
    assert Cut in kinds(out)
    assert room.records()[-1].type is InterruptionType.REDIRECT


def test_unrecognised_speech_that_keeps_going_is_a_redirect(classifier):
    room = speaking_room(classifier, redirect_after_words=4)
    room.play_to(1.0)
    out = room.talk_over((400, "the"), (600, "the weather"), (800, "the weather in"))
    assert Cut not in kinds(out)
    out = room.feed(PartialTranscript("the weather in paris", room.at(0.2)))
    assert Cut not in kinds(out), "the fourth word has not survived a hypothesis yet"
    out = room.feed(PartialTranscript("the weather in paris", room.at(0.03)))
    assert Cut in kinds(out)


def test_wait_what_was_that_is_a_clarification(classifier):
    room = speaking_room(classifier)
    room.play_to(2.0)
    out = room.talk_over((300, "wait"), (600, "wait what was that"), final="Wait, what was that?")
    assert Cut in kinds(out)
    (sent,) = [a for a in out if isinstance(a, SendToAgent)]
    assert sent.interruption.type is InterruptionType.CLARIFICATION


def test_cough_ducks_then_unducks_without_a_pause(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    out = room.feed(SpeechStarted(room.t, room.at(0.03)))
    assert out[0] == Duck(-18.0)
    out = room.feed(SpeechEnded(room.t + 0.15, room.at(0.2)))
    assert out[0] == Unduck()
    assert not any(isinstance(a, (Cut, Pause, Resume)) for a in room.actions)
    assert room.machine.state is State.SPEAKING
    assert room.records()[-1].type is InterruptionType.NOISE
    out = room.feed(FinalTranscript("", room.at(0.3)))  # the recogniser's empty final
    assert not any(isinstance(a, (Cut, Duck)) for a in out)


# -- timing rules -----------------------------------------------------------------------


def test_no_voice_cut_before_min_cut_speech_ms(classifier):
    room = speaking_room(classifier, min_cut_speech_ms=250)
    room.play_to(1.0)
    onset = room.t
    out = room.talk_over((120, "stop"))
    assert Cut not in kinds(out)
    assert Cut not in kinds(room.feed(Tick(onset + 0.2)))
    out = room.feed(Tick(onset + 0.26))
    assert Cut in kinds(out)


def test_words_outlasting_a_short_vad_span_still_cut_late(classifier):
    """Under echo the VAD may close early; the words' own times show it was speech."""
    room = speaking_room(classifier, min_cut_speech_ms=250)
    room.play_to(1.0)
    onset = room.t
    room.feed(SpeechStarted(onset, room.at(0.1)))
    out = room.feed(SpeechEnded(onset + 0.15, room.at(0.1)))  # a 150 ms "blip"
    assert Unduck() in out
    out = room.feed(FinalTranscript("stop", room.at(0.2), words_end_s=onset + 0.35))
    assert Cut in kinds(out)
    assert room.records()[-1].type is InterruptionType.CANCELLATION
    # the same short blip with no words end known stays a noise: no cut
    room2 = speaking_room(classifier, min_cut_speech_ms=250)
    room2.play_to(1.0)
    onset = room2.t
    room2.feed(SpeechStarted(onset, room2.at(0.1)))
    room2.feed(SpeechEnded(onset + 0.15, room2.at(0.1)))
    assert Cut not in kinds(room2.feed(FinalTranscript("stop", room2.at(0.2))))


def test_button_is_exempt_from_min_cut_and_cuts_mid_word(classifier):
    room = speaking_room(classifier)
    room.play_to(word_start_s(5) + 0.1)  # mid "return"
    out = room.feed(ButtonPressed(room.t))
    assert kinds(out)[:3] == [Cut, CancelSpeech, CancelAgent]
    assert StartListening() in out
    (record,) = room.records()
    assert record.type is InterruptionType.BUTTON
    assert record.words_heard == ("The", "refund", "policy", "lets", "you")
    assert record.word_cut == "return"
    total_s = spans(SENTENCE_2, spans(SENTENCE_1, 0.0)[1])[1]
    assert record.progress_pct == pytest.approx(100 * (word_start_s(5) + 0.1) / total_s, abs=0.05)
    assert record.onset_to_silence_ms == pytest.approx(5.0)
    assert room.machine.state is State.LISTENING
    sent = room.ask("tell me about shipping instead")
    assert sent.interruption is record


def test_interruption_in_the_first_300_ms(classifier):
    room = speaking_room(classifier)
    room.play_to(0.0)
    room.talk_over((260, "stop"), final="stop")  # cut 260 ms into the first word
    record = room.records()[-1]
    assert record.words_heard == ()
    assert record.word_cut == "The"
    assert record.progress_pct < 10
    assert room.machine.remainder[0] == "The"


def test_interruption_in_the_last_word(classifier):
    room = speaking_room(classifier)
    total_s = spans(SENTENCE_2, spans(SENTENCE_1, 0.0)[1])[1]
    room.play_to(total_s - 0.6)
    out = room.talk_over((300, "no"), final="no")
    assert Cut in kinds(out)
    record = room.records()[-1]
    assert record.word_cut == "box."
    assert record.words_unplayed == ()
    assert record.words_heard[-1] == "original"


def test_two_interruptions_in_a_row(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    room.talk_over((300, "no"), (700, "no i said tuesday"), final="no I said Tuesday")
    room.reply("Sorry, Tuesday it is.", "Your order arrives on Tuesday morning.")
    room.play_to(0.8)
    out = room.talk_over((300, "wait"), final="wait what")
    assert Cut in kinds(out)
    first, second = room.records()
    assert first.type is InterruptionType.CORRECTION
    assert second.type is InterruptionType.CLARIFICATION
    assert second.agent_text.startswith("Sorry, Tuesday")
    assert second.words_heard == ("Sorry,", "Tuesday", "it")  # cut 1.1 s in
    assert second.word_cut == "is."
    assert first.utterance_id != second.utterance_id


def test_continue_after_a_cancellation_plays_the_remainder(classifier):
    room = speaking_room(classifier)
    room.play_to(word_start_s(2) + 0.1 - 0.3)
    room.talk_over((300, "stop"), final="stop")  # cut mid "policy"
    assert room.machine.state is State.IDLE
    room.feed(SpeechStarted(room.at(1.0), room.at(0.02)))
    out = room.feed(SpeechEnded(room.at(0.5), room.t), FinalTranscript("continue", room.at(0.1)))
    (speak,) = [a for a in out if isinstance(a, Speak)]
    assert speak.text.startswith("policy lets you return")
    assert speak.text.endswith("original box.")
    assert "thirty days. Keep the receipt" in speak.text  # spoken as sentences
    assert speak.last
    assert not any(isinstance(a, SendToAgent) for a in out)
    assert room.machine.state is State.SPEAKING


def test_a_continue_only_the_phrase_judge_heard_surely_plays_the_remainder(classifier):
    for judged_conf, resumes in ((0.96, True), (0.6, False)):
        room = speaking_room(classifier)
        room.play_to(word_start_s(2) + 0.1 - 0.3)
        room.talk_over((300, "stop"), final="stop")
        onset = room.at(1.0)
        room.feed(SpeechStarted(onset, room.at(0.02)))
        room.feed(SpeechEnded(room.at(0.5), room.t))
        room.feed(FinalTranscript("continue", room.at(0.05), source="phrases",
                                  words=(Word("continue", onset, onset + 0.5, judged_conf),)))
        out = room.feed(FinalTranscript("do you", room.at(0.02), words=(
            Word("do", onset, onset + 0.2, 0.8), Word("you", onset + 0.2, onset + 0.5, 0.8))))
        speaks = [a for a in out if isinstance(a, Speak)]
        assert bool(speaks) is resumes, judged_conf
        assert any(isinstance(a, SendToAgent) for a in out) is not resumes


def test_resumed_remainder_keeps_the_sentences_when_spans_hold_bare_words(classifier):
    room = Room(BargeinMachine(BargeinSettings(), classifier))
    room.ask()
    offset_s = 0.0
    for index, sentence in enumerate((SENTENCE_1, SENTENCE_2)):
        last = index == 1
        room.feed(AgentText(sentence, room.reply_id, room.at(0.05), final=last))
        words, end_s = spans(sentence.replace(".", ""), offset_s)  # Piper's spans: no punctuation
        room.feed(SpeechChunkQueued(room.reply_id, words, RATE_HZ, offset_s, end_s, room.t))
        offset_s = end_s
    room.utterance_id, room.start_t = room.reply_id, room.t
    room.feed(PlaybackPosition(room.reply_id, 0.0, room.t))
    room.play_to(word_start_s(2) + 0.1 - 0.3)
    room.talk_over((300, "stop"), final="stop")
    room.feed(SpeechStarted(room.at(1.0), room.at(0.02)))
    out = room.feed(SpeechEnded(room.at(0.5), room.t), FinalTranscript("continue", room.at(0.1)))
    (speak,) = [a for a in out if isinstance(a, Speak)]
    assert speak.text == "policy lets you return items within thirty days. Keep the receipt and the original box."


def test_something_else_after_a_cancellation_drops_the_remainder(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    room.talk_over((300, "stop"), final="stop")
    sent = room.ask("what time is it")
    assert sent.user_text == "what time is it"
    assert room.machine.remainder == ()


def test_pause_across_a_sentence_boundary_then_resume_from_the_word_start(classifier):
    room = speaking_room(classifier)
    words, end_s = spans(SENTENCE_1, 0.0)
    last_word_start_s = words[-1].start_sample / RATE_HZ
    room.play_to(end_s - 0.5)
    room.talk_over((200, "mm"))  # undecided: could become "mm hmm"
    assert room.machine.state is State.SPEAKING_DUCKED
    out = room.play_to(end_s - 0.04)  # inside the last word, within the pause margin
    assert Pause() in out
    assert room.machine.state is State.PAUSED
    out = room.feed(PlaybackPosition(room.utterance_id, end_s + 0.2, room.at(0.2)))
    assert out == [], "positions while paused change nothing"
    out = room.feed(PartialTranscript("mm hmm", room.at(0.1)),
                    SpeechEnded(room.t, room.at(0.05)), FinalTranscript("mm-hmm", room.at(0.1)))
    assert Unduck() in out
    (resume,) = [a for a in out if isinstance(a, Resume)]
    assert resume.from_utterance_s == pytest.approx(last_word_start_s, abs=1e-4)
    assert room.machine.state is State.SPEAKING
    assert room.records()[-1].handling == "resumed"


def test_a_real_interruption_after_a_pause_cuts_at_the_pause_point(classifier):
    room = speaking_room(classifier)
    words, end_s = spans(SENTENCE_1, 0.0)
    room.play_to(end_s - 0.3)
    room.talk_over((200, "i"))
    room.play_to(end_s - 0.02)
    assert room.machine.state is State.PAUSED
    out = room.feed(PartialTranscript("i meant", room.at(0.3)),
                    PartialTranscript("i meant", room.at(0.03)))
    assert Cut in kinds(out)
    room.feed(SpeechEnded(room.t, room.at(0.1)), FinalTranscript("I meant returns", room.at(0.1)))
    record = room.records()[-1]
    assert record.type is InterruptionType.CORRECTION
    assert record.word_cut == "days."
    assert record.words_unplayed[0] == "Keep"


# -- speech while thinking ------------------------------------------------------------------


def test_speech_while_thinking_cancels_the_reply_and_merges_the_turn(classifier):
    room = Room(BargeinMachine(BargeinSettings(), classifier))
    first = room.ask("what's the weather")
    out = room.talk_over((400, "in paris"))
    assert CancelAgent() in out
    out = room.feed(SpeechEnded(room.t, room.at(0.05)), FinalTranscript("in paris", room.at(0.1)))
    (sent,) = [a for a in out if isinstance(a, SendToAgent)]
    assert sent.user_text == "what's the weather in paris"
    assert sent.reply_id != first.reply_id
    assert sent.interruption.handling == "merged"
    stale = room.feed(AgentText("It is sunny.", first.reply_id, room.at(0.1)))
    assert stale == [], "the cancelled reply never plays"
    fresh = room.feed(AgentText("Paris is sunny.", sent.reply_id, room.at(0.1), final=True))
    assert Speak("Paris is sunny.", sent.reply_id, True) in fresh


def test_a_backchannel_while_thinking_changes_nothing(classifier):
    room = Room(BargeinMachine(BargeinSettings(), classifier))
    first = room.ask("what's the weather")
    out = room.talk_over((300, "okay"), final="okay")
    assert out == []
    assert room.machine.state is State.THINKING
    out = room.feed(AgentText("It is sunny.", first.reply_id, room.at(0.1), final=True))
    assert Speak("It is sunny.", first.reply_id, True) in out


# -- button, mute, failures, timeouts -----------------------------------------------------


def test_button_while_idle_starts_listening_and_times_out(classifier):
    machine = BargeinMachine(BargeinSettings(listen_timeout_s=5.0), classifier)
    out = machine.handle(ButtonPressed(1.0))
    assert out == [StartListening(), StatusChanged("listening", False)]
    assert machine.handle(Tick(5.9)) == []
    assert machine.handle(Tick(6.1)) == [StatusChanged("idle", False)]


def test_long_press_toggles_mute_and_muted_speech_is_ignored(classifier):
    machine = BargeinMachine(BargeinSettings(), classifier)
    assert machine.handle(ButtonHeld(1.0)) == [SetMute(True), StatusChanged("idle", True)]
    assert machine.handle(SpeechStarted(2.0, 2.02)) == []
    assert machine.handle(FinalTranscript("hello there", 3.0)) == []
    assert machine.handle(ButtonHeld(4.0)) == [SetMute(False), StatusChanged("idle", False)]


def test_agent_failure_is_said_not_swallowed(classifier):
    room = Room(BargeinMachine(BargeinSettings(), classifier))
    room.ask()
    out = room.feed(AgentFailed("timed out", room.at(8.0)))
    (speak,) = [a for a in out if isinstance(a, Speak)]
    assert "can't answer" in speak.text and speak.last
    room.feed(PlaybackFinished(speak.utterance_id, room.at(2.0)))
    assert room.machine.state is State.IDLE


def test_reply_finishing_returns_to_idle(classifier):
    room = speaking_room(classifier)
    out = room.feed(PlaybackFinished(room.utterance_id, room.at(5.0)))
    assert out == [StatusChanged("idle", False)]


def test_missing_final_falls_back_to_the_partial(classifier):
    room = speaking_room(classifier, final_timeout_ms=1000)
    room.play_to(1.0)
    room.talk_over((300, "no"), (600, "no the other one"))
    room.feed(SpeechEnded(room.t, room.at(0.05)))
    assert room.feed(Tick(room.at(0.5))) == []
    out = room.feed(Tick(room.at(0.6)))
    (sent,) = [a for a in out if isinstance(a, SendToAgent)]
    assert sent.user_text == "no the other one"


def test_a_final_that_takes_back_the_cut_finishes_the_sentence(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    room.talk_over((300, "no"))  # the partial said "no" ...
    out = room.feed(SpeechEnded(room.t, room.at(0.05)), FinalTranscript("uh huh", room.at(0.1)))
    (speak,) = [a for a in out if isinstance(a, Speak)]  # ... the final says backchannel
    assert speak.text.startswith("lets you return")
    assert room.records()[-1].handling == "resumed_after_false_cut"


def test_muting_while_ducked_restores_the_voice(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    room.talk_over((200, "mm"))
    out = room.feed(ButtonHeld(room.at(0.1)))
    assert kinds(out) == [SetMute, Unduck]
    assert room.machine.state is State.SPEAKING and room.machine.muted
    assert room.feed(PartialTranscript("stop", room.at(0.5))) == []


def test_button_after_a_voice_cut_changes_nothing(classifier):
    room = speaking_room(classifier)
    room.play_to(1.0)
    room.talk_over((300, "stop"))
    assert room.machine.state is State.INTERRUPTED
    assert room.feed(ButtonPressed(room.at(0.1))) == []
    room.feed(SpeechEnded(room.t, room.at(0.1)), FinalTranscript("stop", room.at(0.1)))
    assert room.records()[-1].type is InterruptionType.CANCELLATION
