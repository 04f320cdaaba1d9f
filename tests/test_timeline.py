"""The timeline picture renders from a hand-made log and synthetic audio."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from bargein.bench.sim_log import SimLogWriter
from bargein.bench.timeline import render_timeline

RATE_HZ = 16_000
AGENT = "Our refund policy covers every purchase made in the last thirty days"


def synthetic_run() -> tuple[np.ndarray, np.ndarray, SimLogWriter]:
    """The appliance says words (tone bursts), the user says 'stop' at 1.6 s; cut at 2.05 s."""
    rng = np.random.default_rng(7)
    duration_s = 4.0
    t = np.arange(int(duration_s * RATE_HZ)) / RATE_HZ
    speaker = np.zeros_like(t)
    log = SimLogWriter(None)
    log.write("run", 0.0, scenario="cancel-stop", strategy="bargein", rate_hz=RATE_HZ)
    log.write("speak", 0.0, utterance_id=1, text=AGENT)
    silent_s = 2.055
    start_s = 0.05
    for i, word in enumerate(AGENT.split()):
        end_s = start_s + 0.12 + 0.05 * len(word)
        if start_s >= silent_s:
            break
        complete = end_s <= silent_s
        shown_end_s = end_s if complete else silent_s
        mask = (t >= start_s) & (t < shown_end_s)
        speaker[mask] = 0.3 * np.sin(2 * np.pi * (180 + 15 * i) * t[mask])
        log.write("word_played", start_s, utterance_id=1, index=i, text=word, start_s=start_s,
                  end_s=shown_end_s, complete=complete)
        start_s = end_s + 0.04
    ducked = (t >= 1.72) & (t < silent_s)
    speaker[ducked] *= 10 ** (-18 / 20)
    mic = 0.25 * np.roll(speaker, int(0.008 * RATE_HZ)) + 0.003 * rng.standard_normal(t.size)
    user = (t >= 1.6) & (t < 1.95)
    mic[user] += 0.4 * np.sin(2 * np.pi * 140 * t[user]) * np.hanning(int(user.sum()))
    log.write("truth_user", 1.6, clip=0, text="stop", onset_s=1.6, end_s=1.95)
    log.write("speech_started", 1.7, onset_s=1.62)
    log.write("duck", 1.72, gain_db=-18.0)
    log.write("partial", 2.03, text="stop")
    log.write("decision", 2.03, type="cancellation")
    log.write("cut", 2.05, type="cancellation", utterance_id=1)
    log.write("speaker_silent", silent_s, utterance_id=1)
    log.write("speech_ended", 2.3, end_s=2.0)
    log.write("final", 2.4, text="stop")
    log.interruption(2.4, {"type": "cancellation", "handled": "cut", "words_heard": AGENT.split()[:4],
                           "word_cut": "every"})
    log.write("truth_button", 3.2, at_s=3.2)
    log.write("end", duration_s)
    return speaker.astype(np.float32), mic.astype(np.float32), log


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_renders_a_png(tmp_path):
    speaker, mic, log = synthetic_run()
    out = render_timeline(speaker, mic, RATE_HZ, log.events, tmp_path / "sub" / "timeline.png",
                          "cancel-stop · bargein")
    assert out == tmp_path / "sub" / "timeline.png"
    width_px, height_px = png_size(out)
    assert width_px >= 1200 and height_px >= 600
    assert out.stat().st_size > 30_000  # waveforms and labels, not an empty canvas


def test_renders_with_no_events_and_empty_mic(tmp_path):
    speaker = np.zeros(RATE_HZ, dtype=np.float32)
    out = render_timeline(speaker, np.zeros(0, dtype=np.float32), RATE_HZ, [], tmp_path / "t.png", "empty")
    assert png_size(out)[0] >= 1200


def test_without_matplotlib_the_picture_is_one_line_naming_the_extra(tmp_path):
    # The Pi's install has no bench extra: drawing says what to install, it does not crash.
    code = ("import sys\nsys.modules['matplotlib'] = None\n"
            "import numpy as np\nfrom bargein.core.errors import BargeinError\n"
            "from bargein.bench.timeline import render_timeline\n"
            "try:\n"
            f"    render_timeline(np.zeros(160), np.zeros(160), 16000, [], {str(tmp_path / 't.png')!r}, 't')\n"
            "except BargeinError as exc:\n    print('ERROR', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERROR" in out.stdout and "bargein[bench]" in out.stdout, out.stderr
    assert not (tmp_path / "t.png").exists()
