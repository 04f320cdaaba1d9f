"""The WAV-file pair backend delivers the file's samples and records what the ring plays."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from bargein.audio.playback import PlaybackRing
from bargein.audio.wav_backend import WavMicrophone, WavSpeaker
from bargein.core.errors import AudioDeviceError


def write(path, data: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(data.tobytes())


def test_microphone_picks_the_channel_and_keeps_time(tmp_path):
    n = 16000
    left = (np.arange(n) % 100).astype(np.int16)
    right = -left
    path = tmp_path / "two.wav"
    write(path, np.stack([left, right], axis=1).reshape(-1), 16000, channels=2)
    frames = list(WavMicrophone(path, channel=1, frame_ms=20).frames())
    assert len(frames) == n // 320
    assert [f.t_seconds for f in frames[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert np.array_equal(np.concatenate([f.pcm for f in frames]), right[: len(frames) * 320])


def test_microphone_resamples_and_refuses_bad_files(tmp_path):
    path = tmp_path / "48k.wav"
    write(path, (1000 * np.sin(np.arange(48000) / 10)).astype(np.int16), 48000)
    frames = list(WavMicrophone(path).frames())
    # one second of audio, less the resampler's held-back tail and the last partial frame
    assert 15000 <= sum(len(f.pcm) for f in frames) <= 16000
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(AudioDeviceError, match="WAV"):
        WavMicrophone(bad)
    with pytest.raises(AudioDeviceError, match="channel"):
        WavMicrophone(path, channel=3)


def test_speaker_writes_what_the_ring_played_and_stops_on_cut(tmp_path):
    ring = PlaybackRing(16000, 160)
    tone = (0.5 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    ring.enqueue(tone, 16000, utterance_id=1)
    out = tmp_path / "speaker.wav"
    with WavSpeaker(ring, out) as speaker:
        speaker.play_until(0.5)
        ring.cut(fade_ms=5.0)
        speaker.play_until(1.0)
    with wave.open(str(out), "rb") as wav:
        played = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(played) == 16000
    assert np.abs(played[:7000]).max() > 10000
    assert np.abs(played[8200:]).max() == 0  # silent one period + fade after the cut
