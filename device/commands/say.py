"""``bargein say``: synthesize text to a WAV file, optionally printing word spans."""

from __future__ import annotations

import argparse
import json

import numpy as np

from bargein.audio.frames import write_wav
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
    voice = load_voice(args.voice or None)
    chunks = list(iter_chunks(voice, args.text))
    pcm = np.concatenate([c.pcm for c in chunks])
    write_wav(args.out, pcm, voice.rate_hz)
    if args.timings:
        rate = voice.rate_hz
        print(json.dumps({
            "rate_hz": rate,
            "samples": len(pcm),
            "duration_s": round(len(pcm) / rate, 4),
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
                for c in chunks
                for w in c.words
            ],
        }, ensure_ascii=False))
    return 0
