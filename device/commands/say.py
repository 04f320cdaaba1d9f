"""``bargein say``: synthesize text to a WAV file, optionally printing word spans."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import wave
from pathlib import Path

from bargein.core.frames import to_int16
from bargein.tts.synth import iter_chunks
from bargein.tts.voice import load_voice


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="synthesize text to a WAV file with Piper")
    p.add_argument("text", help="the text to speak")
    p.add_argument("--out", required=True, help="WAV file to write (mono, 16-bit)")
    p.add_argument("--timings", action="store_true", help="print the word spans as JSON")
    p.add_argument("--voice", default="", help="Piper .onnx voice (default: en_US-joe-medium)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.is_dir():
        return _fail(f"{out} is a directory; give a file name with --out")
    if out.exists() and not out.is_file():
        return _fail(f"{out} is not a regular file (a device or a pipe); give a file name "
                     "with --out")
    voice = load_voice(args.voice or None)
    chunks = iter_chunks(voice, args.text)
    first = next(chunks)  # TextError (one line) before any file is touched
    # Written as it is synthesized, to a temporary file beside --out that replaces it
    # only once complete: a bad --out fails at once, memory holds one sentence, and an
    # existing file is never left half-written.
    try:
        handle = tempfile.NamedTemporaryFile(
            dir=out.parent, prefix=f".{out.name}.", suffix=".part", delete=False)
    except OSError as exc:
        return _fail(f"cannot write {out} ({exc.strerror or exc}); pick another --out")
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(handle.fileno(), 0o666 & ~mask)  # as open() would have made it
    words = []
    samples = 0
    try:
        with handle, wave.open(handle, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(voice.rate_hz)
            for chunk in itertools.chain([first], chunks):
                wav.writeframes(to_int16(chunk.pcm).astype("<i2").tobytes())
                samples += len(chunk.pcm)
                if args.timings:
                    words.extend(chunk.words)
        os.replace(handle.name, out)
    except OSError as exc:
        return _fail(f"cannot write {out} ({exc.strerror or exc}); nothing was written")
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if args.timings:
        rate = voice.rate_hz
        print(json.dumps({
            "rate_hz": rate,
            "samples": samples,
            "duration_s": round(samples / rate, 4),
            "words": [
                {
                    "text": w.text,
                    "source": args.text[w.char_start:w.char_end],
                    "char_start": w.char_start,
                    "char_end": w.char_end,
                    "start_sample": w.start_sample,
                    "end_sample": w.end_sample,
                    "start_s": round(w.start_sample / rate, 4),
                    "end_s": round(w.end_sample / rate, 4),
                    "approx": w.approx,
                }
                for w in words
            ],
        }, ensure_ascii=False))
    return 0


def _fail(message: str) -> int:
    print(f"bargein say: {message}", file=sys.stderr)
    return 1
