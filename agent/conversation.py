"""The conversation as the user experienced it.

Assistant turns are recorded as *heard*: when the user cut an answer short, the turn
holds only the words that played, is marked interrupted, and keeps the unplayed
remainder aside (it is never sent to an agent as if it had been said). The user turn
that interrupted carries an :class:`Interruption` describing what happened, so the
next request knows the type, the user's words and where the cut fell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bargein.agent.interruption import InterruptionType
from bargein.agent.sentences import split_sentences


@dataclass(frozen=True)
class Interruption:
    """How the user cut into the assistant's last answer.

    ``heard_text`` is the words fully played; ``cut_word`` the word that was playing
    at the cut (partly heard); ``unplayed_text`` the words after it, never played.
    ``progress_pct`` is the share of the answer's samples that played.
    """

    type: InterruptionType
    user_words: str
    heard_text: str
    cut_word: str = ""
    unplayed_text: str = ""
    progress_pct: float = 0.0

    @property
    def remainder(self) -> str:
        """What the user did not hear, from the start of the word that was cut."""
        return " ".join(part for part in (self.cut_word, self.unplayed_text) if part)


@dataclass(frozen=True)
class Turn:
    """One turn. For the assistant, ``text`` is what was heard."""

    role: Literal["user", "assistant"]
    text: str
    interrupted: bool = False
    unplayed_text: str = ""
    interruption: Interruption | None = None  # on the user turn that cut in

    @property
    def full_text(self) -> str:
        """For an assistant turn: what it meant to say (heard + unplayed)."""
        return " ".join(part for part in (self.text, self.unplayed_text) if part)


MAX_TURNS = 40
"""Turns kept (about twenty exchanges): the appliance runs for months, and every request
to an LLM carries the whole history, so older turns are forgotten."""


@dataclass
class Conversation:
    """The history of one conversation, oldest first; at most ``max_turns`` turns,
    starting with a user turn."""

    turns: list[Turn] = field(default_factory=list)
    max_turns: int = MAX_TURNS

    def _forget_old_turns(self) -> None:
        if len(self.turns) <= self.max_turns:
            return
        start = len(self.turns) - self.max_turns
        while start < len(self.turns) - 1 and self.turns[start].role != "user":
            start += 1
        del self.turns[:start]

    def add_user(self, text: str) -> None:
        """The user said something (not while the assistant was speaking)."""
        self.turns.append(Turn("user", text.strip()))
        self._forget_old_turns()

    def add_assistant(self, text: str) -> None:
        """The assistant's answer played to the end: all of it was heard."""
        self.turns.append(Turn("assistant", text.strip()))
        self._forget_old_turns()

    def add_interruption(self, interruption: Interruption) -> None:
        """The user cut the assistant's answer: record it as heard, then the user's words.

        Appends the interrupted assistant turn (heard words only, remainder aside) and
        the user turn carrying the interruption; the next request describes both.
        """
        self.turns.append(
            Turn(
                "assistant",
                interruption.heard_text.strip(),
                interrupted=True,
                unplayed_text=interruption.remainder,
            )
        )
        self.turns.append(Turn("user", interruption.user_words.strip(), interruption=interruption))
        self._forget_old_turns()

    @property
    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    @property
    def pending_interruption(self) -> Interruption | None:
        """The interruption the next answer must respond to (the last turn's), if any."""
        if self.turns and self.turns[-1].role == "user":
            return self.turns[-1].interruption
        return None

    def last_assistant(self) -> Turn | None:
        """The most recent assistant turn."""
        for turn in reversed(self.turns):
            if turn.role == "assistant":
                return turn
        return None

    def resumable(self, max_turns_back: int = 6) -> Turn | None:
        """The latest interrupted assistant turn whose remainder is still owed.

        Owed until a later assistant turn has said it (it was resumed), and only
        within the last ``max_turns_back`` turns (older remainders are stale).
        """
        said_later: list[str] = []
        for turn in reversed(self.turns[-max_turns_back:]):
            if turn.role != "assistant":
                continue
            if turn.interrupted and turn.unplayed_text:
                if not any(turn.unplayed_text in later for later in said_later):
                    return turn
            said_later.append(turn.full_text)
        return None


def resume_text(turn: Turn) -> str:
    """What to say to continue an interrupted turn: from the start of the cut sentence.

    A person picking up where they left off restarts the sentence they were in, not
    the word. If the cut fell exactly between sentences, this is just the remainder.
    """
    heard_sentences = split_sentences(turn.text)
    if heard_sentences and not heard_sentences[-1].endswith((".", "!", "?", "…")):
        return f"{heard_sentences[-1]} {turn.unplayed_text}".strip()
    return turn.unplayed_text


def cut_sentence(turn: Turn) -> str:
    """The sentence that was playing when the turn was cut (whole), or the last heard one."""
    full = split_sentences(turn.full_text)
    heard_chars = len(turn.text)
    position = 0
    for sentence in full:
        position += len(sentence) + 1
        if position > heard_chars:
            return sentence
    return full[-1] if full else ""
