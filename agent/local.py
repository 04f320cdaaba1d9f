"""The local rules agent: useful with no network, and a person's manners when cut off.

It answers a greeting, help, the time and date, timers, "repeat that", "continue",
"stop", and three long explanations (how the appliance works, its privacy, its
button) that are long enough to be interrupted. When the last user turn interrupted
an answer it responds to the interruption as a person would:

- cancellation: a short acknowledgement; if the cut answer was the confirmation of
  an action (a timer), the action is cancelled too;
- correction: taken into the next answer ("no, fifteen" during "Timer set for ten
  minutes." amends that timer; it does not start a second one);
- clarification: the sentence that was cut (or the last one heard), more slowly
  (``length_scale`` > 1 on the answer);
- redirect: the new request is answered; a confirmation the user never fully heard
  is said again first, not assumed known;
- button: nothing (the button means silence); actions stand.

After a cut the remainder stays owed: "continue" (or "yes" after the offer "I was
explaining how I work — shall I continue?") resumes from the start of the sentence
that was cut.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from bargein.agent.base import ReplyStream
from bargein.agent.conversation import (
    Conversation,
    Interruption,
    cut_sentence,
    resume_text,
)
from bargein.agent.interruption import InterruptionType
from bargein.agent.numbers import (
    duration_words,
    number_words,
    parse_duration_s,
    parse_number,
)
from bargein.agent.sentences import split_sentences
from bargein.agent.timers import Timer, TimerBook

log = logging.getLogger(__name__)

SLOW_LENGTH_SCALE = 1.3  # Piper's length_scale for a clarification: 30 % slower

EXPLANATIONS = {
    "how I work": (
        "I listen through my microphone all the time, but I only act when I hear speech. "
        "Your words are turned into text right here on this device by a small speech "
        "recognizer. Then I work out what you asked and write an answer. A voice model, "
        "also on this device, turns my answer into speech one sentence at a time, so I can "
        "start talking while I am still thinking. While I talk, I keep listening. If you "
        "talk over me, I lower my voice at once and listen to what you say. If it is "
        "something like uh-huh, I carry on. If you say stop, or correct me, I stop right "
        "away, and I remember exactly which of my words you heard."
    ),
    "how I keep your privacy": (
        "Everything I hear stays on this device unless my owner sets up an online "
        "assistant. Speech recognition and my voice both run locally, with no cloud "
        "service. I do not save recordings of your voice. I keep a short log of "
        "interruptions, with the time, the kind of interruption and the words involved, "
        "so my owner can see how well I listen. That log can leave out your words if my "
        "owner turns transcripts off. If an online assistant is set up, only the text of "
        "your question is sent to it, never the audio."
    ),
    "what my button does": (
        "The button on top is a stop button. Press it while I am talking and I go quiet "
        "at once, even in the middle of a word. Press it while I am quiet and I start "
        "listening, so you do not need a wake word. Hold it down for three seconds to "
        "mute or unmute my microphone, and the light shows when I am muted. The button "
        "works even when the network is down, because it talks straight to my speaker."
    ),
}

HELP_TEXT = (
    "I can tell you the time and the date. I can set timers, for example: set a timer "
    "for five minutes. I can explain how I work, how I keep your privacy, and what my "
    "button does. You can interrupt me at any time: say stop, correct me, or ask me to "
    "repeat. If you stop me in the middle of something, say continue and I will pick up "
    "where I left off."
)

_CUT_TYPES = frozenset(
    {
        InterruptionType.CANCELLATION,
        InterruptionType.CORRECTION,
        InterruptionType.REDIRECT,
        InterruptionType.CLARIFICATION,
        InterruptionType.BUTTON,
    }
)


@dataclass(frozen=True)
class LocalAnswer:
    """One answer of the local agent and what it means for the next turn."""

    text: str
    kind: str  # what was answered: "greeting", "timer_set", "explain", "unknown", ...
    length_scale: float = 1.0  # synthesis pace hint: > 1 is slower
    topic: str = ""  # for explanations: "how I work"
    timer_id: int | None = None  # set when the text confirms an action on this timer
    offers_resume: bool = False  # ends with "shall I continue?"


def normalise(text: str) -> str:
    """Lowercase words only: "What's the time?" -> "whats the time"."""
    text = text.lower().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(rf"\b{p}\b", text) for p in patterns)


_YES = r"(yes|yeah|yep|sure|please|please do|go ahead|ok|okay|go on|yes please)"
_NO = r"(no|nope|no thanks|no thank you|dont|thats ok|thats okay|never mind)"
_CORRECTION_PREFIX = re.compile(
    r"^(no|nope|not that|actually|i meant|i mean|i said|make it|sorry|wait)\b[ ,]*"
)


class LocalAgent:
    """The offline rules agent. ``clock`` gives local wall time (tests pass their own)."""

    name = "local"

    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        self._clock = clock
        self.timers = TimerBook(clock)
        self._lock = threading.Lock()
        self._last: LocalAnswer | None = None
        self._interrupted_topic = ""

    # --- the Agent interface ---------------------------------------------------------

    def reply(self, conversation: Conversation) -> ReplyStream:
        """Answer at once (actions take effect now); the text streams sentence by sentence."""
        answer = self.answer(conversation)
        return ReplyStream(
            _sentence_pieces(answer.text), agent=self.name, length_scale=answer.length_scale
        )

    def answer(self, conversation: Conversation) -> LocalAnswer:
        """The answer to the conversation's last user turn."""
        with self._lock:
            interruption = conversation.pending_interruption
            if interruption is not None and interruption.type in _CUT_TYPES:
                answer = self._after_interruption(interruption, conversation)
            else:
                answer = self._respond(conversation.last_user_text, conversation)
            self._last = answer
        log.info("local answer: %s%s", answer.kind, f" ({answer.topic})" if answer.topic else "")
        return answer

    def claims(self, conversation: Conversation) -> str | None:
        """Why this agent should answer even when an LLM is configured, or None.

        An LLM cannot set a timer or read this device's clock, and only the agent that
        gave an answer can amend, cancel or resume it (see :meth:`expects_follow_up`).
        """
        text = normalise(conversation.last_user_text)
        if _has(text, "timer", "timers"):
            return "timers are kept on this device"
        if _has(text, "what time", "the time", "time is it", "what day", "the date", "todays date"):
            return "the clock is on this device"
        return None

    def expects_follow_up(self, conversation: Conversation) -> bool:
        """Whether the last user turn answers or amends this agent's last answer.

        True for an interruption of it, a reply to its question or offer, and a
        correction ("no, fifteen") right after it confirmed an action.
        """
        last = self._last
        if last is None:
            return False
        if conversation.pending_interruption is not None:
            return True
        if last.offers_resume or last.kind in ("timer_ask_length", "timer_ask_amend"):
            return True
        text = normalise(conversation.last_user_text)
        return last.timer_id is not None and bool(_CORRECTION_PREFIX.match(text))

    # --- timers, for the daemon --------------------------------------------------------

    def collect_rung(self) -> list[Timer]:
        """Timers that have rung since the last call; say each ``ring_message``."""
        return self.timers.collect_rung()

    def next_due(self) -> datetime | None:
        return self.timers.next_due()

    # --- answering an interruption -------------------------------------------------------

    def _after_interruption(self, interruption: Interruption, conversation: Conversation) -> LocalAnswer:
        turn = conversation.turns[-2]  # the assistant turn as heard (Conversation.add_interruption)
        said = self._last if self._last is not None and _same_words(self._last.text, turn.full_text) else None
        if said is not None and said.topic:
            self._interrupted_topic = said.topic
        timer = self.timers.get(said.timer_id) if said is not None and said.timer_id else None
        confirmation_heard = said is not None and len(normalise(turn.text).split()) >= len(
            normalise(said.text).split()
        )
        kind = interruption.type
        if kind is InterruptionType.BUTTON:
            return LocalAnswer("", "silence")
        if kind is InterruptionType.CANCELLATION:
            if timer is not None:
                self.timers.cancel(timer.id)
                return LocalAnswer("Okay, I've cancelled that timer.", "timer_cancel")
            return LocalAnswer("Okay.", "acknowledge")
        if kind is InterruptionType.CLARIFICATION:
            sentence = cut_sentence(turn) or (said.text if said else "")
            if not sentence:
                return LocalAnswer("I hadn't said anything yet. What would you like?", "ask")
            return LocalAnswer(
                sentence,
                "repeat_slowly",
                length_scale=SLOW_LENGTH_SCALE,
                topic=said.topic if said else "",
                timer_id=timer.id if timer else None,
            )
        if kind is InterruptionType.CORRECTION and timer is not None:
            duration_s = _corrected_duration_s(interruption.user_words, timer)
            if duration_s is not None:
                return self._amend(timer, duration_s)
            if not _CORRECTION_PREFIX.sub("", normalise(interruption.user_words)).strip():
                return LocalAnswer(
                    "Sorry. How long should the timer be?", "timer_ask_amend", timer_id=timer.id
                )
        request = _CORRECTION_PREFIX.sub("", normalise(interruption.user_words))
        answer = self._respond(request, conversation, unknown_ok=False) if request else None
        if answer is None:
            lead = (
                "Sorry, I got that wrong. What did you mean?"
                if kind is InterruptionType.CORRECTION
                else "Sorry, I didn't catch what you'd like instead."
            )
            offer = self._resume_offer(conversation, said)
            answer = LocalAnswer(
                f"{lead} {offer}".strip(), "ask", offers_resume=bool(offer)
            )
        if timer is not None and not confirmation_heard and answer.timer_id is None:
            # The confirmation was never heard: say it again rather than assume it known.
            answer = replace(answer, text=f"{_timer_confirmation(timer)} {answer.text}", timer_id=timer.id)
        return answer

    def _resume_offer(self, conversation: Conversation, said: LocalAnswer | None) -> str:
        if conversation.resumable() is None:
            return ""
        topic = said.topic if said is not None and said.topic else self._interrupted_topic
        if said is not None and said.timer_id:
            return ""
        if topic:
            return f"I was explaining {topic} — shall I continue?"
        return "I was in the middle of an answer — shall I continue?"

    def _amend(self, timer: Timer, duration_s: float) -> LocalAnswer:
        amended = self.timers.amend(timer.id, duration_s) or timer
        return LocalAnswer(
            f"Sorry about that. Timer changed to {duration_words(amended.duration_s)}.",
            "timer_amend",
            timer_id=amended.id,
        )

    # --- answering a request -------------------------------------------------------------

    def _respond(
        self, raw_text: str, conversation: Conversation, *, unknown_ok: bool = True
    ) -> LocalAnswer | None:
        text = normalise(raw_text)
        last = self._last
        if last is not None and last.offers_resume:
            if re.fullmatch(rf"{_YES}( {_YES})*", text) or _has(text, "continue"):
                return self._continue(conversation)
            if re.fullmatch(rf"{_NO}( {_NO})*", text):
                return LocalAnswer("Alright.", "acknowledge")
        pending_timer = (
            self.timers.get(last.timer_id) if last is not None and last.timer_id else None
        )
        if pending_timer is not None and (
            last.kind == "timer_ask_amend" or _CORRECTION_PREFIX.match(text)
        ):
            duration_s = _corrected_duration_s(raw_text, pending_timer)
            if duration_s is not None:
                return self._amend(pending_timer, duration_s)
        if last is not None and last.kind == "timer_ask_length":
            duration_s = parse_duration_s(raw_text)
            if duration_s is None and (number := parse_number(raw_text)) is not None:
                duration_s = number * 60.0  # "for how long?" "ten": minutes
            if duration_s is not None:
                return self._start_timer(duration_s)
        if _has(text, "timer", "timers"):
            return self._timer_request(text, raw_text)
        if _has(text, "what time", "the time", "time is it", "time now", "tell me the time"):
            return LocalAnswer(_time_sentence(self._clock()), "time")
        if _has(text, "date", "what day", "which day", "day is it", "day today", "todays date"):
            return LocalAnswer(_date_sentence(self._clock()), "date")
        if _has(text, "repeat", "say that again", "say it again", "what did you say", "come again",
                "once more"):
            return self._repeat(conversation)
        if _has(text, "continue", "go on", "keep going", "carry on", "resume", "where were you",
                "what were you saying"):
            return self._continue(conversation)
        if _has(text, "stop", "never mind", "nevermind", "cancel", "quiet", "shut up", "enough",
                "thats all", "be quiet"):
            return LocalAnswer("Okay.", "acknowledge")
        if _has(text, "privacy", "private", "recording", "record", "my data", "listening to me",
                "spy", "spying"):
            return self._explain("how I keep your privacy")
        if _has(text, "button"):
            return self._explain("what my button does")
        if _has(text, "how do you work", "how does (this|it|that) work", "how you work",
                "explain yourself", "what are you", "how do you handle", "how do you listen",
                "how it works"):
            return self._explain("how I work")
        if _has(text, "help", "what can you do", "what do you do"):
            return LocalAnswer(HELP_TEXT, "help", topic="what I can do")
        if _has(text, "hello", "hi", "hey", "good morning", "good afternoon", "good evening",
                "howdy"):
            return LocalAnswer("Hello! What can I do for you?", "greeting")
        if _has(text, "thanks", "thank you", "cheers"):
            return LocalAnswer("You're welcome.", "thanks")
        if not unknown_ok:
            return None
        return LocalAnswer(
            "Sorry, I can't help with that one. Say help to hear what I can do.", "unknown"
        )

    def _explain(self, topic: str) -> LocalAnswer:
        return LocalAnswer(EXPLANATIONS[topic], "explain", topic=topic)

    def _timer_request(self, text: str, raw_text: str) -> LocalAnswer:
        active = self.timers.active()
        if _has(text, "cancel", "stop", "delete", "remove", "clear", "turn off"):
            if not active:
                return LocalAnswer("There's no timer running.", "timer_none")
            for timer in active:
                self.timers.cancel(timer.id)
            noun = "timer" if len(active) == 1 else "timers"
            return LocalAnswer(f"Okay, I've cancelled the {noun}.", "timer_cancel")
        if _has(text, "left", "remaining", "how long", "how much time", "status"):
            if not active:
                return LocalAnswer("There's no timer running.", "timer_none")
            remaining_s = max(0.0, (active[0].due - self._clock()).total_seconds())
            return LocalAnswer(
                f"Your {active[0].label} timer has {duration_words(remaining_s)} left.",
                "timer_status",
            )
        duration_s = parse_duration_s(raw_text)
        if duration_s is None:
            return LocalAnswer("For how long?", "timer_ask_length")
        return self._start_timer(duration_s)

    def _start_timer(self, duration_s: float) -> LocalAnswer:
        timer = self.timers.start(duration_s)
        return LocalAnswer(_timer_confirmation(timer), "timer_set", timer_id=timer.id)

    def _repeat(self, conversation: Conversation) -> LocalAnswer:
        turn = conversation.last_assistant()
        if turn is None or not turn.text:
            return LocalAnswer("I haven't said anything yet.", "nothing_to_repeat")
        same = self._last if self._last is not None and _same_words(self._last.text, turn.full_text) else None
        return LocalAnswer(
            turn.text,
            "repeat",
            topic=same.topic if same else "",
            timer_id=same.timer_id if same else None,
        )

    def _continue(self, conversation: Conversation) -> LocalAnswer:
        turn = conversation.resumable()
        text = resume_text(turn) if turn is not None else ""
        last = conversation.last_assistant()
        if turn is not None and last is not None and last is not turn and last.text:
            # A slow repeat of the cut sentence already said its start: go on after it.
            if text.startswith(last.text):
                text = text[len(last.text):].strip()
        if not text:
            return LocalAnswer("There's nothing to continue; I had finished.", "nothing_to_continue")
        return LocalAnswer(text, "continue", topic=self._interrupted_topic)


