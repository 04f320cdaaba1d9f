"""The conversation as heard, the reply stream's cancel guarantee, and the sentence splitter."""

from __future__ import annotations

import threading
import time

import pytest

from bargein.agent.base import ReplyStream
from bargein.agent.conversation import (
    Conversation,
    Interruption,
    cut_sentence,
    resume_text,
)
from bargein.agent.interruption import InterruptionType
from bargein.agent.prompt import chat_messages
from bargein.agent.sentences import SentenceSplitter, sentences, split_sentences

ANSWER = "First you press it. Then it listens to you. Finally it answers."


def interrupted(heard: str, cut_word: str, unplayed: str) -> Conversation:
    conversation = Conversation()
    conversation.add_user("how does the button work")
    conversation.add_interruption(
        Interruption(InterruptionType.CANCELLATION, "stop", heard, cut_word, unplayed, 40.0)
    )
    return conversation


def test_interrupted_turn_holds_the_heard_words_and_keeps_the_rest_aside():
    conversation = interrupted("First you press it. Then it", "listens", "to you. Finally it answers.")
    assistant, user = conversation.turns[-2:]
    assert assistant.role == "assistant" and assistant.interrupted
    assert assistant.text == "First you press it. Then it"
    assert assistant.unplayed_text == "listens to you. Finally it answers."
    assert assistant.full_text == ANSWER
    assert user.text == "stop" and conversation.pending_interruption is user.interruption
    messages = chat_messages(conversation, "sys")
    assert messages[2]["content"] == "First you press it. Then it [interrupted by the user]"
    assert "listens" not in str(messages)


def test_pending_interruption_is_only_for_the_next_answer():
    conversation = interrupted("First you press it.", "Then", "it listens to you. Finally it answers.")
    conversation.add_assistant("Okay.")
    assert conversation.pending_interruption is None
    conversation.add_user("hello")
    assert conversation.pending_interruption is None
    assert chat_messages(conversation, "sys")[0] == {"role": "system", "content": "sys"}


def test_resume_restarts_the_cut_sentence():
    conversation = interrupted("First you press it. Then it", "listens", "to you. Finally it answers.")
    turn = conversation.resumable()
    assert resume_text(turn) == "Then it listens to you. Finally it answers."
    assert cut_sentence(turn) == "Then it listens to you."


def test_resume_at_a_sentence_boundary_and_with_nothing_heard():
    at_boundary = interrupted("First you press it.", "Then", "it listens to you. Finally it answers.")
    turn = at_boundary.resumable()
    assert resume_text(turn) == "Then it listens to you. Finally it answers."
    assert cut_sentence(turn) == "First you press it."  # the last one heard
    nothing = interrupted("", "First", "you press it. Then it listens to you. Finally it answers.")
    turn = nothing.resumable()
    assert resume_text(turn) == ANSWER and cut_sentence(turn) == "First you press it."


def test_a_remainder_is_no_longer_owed_once_said():
    conversation = interrupted("First you press it.", "Then", "it listens to you. Finally it answers.")
    conversation.add_assistant("Okay.")
    conversation.add_user("continue")
    assert conversation.resumable() is not None
    conversation.add_assistant("Then it listens to you. Finally it answers.")
    assert conversation.resumable() is None


def test_reply_stream_yields_nothing_after_cancel_even_from_another_thread():
    release = threading.Event()

    def pieces():
        yield "one"
        assert release.wait(5.0)
        yield "two"  # produced after cancel: must be dropped
        yield "three"

    closed = threading.Event()
    stream = ReplyStream(pieces(), agent="test", on_cancel=closed.set)
    got: list[str] = []

    def consume() -> None:
        got.extend(stream)

    consumer = threading.Thread(target=consume)
    consumer.start()
    stream.cancel()
    release.set()
    consumer.join(5.0)
    assert not consumer.is_alive()
    assert closed.is_set() and stream.cancelled
    assert "two" not in got and "three" not in got
    assert stream.text == "".join(got)


