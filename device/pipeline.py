"""One pipeline for real devices and the virtual room.

The loop that owns the state machine is :meth:`Pipeline.process_frame`: each
capture frame goes through the VAD (with a pre-roll buffer so an interruption is
recognised from its first syllable) and, in ``wake_word`` mode, the wake word
detector (every echo-cancelled frame, in speech or not), then the recognizer's results, the speech
chunks synthesis finished, the playback position and the agent's sentences are
turned into machine events; the machine's actions are carried out on the playback
ring (duck, cut, pause, resume), the speech engine and the agent. Which world it
runs in is decided only by what feeds it frames and what drives the ring.

Engines plug in behind small seams so the daemon can use worker threads while the
benchmark runs everything on the loop's thread in virtual time:

- :class:`Recognition`: ``begin`` / ``feed`` / ``end`` the audio of an utterance,
  ``poll(now_s)`` its results (the ASR worker thread on the device; the benchmark's
  virtual-clock worker or oracle);
- :class:`SpeechEngine`: ``say`` sentences of an utterance, ``cancel``, ``poll`` the
  chunks ready (Piper on a worker, or inline with a cache);
- :class:`AgentRunner`: run an agent's reply stream and hand back its sentences.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bargein.agent.base import Agent, ReplyStream
from bargein.agent.conversation import Conversation, Interruption
from bargein.agent.interruption import InterruptionType
from bargein.agent.sentences import SentenceSplitter
from bargein.asr.results import Final, Partial
from bargein.audio.echo_vad import is_own_echo
from bargein.audio.playback import PlaybackRing
from bargein.audio.speech_evidence import SpeechEvidence
from bargein.audio.vad import SpeechEnded as VadEnded
from bargein.audio.vad import SpeechStarted as VadStarted
from bargein.audio.vad import VoiceDetector
from bargein.core.frames import AudioFrame
from bargein.device import events
from bargein.device.event_log import InterruptionRecord
from bargein.device.word_ledger import WordLedger
from bargein.tts.speech import SpeechChunk
from bargein.tts.synth import Synthesizer

if TYPE_CHECKING:  # the detector's module loads TensorFlow Lite; only its type is needed here
    from bargein.audio.wake_word import WakeDetected

log = logging.getLogger(__name__)

GAP_AFTER_CUT_S = 0.3
"""A breath between a voice that was cut and the next one, as a person leaves it.

