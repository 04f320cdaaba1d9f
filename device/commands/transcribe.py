"""``bargein transcribe FILE.wav``: run the configured recognizer engine over a file, print
JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
import wave
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

FRAME_MS = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transcribe", help="print one JSON line per partial/final result for a WAV file"
    )
    p.add_argument("wav", type=Path, metavar="FILE.wav", help="PCM WAV file, any rate or channels")
    p.add_argument("--model", type=Path,
                   help="model directory of the configured [asr] engine (default: from the config)")
    p.add_argument("--config", help="config file (default /etc/bargein/config.toml)")
    p.add_argument("--spotter", action="store_true", help="also run the command spotter")
    p.set_defaults(func=run)


MIN_RATE_HZ = 4000
MAX_RATE_HZ = 384_000
"""Sample rates a recording of speech can have; outside them the header is wrong."""


class WavProblem(ValueError):
    """A WAV file that cannot be transcribed; the message is one line naming why."""


def read_wav_16k_mono(path: Path, warn: Callable[[str], None] | None = None) -> np.ndarray:
    """A PCM WAV file as 16 kHz mono int16 (channels averaged, resampled with soxr).

    Raises :class:`WavProblem` for a header no recording has (a rate of 0 or 1 Hz, no
    audio at all). A file cut in the middle of a sample keeps its whole frames and
    ``warn`` is told what was dropped.
    """
    import soxr

    from bargein.core.frames import CAPTURE_RATE_HZ

    with wave.open(str(path), "rb") as w:
        channels, width, rate_hz = w.getnchannels(), w.getsampwidth(), w.getframerate()
        if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
            raise WavProblem(f"its header says {rate_hz} Hz; a recording has "
                             f"{MIN_RATE_HZ} to {MAX_RATE_HZ} Hz")
        raw = w.readframes(w.getnframes())
    frame_bytes = channels * width
    whole = len(raw) - len(raw) % frame_bytes
    if whole != len(raw) and warn is not None:
        warn(f"{path} ends in the middle of a sample; the last {len(raw) - whole} bytes "
             "were left out")
    raw = raw[:whole]
    if not raw:
        raise WavProblem("it holds no audio (a header without samples)")
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        samples = ((b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16) << 8 >> 8) / 8388608.0
    else:
        samples = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    mono = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    if rate_hz != CAPTURE_RATE_HZ:
        mono = soxr.resample(mono, rate_hz, CAPTURE_RATE_HZ)
    return (np.clip(mono, -1.0, 32767 / 32768) * 32768).astype(np.int16)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from bargein.asr.engine import Recognizer
    from bargein.asr.engines import build_recognizers
    from bargein.asr.results import Final
    from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame
    from bargein.device.config import load_config

    config = load_config(args.config)
    try:
        pcm = read_wav_16k_mono(
            args.wav, warn=lambda text: print(f"bargein transcribe: {text}", file=sys.stderr))
    except EOFError:
        print(f"bargein transcribe: cannot read {args.wav} as a PCM WAV file: it ends before "
              "its header does (empty or cut short)", file=sys.stderr)
        return 1
    except (OSError, wave.Error, WavProblem) as err:
        print(f"bargein transcribe: cannot read {args.wav} as a PCM WAV file: {err}",
              file=sys.stderr)
        return 1
    settings = dataclasses.replace(config.asr, command_spotter=args.spotter,
                                   model=str(args.model) if args.model else config.asr.model)
    engines = build_recognizers(settings, config.events.state_dir)
    recognizers: list[Recognizer] = [engines.main()]
    if engines.spotter is not None:
        recognizers.insert(0, engines.spotter())
    step = CAPTURE_RATE_HZ * FRAME_MS // 1000
    for start in range(0, len(pcm), step):
        frame = AudioFrame(pcm[start : start + step], start / CAPTURE_RATE_HZ)
        for rec in recognizers:
            for event in rec.accept(frame):
                _print(event, isinstance(event, Final))
    for rec in recognizers:
        for event in rec.finish():
            _print(event, isinstance(event, Final))
    return 0


def _print(event: object, final: bool) -> None:
    line = {"type": "final" if final else "partial", **asdict(event)}  # type: ignore[call-overload]
    print(json.dumps(line, ensure_ascii=False), flush=True)
