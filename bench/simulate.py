"""Run a scenario in the virtual room through the real pipeline, in virtual time.

The room, the VAD, the strategy (ours or a baseline), the playback ring and Piper
are the real ones; only the sound card is virtual. Recognition is a real engine
(pocketsphinx, or Vosk where an English model is installed) with its command
spotter, decoded on the virtual clock at the CPU cost the decode takes
(:mod:`bargein.bench.virtual_asr`), or the oracle, which isolates the state machine
from recognition errors. The run writes an event log in the
:mod:`bargein.bench.sim_log` format, which the scorer reads; the same scenario on
the same commit writes the same log byte for byte (synthesis is not varied and
nothing depends on the wall clock).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from bargein.agent.base import ReplyStream
from bargein.agent.conversation import Conversation
from bargein.agent.local import LocalAgent
from bargein.asr.results import Word
from bargein.audio.echo_canceller import SpeexCanceller
from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import EchoAwareVad
from bargein.audio.settings import EchoSettings, VadSettings, WakeSettings
from bargein.audio.speech_evidence import SpanEvidence
from bargein.audio.vad import VoiceDetector
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.bench.baselines import BASELINES
from bargein.bench.espeak import espeak_pcm
from bargein.bench.inline_speech import InlineSpeech
from bargein.bench.oracle import OracleRecognizer, OracleUtterance
from bargein.bench.recordings import read_recording
from bargein.bench.scenario import Scenario, UserClip, resolve_at_s
from bargein.bench.sim_log import SimLogWriter
from bargein.bench.sim_recognition import AsrChoice, recognition_for
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame
from bargein.device import events
from bargein.device import machine as m
from bargein.device.appliance_settings import BargeinSettings, ListenSettings
from bargein.device.assemble import assemble, build_machine
from bargein.device.event_log import InterruptionRecord
from bargein.device.pipeline import AgentRunner, Pipeline, Strategy
from bargein.device.timer_bell import TimerBell
from bargein.device.word_ledger import WordLedger
from bargein.tts.voice import Voice, load_voice

log = logging.getLogger(__name__)

STRATEGIES = ("bargein", "seed+aec", "seed", "livekit-defaults", "naive-vad")
OPENING_QUESTION = "tell me about it"
SILENT_LEVEL = 8  # int16: at or below this the speaker counts as silent (about -72 dBFS)
TAIL_S = 1.5  # keep running this long after everything is over
WALL_CLOCK_AT_START = datetime(2026, 11, 25, 10, 0)
"""The local agent's wall clock at virtual time 0 (its clock runs on the virtual one)."""


def make_strategy(name: str, settings: BargeinSettings | None = None,
                  listen: ListenSettings | None = None, wake_phrase: str = "") -> Strategy:
    """A fresh strategy by name; ``listen`` and ``wake_phrase`` are ours only (the
    baselines listen openly)."""
    if name == "bargein":
        return build_machine(settings or BargeinSettings(), listen or m.OPEN_LISTENING,
                             wake_phrase)
    if name in BASELINES:
        return BASELINES[name]()
    raise ValueError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")


# --------------------------------------------------------------------------- user audio

def voiced_span(pcm: np.ndarray, rate_hz: int = CAPTURE_RATE_HZ) -> tuple[float, float]:
    """Start and end (seconds into the clip) of its active part: the 5 ms blocks above
    -40 dB of peak whose band above ~150 Hz is 12 dB over the clip's quietest 50 ms.

    The second condition matters for recordings: their own background noise can sit less
    than 40 dB under the peak (a low thump, room hiss), and a reference onset on that noise
    is hundreds of ms before the voice a listener hears. espeak-ng's clips are silent
    around the speech and keep exactly the span the first condition gives.
    """
    block = rate_hz // 200
    n = len(pcm) // block
    if n == 0:
        return 0.0, len(pcm) / rate_hz
    x = np.asarray(pcm[: n * block], dtype=np.float64)
    power = (x.reshape(n, block) ** 2).mean(axis=1)
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate_hz)
    ramp = np.clip((freqs - 80.0) / 120.0, 0.0, 1.0)  # raised-cosine high-pass 80 -> 200 Hz
    band = np.fft.irfft(np.fft.rfft(x) * (0.5 - 0.5 * np.cos(np.pi * ramp)), len(x))
    band_power = (band.reshape(n, block) ** 2).mean(axis=1)
    window = min(10, n)
    floor = np.convolve(band_power, np.ones(window) / window, mode="valid").min()
    loud = np.nonzero((power > power.max() * 1e-4) & (band_power > floor * 10 ** 1.2))[0]
    if len(loud) == 0:
        loud = np.nonzero(power > power.max() * 1e-4)[0]
    return loud[0] * block / rate_hz, (loud[-1] + 1) * block / rate_hz


