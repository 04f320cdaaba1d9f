"""The daemon on the virtual room, paced in real time: ``[audio] backend = "virtual"``.

A thread steps the :class:`~bargein.audio.virtual_room.VirtualRoom` one capture frame
at a time and sleeps to the frame clock, so the daemon runs exactly as on a Pi with
no sound card at all: the room plays the playback ring as the speaker and hands the
loop what its mic hears. The mic goes through the same
:class:`~bargein.audio.reconnect.DeviceKeeper` as a USB mic, so unplugging it is
logged, retried with back-off and recovered the same way.

Test and perf hooks (environment variables, read only with the virtual backend):

``BARGEIN_VIRTUAL_CONTROL=/path/file``
    A control file the room's thread follows like ``tail -f``; each appended line is
    one command, run on the room's thread at the next frame:

    - ``say WAV [LEVEL_DB]``: a user speaks the WAV file from now (active level
      ``LEVEL_DB`` dBFS, default -26);
    - ``unplug-mic`` / ``replug-mic``: pull the virtual USB mic out / put it back;
    - ``stall-capture SECONDS``: the audio thread hangs that long (the watchdog test);
    - ``press-button``: press and release the GPIO button (gpiozero mock pins only).

``BARGEIN_VIRTUAL_SPEED=4``
    Virtual seconds per real second (default 1): the soak test runs faster than real time.

``BARGEIN_VIRTUAL_RECORD=/path/dir``
    Keep everything the speaker played and the mic heard, and write them there as
    ``speaker.wav`` and ``mic.wav`` when the daemon stops (demos; without it the room
    keeps only the last few seconds).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bargein.audio.playback import PlaybackRing
from bargein.audio.reconnect import DeviceKeeper
from bargein.audio.settings import AudioSettings
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.core.errors import AudioDeviceError, ConfigError
from bargein.core.frames import AudioFrame, read_wav, write_wav
from bargein.device.heartbeat import CAPTURE, PLAYBACK, Heartbeats

log = logging.getLogger(__name__)

CONTROL_ENV = "BARGEIN_VIRTUAL_CONTROL"
SPEED_ENV = "BARGEIN_VIRTUAL_SPEED"
RECORD_ENV = "BARGEIN_VIRTUAL_RECORD"
VIRTUAL_RATE_HZ = 16_000
"""Speaker rate of the virtual room when ``[audio] output_rate_hz`` is 0."""
HISTORY_S = 5.0
"""Audio the room keeps (the echo path needs well under a second): nothing is stored."""
DEFAULT_LEVEL_DB = -26.0
_CONTROL_POLL_S = 0.1


class _VirtualMicLink:
    """The virtual mic as a device link: open while the room's mic is plugged in."""

    description = "virtual room microphone, 1 ch at 16000 Hz"

    def __init__(self, audio: VirtualAudio) -> None:
        if audio.mic_problem is not None:
            raise AudioDeviceError(audio.mic_problem)
        self._audio = audio

    def problem(self) -> str | None:
        return self._audio.mic_problem

    def close(self) -> None:
        """The room owns the audio: nothing to release here."""