Starting the reply in the very period after the cut sounds like one voice
stumbling on; the gap also makes the cut audible as a cut.
"""


ECHO_WORDS_BEFORE_S = 3.0
ECHO_WORDS_AFTER_S = 0.5
"""The text echo guard compares a transcript with the words the speaker played from
this long before the playback position to this long after it (the recognizer's words
lag the sound; the ring's position lags the words queued)."""

ONSET_LAG_S = 1.0
"""How far behind the frame being read the VAD may date an onset: the pre-roll buffer
holds this much more than ``preroll_ms``, so the recognizer gets audio from
``onset - preroll`` however late the onset was declared."""


class Strategy(Protocol):
    """Anything that turns machine events into actions: ours, or a baseline."""

    def handle(self, event: events.Event) -> list[events.Action]: ...


class WakeDetector(Protocol):
    """The wake word on the capture path (:class:`bargein.audio.wake_word.WakeWordDetector`)."""

    @property
    def wake_word(self) -> str: ...

    def process(self, frame: AudioFrame) -> WakeDetected | None: ...


class Observer(Protocol):
    """Where the pipeline reports what it perceived and did (sim log, operator log)."""

    def event(self, event: events.Event) -> None: ...

    def action(self, action: events.Action, t_seconds: float) -> None: ...

    def vad(self, started: bool, onset_or_end_s: float, t_seconds: float) -> None: ...


class NullObserver:
    """Reports nothing."""

    def event(self, event: events.Event) -> None:
        """Events go unreported."""

    def action(self, action: events.Action, t_seconds: float) -> None:
        """Actions go unreported."""

    def vad(self, started: bool, onset_or_end_s: float, t_seconds: float) -> None:
        """VAD edges go unreported."""


# --------------------------------------------------------------------------- recognition


class Recognition(Protocol):
    def begin(self, frames: list[AudioFrame]) -> None: ...

    def feed(self, frame: AudioFrame) -> None: ...

    def end(self, t_seconds: float) -> None: ...

    def poll(self, now_s: float) -> list[Partial | Final]: ...


class NoRecognition:
    """Recognition that takes no audio and reports nothing (VAD only).

    The benchmark's oracle builds on it, since it too ignores the audio.
    """

    def begin(self, frames: list[AudioFrame]) -> None:
        """Audio is not decoded: nothing to start."""

    def feed(self, frame: AudioFrame) -> None:
        """Audio is not decoded: nothing to feed."""

    def end(self, t_seconds: float) -> None:
        """Audio is not decoded: nothing to finish."""

    def poll(self, now_s: float) -> list[Partial | Final]:
        return []

    def stop(self, timeout_s: float) -> None:
        """No worker to stop."""


# --------------------------------------------------------------------------- speech


class SpeechEngine(Protocol):
    def say(self, text: str, utterance_id: int, last: bool, length_scale: float = 1.0) -> None: ...

    def cancel(self) -> None: ...

    def poll(self) -> list[SpeechChunk]: ...


class ThreadedSpeech:
    """Piper on its worker thread: each utterance is one stream fed sentence by sentence."""

    def __init__(self, synth_factory: Callable[[Callable[[SpeechChunk], None]], Synthesizer]):
        self._ready: queue.SimpleQueue[SpeechChunk] = queue.SimpleQueue()
        self.synth = synth_factory(self._ready.put)
        self._streams: dict[int, object] = {}

    def say(self, text: str, utterance_id: int, last: bool, length_scale: float = 1.0) -> None:
        stream = self._streams.get(utterance_id)
        if stream is None:
            pace = self.synth.length_scale * length_scale
            stream = self._streams[utterance_id] = self.synth.open_stream(utterance_id, pace)
        if text:
            stream.feed(text + " ")  # type: ignore[attr-defined]
        if last:
            stream.end()  # type: ignore[attr-defined]
            self._streams.pop(utterance_id, None)

    def cancel(self) -> None:
        self.synth.cancel()
        self._streams.clear()
        self.poll()  # drop chunks delivered before the cancel: nothing stale plays

    def poll(self) -> list[SpeechChunk]:
        out = []
        while True:
            try:
                out.append(self._ready.get_nowait())
            except queue.Empty:
                return out

    def stop(self, timeout_s: float = 5.0) -> None:
        self.synth.stop(timeout_s)


# --------------------------------------------------------------------------- agent


@dataclass(frozen=True)
class _AgentSentence:
    reply_id: int
    text: str
    final: bool
    failed: str | None = None


class AgentRunner:
    """Runs an agent's reply stream and hands its sentences to the loop.

    ``threaded=True`` (the daemon) reads the stream on a worker thread so a slow
    network never blocks the loop; ``threaded=False`` (the virtual room) reads it
    on the loop's thread, optionally releasing it only after ``reply_delay_s`` of
    virtual time, to model a reply that is still being prepared.
    """

    def __init__(self, agent: Agent, conversation: Conversation, *, threaded: bool = True,
                 reply_delay_s: float = 0.0) -> None:
        self.agent = agent
        self.conversation = conversation
        self.threaded = threaded
        self.reply_delay_s = reply_delay_s
        self._out: queue.SimpleQueue[_AgentSentence] = queue.SimpleQueue()
        self._stream: ReplyStream | None = None
        self._thread: threading.Thread | None = None
        self._held: list[_AgentSentence] = []
        self._release_s = 0.0
        self.last_agent = ""
        self._pace: dict[int, float] = {}

    def start(self, reply_id: int, now_s: float) -> None:
        self.cancel()
        stream = self._stream = self.agent.reply(self.conversation)
        self.last_agent = stream.agent
        self._pace = {reply_id: stream.length_scale}
        if self.threaded:
            self._thread = threading.Thread(
                target=self._pump, args=(stream, reply_id, self._out.put), name="agent",
                daemon=True,
            )
            self._thread.start()
        else:
            self._held = []
            self._release_s = now_s + self.reply_delay_s
            self._pump(stream, reply_id, self._held.append)

    @staticmethod
    def _pump(stream: ReplyStream, reply_id: int, put: Callable[[_AgentSentence], None]) -> None:
        splitter = SentenceSplitter()
        try:
            for piece in stream:
                for sentence in splitter.feed(piece):
                    put(_AgentSentence(reply_id, sentence, False))
            if stream.cancelled:
                return
            rest = splitter.flush()
            for sentence in rest[:-1]:
                put(_AgentSentence(reply_id, sentence, False))
            put(_AgentSentence(reply_id, rest[-1] if rest else "", True))
        except Exception as exc:  # the agent's boundary: the loop says a notice instead
            log.exception("agent reply %d failed", reply_id)
            put(_AgentSentence(reply_id, "", True, failed=f"{type(exc).__name__}: {exc}"))

    def pace(self, reply_id: int) -> float:
        """The agent's pace hint for a reply (above 1 = slower), 1.0 when it gave none."""
        return self._pace.get(reply_id, 1.0)

    def cancel(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        self._held = []

    def poll(self, now_s: float) -> list[_AgentSentence]:
        out = []
        if self._held and now_s >= self._release_s:
            out, self._held = self._held, []
        while True:
            try:
                out.append(self._out.get_nowait())
            except queue.Empty:
                return out


# --------------------------------------------------------------------------- pipeline


def interruption_for_agent(record: InterruptionRecord) -> Interruption:
    """The conversation's view of an interruption record."""
    return Interruption(
        type=record.type,
        user_words=record.user_text,
        heard_text=" ".join(record.words_heard),
        cut_word=record.word_cut or "",
        unplayed_text=" ".join(record.words_unplayed),
        progress_pct=record.progress_pct,
    )


class Pipeline:
    """Capture frames in; voice, records and agent requests out."""

    def __init__(
        self,
        strategy: Strategy,
        ring: PlaybackRing,
        vad: VoiceDetector,
        recognition: Recognition,
        speech: SpeechEngine,
        agents: AgentRunner,
        *,
        observer: Observer | None = None,
        preroll_ms: int = 200,
        on_interruption: Callable[[InterruptionRecord], None] | None = None,
        echo_filter: Callable[[AudioFrame], AudioFrame] | None = None,
        wake: WakeDetector | None = None,
    ) -> None:
        self.strategy = strategy
        self.ring = ring
        self.vad = vad
        self.recognition = recognition
        self.speech = speech
        self.agents = agents
        self.observer = observer or NullObserver()
        self.on_interruption = on_interruption
        self.echo_filter = echo_filter
        self.wake = wake
        self._preroll: collections.deque[AudioFrame] = collections.deque()
        self._preroll_s = preroll_ms / 1000.0
        self._in_speech = False
        self.acoustics = SpeechEvidence()
        self._finished_reported: set[int] = set()
        self._button_presses: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self.echo_partials_dropped = 0
        self._speech_hold_until_s = -1.0
        self.ledger = WordLedger()
        """What the appliance said: the echo guard, the conversation and the bench read it."""
        self.muted = False
        self.state = "idle"
        self.follow_up = False
        """Idle with the follow-up window open (a reply needs no wake word)."""
        self.ignored_speech = 0
        """Utterances heard while idle that nobody opened a turn for (not answered)."""
        self.interruptions: list[InterruptionRecord] = []

    # -- inputs from other threads ---------------------------------------------------

    def button_pressed(self, t_seconds: float) -> None:
        """The button's callback already cut the ring; tell the machine at the next frame."""
        self._button_presses.put(("press", t_seconds))

    def button_held(self, t_seconds: float) -> None:
        self._button_presses.put(("hold", t_seconds))

    # -- the loop body -----------------------------------------------------------------

    def handle(self, event: events.Event) -> None:
        """Feed one event to the strategy and carry out its actions."""
        self.observer.event(event)
        for action in self.strategy.handle(event):
            self.observer.action(action, event.t_seconds)
            self._apply(action, event.t_seconds)

    def process_frame(self, frame: AudioFrame) -> None:
        """One capture frame: VAD, recognition, synthesis, playback, agent, time."""
        now = frame.end_s
        while True:
            try:
                kind, t_press = self._button_presses.get_nowait()
            except queue.Empty:
                break
            self.handle(events.ButtonPressed(t_press) if kind == "press" else events.ButtonHeld(t_press))
        if self.echo_filter is not None:
            frame = self.echo_filter(frame)
        self._preroll.append(frame)
        while self._preroll and self._preroll[0].end_s < now - self._preroll_s - ONSET_LAG_S:
            self._preroll.popleft()
        if not self.muted:
            self._run_vad(frame, now)
            if self.wake is not None:
                heard = self.wake.process(frame)
                if heard is not None:
                    self.handle(events.WakeWord(heard.t_seconds, now, heard.wake_word,
                                           heard.probability))
        for result in self.recognition.poll(now):
            if self._is_own_echo(result.text):
                self.echo_partials_dropped += 1
                log.debug("dropped a transcript of the appliance's own voice: %r", result.text)
                continue
            words_end_s = result.words[-1].end_s if result.words else None
            if isinstance(result, Partial):
                self.handle(events.PartialTranscript(result.text, now, words_end_s, result.words,
                                                result.source))
            else:
                self.handle(events.FinalTranscript(result.text, now, words_end_s, result.words,
                                              getattr(result, "source", "asr")))
        self._drain_speech(now)
        self._report_position(now)
        for sentence in self.agents.poll(now):
            if sentence.failed:
                self.handle(events.AgentFailed(sentence.failed, now))
            else:
                self.handle(events.AgentText(sentence.text, sentence.reply_id, now, sentence.final))
        self._drain_speech(now)
        self.handle(events.Tick(now))

    def _run_vad(self, frame: AudioFrame, now: float) -> None:
        event = self.vad.process(frame)
        if isinstance(event, VadStarted):
            self._in_speech = True
            start = event.onset_s - self._preroll_s
            self.recognition.begin([f for f in self._preroll if f.end_s > start])
            self.acoustics.begin(event.onset_s, [f for f in self._preroll if f is not frame])
            self.observer.vad(True, event.onset_s, now)
            self.handle(events.SpeechStarted(event.onset_s, now))
        elif self._in_speech:
            self.recognition.feed(frame)
        self.acoustics.observe(frame)
        if self._in_speech:
            self.handle(events.SpeechAcoustics(self.acoustics.span(), now))
        if isinstance(event, VadEnded):
            self._in_speech = False
            self.acoustics.end()
            self.recognition.end(now)
            self.observer.vad(False, event.end_s, now)
            self.handle(events.SpeechEnded(event.end_s, now))

    def _drain_speech(self, now: float) -> None:
        if now < self._speech_hold_until_s:
            return
        for chunk in self.speech.poll():
            if len(chunk.pcm):
                self.ring.enqueue(chunk.pcm, chunk.rate_hz, chunk.utterance_id)
            if chunk.last:
                self.ring.end_utterance(chunk.utterance_id)
            self.ledger.queued(chunk.utterance_id, chunk.rate_hz, chunk.words)
            self.handle(events.SpeechChunkQueued.from_chunk(chunk, now))

    def _is_own_echo(self, text: str) -> bool:
        """The text-level echo guard: the words match what the speaker is saying right now."""
        pos = self.ring.position()
        spoken = self.ledger.get(pos.utterance_id)
        if spoken is None or not text.strip():
            return False
        near = spoken.words_near(pos.played_s, ECHO_WORDS_BEFORE_S, ECHO_WORDS_AFTER_S)
        return bool(near) and is_own_echo(text, near)

    def _report_position(self, now: float) -> None:
        pos = self.ring.position()
        if pos.utterance_id is None:
            return
        # The ring reports the point that reached the speaker at pos.t_seconds; the
        # machine reasons at `now`, so move the point to now while it plays.
        played_s = pos.played_s + (now - pos.t_seconds) if pos.playing else pos.played_s
        self.handle(events.PlaybackPosition(pos.utterance_id, max(0.0, played_s), now, pos.playing))
        if pos.finished and pos.utterance_id not in self._finished_reported:
            self._finished_reported.add(pos.utterance_id)
            spoken = self.ledger.get(pos.utterance_id)
            if spoken is not None and spoken.text:
                self.agents.conversation.add_assistant(spoken.text)
            self.handle(events.PlaybackFinished(pos.utterance_id, now))

    # -- actions -------------------------------------------------------------------------

    def _apply(self, action: events.Action, now: float) -> None:
        if isinstance(action, events.Duck):
            self.ring.duck(action.db)
        elif isinstance(action, events.Unduck):
            self.ring.unduck()
        elif isinstance(action, events.Cut):
            self.ring.cut(action.fade_ms)
            self._speech_hold_until_s = now + GAP_AFTER_CUT_S
        elif isinstance(action, events.Pause):
            self.ring.pause()
        elif isinstance(action, events.Resume):
            self.ring.resume(action.from_utterance_s)
        elif isinstance(action, events.Speak):
            self.ledger.said(action.utterance_id, action.text)
            self.speech.say(action.text, action.utterance_id, action.last,
                            self.agents.pace(action.utterance_id))
        elif isinstance(action, events.CancelSpeech):
            self.speech.cancel()
        elif isinstance(action, events.CancelAgent):
            self.agents.cancel()
        elif isinstance(action, events.SendToAgent):
            conv = self.agents.conversation
            record = action.interruption
            if record is not None and record.words_heard + record.words_unplayed:
                interruption = interruption_for_agent(record)
                conv.add_interruption(
                    Interruption(interruption.type, action.user_text, interruption.heard_text,
                                 interruption.cut_word, interruption.unplayed_text,
                                 interruption.progress_pct)
                )
            else:
                conv.add_user(action.user_text)
            self.agents.start(action.reply_id, now)
        elif isinstance(action, events.LogInterruption):
            record = action.record
            if record.type is InterruptionType.NOISE:
                self.acoustics.stretch_was_background(record.monotonic_s - record.speech_ms / 1000.0)
            self.interruptions.append(record)
            if self.on_interruption is not None:
                self.on_interruption(record)
        elif isinstance(action, events.SetMute):
            self.muted = action.muted
        elif isinstance(action, events.SpeechIgnored):
            self.ignored_speech += 1
        elif isinstance(action, events.StatusChanged):
            if action.state == "speaking" and self.state == "speaking_ducked" and self._in_speech:
                # The voice came back (backchannel or noise) while the VAD still hears
                # speech: whatever follows is a new stretch, judged afresh.
                self.vad.reset_segment()
                self._in_speech = False
                self.acoustics.end()
                self.recognition.end(now)
                self.observer.vad(False, now, now)
            self.state = action.state
            self.follow_up = action.follow_up
