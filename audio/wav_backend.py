"""The WAV-file pair backend: a microphone that reads a recording, a speaker that writes one.

The same seams as the real devices and the virtual room: the microphone yields
16 kHz :class:`AudioFrame` s (any file rate or channel count goes through the same
:class:`FrameAssembler` as a real array), the speaker drives a
:class:`PlaybackRing` period by period through ``read_into`` and writes what it
played. Time is the file's own: frame ``t_seconds`` count from the first sample,
and the speaker's periods are stamped on the same clock, so a recorded session
can be replayed through the whole pipeline offline.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bargein.audio.capture import FrameAssembler
from bargein.audio.playback import PlaybackRing
from bargein.core.errors import AudioDeviceError
from bargein.core.frames import AudioFrame

BLOCK_S = 0.1
"""How much of the file is read at a time."""


class WavMicrophone:
    """Frames from a 16-bit PCM WAV file, as a microphone would deliver them."""

    def __init__(self, path: Path | str, *, channel: int = 0, frame_ms: int = 30) -> None:
        self.path = Path(path)
        try:
            with wave.open(str(self.path), "rb") as wav:
                self.rate_hz = wav.getframerate()
                self.channels = wav.getnchannels()
                width = wav.getsampwidth()
        except (OSError, wave.Error, EOFError) as exc:
            raise AudioDeviceError(f"{self.path}: cannot read as a WAV file ({exc}); "
                                   "give a 16-bit PCM WAV") from exc
        if width != 2:
            raise AudioDeviceError(f"{self.path}: {8 * width}-bit samples; convert to 16-bit "
                                   "PCM, e.g. sox IN.wav -b 16 OUT.wav")
        if channel >= self.channels:
            raise AudioDeviceError(f"{self.path}: has {self.channels} channel(s), channel "
                                   f"{channel} asked; set [audio] input_channel lower")
        self._assembler = FrameAssembler(self.rate_hz, self.channels, channel, frame_ms)

    def frames(self) -> Iterator[AudioFrame]:
        """Every whole frame of the file, in order."""
        block = max(1, int(self.rate_hz * BLOCK_S))
        with wave.open(str(self.path), "rb") as wav:
            done = 0
            while True:
                raw = wav.readframes(block)
                if not raw:
                    return
                data = np.frombuffer(raw, dtype=np.int16)
                yield from self._assembler.push(data, done / self.rate_hz)
                done += len(data) // self.channels


class WavSpeaker:
    """Plays a ring into a WAV file: one ``read_into`` per period, like the sound card."""

    def __init__(self, ring: PlaybackRing, path: Path | str) -> None:
        self.ring = ring
        self.path = Path(path)
        self._buf = np.zeros(ring.period_frames, dtype=np.int16)
        self._periods = 0
        self._wav = wave.open(str(self.path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(ring.rate_hz)

    @property
    def now_s(self) -> float:
        return self._periods * self.ring.period_frames / self.ring.rate_hz

    def play_until(self, t_seconds: float) -> None:
        """Hand over every period that starts before ``t_seconds``."""
        while self.now_s < t_seconds:
            self.ring.read_into(self._buf, self.now_s)
            self._wav.writeframes(self._buf.tobytes())
            self._periods += 1

    def close(self) -> None:
        self._wav.close()

    def __enter__(self) -> WavSpeaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
