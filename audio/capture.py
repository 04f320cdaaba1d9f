"""The microphone on PyAudio/ALSA, and turning device blocks into 16 kHz frames.

:class:`FrameAssembler` is pure: raw interleaved int16 blocks at any rate and channel
count in, :class:`~bargein.core.frames.AudioFrame` of exactly ``frame_ms`` out.

:class:`Microphone` opens the device in callback mode. The callback only copies the
block into a bounded queue and returns; frames are assembled on the consumer's thread.
A :class:`~bargein.audio.reconnect.DeviceKeeper` reopens the device with back-off when
it is missing, busy or unplugged, and never touches the speaker.

The capture clock is PortAudio's stream clock, which on Linux/ALSA is CLOCK_MONOTONIC
(``time.monotonic()``); the speaker's DAC times are on the same clock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyaudio
import soxr

from bargein.audio.alsa_quiet import close_stream, open_pyaudio, portaudio_lock
from bargein.audio.devices import DeviceInfo, find_device, open_error
from bargein.audio.reconnect import DeviceKeeper, KeptDevice
from bargein.audio.settings import AudioSettings
from bargein.core.errors import AudioDeviceError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

MAX_ARRAY_CHANNELS = 16
"""Devices reporting more input channels than this are ALSA plugins ("default", "pulse",
which report 128), not arrays: we open only the channels we use and let ALSA route."""

_OVERFLOW_LOG_INTERVAL_S = 10.0


class FrameAssembler:
    """Raw device blocks in, 16 kHz mono frames of exactly ``frame_ms`` out.

    ``channel`` picks one channel of the interleaved input; -1 mixes all of them.
    Frames are timestamped on the capture clock: the first block after a (re)start
    anchors the time (its ADC time), later frames advance by samples, so timestamps
    are continuous. Call :meth:`push` with ``discontinuity=True`` after audio was lost
    (dropped blocks): the partial frame is discarded and the clock re-anchors.
    """

    def __init__(
        self,
        input_rate_hz: int,
        input_channels: int,
        channel: int = 0,
        frame_ms: int = 30,
        output_rate_hz: int = CAPTURE_RATE_HZ,
    ) -> None:
        if input_channels < 1:
            raise ValueError(f"input_channels must be at least 1, not {input_channels}")
        if not -1 <= channel < input_channels:
            raise ValueError(
                f"channel {channel} does not exist on a {input_channels}-channel input "
                "(use 0..channels-1, or -1 to mix)"
            )
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"frame_ms must be 10, 20 or 30, not {frame_ms}")
        self.input_rate_hz = int(input_rate_hz)
        self.input_channels = int(input_channels)
        self.channel = int(channel)
        self.frame_ms = int(frame_ms)
        self.output_rate_hz = int(output_rate_hz)
        self.frame_samples = self.output_rate_hz * self.frame_ms // 1000
        self._pending = np.zeros(4 * self.frame_samples, dtype=np.int16)
        self._pending_n = 0
        self._resampler: soxr.ResampleStream | None = None
        self._anchor_s: float | None = None
        self._emitted = 0  # output samples emitted as frames since the anchor
        self._restart()

    @property
    def resampling(self) -> bool:
        return self.input_rate_hz != self.output_rate_hz

    def _restart(self) -> None:
        self._pending_n = 0
        self._anchor_s = None
        self._emitted = 0
        if self.resampling:
            self._resampler = soxr.ResampleStream(
                self.input_rate_hz, self.output_rate_hz, 1, dtype="int16", quality="HQ"
            )

    def _mono(self, block: np.ndarray) -> np.ndarray:
        if self.input_channels == 1:
            return block
        usable = len(block) - len(block) % self.input_channels
        frames = block[:usable].reshape(-1, self.input_channels)
        if self.channel >= 0:
            return np.ascontiguousarray(frames[:, self.channel])
        mixed = frames.mean(axis=1, dtype=np.float32)
        return np.rint(mixed).astype(np.int16)

    def push(
        self, block: bytes | np.ndarray, adc_time_s: float, *, discontinuity: bool = False
    ) -> list[AudioFrame]:
        """Add one device block (interleaved int16) whose first sample was captured at
        ``adc_time_s``; returns the frames completed by it (possibly none)."""
        if discontinuity:
            self._restart()
        if self._anchor_s is None:
            self._anchor_s = float(adc_time_s)
        samples = np.frombuffer(block, dtype=np.int16) if isinstance(block, bytes) else block
        mono = self._mono(samples.astype(np.int16, copy=False))
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        need = self._pending_n + len(mono)
        if need > len(self._pending):
            grown = np.zeros(max(need, 2 * len(self._pending)), dtype=np.int16)
            grown[: self._pending_n] = self._pending[: self._pending_n]
            self._pending = grown
        self._pending[self._pending_n : need] = mono
        self._pending_n = need
        frames = []
        start = 0
        while self._pending_n - start >= self.frame_samples:
            pcm = self._pending[start : start + self.frame_samples].copy()
            t_seconds = self._anchor_s + self._emitted / self.output_rate_hz
            frames.append(AudioFrame(pcm=pcm, t_seconds=t_seconds, rate_hz=self.output_rate_hz))
            self._emitted += self.frame_samples
            start += self.frame_samples
        if start:
            rest = self._pending_n - start
            self._pending[:rest] = self._pending[start : self._pending_n]
            self._pending_n = rest
        return frames


@dataclass(frozen=True)
class _BlockFormat:
    """The format of one open stream; a new object per connection."""

    rate_hz: int
    channels: int


class _MicLink:
    """One open input stream and the PortAudio instance it belongs to."""

    def __init__(self, mic: Microphone) -> None:
        settings = mic.settings
        pa = open_pyaudio()
        device: DeviceInfo | None = None
        try:
            with portaudio_lock:
                device = find_device(settings.input_device, "input", pa)
                channels = _channels_to_open(device, settings)
                if settings.input_channel >= channels:
                    raise AudioDeviceError(
                        f"[audio] input_channel {settings.input_channel} does not exist: "
                        f"{device.describe()} is opened with {channels} channels; "
                        "use a lower channel or -1 to mix"
                    )
                rate_hz = mic.rate_hz or _pick_rate(pa, device, channels)
                self.fmt = _BlockFormat(rate_hz=rate_hz, channels=channels)
                self.block_frames = rate_hz * settings.frame_ms // 1000
                self.stream = pa.open(
                    format=pyaudio.paInt16,
                    channels=channels,
                    rate=rate_hz,
                    input=True,
                    input_device_index=device.index,
                    frames_per_buffer=self.block_frames,
                    stream_callback=mic._make_callback(self.fmt),
                )
        except (OSError, ValueError) as exc:
            with portaudio_lock:
                pa.terminate()
            if isinstance(exc, AudioDeviceError) or device is None:
                raise
            raise open_error(device, "input", exc) from exc
        self.pa = pa
        self.device = device
        self._mic = mic
        self._stall_s = mic.stall_s
        self._seen_blocks = mic._blocks_in
        self._seen_at = time.monotonic()
        used = "mixing all channels" if settings.input_channel < 0 else (
            f"using channel {settings.input_channel}"
        )
        resample = "" if rate_hz == CAPTURE_RATE_HZ else f", resampled to {CAPTURE_RATE_HZ} Hz"
        self.description = (
            f"{device.describe()}, {channels} ch at {rate_hz} Hz, {used}{resample}, "
            f"input latency {self.stream.get_input_latency() * 1000:.1f} ms"
        )

    def problem(self) -> str | None:
        if not self.stream.is_active():
            return "the input stream stopped (device unplugged or failed)"
        blocks = self._mic._blocks_in
        now = time.monotonic()
        if blocks != self._seen_blocks:
            self._seen_blocks, self._seen_at = blocks, now
        elif now - self._seen_at > self._stall_s:
            return f"no audio from {self.device.describe()} for {self._stall_s:.1f} s"
        return None

    def close(self) -> None:
        close_stream(self.pa, self.stream)


def _channels_to_open(device: DeviceInfo, settings: AudioSettings) -> int:
    if settings.input_channels:
        if settings.input_channels > device.max_input_channels:
            raise AudioDeviceError(
                f"[audio] input_channels {settings.input_channels} is more than "
                f"{device.describe()} has ({device.max_input_channels}); lower it or use 0"
            )
        return settings.input_channels
    if device.max_input_channels <= MAX_ARRAY_CHANNELS:
        return device.max_input_channels
    return max(1, settings.input_channel + 1)


def _pick_rate(pa: pyaudio.PyAudio, device: DeviceInfo, channels: int) -> int:
    try:
        pa.is_format_supported(
            CAPTURE_RATE_HZ,
            input_device=device.index,
            input_channels=channels,
            input_format=pyaudio.paInt16,
        )
        return CAPTURE_RATE_HZ
    except ValueError:
        return device.default_rate_hz


class Microphone(KeptDevice):
    """16 kHz mono frames from a PyAudio input device, reconnecting when it is lost.

    ``rate_hz`` forces the device rate (otherwise 16 kHz when the device can, else its
    default rate, resampled). ``queue_s`` bounds the audio waiting for the consumer; when
    it is full new blocks are dropped, counted and logged, and timestamps re-anchor.
    """

    def __init__(
        self,
        settings: AudioSettings,
        *,
        rate_hz: int | None = None,
        backoff_start_s: float = 0.25,
        stall_s: float = 2.0,
        queue_s: float = 2.0,
    ) -> None:
        self.settings = settings
        self.rate_hz = rate_hz
        self.stall_s = stall_s
        max_blocks = max(2, round(queue_s * 1000 / settings.frame_ms))
        self._queue: queue.Queue = queue.Queue(maxsize=max_blocks)
        self._blocks_in = 0
        self._dropped_blocks = 0
        self._ready: deque[AudioFrame] = deque()
        self._fmt: _BlockFormat | None = None
        self._assembler: FrameAssembler | None = None
        self._seen_dropped = 0
        self._last_overflow_log_s = -_OVERFLOW_LOG_INTERVAL_S
        self._closed = threading.Event()
        self._keeper = DeviceKeeper(
            "microphone",
            lambda: _MicLink(self),
            backoff_start_s=backoff_start_s,
            backoff_max_s=settings.reconnect_backoff_max_s,
        )

    # -- device side -------------------------------------------------------------
    def _make_callback(self, fmt: _BlockFormat):  # noqa: ANN202 - PortAudio's signature
        put = self._queue.put_nowait

        def callback(in_data, frame_count, time_info, status):  # noqa: ANN001
            # Copy and leave: the bytes object is PyAudio's; only a tuple is added here.
            adc_s = time_info["input_buffer_adc_time"] or time_info["current_time"]
            self._blocks_in += 1
            try:
                put((fmt, in_data, adc_s, self._dropped_blocks))
            except queue.Full:
                self._dropped_blocks += 1
            return (None, pyaudio.paContinue)

        return callback

    # -- lifecycle ---------------------------------------------------------------
    def close(self, timeout_s: float = 5.0) -> None:
        """Stop capture and release the device; raises if the keeper does not stop."""
        self._closed.set()
        try:
            self._queue.put_nowait(None)  # wake a reader
        except queue.Full:
            pass  # a full queue wakes the reader anyway
        super().close(timeout_s)

    @property
    def dropped_blocks(self) -> int:
        """Blocks dropped because the consumer fell behind by more than ``queue_s``."""
        return self._dropped_blocks

    # -- consumer side -----------------------------------------------------------
    def read(self, timeout_s: float) -> AudioFrame | None:
        """The next frame, or None if none came within ``timeout_s`` or the mic is closed."""
        deadline = time.monotonic() + timeout_s
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed.is_set():
                return None
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return None
            if item is None:
                return None
            self._assemble(*item)
        return self._ready.popleft()

    def frames(self, timeout_s: float) -> Iterator[AudioFrame]:
        """Frames as they come; ends when the mic is closed or none came within
        ``timeout_s`` (the device may be lost: call again to keep waiting)."""
        while (frame := self.read(timeout_s)) is not None:
            yield frame

    def _assemble(self, fmt: _BlockFormat, data: bytes, adc_s: float, dropped: int) -> None:
        if fmt is not self._fmt:
            self._fmt = fmt
            self._assembler = FrameAssembler(
                fmt.rate_hz,
                fmt.channels,
                self.settings.input_channel,
                self.settings.frame_ms,
            )
            self._seen_dropped = dropped
        assert self._assembler is not None
        discontinuity = dropped != self._seen_dropped
        if discontinuity:
            now = time.monotonic()
            if now - self._last_overflow_log_s >= _OVERFLOW_LOG_INTERVAL_S:
                log.warning(
                    "microphone overflow: %d blocks dropped so far (the consumer fell "
                    "behind); timestamps re-anchored",
                    dropped,
                )
                self._last_overflow_log_s = now
            self._seen_dropped = dropped
        self._ready.extend(self._assembler.push(data, adc_s, discontinuity=discontinuity))
