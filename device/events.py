"""What the barge-in state machine hears and what it asks for: its states, the events fed
to :meth:`bargein.device.machine.BargeinMachine.handle` and the actions it returns.

Plain frozen data, so the pipeline, the daemon, the bench and the tests speak to the
machine without importing its logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bargein.asr.results import Word
from bargein.audio.speech_evidence import SpanEvidence
from bargein.device.event_log import InterruptionRecord
from bargein.tts.speech import SpeechChunk, WordSpan


class State(str, Enum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"
    SPEAKING_DUCKED = "speaking_ducked"  # someone talks over the voice; decision pending
    PAUSED = "paused"  # ducked decision outlasted a sentence; voice held
    INTERRUPTED = "interrupted"  # voice cut; waiting for the whole utterance


_SHOWN_SPEAKING = {State.SPEAKING.value, State.SPEAKING_DUCKED.value, State.PAUSED.value}
_SHOWN_LISTENING = {State.LISTENING.value, State.INTERRUPTED.value}


def public_state(state: str, muted: bool, follow_up: bool = False) -> str:
    """The machine's state as the LED and Home Assistant show it: idle, listening,
    thinking, speaking or muted (muted wins; ducked and paused speech is still speaking;
    idle in the follow-up window, where a reply needs no wake word, is listening)."""
    if muted:
        return "muted"
    if state in _SHOWN_SPEAKING:
        return "speaking"
    if state in _SHOWN_LISTENING or (state == State.IDLE.value and follow_up):
        return "listening"
    return state


# -- events ------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechStarted:
    """The VAD heard speech begin at ``onset_s`` (capture clock)."""

    onset_s: float
    t_seconds: float


@dataclass(frozen=True)
class SpeechEnded:
    end_s: float
    t_seconds: float


@dataclass(frozen=True)
class PartialTranscript:
    """The growing hypothesis; ``words_end_s`` is where its last word ends, if known.

    ``words`` carry capture-clock times and a confidence when the recognizer gives them;
    ``source`` is ``"asr"`` (the open-vocabulary decode) or ``"spotter"`` (the command
    spotter, whose partials name one spotted phrase).
    """

    text: str
    t_seconds: float
    words_end_s: float | None = None
    words: tuple[Word, ...] = ()
    source: str = "asr"


@dataclass(frozen=True)
class FinalTranscript:
    """The settled transcript; ``source`` as for :class:`PartialTranscript`, or
    ``"phrases"`` for the phrase judge's verdict on a short utterance."""

    text: str
    t_seconds: float
    words_end_s: float | None = None
    words: tuple[Word, ...] = ()
    source: str = "asr"


@dataclass(frozen=True)
class SpeechAcoustics:
    """What the sound of the current stretch of speech says so far (voicing, level)."""

    sound: SpanEvidence
    t_seconds: float


@dataclass(frozen=True)
class ButtonPressed:
    """A short press; the button's callback has already cut the speaker."""

    t_seconds: float


@dataclass(frozen=True)
class WakeWord:
    """The wake word detector heard the wake phrase, which ended about ``end_s`` (capture
    clock). ``wake_word`` is the phrase as its model spells it ("Alexa"): its words are
    not part of the request, and the appliance's own voice saying them is no wake word."""

    end_s: float
    t_seconds: float
    wake_word: str = ""
    probability: float = 1.0


@dataclass(frozen=True)
class ButtonHeld:
    """A long press: toggles microphone mute."""

    t_seconds: float


@dataclass(frozen=True)
class PlaybackPosition:
    """``played_s`` seconds of utterance ``utterance_id`` have come out of the speaker."""

    utterance_id: int | None
    played_s: float
    t_seconds: float
    playing: bool = True


@dataclass(frozen=True)
class PlaybackFinished:
    utterance_id: int
    t_seconds: float


@dataclass(frozen=True)
class AgentText:
    """A sentence of the reply ``utterance_id`` is ready to speak; ``final`` ends the reply."""

    text: str
    utterance_id: int
    t_seconds: float
    final: bool = False


@dataclass(frozen=True)
class AgentFailed:
    reason: str
    t_seconds: float


@dataclass(frozen=True)
class SpeechChunkQueued:
    """Synthesis queued a sentence: its words (utterance-relative samples) and its extent."""

    utterance_id: int
    words: tuple[WordSpan, ...]
    rate_hz: int
    start_s: float
    end_s: float
    t_seconds: float

    @classmethod
    def from_chunk(cls, chunk: SpeechChunk, t_seconds: float) -> SpeechChunkQueued:
        return cls(
            utterance_id=chunk.utterance_id,
            words=chunk.words,
            rate_hz=chunk.rate_hz,
            start_s=chunk.offset_samples / chunk.rate_hz,
            end_s=chunk.end_samples / chunk.rate_hz,
            t_seconds=t_seconds,
        )


@dataclass(frozen=True)
class Tick:
    """Time passes (drives the minimum-speech and timeout checks)."""

    t_seconds: float


@dataclass(frozen=True)
class TimerRang:
    """A kitchen timer rang: ``message`` is what the appliance says about it
    (:class:`bargein.device.timer_bell.TimerBell` hands it over only while idle)."""

    message: str
    t_seconds: float


Event = (
    SpeechStarted | SpeechEnded | PartialTranscript | FinalTranscript | SpeechAcoustics
    | ButtonPressed | WakeWord
    | ButtonHeld | PlaybackPosition | PlaybackFinished | AgentText | AgentFailed
    | SpeechChunkQueued | Tick | TimerRang
)


# -- actions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Duck:
    db: float


@dataclass(frozen=True)
class Unduck:
    """Bring the voice back to full level."""


@dataclass(frozen=True)
class Cut:
    fade_ms: float


@dataclass(frozen=True)
class Pause:
    """Hold the voice at a sentence boundary while an interruption is being decided."""


@dataclass(frozen=True)
class Resume:
    from_utterance_s: float | None


@dataclass(frozen=True)
class Speak:
    """Synthesize and play ``text`` as part of utterance ``utterance_id``; ``last`` ends it."""

    text: str
    utterance_id: int
    last: bool = False


@dataclass(frozen=True)
class CancelSpeech:
    """Drop any synthesis in progress or queued (nothing stale may play later)."""


@dataclass(frozen=True)
class CancelAgent:
    """Stop the agent's reply stream."""


@dataclass(frozen=True)
class SendToAgent:
    """Ask the agent to answer ``user_text``; its sentences come back as ``AgentText(reply_id)``."""

    user_text: str
    interruption: InterruptionRecord | None
    reply_id: int


@dataclass(frozen=True)
class StartListening:
    """Open a listening turn without a wake word (after a button press)."""


@dataclass(frozen=True)
class LogInterruption:
    record: InterruptionRecord


@dataclass(frozen=True)
class SetMute:
    muted: bool


@dataclass(frozen=True)
class SpeechIgnored:
    """Words nobody addressed to the appliance (no wake word, press or follow-up window):
    not answered and not logged, only counted; ``words`` is how many."""

    words: int


@dataclass(frozen=True)
class StatusChanged:
    """For the LED and systemd's STATUS=; ``follow_up``: idle, but a reply needs no wake
    word or press yet (the follow-up window)."""

    state: str
    muted: bool
    follow_up: bool = False


Action = (
    Duck | Unduck | Cut | Pause | Resume | Speak | CancelSpeech | CancelAgent | SendToAgent
    | StartListening | LogInterruption | SetMute | SpeechIgnored | StatusChanged
)
