"""The local rules agent: its answers, and how it answers each kind of interruption."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bargein.agent.conversation import Conversation, Interruption
from bargein.agent.interruption import InterruptionType as T
from bargein.agent.local import EXPLANATIONS, SLOW_LENGTH_SCALE, LocalAgent
from bargein.agent.sentences import split_sentences


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 4, 15, 5)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def agent(clock):
    return LocalAgent(clock=clock)


def say(agent: LocalAgent, conversation: Conversation, text: str) -> str:
    """The user says ``text``; the whole answer is heard."""
    conversation.add_user(text)
    answer = agent.answer(conversation)
    conversation.add_assistant(answer.text)
    return answer.text


def cut(conversation: Conversation, kind: T, user_words: str, full: str, heard_words: int) -> None:
    """Replace the last (fully heard) answer by the same answer cut after ``heard_words``."""
    last = conversation.turns.pop()
    assert last.role == "assistant" and last.text == full
    words = full.split()
    conversation.add_interruption(
        Interruption(
            kind,
            user_words,
            heard_text=" ".join(words[:heard_words]),
            cut_word=words[heard_words] if heard_words < len(words) else "",
            unplayed_text=" ".join(words[heard_words + 1:]),
            progress_pct=100.0 * heard_words / len(words),
        )
    )


def respond(agent: LocalAgent, conversation: Conversation):
    answer = agent.answer(conversation)
    conversation.add_assistant(answer.text)
    return answer


def test_everyday_requests(agent):
    conversation = Conversation()
    assert say(agent, conversation, "Hello!") == "Hello! What can I do for you?"
    assert say(agent, conversation, "What time is it?") == "It's three oh five in the afternoon."
    assert say(agent, conversation, "what's the date today") == "Today is Tuesday, March 4, 2025."
    assert "set timers" in say(agent, conversation, "help")
    assert say(agent, conversation, "stop") == "Okay."
    assert say(agent, conversation, "what's the weather like").startswith("Sorry, I can't help")


@pytest.mark.parametrize(
    ("question", "topic"),
    [("how do you work", "how I work"), ("are you recording me?", "how I keep your privacy"),
     ("what does the button do", "what my button does")],
)
def test_explanations_are_long_enough_to_interrupt(agent, question, topic):
    conversation = Conversation()
    conversation.add_user(question)
    answer = agent.answer(conversation)
    assert answer.topic == topic and answer.text == EXPLANATIONS[topic]
    assert len(split_sentences(answer.text)) >= 5


def test_reply_streams_sentence_by_sentence(agent):
    conversation = Conversation()
    conversation.add_user("how do you work")
    pieces = list(agent.reply(conversation))
    assert [p.strip() for p in pieces] == split_sentences(EXPLANATIONS["how I work"])
    assert "".join(pieces) == EXPLANATIONS["how I work"]


def test_timer_rings_when_due_and_is_collected_once(agent, clock):
    conversation = Conversation()
    assert say(agent, conversation, "set a timer for 2 minutes") == "Timer set for two minutes."
    assert agent.next_due() == clock.now + timedelta(minutes=2)
    clock.now += timedelta(seconds=119)
    assert agent.collect_rung() == []
    assert "one second left" in say(agent, conversation, "how long is left on the timer")
    clock.now += timedelta(seconds=1)
    rung = agent.collect_rung()
    assert [t.ring_message for t in rung] == ["Your two minute timer is done."]
    assert agent.collect_rung() == [] and agent.next_due() is None


def test_timer_confirmation_says_hundreds_without_and(agent):
    conversation = Conversation()
    reply = say(agent, conversation, "set a timer for 105 hours")
    assert reply == "Timer set for one hundred five hours."


def test_timer_without_a_length_asks_for_it(agent):
    conversation = Conversation()
    assert say(agent, conversation, "set a timer") == "For how long?"
    assert say(agent, conversation, "ten") == "Timer set for ten minutes."
    assert [t.duration_s for t in agent.timers.active()] == [600.0]


def test_cancellation_gets_a_short_acknowledgement(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.CANCELLATION, "stop it", full, 12)
    assert respond(agent, conversation).text == "Okay."


def test_button_press_means_silence(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.BUTTON, "", full, 12)
    assert respond(agent, conversation).text == ""


def test_continue_after_a_cancellation_resumes_at_the_cut_sentence(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.CANCELLATION, "stop", full, 20)  # inside the second sentence
    respond(agent, conversation)
    resumed = say(agent, conversation, "continue")
    sentences = split_sentences(full)
    assert resumed == " ".join(sentences[1:])  # from the start of the cut sentence
    # once said in full it is no longer owed
    assert say(agent, conversation, "continue") == "There's nothing to continue; I had finished."


def test_clarification_repeats_the_cut_sentence_slowly_then_continue_goes_on(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    sentences = split_sentences(full)
    cut(conversation, T.CLARIFICATION, "wait, what?", full, 20)
    answer = respond(agent, conversation)
    assert answer.text == sentences[1]
    assert answer.length_scale == SLOW_LENGTH_SCALE > 1.0
    assert say(agent, conversation, "go on") == " ".join(sentences[2:])


def test_redirect_answers_the_new_request(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.REDIRECT, "what about the button", full, 15)
    answer = respond(agent, conversation)
    assert answer.text == EXPLANATIONS["what my button does"]


def test_unclear_redirect_offers_the_remainder_and_yes_resumes(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.REDIRECT, "can you hmm", full, 20)
    offer = respond(agent, conversation)
    assert offer.offers_resume
    assert offer.text.endswith("I was explaining how I work — shall I continue?")
    resumed = say(agent, conversation, "yes please")
    assert resumed == " ".join(split_sentences(full)[1:])


def test_offer_declined(agent):
    conversation = Conversation()
    full = say(agent, conversation, "what does the button do")
    cut(conversation, T.CORRECTION, "no no", full, 10)
    offer = respond(agent, conversation)
    assert offer.text == (
        "Sorry, I got that wrong. What did you mean? "
        "I was explaining what my button does — shall I continue?"
    )
    assert say(agent, conversation, "no thanks") == "Alright."


def test_correction_takes_the_new_request(agent):
    conversation = Conversation()
    full = say(agent, conversation, "how do you work")
    cut(conversation, T.CORRECTION, "no, I meant your privacy", full, 8)
    assert respond(agent, conversation).text == EXPLANATIONS["how I keep your privacy"]


def test_correction_during_a_timer_confirmation_amends_it(agent, clock):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    assert full == "Timer set for ten minutes."
    set_at = clock.now
    clock.now += timedelta(seconds=2)
    cut(conversation, T.CORRECTION, "no, fifteen", full, 4)  # heard "Timer set for ten"
    answer = respond(agent, conversation)
    assert answer.text == "Sorry about that. Timer changed to fifteen minutes."
    timers = agent.timers.active()
    assert len(timers) == 1  # amended, not a second timer
    assert timers[0].duration_s == 900.0 and timers[0].due == set_at + timedelta(minutes=15)


def test_correction_right_after_a_heard_confirmation_amends_too(agent):
    conversation = Conversation()
    say(agent, conversation, "set a timer for 5 minutes")
    assert say(agent, conversation, "actually make it 20 minutes") == (
        "Sorry about that. Timer changed to twenty minutes."
    )
    assert [t.duration_s for t in agent.timers.active()] == [1200.0]


def test_bare_no_during_the_confirmation_asks_and_the_answer_amends(agent):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    cut(conversation, T.CORRECTION, "no", full, 3)
    assert respond(agent, conversation).text == "Sorry. How long should the timer be?"
    assert say(agent, conversation, "twelve") == "Sorry about that. Timer changed to twelve minutes."
    assert [t.duration_s for t in agent.timers.active()] == [720.0]


def test_cancellation_during_a_timer_confirmation_cancels_the_timer(agent):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    cut(conversation, T.CANCELLATION, "never mind", full, 2)
    assert respond(agent, conversation).text == "Okay, I've cancelled that timer."
    assert agent.timers.active() == []


def test_unheard_confirmation_is_said_again_before_the_new_answer(agent):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    cut(conversation, T.REDIRECT, "what time is it", full, 2)  # heard "Timer set"
    answer = respond(agent, conversation)
    assert answer.text == "Timer set for ten minutes. It's three oh five in the afternoon."
    assert len(agent.timers.active()) == 1


def test_heard_confirmation_is_not_repeated(agent):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    cut(conversation, T.REDIRECT, "what time is it", full, 5)  # all five words heard
    assert respond(agent, conversation).text == "It's three oh five in the afternoon."


def test_clarification_of_an_unheard_confirmation_says_it_again_slowly(agent):
    conversation = Conversation()
    full = say(agent, conversation, "set a timer for ten minutes")
    cut(conversation, T.CLARIFICATION, "sorry?", full, 0)
    answer = respond(agent, conversation)
    assert answer.text == "Timer set for ten minutes." and answer.length_scale > 1.0
    # the slow repeat is itself the confirmation: a correction during it still amends
    cut(conversation, T.CORRECTION, "no, I said fifteen", answer.text, 4)
    assert respond(agent, conversation).text.endswith("fifteen minutes.")
    assert [t.duration_s for t in agent.timers.active()] == [900.0]


def test_repeat_that(agent):
    conversation = Conversation()
    say(agent, conversation, "what time is it")
    assert say(agent, conversation, "repeat that") == "It's three oh five in the afternoon."