def user_clip_audio(clip: UserClip) -> np.ndarray:
    """A user clip as 16 kHz mono float32: its recording's cut, or espeak-ng's reading."""
    if clip.audio is not None:
        return read_recording(clip.audio, clip.from_s, clip.to_s)
    return espeak_pcm(clip.say or clip.text or "", clip.voice, clip.speed_wpm)


# --------------------------------------------------------------------------- agents


class ScriptedAgent:
    """Answers the opening question with the scenario's text, then hands over to the local agent.

    ``clock`` is the local agent's wall clock (its timers ring on it): the run passes
    the virtual clock, so a timer rings at its virtual time, the same in every run.
    """

    name = "scripted"

    def __init__(self, text: str,
                 clock: Callable[[], datetime] = lambda: WALL_CLOCK_AT_START) -> None:
        self.text = text
        self.local = LocalAgent(clock=clock)
        self._used = False

    def reply(self, conversation: Conversation) -> ReplyStream:
        if not self._used and self.text:
            self._used = True
            return ReplyStream(iter([self.text]), agent=self.name)
        return self.local.reply(conversation)


# --------------------------------------------------------------------------- observer


class SimObserver:
    """Writes what the pipeline perceived and did into the simulation log."""

    def __init__(self, writer: SimLogWriter, room: VirtualRoom) -> None:
        self.writer = writer
        self.room = room
        self.state = "idle"
        self.cut_times: list[tuple[float, int | None]] = []
        self.utterance_id: int | None = None
        self.sound: SpanEvidence | None = None

    def vad(self, started: bool, onset_or_end_s: float, t_seconds: float) -> None:
        if started:
            self.writer.write("speech_started", t_seconds, onset_s=onset_or_end_s)
            self.sound = None
        else:
            sound = self.sound
            self.writer.write(
                "speech_ended", t_seconds, end_s=onset_or_end_s,
                voiced_ms=round(sound.voiced_ms) if sound else None,
                level_dbfs=_rounded(sound.level_dbfs) if sound else None,
                background_dbfs=_rounded(sound.background_dbfs) if sound else None,
            )

    def event(self, event: events.Event) -> None:
        if isinstance(event, events.SpeechAcoustics):
            self.sound = event.sound
        elif isinstance(event, events.WakeWord) and event.t_seconds > 0:
            self.writer.write("wake", event.t_seconds, end_s=event.end_s,
                              probability=round(event.probability, 3))
        elif isinstance(event, events.PartialTranscript):
            self.writer.write("partial", event.t_seconds, text=event.text, source=event.source,
                              words=_word_fields(event.words))
        elif isinstance(event, events.FinalTranscript) and event.t_seconds > 0:
            self.writer.write("final", event.t_seconds, text=event.text, source=event.source,
                              words=_word_fields(event.words))
        elif isinstance(event, events.TimerRang):
            self.writer.write("ring", event.t_seconds, text=event.message)

    def action(self, action: events.Action, t: float) -> None:
        w = self.writer
        if isinstance(action, events.Duck):
            w.write("duck", t, gain_db=action.db)
        elif isinstance(action, events.Unduck):
            w.write("unduck", t)
        elif isinstance(action, events.Cut):
            uid = self.room.ring.position().utterance_id
            w.write("cut", t, utterance_id=uid)
            self.cut_times.append((t, uid))
        elif isinstance(action, events.Pause):
            w.write("pause", t, utterance_id=self.room.ring.position().utterance_id)
        elif isinstance(action, events.Resume):
            w.write("resume", t, utterance_id=self.room.ring.position().utterance_id,
                    from_s=action.from_utterance_s)
        elif isinstance(action, events.Speak):
            w.write("speak", t, utterance_id=action.utterance_id, text=action.text)
        elif isinstance(action, events.CancelAgent) and self.state == "thinking":
            w.write("cancel", t, reason="speech while thinking")
        elif isinstance(action, events.LogInterruption):
            w.interruption(t, _record_fields(action.record))
        elif isinstance(action, events.SendToAgent):
            w.write("turn", t, reply_id=action.reply_id, text=action.user_text)
        elif isinstance(action, events.SpeechIgnored):
            w.write("ignored", t, words=action.words)
        elif isinstance(action, events.StatusChanged):
            self.state = action.state
            extra = {"follow_up": True} if action.follow_up else {}
            w.write("state", t, state=action.state, **extra)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _word_fields(words: tuple[Word, ...]) -> list[list]:
    """``[text, start_s, end_s, conf]`` per word, rounded for the log."""
    return [[w.text, round(w.start_s, 3), round(w.end_s, 3), round(w.conf, 3)] for w in words]


