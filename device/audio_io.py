"""The daemon's sound seam: real devices (PyAudio/ALSA) behind the same small
interface as the virtual room (:mod:`bargein.device.virtual_audio`), one chosen by
``[audio] backend`` as gpiozero chooses a pin factory (:func:`open_audio`).

Both deliver 16 kHz capture frames to the loop, own the playback ring, keep each
device open with reconnect and back-off, and beat the ``capture`` and ``playback``
heartbeats while the device makes progress or is known lost (a lost device is a
logged state the daemon rides out; only a stuck thread should stop the watchdog).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from bargein.audio.capture import Microphone
from bargein.audio.playback import PlaybackRing
from bargein.audio.settings import AudioSettings
from bargein.audio.speaker import Speaker, speaker_format
from bargein.core.errors import AudioDeviceError
from bargein.core.frames import AudioFrame
from bargein.device.heartbeat import CAPTURE, PLAYBACK, Heartbeats

log = logging.getLogger(__name__)

FALLBACK_OUTPUT_RATE_HZ = 48_000
"""Ring rate when the speaker is absent at start and ``output_rate_hz`` is 0."""


class AudioIO(Protocol):
    ring: PlaybackRing
    echo_delay_s: float
    """Nominal delay of the speaker's sound reaching the mic beyond the ring tap's times
    (the air path): the echo reference's starting point."""

    def start(self) -> None: ...

    def wait_open(self, timeout_s: float) -> bool:
        """Block until mic and speaker are both open (True) or ``timeout_s`` passed."""
        ...

    def read(self, timeout_s: float) -> AudioFrame | None:
        """The next capture frame, or None within ``timeout_s``."""
        ...

    def now_s(self) -> float:
        """The capture clock now (button presses are stamped with it)."""
        ...

    def lost(self) -> list[str]:
        """Devices that are not open right now ("microphone", "speaker")."""
        ...

    def poll_health(self) -> None:
        """Called by the loop: beat heartbeats that are sampled rather than pushed."""
        ...

    def close(self, timeout_s: float) -> None: ...


class DeviceAudio:
    """Microphone and speaker through PyAudio/ALSA, each with its own reconnect loop."""

    def __init__(self, settings: AudioSettings, heartbeats: Heartbeats) -> None:
        self.settings = settings
        self.heartbeats = heartbeats
        try:
            rate_hz, period_frames = speaker_format(settings)
        except AudioDeviceError as exc:
            rate_hz = FALLBACK_OUTPUT_RATE_HZ
            period_frames = max(1, rate_hz * settings.period_ms // 1000)
            log.warning("speaker format unknown (%s); building the ring at %d Hz", exc, rate_hz)
        self.ring = PlaybackRing(rate_hz, period_frames, capacity_s=settings.ring_s)
        self.echo_delay_s = 0.0  # the tap has the DAC times; the air path is ~1 ms
        self.mic = Microphone(settings)
        self.speaker = Speaker(self.ring, settings)
        self._seen_dac_s: float | None = None

    def start(self) -> None:
        self.speaker.start()
        self.mic.start()

    def wait_open(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        ok = self.speaker.wait_connected(timeout_s)
        return self.mic.wait_connected(max(0.0, deadline - time.monotonic())) and ok

    def read(self, timeout_s: float) -> AudioFrame | None:
        frame = self.mic.read(timeout_s)
        if frame is not None or not self.mic.connected:
            self.heartbeats.beat(CAPTURE)
        return frame

    def now_s(self) -> float:
        return time.monotonic()  # PortAudio's stream clock on Linux/ALSA

    def lost(self) -> list[str]:
        lost = []
        if not self.mic.connected:
            lost.append("microphone")
        if not self.speaker.connected:
            lost.append("speaker")
        return lost

    def poll_health(self) -> None:
        link = self.speaker.keeper.link
        if link is None or not self.speaker.connected:
            self.heartbeats.beat(PLAYBACK)
            return
        dac_s = link.path.last_dac_s  # type: ignore[attr-defined]
        if dac_s != self._seen_dac_s:
            self._seen_dac_s = dac_s
            self.heartbeats.beat(PLAYBACK)

    def close(self, timeout_s: float) -> None:
        try:
            self.mic.close(timeout_s)
        finally:
            self.speaker.close(timeout_s)


def open_audio(settings: AudioSettings, heartbeats: Heartbeats, *,
               environ: Mapping[str, str] | None = None,
               press_button: Callable[[], None] | None = None) -> AudioIO:
    """The sound backend ``settings.backend`` names: ``device`` (PyAudio/ALSA) or
    ``virtual`` (the virtual room in real time; ``press_button`` serves its control
    socket's ``press-button``)."""
    if settings.backend == "virtual":
        from bargein.device.virtual_audio import VirtualAudio

        return VirtualAudio(settings, heartbeats, environ=environ, press_button=press_button)
    return DeviceAudio(settings, heartbeats)
