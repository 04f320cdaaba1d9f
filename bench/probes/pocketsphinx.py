"""pocketsphinx figures for ``bargein perf`` (the bundled en-us model, espeak-ng speech).

- ``pocketsphinx_rtf``: CPU time / audio time of the main recognizer decoding whole
  espeak-ng sentences in 30 ms frames (partials, endpoints and finals included);
  ``pocketsphinx_spotter_rtf`` the same for the keyphrase spotter.
- ``pocketsphinx_rss_mb``: resident memory of a fresh process once it has loaded the
  main recognizer and the spotter (the interpreter included, Vosk not loaded);
  ``pocketsphinx_rss_after_decode_mb`` after it decoded a sentence.
- ``pocketsphinx_partial_ms_p50`` / ``_p95``: from a word's true end in the audio to
  the first partial holding that word (same text, times overlapping the word), on the
  capture clock: the audio fed up to that partial minus the word's end. The sentences
  are built from separately synthesised words with 80 ms gaps, so every word's end is
  known. Decode time is not included (see the RTF). Negative: the word showed before
  its last sound was fed (the decoder guessed it from its start).
  ``pocketsphinx_partial_words_found`` of ``pocketsphinx_partial_words`` says how many
  words ever showed up (the bundled model misses many of espeak-ng's).
- ``pocketsphinx_spotter_stop_ms_p50`` / ``_p95``: the same for the spotter and the
  word "stop" inside sentences; ``_found`` of ``pocketsphinx_spotter_stops``.

The quick run uses one voice and fewer sentences.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bargein.asr.engine import Recognizer
from bargein.asr.pocketsphinx_engine import PocketsphinxRecognizer
from bargein.asr.pocketsphinx_spotter import make_pocketsphinx_spotter
from bargein.asr.results import Partial
from bargein.bench.espeak import espeak_pcm
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame, to_int16

FRAME_SAMPLES = 480
GAP_S = 0.08
LEAD_S = 0.5
TAIL_S = 1.0
OVERLAP_SLACK_S = 0.1
_LOUD = 300
VOICES = (("en-us", None), ("en-us+m3", 140), ("en-us+f3", None))
SENTENCES = (
    "what is the weather like in london",
    "please turn off the kitchen lights",
    "tell me a story about a little dog",
    "set an alarm for seven in the morning",
)
STOP_SENTENCES = (
    "i think we should stop now",
    "could you stop the music please",
    "okay stop talking",
    "please stop",
)
WARM_UP = ("hello there, how are you doing today? I am fine, thank you.",
           "the quick brown fox jumps over the lazy dog")
START_T_S = 1000.0


@dataclass(frozen=True)
class _Spoken:
    """A sentence of separately synthesised words and where each word is, in seconds."""

    pcm: np.ndarray
    words: tuple[tuple[str, float, float], ...]


def _word_pcm(word: str, voice: tuple[str, int | None]) -> np.ndarray:
    pcm = to_int16(np.asarray(espeak_pcm(word, voice[0], voice[1])))
    loud = np.nonzero(np.abs(pcm) > _LOUD)[0]
    return pcm[loud[0] : loud[-1] + 1]


def spoken_sentence(text: str, voice: tuple[str, int | None]) -> _Spoken:
    """``text`` word by word, ``GAP_S`` apart, with silence around: the words' spans known."""
    parts = [np.zeros(int(LEAD_S * CAPTURE_RATE_HZ), np.int16)]
    at = len(parts[0])
    spans = []
    gap = np.zeros(int(GAP_S * CAPTURE_RATE_HZ), np.int16)
    for word in text.split():
        pcm = _word_pcm(word, voice)
        spans.append((word, at / CAPTURE_RATE_HZ, (at + len(pcm)) / CAPTURE_RATE_HZ))
        parts += [pcm, gap]
        at += len(pcm) + len(gap)
    parts.append(np.zeros(int(TAIL_S * CAPTURE_RATE_HZ), np.int16))
    return _Spoken(np.concatenate(parts), tuple(spans))


def _warm(rec: Recognizer, voice: tuple[str, int | None]) -> None:
    for text in WARM_UP:
        rec.absorb(to_int16(np.asarray(espeak_pcm(text, voice[0], voice[1]))))
    rec.reset(START_T_S)


