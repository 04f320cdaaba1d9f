"""The approaches others use, as strategies the benchmark runs beside ours.

Each baseline takes the same machine events and returns the same actions as
:class:`~bargein.device.machine.BargeinMachine`, so the benchmark drives all of
them through one pipeline. They share the plain conversation flow (a finished
user turn goes to the agent, its sentences are spoken) and differ only in how
they react to speech while the appliance talks:

- ``seed``: the published design this project grew from. Exact-match
  backchannel and cancel sets, prefix rules for corrections, clarifications and
  redirects, 0.6 s of speech makes a redirect, 250 ms of speech before any cut,
  an immediate mute (no ducking), no resume, no echo handling, and progress
  estimated from elapsed time at an assumed speaking rate.
- ``livekit-defaults``: LiveKit Agents' VAD interruption mode with its
  documented defaults: pause after 0.5 s of speech, stop when words arrive,
  resume when 2.0 s pass with no words.
- ``naive-vad``: any 200 ms of speech during playback cuts.
- ``seed+aec``: the seed's rules behind our echo control (the canceller and the
  echo-aware VAD ``bargein`` has), so the benchmark separates what the classifier
  and the state machine add from what echo control adds.

None of them classifies what the user meant beyond its own rules; an
interruption they cannot name is recorded as a redirect (a new user turn).
"""

from __future__ import annotations

import re

from bargein.agent.interruption import InterruptionType
from bargein.device import events
from bargein.device.event_log import InterruptionRecord

_TOKEN = re.compile(r"[a-z0-9']+")
ASSUMED_CHARS_PER_S = 14.0
"""The seed's made-up progress formula: characters spoken per second of playback."""


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.lower().replace("-", " ")))


class _PlainFlow:
    """Turns, replies and playback without any barge-in intelligence."""

    name = "plain"
    fade_ms = 0.0

    def __init__(self) -> None:
        self.state = "idle"
        self._next_id = 1
        self._reply_id: int | None = None
        self._utterance_id: int | None = None
        self._text: list[str] = []
        self._play_started_s: float | None = None
        self._onset_s: float | None = None
        self._speech_end_s: float | None = None
        self._words = ""

    # -- the flow ------------------------------------------------------------------

    def handle(self, event: events.Event) -> list[events.Action]:
        actions: list[events.Action] = []
        if isinstance(event, events.FinalTranscript):
            self._words = event.text
            if self.state in ("idle", "listening", "interrupted") and _tokens(event.text):
                self._send(event.text, actions)
            elif self.state in ("speaking", "paused"):
                self.on_words(event.text, event.t_seconds, actions, final=True)
            self._onset_s = None
        elif isinstance(event, events.PartialTranscript):
            self._words = event.text
            if self.state in ("speaking", "paused"):
                self.on_words(event.text, event.t_seconds, actions, final=False)
        elif isinstance(event, events.AgentText):
            if event.utterance_id == self._reply_id:
                if self.state == "thinking":
                    self.state, self._utterance_id, self._text = "speaking", event.utterance_id, []
                    self._play_started_s = None
                if event.text:
                    self._text.append(event.text)
                actions.append(events.Speak(event.text, event.utterance_id, event.final))
        elif isinstance(event, events.PlaybackPosition):
            if event.utterance_id == self._utterance_id and event.playing and self._play_started_s is None:
                self._play_started_s = event.t_seconds - event.played_s
        elif isinstance(event, events.PlaybackFinished):
            if event.utterance_id == self._utterance_id and self.state == "speaking":
                self.state = "idle"
        elif isinstance(event, events.SpeechStarted):
            self._onset_s, self._speech_end_s, self._words = event.onset_s, None, ""
        elif isinstance(event, events.SpeechEnded):
            self._speech_end_s = event.end_s
        elif isinstance(event, events.ButtonPressed):
            if self.state in ("speaking", "paused"):
                self._onset_s = event.t_seconds
                self.cut(InterruptionType.BUTTON, event.t_seconds, actions)
        elif isinstance(event, events.Tick):
            if self.state in ("speaking", "paused") and self._onset_s is not None:
                self.on_tick(event.t_seconds, actions)
        elif isinstance(event, events.TimerRang) and self.state == "idle":
            # A timer rings as the machine says it: an utterance of its own. (The bell goes
            # by the pipeline's state, which a baseline does not report: a ring handed over
            # while a baseline talks is not said.)
            self._reply_id, self._utterance_id, self._text = None, self._next_id, [event.message]
            self._next_id += 1
            self._play_started_s = None
            actions.append(events.Speak(event.message, self._utterance_id, True))
            self.state = "speaking"
        return actions

    def _send(self, text: str, actions: list[events.Action]) -> None:
        self._reply_id = self._next_id
        self._next_id += 1
        actions.append(events.SendToAgent(text, None, self._reply_id))
        self.state = "thinking"

    def speech_s(self, t_seconds: float) -> float:
        if self._onset_s is None:
            return 0.0
        end = self._speech_end_s if self._speech_end_s is not None else t_seconds
        return max(0.0, end - self._onset_s)

    def cut(self, kind: InterruptionType, t_seconds: float, actions: list[events.Action]) -> None:
        """Stop the voice and record the interruption with the estimated progress."""
        text = " ".join(self._text)
        words = text.split()
        elapsed = t_seconds - self._play_started_s if self._play_started_s is not None else 0.0
        share = min(1.0, max(0.0, elapsed * ASSUMED_CHARS_PER_S / max(1, len(text))))
        n_heard = int(len(words) * share)
        onset = self._onset_s if self._onset_s is not None else t_seconds
        record = InterruptionRecord(
            type=kind, handling="cut", monotonic_s=t_seconds, user_text=self._words,
            agent_text=text, words_heard=tuple(words[:n_heard]),
            words_unplayed=tuple(words[n_heard:]), progress_pct=100.0 * share,
            onset_to_silence_ms=(t_seconds - onset) * 1000.0 + self.fade_ms,
            speech_ms=self.speech_s(t_seconds) * 1000.0, utterance_id=self._utterance_id,
        )
        actions += [events.Cut(self.fade_ms), events.CancelSpeech(), events.CancelAgent(),
                    events.LogInterruption(record)]
        self._reply_id = None
        self.state = "interrupted"

    # -- what differs ----------------------------------------------------------------

    def on_words(self, text: str, t_seconds: float, actions: list[events.Action], final: bool) -> None:
        """Words arrived while speaking; a baseline that reacts to words overrides this."""

    def on_tick(self, t_seconds: float, actions: list[events.Action]) -> None:
        """Time passed during speech; a baseline that reacts to duration overrides this."""


