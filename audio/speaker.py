"""The speaker on PyAudio/ALSA, driven by the playback ring.

The output callback asks the :class:`~bargein.audio.playback.PlaybackRing` for one
period (``period_ms``, at most 10 ms) into a preallocated int16 array and hands that
same array back to PortAudio. ALSA holds only a couple of periods (PortAudio's low
latency setting); everything else waits in our ring, so a cut is heard at once.

A :class:`~bargein.audio.reconnect.DeviceKeeper` reopens the device with back-off when it
is missing, busy or unplugged, independently of the microphone.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pyaudio

from bargein.audio.alsa_quiet import close_stream, open_pyaudio, portaudio_lock
from bargein.audio.devices import DeviceInfo, find_device, open_error
from bargein.audio.playback import PlaybackRing
from bargein.audio.reconnect import DeviceKeeper, KeptDevice
from bargein.audio.settings import AudioSettings
from bargein.core.errors import AudioDeviceError

log = logging.getLogger(__name__)


def speaker_format(settings: AudioSettings) -> tuple[int, int]:
    """``(rate_hz, period_frames)`` to build the :class:`PlaybackRing` with.

    The rate is ``[audio] output_rate_hz``, or the output device's default rate; the
    period is ``period_ms`` at that rate.
    """
    rate_hz = settings.output_rate_hz
    if not rate_hz:
        rate_hz = find_device(settings.output_device, "output").default_rate_hz
    return rate_hz, max(1, rate_hz * settings.period_ms // 1000)


class _OutputPath:
    """The preallocated buffers and the callback for one open stream.

    The callback allocates nothing of its own: the ring fills ``mono`` in place, the
    stereo copy (for devices that cannot open one channel) goes into a preallocated
    interleaved array through a preallocated view, and the returned tuple is built
    once. PyAudio accepts the numpy array as a read-only buffer, so no bytes object is
    made per period; what PyAudio itself allocates (the ``time_info`` dict and the
    arguments) is beyond our control.
    """

    def __init__(self, ring: PlaybackRing, channels: int, latency_s: float) -> None:
        self.ring = ring
        self.latency_s = latency_s
        self.mono = np.zeros(ring.period_frames, dtype=np.int16)
        if channels == 1:
            self.out = self.mono
            self._left = self._right = None
        else:
            self.out = np.zeros((ring.period_frames, channels), dtype=np.int16)
            self._left = self.out[:, 0]
            self._right = self.out[:, 1]
        self._result = (self.out, pyaudio.paContinue)
        self.last_dac_s = 0.0

    def callback(self, in_data, frame_count, time_info, status):  # noqa: ANN001
        dac_s = time_info["output_buffer_dac_time"]
        if not dac_s:  # some host APIs report no DAC time: current time + latency
            dac_s = time_info["current_time"] + self.latency_s
        self.ring.read_into(self.mono, dac_s)
        if self._left is not None:
            np.copyto(self._left, self.mono)
            np.copyto(self._right, self.mono)
        self.last_dac_s = dac_s
        return self._result


class _SpeakerLink:
    """One open output stream and the PortAudio instance it belongs to."""

    def __init__(self, speaker: Speaker) -> None:
        ring, settings = speaker.ring, speaker.settings
        pa = open_pyaudio()
        device: DeviceInfo | None = None
        try:
            with portaudio_lock:
                device = find_device(settings.output_device, "output", pa)
                channels = _channels_to_open(pa, device, ring.rate_hz)
                raw = pa.get_device_info_by_index(device.index)
                latency_s = float(raw["defaultLowOutputLatency"])
                self.path = _OutputPath(ring, channels, latency_s)
                self.stream = pa.open(
                    format=pyaudio.paInt16,
                    channels=channels,
                    rate=ring.rate_hz,
                    output=True,
                    output_device_index=device.index,
                    frames_per_buffer=ring.period_frames,
                    stream_callback=self.path.callback,
                    start=False,
                )
                self.path.latency_s = self.stream.get_output_latency()
                ring.set_output_latency(self.path.latency_s)
                self.stream.start_stream()
        except (OSError, ValueError) as exc:
            with portaudio_lock:
                pa.terminate()
            if isinstance(exc, AudioDeviceError) or device is None:
                raise
            raise open_error(device, "output", exc) from exc
        self.pa = pa
        self.device = device
        self._stall_s = speaker.stall_s
        self._seen_dac_s = self.path.last_dac_s
        self._seen_at = time.monotonic()
        period_ms = ring.period_frames * 1000 / ring.rate_hz
        self.description = (
            f"{device.describe()}, {channels} ch at {ring.rate_hz} Hz, period {period_ms:.1f} ms, "
            f"output latency {self.path.latency_s * 1000:.1f} ms"
        )

    def problem(self) -> str | None:
        if not self.stream.is_active():
            return "the output stream stopped (device unplugged or failed)"
        now = time.monotonic()
        dac_s = self.path.last_dac_s
        if dac_s != self._seen_dac_s:
            self._seen_dac_s, self._seen_at = dac_s, now
        elif now - self._seen_at > self._stall_s:
            return f"{self.device.describe()} took no audio for {self._stall_s:.1f} s"
        return None

    def close(self) -> None:
        close_stream(self.pa, self.stream)


def _channels_to_open(pa: pyaudio.PyAudio, device: DeviceInfo, rate_hz: int) -> int:
    """1, or 2 for devices (raw ``hw:`` PCMs) that cannot play mono."""
    for channels in (1, 2):
        if channels > device.max_output_channels:
            break
        try:
            pa.is_format_supported(
                rate_hz,
                output_device=device.index,
                output_channels=channels,
                output_format=pyaudio.paInt16,
            )
            return channels
        except ValueError:
            continue
    raise AudioDeviceError(
        f"{device.describe()} cannot play 16-bit audio at {rate_hz} Hz; set [audio] "
        "output_rate_hz to its rate (see `bargein devices`) or pick another output_device"
    )


class Speaker(KeptDevice):
    """Plays a :class:`PlaybackRing` on a PyAudio output device, reconnecting when lost.

    The ring must be built at the rate and period the device will be opened with (see
    :func:`speaker_format`).
    """

    def __init__(
        self,
        ring: PlaybackRing,
        settings: AudioSettings,
        *,
        backoff_start_s: float = 0.25,
        stall_s: float = 2.0,
    ) -> None:
        self.ring = ring
        self.settings = settings
        self.stall_s = stall_s
        self._keeper = DeviceKeeper(
            "speaker",
            lambda: _SpeakerLink(self),
            backoff_start_s=backoff_start_s,
            backoff_max_s=settings.reconnect_backoff_max_s,
        )

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop playback and release the device; raises if the keeper does not stop."""
        super().close(timeout_s)
