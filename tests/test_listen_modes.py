"""Listening modes and the wake word in the state machine (issue 14): who opens a turn."""

from __future__ import annotations

import pytest
from test_machine import Room as MachineRoom

from bargein.agent.classifier import InterruptionClassifier
from bargein.agent.interruption import InterruptionType
from bargein.asr.results import Word
from bargein.device.appliance_settings import BargeinSettings, ListenSettings
from bargein.device.events import (
    AgentText,
    ButtonPressed,
    CancelAgent,
    Cut,
    FinalTranscript,
    LogInterruption,
    PartialTranscript,
    PlaybackFinished,
    PlaybackPosition,
    SendToAgent,
    SpeechChunkQueued,
    SpeechEnded,
    SpeechIgnored,
    SpeechStarted,
    StartListening,
    State,
    StatusChanged,
    Tick,
    WakeWord,
)
from bargein.device.machine import BargeinMachine
from bargein.tts.speech import WordSpan

RATE_HZ = 22_050
WORD_S, GAP_S = 0.30, 0.05
ANSWER = "The refund policy lets you return items within thirty days and keep the receipt."


@pytest.fixture(scope="module")
def classifier() -> InterruptionClassifier:
    return InterruptionClassifier.from_language("en")


class Room(MachineRoom):
    """A machine in a listening mode, a clock, and every action it returned."""

    def __init__(self, classifier, mode: str = "wake_word", follow_up_s: float = 5.0,
                 wake_phrase: str = "Alexa") -> None:
        super().__init__(BargeinMachine(BargeinSettings(), classifier,
                                        ListenSettings(mode=mode, follow_up_s=follow_up_s),
                                        wake_phrase))

    def say(self, text: str, length_s: float = 1.2, wake_after_s: float | None = None,
            words: tuple[Word, ...] = ()) -> list:
        """A person speaks ``text``; the detector reports the wake word ``wake_after_s``
        into it (``end_s`` the end of its deciding block, as the pipeline passes it)."""
        onset = self.t
        out = self.feed(SpeechStarted(onset, onset + 0.1))
        if wake_after_s is not None:
            self.t = onset + wake_after_s
            out += self.feed(WakeWord(self.t, self.t, "Alexa", 0.97))
        self.t = onset + length_s
        out += self.feed(SpeechEnded(self.t, self.t + 0.3))
        self.t += 0.45
        out += self.feed(FinalTranscript(text, self.t, words=words))
        return out

    def answer(self, text: str = ANSWER) -> None:
        """The agent answers the turn just sent; its words are queued and start playing."""
        words, t = [], 0.0
        for word in text.split():
            words.append(WordSpan(word, round(t * RATE_HZ), round((t + WORD_S) * RATE_HZ)))
            t += WORD_S + GAP_S
        self.t += 0.3
        self.feed(AgentText(text, self.reply_id, self.t, final=True))
        self.feed(SpeechChunkQueued(self.reply_id, tuple(words), RATE_HZ, 0.0, t - GAP_S, self.t))
        self.start_t = self.t
        self.end_s = t - GAP_S
        self.feed(PlaybackPosition(self.reply_id, 0.0, self.t))

    def play_to(self, played_s: float) -> list:
        self.t = self.start_t + played_s
        return self.feed(PlaybackPosition(self.reply_id, played_s, self.t))

    def finish(self) -> list:
        self.play_to(self.end_s)
        return self.feed(PlaybackFinished(self.reply_id, self.t))

    def tick(self, dt: float) -> list:
        self.t += dt
        return self.feed(Tick(self.t))

    def sent(self, actions=None) -> list[str]:
        return [a.user_text for a in (self.actions if actions is None else actions)
                if isinstance(a, SendToAgent)]


def ask_and_answer(room: Room, answer: str = ANSWER) -> None:
    room.feed(ButtonPressed(room.t))
    room.say("tell me about refunds")
    assert room.sent() == ["tell me about refunds"]
    room.answer(answer)
    assert room.machine.state is State.SPEAKING


# -- idle speech -----------------------------------------------------------------------


def test_wake_word_mode_ignores_speech_without_the_wake_word(classifier):
    room = Room(classifier)
    out = room.say("what time is it")
    assert room.sent() == []
    assert SpeechIgnored(4) in out
    assert room.machine.state is State.IDLE
    assert not any(isinstance(a, (StatusChanged, LogInterruption, StartListening)) for a in out)
    assert room.machine.ignored_utterances == 1


def test_open_mode_answers_any_speech_as_before(classifier):
    machine = BargeinMachine(BargeinSettings(), classifier)  # the machine's own default
    assert machine.listen.mode == "open"
    room = Room(classifier, mode="open")
    room.say("what time is it")
    assert room.sent() == ["what time is it"]


def test_wake_word_then_request_in_one_breath_opens_a_turn_without_the_phrase(classifier):
    room = Room(classifier)
    out = room.say("alexa what time is it", length_s=1.6, wake_after_s=0.6)
    assert StartListening() in out
    assert room.sent() == ["what time is it"]
    assert room.machine.state is State.THINKING
    assert room.machine.ignored_utterances == 0