def _record_fields(record: InterruptionRecord) -> dict:
    data = record.to_dict()
    data["handled"] = {"button": "cut", "merged": "cut", "wake_word": "cut"}.get(
        record.handling, record.handling)
    return data


# --------------------------------------------------------------------------- recognition


# --------------------------------------------------------------------------- echo


def echo_handling(strategy_name: str, room: VirtualRoom):  # noqa: ANN201 - (vad, filter)
    """What each baseline does about the speaker's own echo (``bargein`` is assembled
    with the daemon's chain, :func:`bargein.device.assemble.assemble`).

    ``seed+aec``: the echo reference from the ring's tap, the canceller and the
    echo-aware VAD, as ours. ``livekit-defaults``: an echo canceller in front of a plain
    VAD (what a WebRTC client gives it). ``seed`` and ``naive-vad``: none.
    """
    if strategy_name not in ("seed+aec", "livekit-defaults"):
        return VoiceDetector(VadSettings()), None
    reference = EchoReference(room.ring.rate_hz, room.ring.period_frames,
                              nominal_delay_s=room.settings.output_latency_ms / 1000.0)
    room.ring.set_reference_tap(reference)
    if strategy_name == "seed+aec":
        vad = EchoAwareVad(VadSettings(), EchoSettings(), reference)
        return vad, vad.filter
    canceller = SpeexCanceller()

    def cancel(frame: AudioFrame) -> AudioFrame:
        return canceller.process(frame, reference.reference_for(frame, 0.0))

    return VoiceDetector(VadSettings()), cancel


# --------------------------------------------------------------------------- the run


@dataclass
class SimResult:
    """One scenario run under one strategy."""

    scenario: Scenario
    strategy: str
    events: list
    speaker: np.ndarray
    mic: np.ndarray
    rate_hz: int
    interruptions: list[InterruptionRecord] = field(default_factory=list)
    asr: str = "oracle"
    cpu_s: float = 0.0
    """Process CPU time the run took (kept out of the event log, which is repeatable)."""


class _KeptSpeech(InlineSpeech):
    """Inline Piper that also keeps each utterance's synthesised samples, so the run
    can compare what the speaker played with what was synthesised (the gain of a reply)."""

    def __init__(self, voice: Voice) -> None:
        super().__init__(voice)
        self.rendered: dict[int, list[np.ndarray]] = {}

    def poll(self) -> list:  # noqa: D102 - InlineSpeech.poll
        chunks = super().poll()
        for chunk in chunks:
            self.rendered.setdefault(chunk.utterance_id, []).append(chunk.pcm)
        return chunks


MIN_LEVEL_WORD_S = 0.08
"""Words shorter than this are left out of a reply's level (too few samples to judge)."""


def _level_db(pcm: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64)))) if len(pcm) else 0.0
    return 20.0 * math.log10(max(rms, 1e-9))


def _duck_windows(events: list) -> list[tuple[float, float]]:
    """When the pipeline had the voice ducked: each duck to the next unduck, cut or pause."""
    windows, start = [], None
    for event in events:
        if event.kind == "duck" and start is None:
            start = event.t_s
        elif event.kind in ("unduck", "cut", "pause") and start is not None:
            windows.append((start, event.t_s))
            start = None
    if start is not None:
        windows.append((start, math.inf))
    return windows