def _sentence_pieces(text: str) -> Iterator[str]:
    for index, sentence in enumerate(split_sentences(text)):
        yield sentence if index == 0 else f" {sentence}"


def _same_words(a: str, b: str) -> bool:
    return normalise(a).split() == normalise(b).split()


def _timer_confirmation(timer: Timer) -> str:
    return f"Timer set for {duration_words(timer.duration_s)}."


def _corrected_duration_s(words: str, timer: Timer) -> float | None:
    """The duration in a correction; a bare number keeps the timer's unit ("no, fifteen")."""
    duration_s = parse_duration_s(words)
    if duration_s is not None:
        return duration_s
    number = parse_number(words)
    if number is None or number <= 0:
        return None
    unit_s = 3600 if timer.duration_s >= 3600 and timer.duration_s % 3600 == 0 else (
        60 if timer.duration_s >= 60 else 1
    )
    return number * unit_s


def _time_sentence(now: datetime) -> str:
    hour, minute = now.hour, now.minute
    if minute == 0 and hour == 0:
        return "It's midnight."
    if minute == 0 and hour == 12:
        return "It's noon."
    spoken_hour = number_words(hour % 12 or 12)
    if minute == 0:
        clock = f"{spoken_hour} o'clock"
    elif minute < 10:
        clock = f"{spoken_hour} oh {number_words(minute)}"
    else:
        clock = f"{spoken_hour} {number_words(minute)}"
    if hour < 12:
        period = "in the morning"
    elif hour < 18:
        period = "in the afternoon"
    elif hour < 22:
        period = "in the evening"
    else:
        period = "at night"
    return f"It's {clock} {period}."


def _date_sentence(now: datetime) -> str:
    return f"Today is {now:%A}, {now:%B} {now.day}, {now.year}."