class SeedStrategy(_PlainFlow):
    """The published starting design, faults included."""

    name = "seed"
    BACKCHANNEL = {("uh", "huh"), ("mm", "hmm"), ("yeah",), ("right",), ("okay",), ("ok",),
                   ("got", "it"), ("i", "see"), ("sure",)}
    CANCEL = {("stop",), ("cancel",), ("never", "mind"), ("be", "quiet"), ("quiet",),
              ("shut", "up"), ("enough",), ("stop", "talking")}
    PREFIXES = (
        (("no",), InterruptionType.CORRECTION), (("not",), InterruptionType.CORRECTION),
        (("actually",), InterruptionType.CORRECTION), (("i", "meant"), InterruptionType.CORRECTION),
        (("wait",), InterruptionType.CLARIFICATION), (("what",), InterruptionType.CLARIFICATION),
        (("sorry",), InterruptionType.CLARIFICATION), (("pardon",), InterruptionType.CLARIFICATION),
        (("can", "you"), InterruptionType.REDIRECT), (("what", "about"), InterruptionType.REDIRECT),
        (("instead",), InterruptionType.REDIRECT), (("how", "about"), InterruptionType.REDIRECT),
    )
    MIN_CUT_S = 0.25
    REDIRECT_S = 0.6

    def _classify(self, tokens: tuple[str, ...]) -> InterruptionType | None:
        if tokens in self.BACKCHANNEL:
            return InterruptionType.BACKCHANNEL
        if tokens in self.CANCEL:
            return InterruptionType.CANCELLATION
        for prefix, kind in sorted(self.PREFIXES, key=lambda p: -len(p[0])):
            if tokens[: len(prefix)] == prefix:
                return kind
        return None

    def on_words(self, text: str, t_seconds: float, actions: list[events.Action], final: bool) -> None:
        kind = self._classify(_tokens(text))
        if kind is None or kind is InterruptionType.BACKCHANNEL:
            return
        if self.speech_s(t_seconds) >= self.MIN_CUT_S or final:
            self.cut(kind, t_seconds, actions)

    def on_tick(self, t_seconds: float, actions: list[events.Action]) -> None:
        if self._speech_end_s is None and self.speech_s(t_seconds) >= self.REDIRECT_S:
            if self._classify(_tokens(self._words)) is not InterruptionType.BACKCHANNEL:
                self.cut(InterruptionType.REDIRECT, t_seconds, actions)


class LiveKitDefaultsStrategy(_PlainFlow):
    """VAD interruptions: pause after 0.5 s of speech, stop on words, resume after 2 s."""

    name = "livekit-defaults"
    MIN_INTERRUPTION_S = 0.5
    FALSE_INTERRUPTION_TIMEOUT_S = 2.0
    fade_ms = 0.0

    def __init__(self) -> None:
        super().__init__()
        self._paused_at_s: float | None = None

    def on_tick(self, t_seconds: float, actions: list[events.Action]) -> None:
        if self.state == "speaking" and self._speech_end_s is None \
                and self.speech_s(t_seconds) >= self.MIN_INTERRUPTION_S:
            actions.append(events.Pause())
            self.state, self._paused_at_s = "paused", t_seconds
            if _tokens(self._words):
                self.cut(InterruptionType.REDIRECT, t_seconds, actions)
        elif self.state == "paused" and self._speech_end_s is not None \
                and t_seconds - self._speech_end_s >= self.FALSE_INTERRUPTION_TIMEOUT_S:
            actions.append(events.Resume(None))
            self.state, self._onset_s, self._paused_at_s = "speaking", None, None

    def on_words(self, text: str, t_seconds: float, actions: list[events.Action], final: bool) -> None:
        if self.state == "paused" and _tokens(text):
            self.cut(InterruptionType.REDIRECT, t_seconds, actions)


class NaiveVadStrategy(_PlainFlow):
    """Any 200 ms of speech during playback cuts."""

    name = "naive-vad"
    MIN_SPEECH_S = 0.2

    def on_tick(self, t_seconds: float, actions: list[events.Action]) -> None:
        if self.state == "speaking" and self.speech_s(t_seconds) >= self.MIN_SPEECH_S:
            self.cut(InterruptionType.REDIRECT, t_seconds, actions)


class SeedAecStrategy(SeedStrategy):
    """The seed's rules, heard through our echo control (see ``echo_handling``)."""

    name = "seed+aec"


BASELINES = {
    SeedStrategy.name: SeedStrategy,
    SeedAecStrategy.name: SeedAecStrategy,
    LiveKitDefaultsStrategy.name: LiveKitDefaultsStrategy,
    NaiveVadStrategy.name: NaiveVadStrategy,
}