# --- sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there. How are you?", ["Hello there.", "How are you?"]),
        ("Ask Dr. Smith about it. She knows.", ["Ask Dr. Smith about it.", "She knows."]),
        ("It costs 3.5 euros. Cheap!", ["It costs 3.5 euros.", "Cheap!"]),
        ("Use a tool, e.g. a hammer. Done.", ["Use a tool, e.g. a hammer.", "Done."]),
        ("Well... maybe not. Wait... What?", ["Well... maybe not.", "Wait...", "What?"]),
        ("Read J. R. R. Tolkien. Now.", ["Read J. R. R. Tolkien.", "Now."]),
        ('He said "go." Then left.', ['He said "go."', "Then left."]),
        ("Apples, pears, etc. Then more.", ["Apples, pears, etc.", "Then more."]),
        ("No punctuation at the end", ["No punctuation at the end"]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("One line\n\nAnother line", ["One line", "Another line"]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_sentences_come_out_as_soon_as_the_next_word_shows_they_ended():
    splitter = SentenceSplitter()
    assert splitter.feed("It is ten past") == []
    assert splitter.feed(" three.") == []  # "three." might be "3.5" or "Dr." territory
    assert splitter.feed(" And") == ["It is ten past three."]
    assert splitter.feed(" the date is 4.") == []
    assert splitter.feed("5") == []  # a decimal point, not an end
    assert splitter.feed(" today") == []
    assert splitter.flush() == ["And the date is 4.5 today"]


def test_character_by_character_stream_splits_like_the_whole_text():
    text = "Hello Dr. Who. It is 3.5 km... Far! Is it? Yes e.g. this. End"
    assert list(sentences(iter(text))) == split_sentences(text)
    assert split_sentences(text) == [
        "Hello Dr. Who.", "It is 3.5 km...", "Far!", "Is it?", "Yes e.g. this.", "End",
    ]


@pytest.mark.parametrize("seed", range(5))
def test_any_chunking_splits_like_the_whole_text(seed):
    import random

    rng = random.Random(seed)
    words = ["Dr.", "Smith", "said", "3.5", "e.g.", "this", "J.", "R.", "Tolkien", "Hi!",
             "What?", "well...", "Go.", "etc.", "\"yes.\"", "\n\n", "Then", "no."]
    text = " ".join(rng.choice(words) for _ in range(300))
    cuts = sorted(rng.sample(range(1, len(text)), 60))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    assert list(sentences(pieces)) == split_sentences(text)


def test_a_runaway_sentence_is_cut_at_a_space_before_the_limit():
    splitter = SentenceSplitter(max_sentence_chars=50)
    out = splitter.feed("word " * 30)
    assert out and all(len(s) <= 50 for s in out)
    assert " ".join(out + splitter.flush()).split() == ["word"] * 30
    assert SentenceSplitter(max_sentence_chars=50).feed("x" * 120) == ["x" * 50, "x" * 50]


@pytest.mark.parametrize(
    "make_pieces",
    [
        pytest.param(lambda: ["word "] * 200_000, id="1 MB in tokens, no sentence end"),
        pytest.param(lambda: ["e.g. "] * 200_000, id="1 MB of abbreviations"),
        pytest.param(lambda: ["x" * 1_000_000], id="1 MB in one piece, no space"),
        pytest.param(lambda: ["Go. " * 250_000], id="1 MB of sentences in one piece"),
    ],
)
def test_the_splitter_is_linear(make_pieces):
    """1 MB of answer used to take 21 s (the whole buffer rescanned on every piece)."""
    pieces = make_pieces()
    started = time.perf_counter()
    out = list(sentences(pieces))
    elapsed_s = time.perf_counter() - started
    assert sum(len(s) for s in out) > 600_000
    assert elapsed_s < 5.0, f"{elapsed_s:.1f} s for 1 MB"


def test_a_conversation_of_months_keeps_only_its_last_turns_from_a_user_turn():
    conversation = Conversation(max_turns=6)
    for n in range(1000):
        conversation.add_user(f"question {n}")
        conversation.add_assistant(f"answer {n}")
    assert len(conversation.turns) <= 6 and conversation.turns[0].role == "user"
    assert [t.text for t in conversation.turns[-2:]] == ["question 999", "answer 999"]
    messages = chat_messages(conversation, "sys")
    assert len(messages) <= 7 and messages[1]["role"] == "user"