def write_reply_levels(writer: SimLogWriter, speaker: np.ndarray, speaker_rate_hz: int,
                       tracker: _WordTracker, speech: _KeptSpeech) -> None:
    """One ``reply_played`` event per utterance that reached the speaker.

    ``level_db`` is the median level (dBFS) of its played words at the speaker;
    ``gain_db`` the median of each word's played level minus its level as
    synthesised: 0 dB at full volume. Words played (even in part) while the pipeline
    had the voice ducked are left out (that duck was asked for); what remains is the level
    the reply was meant to have. The gain compares replies fairly whatever their
    text (Piper normalises each sentence to its peak). Both are null when no word
    qualifies.
    """
    ducked = _duck_windows(writer.events)
    by_uid: dict[int, list] = {}
    for event in writer.events:
        if event.kind == "word_played":
            by_uid.setdefault(event["utterance_id"], []).append(event)
    for uid, played in sorted(by_uid.items()):
        source = np.concatenate(speech.rendered.get(uid, [np.zeros(0, np.float32)]))
        words = tracker.ledger.get(uid).words
        levels, gains = [], []
        for event in played:
            start_s, end_s = event["start_s"], event["end_s"]
            if end_s - start_s < MIN_LEVEL_WORD_S or any(a < end_s and start_s < b for a, b in ducked):
                continue
            word = words[event["index"]]
            out = speaker[round(start_s * speaker_rate_hz):
                          round(end_s * speaker_rate_hz)].astype(np.float64) / 32768.0
            synth_db = _level_db(source[word.start_sample:word.end_sample])
            if synth_db < -50.0 or not len(out):
                continue
            levels.append(_level_db(out))
            gains.append(levels[-1] - synth_db)
        writer.write("reply_played", tracker.first_sample_s.get(uid, played[0]["start_s"]),
                     utterance_id=uid, words=len(played),
                     level_db=round(float(np.median(levels)), 2) + 0.0 if levels else None,
                     gain_db=round(float(np.median(gains)), 2) + 0.0 if gains else None)


class _WordTracker:
    """Turns playback positions into ``word_played`` events (what really came out), from
    the pipeline's ledger of the words it queued."""

    def __init__(self, ledger: WordLedger) -> None:
        self.ledger = ledger
        self.reported: dict[int, int] = {}
        self.first_sample_s: dict[int, float] = {}

    def update(self, writer: SimLogWriter, uid: int | None, played_s: float, t_point: float) -> None:
        spoken = self.ledger.get(uid)
        if uid is None or spoken is None or not spoken.words:
            return
        if played_s > 0 and uid not in self.first_sample_s:
            self.first_sample_s[uid] = t_point - played_s
        rate = spoken.rate_hz
        i = self.reported.get(uid, 0)
        for i, w in spoken.words_ended_by(played_s, i):
            writer.write("word_played", t_point - (played_s - w.end_sample / rate),
                         text=w.text, start_s=t_point - (played_s - w.start_sample / rate),
                         end_s=t_point - (played_s - w.end_sample / rate),
                         utterance_id=uid, index=i, complete=True)
            self.reported[uid] = i + 1