def test_wake_word_alone_then_the_request_after_a_pause(classifier):
    room = Room(classifier)
    room.say("alexa", length_s=0.6, wake_after_s=0.55)
    assert room.sent() == [] and room.machine.state is State.LISTENING
    room.t += 1.0
    room.say("what time is it")
    assert room.sent() == ["what time is it"]


def test_wake_word_the_recognizer_spelt_otherwise_is_cut_off_by_time(classifier):
    room = Room(classifier)
    onset = room.t
    words = (Word("elects", onset, onset + 0.3), Word("a", onset + 0.3, onset + 0.5),
             Word("what", onset + 0.55, onset + 0.75), Word("time", onset + 0.75, onset + 1.0),
             Word("is", onset + 1.0, onset + 1.1), Word("it", onset + 1.1, onset + 1.3))
    # The detector reports the phrase about 0.28 s after it ends.
    room.say("elects a what time is it", length_s=1.4, wake_after_s=0.78, words=words)
    assert room.sent() == ["what time is it"]


def test_wake_word_alone_misheard_as_a_word_stretched_over_the_pause_is_no_request(classifier):
    """pocketsphinx on "Alexa." (the Piper voice) then a pause: "like seth", its last word
    ending 0.06 s after the detector fired. By its middle it would be the request; it began
    inside the phrase, so it is the phrase, and the request is still to come."""
    room = Room(classifier)
    onset = room.t
    words = (Word("like", onset + 0.04, onset + 0.32), Word("seth", onset + 0.32, onset + 0.76))
    room.say("like seth", length_s=0.75, wake_after_s=0.70, words=words)
    assert room.sent() == [] and room.machine.state is State.LISTENING
    room.t += 0.5
    room.say("could you turn off the kitchen lights", length_s=1.6)
    assert room.sent() == ["could you turn off the kitchen lights"]


def test_wake_word_inside_a_sentence_takes_what_follows(classifier):
    room = Room(classifier)
    room.say("i was wondering alexa what time is it", length_s=2.4, wake_after_s=1.3)
    assert room.sent() == ["what time is it"]


def test_wake_phrase_in_the_words_opens_a_turn_the_detector_missed(classifier):
    # The detector's models miss the phrase inside a sentence; the recognizer hears it.
    room = Room(classifier)
    out = room.say("i was just wondering alexa what time is it", length_s=2.6)
    assert room.sent() == ["what time is it"]
    assert SpeechIgnored not in [type(a) for a in out]
    assert room.machine.wake_words_in_words == 1 and room.machine.ignored_utterances == 0


def test_wake_phrase_alone_in_the_words_listens_for_the_request(classifier):
    room = Room(classifier)
    out = room.say("alexa", length_s=0.6)
    assert StartListening() in out and room.machine.state is State.LISTENING
    assert room.sent() == []
    room.t += 0.8
    room.say("what time is it")
    assert room.sent() == ["what time is it"]


def test_words_without_the_wake_phrase_stay_ignored_and_other_modes_do_not_look(classifier):
    room = Room(classifier)
    room.say("alex said the election was close")
    assert room.sent() == [] and room.machine.ignored_utterances == 1
    button = Room(classifier, mode="button")
    button.say("alexa what time is it")
    assert button.sent() == [] and button.machine.wake_words_in_words == 0


def test_its_own_voice_naming_the_wake_phrase_in_the_words_opens_no_turn(classifier):
    # The answer ends "... just ask Alexa"; its echo reaches the recognizer as words.
    room = Room(classifier, follow_up_s=0.0)
    ask_and_answer(room, "If you like, just ask Alexa")
    room.finish()
    room.t += 0.1
    words = (Word("ask", room.t, room.t + 0.3), Word("alexa", room.t + 0.35, room.t + 0.8))
    out = room.say("ask alexa", length_s=0.9, words=words)
    assert room.sent() == ["tell me about refunds"]
    assert StartListening() not in out and room.machine.own_wake_words == 1
    # Seconds later the words are a person's.
    room.t += 4.0
    words = (Word("alexa", room.t + 0.1, room.t + 0.6),)
    room.say("alexa", length_s=0.7, words=words)
    assert room.machine.state is State.LISTENING


def test_button_mode_needs_the_press(classifier):
    room = Room(classifier, mode="button")
    room.say("what time is it")
    assert room.sent() == []
    room.t += 1.0
    out = room.feed(ButtonPressed(room.t))
    assert StartListening() in out and room.machine.state is State.LISTENING
    room.t += 0.5
    room.say("what time is it")
    assert room.sent() == ["what time is it"]


def test_a_turn_opened_by_the_wake_word_closes_when_nobody_speaks(classifier):
    room = Room(classifier)
    room.feed(WakeWord(room.t, room.t + 0.1, "Alexa"))
    assert room.machine.state is State.LISTENING
    room.tick(BargeinSettings().listen_timeout_s + 0.5)
    assert room.machine.state is State.IDLE
    room.say("what time is it")
    assert room.sent() == []