class VirtualAudio:
    """A virtual room driven in real time (times ``speed``) on its own thread."""

    def __init__(
        self,
        settings: AudioSettings,
        heartbeats: Heartbeats,
        *,
        environ: Mapping[str, str] | None = None,
        press_button: Callable[[], None] | None = None,
        room_settings: RoomSettings | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.heartbeats = heartbeats
        self.press_button = press_button
        try:
            self.speed = float(env.get(SPEED_ENV, "1") or "1")
        except ValueError as exc:
            raise ConfigError(f"${SPEED_ENV} must be a number such as 1 or 4 ({exc})") from exc
        if not 0.1 <= self.speed <= 100.0:
            raise ConfigError(f"${SPEED_ENV}={self.speed} is out of range; use 0.1 to 100")
        control = env.get(CONTROL_ENV, "")
        self.control_path = Path(control) if control else None
        record = env.get(RECORD_ENV, "")
        self.record_dir = Path(record) if record else None
        rate_hz = settings.output_rate_hz or VIRTUAL_RATE_HZ
        self.ring = PlaybackRing(
            rate_hz, max(1, rate_hz * settings.period_ms // 1000), capacity_s=settings.ring_s
        )
        base = room_settings or RoomSettings()
        self.room = VirtualRoom(
            RoomSettings(**{**base.__dict__, "frame_ms": settings.frame_ms,
                            "history_s": math.inf if self.record_dir else HISTORY_S}),
            self.ring,
        )
        self.frame_s = settings.frame_ms / 1000.0
        self.echo_delay_s = self.room.settings.echo_delay_ms / 1000.0
        self.mic_problem: str | None = None
        self._frames: queue.Queue[AudioFrame] = queue.Queue(maxsize=max(2, round(2.0 / self.frame_s)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="virtual-audio", daemon=True)
        self._keeper = DeviceKeeper(
            "microphone", lambda: _VirtualMicLink(self),
            backoff_start_s=0.25, backoff_max_s=settings.reconnect_backoff_max_s,
        )
        self._control_offset = 0
        self._control_rest = b""
        self._next_control_s = 0.0
        self._now_s = 0.0

    # -- AudioIO -------------------------------------------------------------------------

    def start(self) -> None:
        log.info(
            "virtual room: no sound card; paced at %.1fx real time%s", self.speed,
            f", control file {self.control_path}" if self.control_path else "",
        )
        self._keeper.start()
        self._thread.start()

    def wait_open(self, timeout_s: float) -> bool:
        return self._keeper.wait_connected(timeout_s)

    def read(self, timeout_s: float) -> AudioFrame | None:
        try:
            return self._frames.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def now_s(self) -> float:
        return self._now_s

    def lost(self) -> list[str]:
        return [] if self._keeper.connected else ["microphone"]

    def poll_health(self) -> None:
        pass  # the room's thread beats both heartbeats itself

    def close(self, timeout_s: float) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise RuntimeError(f"virtual audio thread did not stop within {timeout_s} s")
        self._keeper.stop(timeout_s)
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            write_wav(self.record_dir / "speaker.wav", self.room.speaker_audio(),
                      self.room.speaker_rate_hz)
            write_wav(self.record_dir / "mic.wav", self.room.mic_audio(), 16_000)
            log.info("virtual room: speaker and mic written to %s", self.record_dir)

    # -- the room's thread -------------------------------------------------------------

    def _run(self) -> None:
        started_s = time.monotonic()
        frames = 0
        while not self._stop.is_set():
            self._follow_control()
            try:
                frame = self.room.step()
            except AudioDeviceError as exc:
                self.mic_problem = str(exc)
                frame = None
            else:
                self.mic_problem = None
            self._now_s = self.room.now_s
            self.heartbeats.beat(PLAYBACK)
            self.heartbeats.beat(CAPTURE)  # a lost mic is the keeper's business, not a stall
            if frame is not None and self._keeper.connected:
                try:
                    self._frames.put_nowait(frame)
                except queue.Full:
                    log.debug("loop is behind: capture frame at %.3f s dropped", frame.t_seconds)
            frames += 1
            due_s = started_s + frames * self.frame_s / self.speed
            delay_s = due_s - time.monotonic()
            if delay_s > 0:
                self._stop.wait(delay_s)
            elif delay_s < -1.0:  # fell far behind (a stall): restart the pacing from now
                started_s, frames = time.monotonic(), 0

    def _follow_control(self) -> None:
        if self.control_path is None:
            return
        now = time.monotonic()
        if now < self._next_control_s:
            return
        self._next_control_s = now + _CONTROL_POLL_S
        try:
            with self.control_path.open("rb") as fh:
                fh.seek(self._control_offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self._control_offset += len(data)
        data = self._control_rest + data
        *lines, self._control_rest = data.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if line and not line.startswith("#"):
                self._command(line)

    def _command(self, line: str) -> None:
        words = shlex.split(line)
        name, args = words[0], words[1:]
        log.info("virtual room control: %s", line)
        try:
            if name == "unplug-mic":
                self.room.unplug_mic()
            elif name == "replug-mic":
                self.room.replug_mic()
            elif name == "stall-capture":
                seconds = float(args[0])
                log.warning("virtual audio thread stalling for %.1f s (test hook)", seconds)
                self._stop.wait(seconds)
            elif name == "say":
                pcm, rate_hz = read_wav(args[0])
                level_db = float(args[1]) if len(args) > 1 else DEFAULT_LEVEL_DB
                self.room.add_clip(pcm, rate_hz, self.room.now_s, level_db)
            elif name == "press-button":
                if self.press_button is None:
                    log.warning("virtual room control: no button to press")
                else:
                    self.press_button()
            else:
                log.warning("virtual room control: unknown command %r", name)
        except (IndexError, ValueError, OSError) as exc:
            log.warning("virtual room control: %r failed: %s", line, exc)
