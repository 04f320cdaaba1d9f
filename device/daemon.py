"""The appliance in one process: wiring, the loop that owns the state machine, supervision.

:class:`Daemon` loads the models, opens the sound devices (or the virtual room), and
runs :meth:`~bargein.device.pipeline.Pipeline.process_frame` for every capture frame
on the main thread. The other threads are the ones real-time audio needs: capture
(PortAudio's callback, or the virtual room's pacer), the playback callback, the ASR
worker, the TTS worker and the agent's I/O.

Around the loop it supervises:

- systemd: ``READY=1`` once models are loaded and devices open; ``STATUS=`` on every
  change of state (waiting for the wake word / follow-up window / listening / speaking /
  muted / device lost); ``WATCHDOG=1`` at
  half of ``WatchdogSec=`` only while capture, playback and the loop all show fresh
  heartbeats, so a stuck audio thread gets the service restarted;
- signals: SIGTERM (and Ctrl-C) fades the voice out, flushes the event log and exits
  0; SIGHUP reloads the config, applies what can change live and names in one log
  line the keys that need a restart;
- devices: a lost mic or speaker is a logged state; the keepers reconnect with
  back-off while the loop runs on silence, so the answer in progress still finishes;
- records: every interruption goes to the event log (``<state_dir>/events.jsonl``)
  and to the interruption-rate tracker;
- kitchen timers: the local agent keeps them; after each frame the loop's
  :class:`~bargein.device.timer_bell.TimerBell` says the rung ones through the state
  machine, once it is idle (:mod:`bargein.device.timer_bell`);
- side concerns: a full or read-only disk, a failing status LED or a failing LLM
  never stop the appliance; each is named in ``STATUS=`` while it lasts (the event
  log keeps records in memory and writes them once the disk takes them again).

No audio is stored; transcripts reach the logs only with ``[events] log_transcripts``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

import numpy as np
from gpiozero import GPIOZeroError

from bargein.agent.classifier import PhraseBook
from bargein.agent.conversation import Conversation
from bargein.agent.factory import build_agent
from bargein.asr.malloc_tuning import fix_mmap_threshold
from bargein.asr.model import (
    DEFAULT_MODEL_NAME,
    MODEL_ENV,
    check_model_dir,
    missing_parts,
    model_dir_from,
)
from bargein.asr.worker import AsrWorker
from bargein.core.errors import ConfigError, ModelMissingError
from bargein.core.frames import AudioFrame
from bargein.core.version import package_version
from bargein.device import events
from bargein.device.appliance_settings import BargeinSettings
from bargein.device.asr_warmup import warm_up_pcm
from bargein.device.assemble import asr_for_language, assemble
from bargein.device.audio_io import AudioIO, open_audio
from bargein.device.button import (
    ApplianceButton,
    StatusLed,
    open_button,
    open_status_led,
    press_mock_pin,
)
from bargein.device.config import Config, load_config
from bargein.device.config_reload import changed_keys, with_keys
from bargein.device.event_log import EventLog, InterruptionRecord
from bargein.device.heartbeat import LOOP, Heartbeats
from bargein.device.interruption_rate import InterruptionRate
from bargein.device.mqtt_link import MqttLink, load_password
from bargein.device.pipeline import AgentRunner, NullObserver, ThreadedSpeech
from bargein.device.systemd_notify import SystemdNotifier
from bargein.device.threaded_asr import ThreadedAsr
from bargein.device.timer_bell import TimerBell
from bargein.tts.synth import Synthesizer
from bargein.tts.voice import Voice, load_voice

log = logging.getLogger(__name__)

DEVICE_WAIT_S = 20.0
"""Longest wait for the sound devices at start. After it the daemon reports READY with
STATUS "device lost" and keeps reconnecting: a mic plugged in later is picked up
without a restart (systemd would otherwise time the start out and loop)."""
READ_TIMEOUT_S = 0.05
"""Longest the loop waits for a frame before it checks signals, status and the watchdog."""
SHUTDOWN_FADE_S = 0.06
"""Time given to the playback side to play the fade-out before devices close."""
STOP_TIMEOUT_S = 0.5
"""Each worker gets this long to stop at shutdown (the whole exit stays under 2 s)."""
RATE_POLL_S = 10.0
STATUS_REASON_CHARS = 120
NO_WATCHDOG_STALE_S = 5.0

_STATE_TEXT = {
    "idle": "listening",
    "listening": "listening to someone",
    "thinking": "thinking",
    "speaking": "speaking",
    "speaking_ducked": "speaking, someone is talking over it",
    "paused": "speaking, paused for the listener",
    "interrupted": "interrupted, listening",
}

LIVE_KEYS = frozenset(
    {f"bargein.{f.name}" for f in dataclasses.fields(BargeinSettings)}
    - {"bargein.preroll_ms", "bargein.language"}  # the language picks the model and spotter
    | {"tts.length_scale", "tts.volume", "listen.follow_up_s"}
    | {"events.log_transcripts", "events.rate_window_s", "events.rate_warn_per_min",
       "events.event_log_max_bytes", "events.event_log_keep"}
)
"""Keys a SIGHUP applies at once; every other key needs a restart."""


def idle_text(mode: str, follow_up: bool, wake_word: str = "") -> str:
    """What the appliance waits for while idle, by listening mode (``[listen] mode``)."""
    if follow_up:
        return "listening for a reply (follow-up window)"
    if mode == "wake_word":
        return f"waiting for the wake word{f' ({wake_word})' if wake_word else ''}"
    if mode == "button":
        return "waiting for the button"
    return _STATE_TEXT["idle"]


def status_line(state: str, muted: bool, lost: list[str], log_off: str | None = None,
                led_off: str | None = None, agent_off: str | None = None,
                idle: str = _STATE_TEXT["idle"]) -> str:
    """The short human line systemd shows in ``systemctl status bargein``.

    ``log_off`` is why the event log is not reaching the disk, ``led_off`` why the
    status LED stopped, ``agent_off`` why the LLM failed its last request (None while
    they work): the appliance keeps answering, and the line says so after what
    matters first. ``idle`` is the line while idle (:func:`idle_text`).
    """
    if lost:
        text = f"device lost: {' and '.join(lost)}; reconnecting"
    elif muted:
        text = "muted (hold the button to unmute)"
    else:
        text = idle if state == "idle" else _STATE_TEXT.get(state, state)
    if log_off:
        text += f"; event log off ({log_off})"
    if led_off:
        text += f"; status LED off ({led_off})"
    if agent_off:
        text += f"; LLM failing, local agent answers ({agent_off[:STATUS_REASON_CHARS]})"
    return text


class OperatorLog(NullObserver):
    """What the operator sees in the journal: what was heard, state changes."""

    def __init__(self, log_transcripts: bool) -> None:
        self.log_transcripts = log_transcripts

    def event(self, event: events.Event) -> None:
        if isinstance(event, events.FinalTranscript) and event.text:
            if self.log_transcripts:
                log.info('heard "%s"', event.text)
            else:
                log.info("heard %d words", len(event.text.split()))

    def action(self, action: events.Action, t_seconds: float) -> None:
        if isinstance(action, events.StatusChanged):
            log.debug("state %s%s at %.2f s", action.state, " (muted)" if action.muted else "",
                      t_seconds)
        elif isinstance(action, events.SendToAgent):
            log.info("reply %d requested", action.reply_id)


def make_recognition(config: Config, environ: Mapping[str, str],
                     voice: Voice) -> ThreadedAsr:
    """The configured engine on its worker thread, warmed up with ``voice`` saying a few
    phrases, listening for ``[bargein] language``: its Vosk model (the pack's ``[model]``
    under the state dir unless ``[asr] model`` names one) and its spotter phrases. In the
    virtual room without the English Vosk model, pocketsphinx with its bundled en-us model
    stands in (said once in the log); real devices, and every other language, need the
    model: a missing one stops start-up with one line naming the fix."""
    language = config.bargein.language
    book = PhraseBook.load(language)
    asr = asr_for_language(config.asr, language)
    if asr.engine == "pocketsphinx" and language != "en":
        raise ConfigError(f"[asr] engine = \"pocketsphinx\" hears only English here, and "
                          f"[bargein] language is {language!r}; set [asr] engine = \"vosk\" "
                          f"with its model ({book.model.fetch or book.model.vosk})")
    if asr.engine == "vosk":
        default_name = book.model.vosk or DEFAULT_MODEL_NAME
        model_dir = model_dir_from(asr, config.events.state_dir, default_name)
        explicit = bool(asr.model or environ.get(MODEL_ENV))
        if missing_parts(model_dir):
            if config.audio.backend != "virtual" or explicit or language != "en":
                if language != "en" and book.model.fetch:
                    raise ModelMissingError(
                        f"[bargein] language = {language!r} needs its Vosk model "
                        f"({default_name}), not found at {model_dir}: {book.model.fetch}")
                check_model_dir(model_dir)  # raises ModelMissingError: one line with the fetch command
            log.warning(
                "virtual room: no English Vosk model at %s; recognising with pocketsphinx and "
                "its bundled en-us model instead (English words, no download needed; less "
                "accurate than Vosk)", model_dir,
            )
            asr = dataclasses.replace(asr, engine="pocketsphinx", model="")
        else:
            asr = dataclasses.replace(asr, model=str(model_dir))
            _check_model_language(model_dir, book)
    if book.local_answers and book.local_answers != language and config.agent.kind == "local":
        log.info("language %s: the local agent's answers are in %s (its canned answers are "
                 "not translated); [agent] kind = \"llm\" answers in %s", language,
                 book.local_answers, language)
    worker = AsrWorker.from_settings(asr, config.events.state_dir, phrases=book.phrase_texts())
    if asr.warm_up:
        worker.warm_up(warm_up_pcm(voice))
    return ThreadedAsr(worker.start())


def _check_model_language(model_dir: Path, book: PhraseBook) -> None:
    """A model that knows none of the language's phrases is another language's model:
    stop with the fix rather than hear every word wrong."""
    from bargein.asr.spotter import known_phrases

    phrases = book.phrase_texts()
    known = known_phrases(model_dir, phrases)
    if known is not None and not known:
        raise ModelMissingError(
            f"the Vosk model {model_dir} knows none of the {book.language!r} phrases "
            f"({', '.join(phrases[:3])}, ...): it is another language's model; "
            f"{book.model.fetch or 'point [asr] model at a ' + repr(book.language) + ' model'}")


class Daemon:
    """One appliance: build with the config, then :meth:`run` until SIGTERM."""

    def __init__(
        self,
        config: Config,
        config_path: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        notifier: SystemdNotifier | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.environ = os.environ if environ is None else environ
        self.notifier = notifier or SystemdNotifier(self.environ)
        watchdog_s = self.notifier.watchdog_s
        self.heartbeats = Heartbeats(
            stale_after_s=max(1.0, watchdog_s / 2) if watchdog_s else NO_WATCHDOG_STALE_S
        )
        self._stop_requested = False
        self._reload_requested = False
        self._watchdog_withheld = False
        self._next_ping_s = 0.0
        self._next_rate_poll_s = 0.0
        self._status = ""
        self._last_frame_end_s: float | None = None
        self.button: ApplianceButton | None = None
        self.led: StatusLed | None = None
        self.led_problem: str | None = None
        self.mqtt: MqttLink | None = None

    # -- building ----------------------------------------------------------------------

    def _build(self) -> None:
        config = self.config
        started_s = time.monotonic()
        voice = load_voice(config.tts.voice or None)
        self.recognition = make_recognition(config, self.environ, voice)
        self.speech = ThreadedSpeech(lambda put: Synthesizer(
            voice, put, length_scale=config.tts.length_scale, volume=config.tts.volume))
        self.agent, self.timers = build_agent(config.agent)
        log.info("models loaded in %.1f s", time.monotonic() - started_s)
        self.event_log = EventLog(
            config.events.state_dir, max_bytes=config.events.event_log_max_bytes,
            keep=config.events.event_log_keep, log_transcripts=config.events.log_transcripts,
        )
        self.audio: AudioIO = open_audio(config.audio, self.heartbeats, environ=self.environ,
                                         press_button=lambda: press_mock_pin(self.button))
        ring = self.audio.ring
        self.observer = OperatorLog(config.events.log_transcripts)
        chain = assemble(
            ring, self.recognition, self.speech,
            AgentRunner(self.agent, Conversation(), threaded=True),
            bargein=config.bargein, listen=config.listen, vad=config.vad, echo=config.echo,
            wake=config.wake, air_delay_s=self.audio.echo_delay_s, observer=self.observer,
            on_interruption=self._on_interruption,
        )
        self.machine, self.wake, self.pipeline = chain.machine, chain.wake, chain.pipeline
        log.info("echo control: %s canceller", chain.vad.canceller.name)
        self.bell = TimerBell(self.timers)
        self.rate = InterruptionRate(
            config.events.rate_window_s, config.events.rate_warn_per_min,
            started_s=self.audio.now_s(),
        )
        fade_ms = config.bargein.fade_ms
        self.button = open_button(config.button, lambda: ring.cut(fade_ms), self._button_event,
                                  clock=self.audio.now_s)
        self.led = open_status_led(config.button)
        if config.mqtt.enabled:
            self.mqtt = MqttLink(config.mqtt, on_stop=self._stop_pressed,
                                 password=load_password(config.mqtt, self.environ),
                                 version=package_version())

    def _start_mqtt(self) -> None:
        if self.mqtt is None:
            return
        self.mqtt.publish_volume(self.config.tts.volume)
        self.mqtt.publish_rate(self.rate.poll(self.audio.now_s()), self.rate.is_over)
        self._publish_state()
        self.mqtt.start()

    # -- inputs from other threads and signals -------------------------------------------

    def _button_event(self, event: events.Event) -> None:
        if isinstance(event, events.ButtonPressed):
            self.pipeline.button_pressed(event.t_seconds)
        elif isinstance(event, events.ButtonHeld):
            self.pipeline.button_held(event.t_seconds)

    def _stop_pressed(self) -> None:
        """The stop button from the broker (paho's thread): exactly the hardware press."""
        self.audio.ring.cut(self.config.bargein.fade_ms)
        self.pipeline.button_pressed(self.audio.now_s())

    def _drain_mqtt(self) -> None:
        """Mute and volume commands from the broker, applied on the loop's thread."""
        link = self.mqtt
        if link is None:
            return
        while not link.commands.empty():
            command = link.commands.get_nowait()
            if command.name == "mute":
                if bool(command.value) != self.pipeline.muted:
                    self.pipeline.button_held(self.audio.now_s())  # as the long press
            elif command.name == "volume":
                self.speech.synth.volume = command.value
                self.config = dataclasses.replace(
                    self.config, tts=dataclasses.replace(self.config.tts, volume=command.value))
                link.publish_volume(command.value)
                log.info("volume %.2f (from MQTT)", command.value)

    def _publish_state(self) -> None:
        """The state to the broker, where the status line (which holds it) changed; the
        link sends only what differs from what it last sent."""
        if self.mqtt is not None:
            self.mqtt.publish_state(self.pipeline.state, self.pipeline.muted,
                                    self.pipeline.follow_up)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_requested = True

    def request_stop(self) -> None:
        """Ask the loop to shut down (as SIGTERM does)."""
        self._stop_requested = True

    def _on_interruption(self, record: InterruptionRecord) -> None:
        self.event_log.append(record)  # a disk problem turns the log off, never raises
        if record.stopped_speech:
            self.rate.add(record.monotonic_s)
        if self.mqtt is not None:
            self.mqtt.publish_interruption(record.to_dict(self.config.events.log_transcripts))
            self.mqtt.publish_rate(self.rate.per_minute(record.monotonic_s), self.rate.is_over)

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> int:
        """Build, report READY, run until SIGTERM; the exit status (0 on a clean stop)."""
        log.info("bargein %s starting (config %s, audio %s)", package_version(),
                 self.config_path or "defaults", self.config.audio.backend)
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        code = 0
        try:
            fix_mmap_threshold()  # before the models load: large buffers stay returnable
            self._build()
            try:
                self.audio.start()
                if not self.audio.wait_open(DEVICE_WAIT_S):
                    log.warning("sound devices not open after %.0f s (%s); running and "
                                "reconnecting", DEVICE_WAIT_S, ", ".join(self.audio.lost()))
                self._status = self._current_status()
                self.notifier.ready(self._status)
                self._start_mqtt()
                self._loop()
            except Exception:  # the loop's boundary: stop cleanly, let systemd restart us
                log.exception("the daemon failed; stopping so systemd restarts the service")
                code = 1
            finally:
                self._shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _loop(self) -> None:
        frame_s = self.config.audio.frame_ms / 1000.0
        silence = np.zeros(round(16000 * frame_s), dtype=np.int16)
        while not self._stop_requested:
            frame = self.audio.read(READ_TIMEOUT_S)
            self.heartbeats.beat(LOOP)
            if frame is None:
                frame = self._silence_if_mic_lost(silence, frame_s)
            if frame is not None:
                self._last_frame_end_s = frame.end_s
                self.pipeline.process_frame(frame)
                self.bell.tick(self.pipeline, frame.end_s)
            self.audio.poll_health()
            self._drain_mqtt()
            self._supervise()
            if self._reload_requested:
                self._reload_requested = False
                self.reload()

    def _silence_if_mic_lost(self, silence: np.ndarray, frame_s: float) -> AudioFrame | None:
        """While the mic is gone the machine still needs time to pass (playback, agent)."""
        if "microphone" not in self.audio.lost():
            return None
        now = self.audio.now_s()
        last = self._last_frame_end_s
        if last is not None and now - last < frame_s:
            return None
        start = now - frame_s if last is None or now - last > 1.0 else last
        return AudioFrame(pcm=silence, t_seconds=start)

    def _current_status(self) -> str:
        wake_word = self.wake.wake_word if self.wake is not None else ""
        idle = idle_text(self.machine.listen.mode, self.pipeline.follow_up, wake_word)
        return status_line(self.pipeline.state, self.pipeline.muted, self.audio.lost(),
                           self.event_log.problem, self.led_problem,
                           getattr(self.agent, "problem", None), idle)

    def _supervise(self) -> None:
        status = self._current_status()
        if status != self._status:
            self._status = status
            log.info("status: %s", status)
            self.notifier.status(status)
            self._show_on_led(self.pipeline.state, self.pipeline.muted, self.pipeline.follow_up)
            self._publish_state()
        now = time.monotonic()
        interval_s = self.notifier.ping_interval_s
        if interval_s is not None and now >= self._next_ping_s:
            self._next_ping_s = now + interval_s
            stale = self.heartbeats.stale()
            if not stale:
                self.notifier.watchdog()
                if self._watchdog_withheld:
                    self._watchdog_withheld = False
                    log.info("watchdog: all heartbeats fresh again; pinging systemd")
            elif not self._watchdog_withheld:
                self._watchdog_withheld = True
                log.error("watchdog: not pinging systemd (%s); it will restart the service "
                          "if this lasts", self.heartbeats.describe_stale())
        if now >= self._next_rate_poll_s:
            self._next_rate_poll_s = now + RATE_POLL_S
            per_minute = self.rate.poll(self.audio.now_s())
            if self.mqtt is not None:
                self.mqtt.publish_rate(per_minute, self.rate.is_over)
            if not self.event_log.is_on:
                self.event_log.retry()  # space may have returned

    def _show_on_led(self, state: str, muted: bool, follow_up: bool = False) -> None:
        """A failing LED (a GPIO gone, a pin taken) is switched off, not the appliance."""
        if self.led is None:
            return
        try:
            self.led.show(state, muted, follow_up)
        except (GPIOZeroError, OSError) as exc:
            self.led_problem = f"{type(exc).__name__}: {exc}"
            log.error("status LED failed (%s); running without it", self.led_problem)
            led, self.led = self.led, None
            with contextlib.suppress(GPIOZeroError, OSError):  # already broken
                led.close()

    # -- reload and shutdown -------------------------------------------------------------

    def reload(self) -> None:
        """SIGHUP: re-read the config, apply the live keys, name the ones needing a restart."""
        self.notifier.reloading()
        source = self.config_path or "defaults"
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("config reload failed, keeping the running config: %s", exc)
            self.notifier.reloaded()
            return
        changed = changed_keys(self.config, new)
        live = [key for key in changed if key in LIVE_KEYS]
        later = [key for key in changed if key not in LIVE_KEYS]
        self.config = with_keys(self.config, new, live)
        self._apply_live(self.config)
        if not changed:
            log.info("config reloaded from %s: no changes", source)
        else:
            log.info(
                "config reloaded from %s: applied %s; needs a restart to take effect: %s",
                source, ", ".join(live) or "nothing",
                (", ".join(later) + " (sudo systemctl restart bargein)") if later else "nothing",
            )
        self.notifier.reloaded()

    def _apply_live(self, config: Config) -> None:
        self.machine.settings = config.bargein
        self.machine.listen = config.listen
        self.machine.classifier.redirect_after_words = config.bargein.redirect_after_words
        self.machine.classifier.redirect_after_ms = config.bargein.redirect_after_ms
        self.speech.synth.length_scale = config.tts.length_scale
        self.speech.synth.volume = config.tts.volume
        if self.mqtt is not None:
            self.mqtt.publish_volume(config.tts.volume)
        events = config.events
        self.event_log.log_transcripts = events.log_transcripts
        self.event_log.max_bytes = events.event_log_max_bytes
        self.event_log.keep = events.event_log_keep
        self.observer.log_transcripts = events.log_transcripts
        self.rate.window_s = events.rate_window_s
        self.rate.min_span_s = min(self.rate.min_span_s, events.rate_window_s)
        self.rate.warn_per_min = events.rate_warn_per_min

    def _shutdown(self) -> None:
        """Fade the voice out, stop the workers, release devices, close the event log."""
        started_s = time.monotonic()
        self.notifier.stopping()
        self.audio.ring.cut(self.config.bargein.fade_ms)
        time.sleep(SHUTDOWN_FADE_S + self.config.bargein.fade_ms / 1000.0)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("button", lambda: self.button.close() if self.button else None),
            ("MQTT link", lambda: self.mqtt.close() if self.mqtt else None),
            ("status LED", lambda: self.led.close() if self.led else None),
            ("agent", self.pipeline.agents.cancel),
            ("agent client", getattr(self.agent, "close", lambda: None)),
            ("speech synthesis", lambda: self.speech.stop(STOP_TIMEOUT_S)),
            ("speech recognition", lambda: self.recognition.stop(STOP_TIMEOUT_S)),
            ("sound devices", lambda: self.audio.close(STOP_TIMEOUT_S)),
            ("event log", self.event_log.close),
        ]
        for what, step in steps:
            try:
                step()
            except Exception:  # shutdown's boundary: report and go on releasing the rest
                log.exception("stopping the %s failed", what)
        log.info("stopped in %.2f s; event log %s", time.monotonic() - started_s,
                 self.event_log.path)


def run_daemon(config_path: str | None, environ: Mapping[str, str] | None = None) -> int:
    """``bargein run``: load the config and run the daemon to completion."""
    config = load_config(config_path)
    return Daemon(config, config_path, environ=environ).run()