def run_scenario(
    scenario: Scenario,
    strategy_name: str = "bargein",
    *,
    voice: Voice | None = None,
    asr_latency_ms: float = 150.0,
    log_path: Path | None = None,
    settings: BargeinSettings | None = None,
    max_s: float = 90.0,
    opening_question: str = OPENING_QUESTION,
    asr: AsrChoice | None = None,
    listen_mode: str | None = None,
) -> SimResult:
    """Run one scenario under one strategy; return its events and recordings.

    ``asr`` picks the recognizer (default: real recognition, see :class:`AsrChoice`).
    ``listen_mode`` overrides the scenario's ``[listen] mode`` (ours only: the baselines
    answer any words, as the appliance did before the wake word). In ``wake_word`` mode
    the wake word detector (``[wake]`` defaults) hears the echo-cancelled mic. A scenario
    that starts answering is opened the way its mode allows: the wake word or the press,
    then the opening question. The local agent's clock is the virtual one: a timer set in
    the run rings at its virtual time through the daemon's :class:`TimerBell`, and the run
    goes on while a timer is due before ``max_s``.
    """
    cpu0 = time.process_time()
    voice = voice or load_voice()
    settings = settings or BargeinSettings()
    if settings.language != scenario.language:  # the scenario's people speak its language
        settings = dataclasses.replace(settings, language=scenario.language)
    room = VirtualRoom(RoomSettings(
        echo_gain_db=scenario.room.echo_gain_db, echo_delay_ms=scenario.room.echo_delay_ms,
        reverb_ms=scenario.room.reverb_ms, noise_db=scenario.room.noise_db,
        seed=sum(map(ord, scenario.name)), frame_ms=30,
    ))
    oracle_utts: list[OracleUtterance] = []
    oracle = OracleRecognizer(oracle_utts, asr_latency_ms / 1000.0)
    recognition, asr_name = recognition_for(asr or AsrChoice(), oracle, settings.language)
    writer = SimLogWriter(log_path)
    mode = listen_mode or scenario.listen_mode
    extra = {"start": "idle"} if scenario.starts_idle else {}
    if mode != "open":
        extra["listen"] = mode
    if scenario.language != "en":
        extra["language"] = scenario.language
    writer.write("run", 0.0, scenario=scenario.name, strategy=strategy_name,
                 rate_hz=CAPTURE_RATE_HZ, asr=asr_name, tv_db=scenario.room.tv_db, **extra)
    observer = SimObserver(writer, room)
    agent = ScriptedAgent(scenario.agent.text,
                          clock=lambda: WALL_CLOCK_AT_START + timedelta(seconds=room.now_s))
    agents = AgentRunner(agent, Conversation(), threaded=False,
                         reply_delay_s=scenario.agent.first_sample_s)
    bell = TimerBell(agent.local)
    last_ring_due = WALL_CLOCK_AT_START + timedelta(seconds=max_s)
    speech = _KeptSpeech(voice)
    wake = None
    if strategy_name == "bargein":
        # The appliance's own chain, as the daemon assembles it (the wake word detector
        # with the [wake] defaults in wake_word mode).
        chain = assemble(
            room.ring, recognition, speech, agents, bargein=settings,
            listen=ListenSettings(mode=mode), vad=VadSettings(), echo=EchoSettings(),
            wake=WakeSettings(), air_delay_s=room.settings.output_latency_ms / 1000.0,
            observer=observer,
        )
        pipeline, wake = chain.pipeline, chain.wake
    else:
        vad, echo_filter = echo_handling(strategy_name, room)
        pipeline = Pipeline(
            make_strategy(strategy_name), room.ring, vad, recognition,
            speech, agents, observer=observer, preroll_ms=settings.preroll_ms,
            echo_filter=echo_filter,
        )
    tracker = _WordTracker(pipeline.ledger)

    def place(users: list[UserClip], buttons: list, spans: list[tuple[float, float]]) -> float:
        """Put clips and presses into the room; the time the last of them is over."""
        latest = 0.0
        for clip in users:
            at_s = resolve_at_s(clip, spans)
            pcm = user_clip_audio(clip)
            room.add_clip(pcm, CAPTURE_RATE_HZ, at_s, clip.level_db)
            on, off = voiced_span(pcm)
            writer.write("truth_user", at_s + on, clip=clip.index, text=clip.transcript,
                         onset_s=at_s + on, end_s=at_s + off, level_db=clip.level_db)
            oracle_utts.append(OracleUtterance(clip.transcript, at_s + on, at_s + off))
            latest = max(latest, at_s + off)
        for press in buttons:
            at_s = resolve_at_s(press, spans)
            writer.write("truth_button", at_s, at_s=at_s, hold_ms=press.hold_ms)

            def press_now(t: float = at_s) -> None:
                room.ring.cut(settings.fade_ms)  # the gpiozero callback's direct cut
                pipeline.button_pressed(t)

            room.call_at(at_s, press_now)
            latest = max(latest, at_s)
        oracle.__init__(oracle_utts, asr_latency_ms / 1000.0)  # re-sort the released words
        return latest

    if scenario.room.tv_db is not None:
        tv_spec = scenario.room  # a recording it plays, or words espeak-ng reads
        tv = (read_recording(tv_spec.tv_audio, tv_spec.tv_from_s, tv_spec.tv_to_s)
              if tv_spec.tv_audio is not None else espeak_pcm(tv_spec.tv_text, tv_spec.tv_voice))
        for k in range(int(max_s / max(0.5, len(tv) / CAPTURE_RATE_HZ)) + 1):
            room.add_clip(tv, CAPTURE_RATE_HZ, k * len(tv) / CAPTURE_RATE_HZ, scenario.room.tv_db)

    # Entries timed in seconds go in now; those timed against the first answer's
    # words wait for its word spans.
    last_event_s = place([u for u in scenario.users if u.at_s is not None],
                         [b for b in scenario.buttons if b.at_s is not None], [])
    later_users = [u for u in scenario.users if u.at_s is None]
    later_buttons = [b for b in scenario.buttons if b.at_s is None]
    placed = not (later_users or later_buttons)

    if not scenario.starts_idle:
        if mode == "wake_word" and wake is not None:
            pipeline.handle(events.WakeWord(0.0, 0.0, wake.wake_word))
        elif mode != "open" and strategy_name == "bargein":
            pipeline.handle(events.ButtonPressed(0.0))
        pipeline.handle(events.FinalTranscript(opening_question, 0.0))
    while room.now_s < max_s:
        frame = room.step()
        # What came out of the speaker up to now, read before this frame's decisions
        # (a cut flushes the ring: nothing more plays after it).
        pos = room.ring.position()
        if pos.utterance_id is not None and not pos.cut:
            tracker.update(writer, pos.utterance_id, pos.played_s, pos.t_seconds)
        pipeline.process_frame(frame)
        bell.tick(pipeline, frame.end_s)
        pos = room.ring.position()
        queued = [] if placed else [u for u in pipeline.ledger.utterance_ids()
                                    if pipeline.ledger.get(u).words]
        if queued:
            first = pipeline.ledger.get(min(queued))
            # Placed as soon as the first sentence is queued: the whole reply is
            # synthesized inline, so every word span is known now.
            start = tracker.first_sample_s.get(first.utterance_id, room.now_s)
            rate = first.rate_hz
            spans = [(start + w.start_sample / rate, start + w.end_sample / rate)
                     for w in first.words]
            last_event_s = max(last_event_s, place(later_users, later_buttons, spans))
            placed = True
        if scenario.duration_s is not None:
            if room.now_s >= scenario.duration_s:
                break
            continue
        due = agent.local.next_due()
        timer_to_ring = bell.waiting > 0 or (due is not None and due <= last_ring_due)
        busy = pipeline.state not in ("idle",) or (pos.playing or pos.queued_s > 0) or timer_to_ring
        if placed and not busy and room.now_s > last_event_s + TAIL_S:
            break
    end_s = room.now_s
    speaker = room.speaker_audio()
    rate = room.speaker_rate_hz
    for t_cut, uid in observer.cut_times:
        writer.write("speaker_silent", _silent_after(speaker, rate, t_cut), utterance_id=uid)
    write_reply_levels(writer, speaker, rate, tracker, speech)
    active = float(np.count_nonzero(np.abs(speaker) > SILENT_LEVEL)) / rate
    writer.write("end", end_s, audio_s=end_s, speaker_active_s=active)
    writer.close()
    return SimResult(scenario, strategy_name, writer.events, speaker, room.mic_audio(), rate,
                     list(pipeline.interruptions), asr_name, time.process_time() - cpu0)


def _silent_after(speaker: np.ndarray, rate_hz: int, t_s: float, quiet_ms: float = 100.0) -> float:
    """First time at or after ``t_s`` where the speaker goes quiet for ``quiet_ms``.

    The cut voice's sound ends there; the pipeline leaves a breath before any
    reply, so the next voice is not mistaken for the old one.
    """
    start = math.ceil(t_s * rate_hz - 1e-6)
    quiet = np.abs(speaker[start:].astype(np.int32)) <= SILENT_LEVEL
    run = max(1, int(quiet_ms * rate_hz / 1000))
    if len(quiet) < run:
        return t_s
    windows = np.convolve(quiet.astype(np.int32), np.ones(run, dtype=np.int32), mode="valid")
    hits = np.nonzero(windows == run)[0]
    return (start + (hits[0] if len(hits) else len(quiet))) / rate_hz
