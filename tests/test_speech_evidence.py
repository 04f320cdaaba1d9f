"""Acoustic evidence: voicing tells speech from a cough; continuous speech makes a background."""

from __future__ import annotations

import numpy as np
from speech import espeak_wav

from bargein.audio.speech_evidence import SpeechEvidence, frame_dbfs, periodicity
from bargein.bench.recordings import read_recording
from bargein.bench.scenario import CLIPS_DIR
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

CLIPS = CLIPS_DIR
FRAME = 480  # 30 ms


def frames(pcm: np.ndarray, t0: float = 0.0, level_dbfs: float = -20.0) -> list[AudioFrame]:
    """``pcm`` scaled so its loudest 30 ms is at ``level_dbfs``, cut into 30 ms frames."""
    x = pcm.astype(np.float64)
    loudest = max(frame_dbfs(x[i:i + FRAME].astype(np.int16)) for i in range(0, len(x) - FRAME, FRAME))
    x *= 10 ** ((level_dbfs - loudest) / 20)
    pcm = np.clip(x, -32768, 32767).astype(np.int16)
    return [AudioFrame(pcm[i:i + FRAME], t0 + i / CAPTURE_RATE_HZ)
            for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def span_of(chunks: list[AudioFrame]):
    evidence = SpeechEvidence()
    evidence.begin(chunks[0].t_seconds, [])
    for frame in chunks:
        evidence.observe(frame)
    return evidence.span()


def test_a_vowel_is_periodic_and_noise_is_not():
    t = np.arange(FRAME) / CAPTURE_RATE_HZ
    vowel = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8)) * 8000
    noise = np.random.default_rng(1).normal(0, 3000, FRAME)
    assert periodicity(vowel.astype(np.int16), CAPTURE_RATE_HZ) > 0.9
    assert periodicity(noise.astype(np.int16), CAPTURE_RATE_HZ) < 0.3


def test_speech_is_voiced_and_a_cough_is_not(tmp_path):
    said = span_of(frames(espeak_wav("no, I said Tuesday", tmp_path / "s.wav")))
    cough = span_of(frames(read_recording(CLIPS / "cough.wav")))
    assert said.voiced_ms >= 300
    assert cough.voiced_ms < 90
    assert said.level_dbfs is not None and -30 < said.level_dbfs <= -20


def test_background_speech_needs_a_room_that_talks_most_of_the_time(tmp_path):
    reading = espeak_wav("It was the best of times, it was the worst of times, it was the "
                         "age of wisdom, it was the age of foolishness", tmp_path / "r.wav")
    evidence = SpeechEvidence()
    t = 0.0
    while t < 16.0:  # a radio reading on and on at -40 dBFS
        for frame in frames(reading, t, level_dbfs=-40.0):
            evidence.observe(frame)
        t = frame.end_s
    evidence.begin(t, [])
    background = evidence.span().background_dbfs
    assert background is not None and -48 < background < -38

    quiet = SpeechEvidence()  # one short remark in 16 s of room noise: no background
    rng = np.random.default_rng(2)
    remark = frames(espeak_wav("okay", tmp_path / "o.wav"), 5.0)
    for i in range(int(16.0 / 0.03)):
        frame = AudioFrame(rng.normal(0, 30, FRAME).astype(np.int16), i * 0.03)
        if remark and frame.t_seconds >= remark[0].t_seconds:
            frame = AudioFrame(remark.pop(0).pcm, frame.t_seconds)
        quiet.observe(frame)
    quiet.begin(16.0, [])
    assert quiet.span().background_dbfs is None


def test_a_span_judged_background_joins_the_background(tmp_path):
    reading = frames(espeak_wav("it was the best of times, it was the worst of times, it was "
                                "the age of wisdom", tmp_path / "r.wav"), 0.0, level_dbfs=-36.0)
    evidence = SpeechEvidence()
    evidence.begin(0.0, [])  # the VAD took the whole reading for one span
    for frame in reading:
        evidence.observe(frame)
    evidence.end()
    t = reading[-1].end_s
    evidence.begin(t + 1.0, [])
    assert evidence.span().background_dbfs is None, "a span is nobody's background by itself"
    evidence.end()
    evidence = SpeechEvidence()
    evidence.begin(0.0, [])
    for frame in reading:
        evidence.observe(frame)
    evidence.end()
    evidence.stretch_was_background(0.0)
    evidence.begin(t + 1.0, [])
    background = evidence.span().background_dbfs
    assert background is not None and -46 < background < -36


def test_a_span_judged_background_before_it_ends_joins_the_background(tmp_path):
    reading = frames(espeak_wav("it was the best of times, it was the worst of times, it was "
                                "the age of wisdom", tmp_path / "r.wav"), 0.0, level_dbfs=-36.0)
    evidence = SpeechEvidence()
    evidence.begin(0.0, [])
    for frame in reading:
        evidence.observe(frame)
    evidence.stretch_was_background(0.0)  # its final came while the VAD's hangover ran
    evidence.end()
    evidence.begin(reading[-1].end_s + 1.0, [])
    background = evidence.span().background_dbfs
    assert background is not None and -46 < background < -36

    later = SpeechEvidence()  # judged when the next span had begun: the earlier one joins
    later.begin(0.0, [])
    for frame in reading:
        later.observe(frame)
    later.end()
    later.begin(reading[-1].end_s + 0.5, [])
    later.stretch_was_background(0.0)
    later.end()
    later.begin(reading[-1].end_s + 1.5, [])
    assert later.span().background_dbfs is not None