# -- the follow-up window ------------------------------------------------------------------


def test_follow_up_window_takes_a_reply_without_the_wake_word(classifier):
    room = Room(classifier, follow_up_s=5.0)
    ask_and_answer(room)
    out = room.finish()
    assert StatusChanged("idle", False, True) in out
    room.t += 2.0
    room.say("and what about gifts")
    assert room.sent()[-1] == "and what about gifts"


def test_follow_up_window_closes(classifier):
    room = Room(classifier, follow_up_s=3.0)
    ask_and_answer(room)
    room.finish()
    out = room.tick(3.5)
    assert StatusChanged("idle", False, False) in out
    room.say("and what about gifts")
    assert room.sent() == ["tell me about refunds"]
    assert room.machine.ignored_utterances == 1


def test_open_mode_has_no_follow_up_status(classifier):
    room = Room(classifier, mode="open")
    ask_and_answer(room)
    out = room.finish()
    assert all(not a.follow_up for a in room.actions if isinstance(a, StatusChanged))
    assert StatusChanged("idle", False) in out


# -- the wake word during the answer -----------------------------------------------------------


def test_wake_word_over_the_answer_cuts_like_the_button_and_opens_a_turn(classifier):
    room = Room(classifier)
    ask_and_answer(room)
    room.play_to(2.0)
    onset = room.t
    room.feed(SpeechStarted(onset, onset + 0.1))
    room.t = onset + 0.7
    out = room.feed(WakeWord(room.t - 0.1, room.t, "Alexa", 0.95))
    assert Cut(BargeinSettings().fade_ms) in out and StartListening() in out
    (record,) = [a.record for a in out if isinstance(a, LogInterruption)]
    assert record.type is InterruptionType.WAKE_WORD and record.handling == "wake_word"
    assert record.stopped_speech and record.words_heard[:3] == ("The", "refund", "policy")
    assert record.onset_to_silence_ms == pytest.approx(700 + BargeinSettings().fade_ms)
    assert room.machine.state is State.LISTENING
    room.t = onset + 1.6
    room.feed(SpeechEnded(room.t, room.t + 0.3))
    room.t += 0.45
    out = room.feed(FinalTranscript("alexa what time is it", room.t))
    (sent,) = [a for a in out if isinstance(a, SendToAgent)]
    assert sent.user_text == "what time is it"
    assert sent.interruption is record


def test_speech_over_the_answer_still_barges_in_without_the_wake_word(classifier):
    room = Room(classifier)
    ask_and_answer(room)
    room.play_to(1.5)
    onset = room.t
    room.feed(SpeechStarted(onset, onset + 0.05))
    for ms in (300, 340):
        room.t = onset + ms / 1000
        room.feed(PartialTranscript("stop it", room.t))
    room.t = onset + 0.6
    room.feed(SpeechEnded(room.t, room.t + 0.05))
    room.feed(FinalTranscript("stop it", room.t + 0.1))
    assert Cut in [type(a) for a in room.actions]
    records = [a.record for a in room.actions if isinstance(a, LogInterruption)]
    assert records[0].type is InterruptionType.CANCELLATION


def test_the_appliance_saying_the_wake_word_does_not_trigger_it(classifier):
    room = Room(classifier)
    ask_and_answer(room, "You can also ask Alexa to read the receipt aloud for you today.")
    index = 4  # "Alexa"
    room.play_to(index * (WORD_S + GAP_S) + WORD_S + 0.2)
    out = room.feed(WakeWord(room.t - 0.15, room.t, "Alexa"))
    assert not any(isinstance(a, (Cut, LogInterruption, StartListening)) for a in out)
    assert room.machine.state is State.SPEAKING and room.machine.own_wake_words == 1
    # Seconds later the phrase is no longer its own: a person said it.
    room.play_to(index * (WORD_S + GAP_S) + 3.5)
    out = room.feed(WakeWord(room.t - 0.1, room.t, "Alexa"))
    assert Cut in [type(a) for a in out]


def test_its_own_last_word_being_the_wake_word_does_not_open_a_turn(classifier):
    room = Room(classifier)
    ask_and_answer(room, "If you like, just ask Alexa")
    room.finish()
    room.t += 0.2
    out = room.feed(WakeWord(room.t - 0.15, room.t, "Alexa"))
    assert StartListening() not in out and room.machine.state is State.IDLE


def test_wake_word_while_thinking_drops_the_reply_and_grows_the_turn(classifier):
    room = Room(classifier)
    room.feed(ButtonPressed(room.t))
    room.say("set a timer for five minutes")
    assert room.machine.state is State.THINKING
    room.t += 0.2
    out = room.say("alexa make it ten", length_s=1.2, wake_after_s=0.6)
    assert CancelAgent() in out
    assert room.sent()[-1] == "set a timer for five minutes make it ten"