def word_latencies_ms(rec: Recognizer, spoken: _Spoken,
                      only: str | None = None) -> tuple[list[float], int, float, float]:
    """Feed ``spoken`` in 30 ms frames from ``START_T_S``: (latency of each word found, in
    ms; words looked for; CPU seconds; audio seconds). ``only`` restricts to one word."""
    rec.reset(START_T_S)
    wanted = [(w, START_T_S + s, START_T_S + e) for w, s, e in spoken.words
              if only is None or w == only]
    found: dict[int, float] = {}
    started_cpu_s = time.thread_time()
    for i in range(0, len(spoken.pcm), FRAME_SAMPLES):
        frame = AudioFrame(spoken.pcm[i : i + FRAME_SAMPLES], START_T_S + i / CAPTURE_RATE_HZ)
        for event in rec.accept(frame):
            if not isinstance(event, Partial):
                continue
            for k, (text, start_s, end_s) in enumerate(wanted):
                if k in found:
                    continue
                if any(w.text == text and w.start_s < end_s + OVERLAP_SLACK_S
                       and w.end_s > start_s - OVERLAP_SLACK_S for w in event.words):
                    found[k] = (event.t_seconds - end_s) * 1000.0
    rec.finish()
    cpu_s = time.thread_time() - started_cpu_s
    return list(found.values()), len(wanted), cpu_s, len(spoken.pcm) / CAPTURE_RATE_HZ


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


_RSS_CHILD = """
import sys, numpy as np
from bargein.asr.pocketsphinx_engine import PocketsphinxRecognizer
from bargein.asr.pocketsphinx_spotter import make_pocketsphinx_spotter
from bargein.core.frames import AudioFrame
def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status")
                if l.startswith("VmRSS:")) / 1024
pcm = np.frombuffer(sys.stdin.buffer.read(), np.int16)
rec = PocketsphinxRecognizer()
spotter = make_pocketsphinx_spotter(["stop", "wait", "cancel", "never mind"])
loaded = rss_mb()
for i in range(0, len(pcm), 480):
    frame = AudioFrame(pcm[i:i + 480], i / 16000)
    rec.accept(frame)
    spotter.accept(frame)
rec.finish()
assert "vosk" not in sys.modules
print(loaded, rss_mb())
"""


def _child_rss_mb(pcm: np.ndarray) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", _RSS_CHILD], input=pcm.tobytes(),
                          capture_output=True, check=True, timeout=300)
    loaded, decoded = done.stdout.split()[-2:]
    return float(loaded), float(decoded)


def figures(quick: bool) -> dict[str, float]:
    voices = VOICES[:1] if quick else VOICES
    sentences = SENTENCES[:2] if quick else SENTENCES
    stops = STOP_SENTENCES[:2] if quick else STOP_SENTENCES
    latencies, wanted, cpu_s, audio_s = [], 0, 0.0, 0.0
    stop_latencies, stop_wanted, spot_cpu_s, spot_audio_s = [], 0, 0.0, 0.0
    for voice in voices:
        rec = PocketsphinxRecognizer()
        _warm(rec, voice)
        spotter = make_pocketsphinx_spotter(["stop", "wait", "cancel", "never mind", "hold on"])
        assert spotter is not None, "the bundled dictionary knows the command words"
        _warm(spotter, voice)
        for text in sentences:
            found, n, cpu, audio = word_latencies_ms(rec, spoken_sentence(text, voice))
            latencies += found
            wanted += n
            cpu_s += cpu
            audio_s += audio
        for text in stops:
            found, n, cpu, audio = word_latencies_ms(spotter, spoken_sentence(text, voice),
                                                     only="stop")
            stop_latencies += found
            stop_wanted += n
            spot_cpu_s += cpu
            spot_audio_s += audio
    loaded_mb, decoded_mb = _child_rss_mb(spoken_sentence(SENTENCES[0], VOICES[0]).pcm)
    return {
        "pocketsphinx_rtf": cpu_s / audio_s,
        "pocketsphinx_spotter_rtf": spot_cpu_s / spot_audio_s,
        "pocketsphinx_rss_mb": loaded_mb,
        "pocketsphinx_rss_after_decode_mb": decoded_mb,
        "pocketsphinx_partial_ms_p50": _percentile(latencies, 50),
        "pocketsphinx_partial_ms_p95": _percentile(latencies, 95),
        "pocketsphinx_partial_words_found": float(len(latencies)),
        "pocketsphinx_partial_words": float(wanted),
        "pocketsphinx_spotter_stop_ms_p50": _percentile(stop_latencies, 50),
        "pocketsphinx_spotter_stop_ms_p95": _percentile(stop_latencies, 95),
        "pocketsphinx_spotter_stops_found": float(len(stop_latencies)),
        "pocketsphinx_spotter_stops": float(stop_wanted),
    }
