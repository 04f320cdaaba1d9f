"""The real PyAudio → PortAudio → ALSA path, with no sound card (see alsa_sandbox.py).

Each scenario runs in its own interpreter against a scratch ``.asoundrc``; the scenario
prints one JSON line with what it saw, and the samples go through files.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from alsa_sandbox import AlsaSandbox

from bargein.audio.devices import DeviceInfo, open_error
from bargein.audio.playback import PlaybackRing
from bargein.audio.speaker import _OutputPath
from bargein.core.frames import CAPTURE_RATE_HZ

PRELUDE = """
import json, logging, sys, threading, time
import numpy as np
from bargein.audio.settings import AudioSettings

class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
        self.changed = threading.Condition()
    def emit(self, record):
        with self.changed:
            self.lines.append(f"{record.levelname} {record.getMessage()}")
            self.changed.notify_all()
    def wait_for(self, text, timeout_s, count=1):
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while sum(text in line for line in self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {text!r} in log within {timeout_s} s: {self.lines}")
                self.changed.wait(left)

logs = Collect()
logging.getLogger().addHandler(logs)
logging.getLogger().setLevel(logging.DEBUG)

def read_samples(mic, n, timeout_s=10.0):
    frames, got, deadline = [], 0, time.monotonic() + timeout_s
    while got < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {got} of {n} samples within {timeout_s} s"
        frame = mic.read(left)
        assert frame is not None, f"no frame; got {got} of {n}"
        frames.append(frame)
        got += len(frame.pcm)
    return frames

def save_frames(frames, path):
    np.save(path, np.concatenate([f.pcm for f in frames]))
    return [f.t_seconds for f in frames], sorted({len(f.pcm) for f in frames})

def report(**values):
    values["log"] = logs.lines
    print("RESULT " + json.dumps(values))
"""


def run_scenario(sandbox: AlsaSandbox, body: str, timeout_s: float = 60.0) -> dict:
    proc = sandbox.run_python(PRELUDE + body, timeout_s=timeout_s)
    assert proc.returncode == 0, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result:\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert "ALSA lib" not in proc.stderr, proc.stderr
    return result


@pytest.fixture
def sandbox(tmp_path) -> AlsaSandbox:
    return AlsaSandbox(tmp_path)


def _ramp(n: int, step: int, offset: int = 0) -> np.ndarray:
    return ((np.arange(n, dtype=np.int64) * step + offset) % 60000 - 30000).astype(np.int16)


def test_capture_delivers_the_file_samples_as_16k_frames(sandbox):
    n = CAPTURE_RATE_HZ  # one second, two channels: the mic uses channel 1
    left, right = _ramp(n, 7), _ramp(n, 13, 500)
    sandbox.write_capture(np.stack([left, right], axis=1))
    out = sandbox.root / "frames.npy"
    result = run_scenario(
        sandbox,
        f"""
from bargein.audio.capture import Microphone
settings = AudioSettings(input_device="", input_channels=2, input_channel=1, frame_ms=20)
mic = Microphone(settings).start()
try:
    assert mic.wait_connected(10), logs.lines
    frames = read_samples(mic, {n})
finally:
    mic.close()
starts, sizes = save_frames(frames, {str(out)!r})
report(starts=starts, sizes=sizes, rates=sorted({{f.rate_hz for f in frames}}))
""",
    )
    got = np.load(out)
    np.testing.assert_array_equal(got[:n], right)
    assert result["sizes"] == [320]
    assert result["rates"] == [CAPTURE_RATE_HZ]
    np.testing.assert_allclose(np.diff(result["starts"]), 0.020, rtol=0, atol=1e-9)
    assert any(
        "microphone open: #" in line and "'default'" in line and "2 ch at 16000 Hz" in line
        for line in result["log"]
    ), result["log"]


def test_capture_at_48k_is_resampled_to_16k(sandbox):
    rate = 48_000
    t = np.arange(rate) / rate
    sandbox.write_capture((np.sin(2 * np.pi * 500.0 * t) * 10000).astype(np.int16))
    out = sandbox.root / "frames.npy"
    result = run_scenario(
        sandbox,
        f"""
from bargein.audio.capture import Microphone
settings = AudioSettings(input_device="bargein_mic", input_channels=1, frame_ms=30)
mic = Microphone(settings, rate_hz={rate}).start()
try:
    assert mic.wait_connected(10), logs.lines
    frames = []
    for frame in mic.frames(timeout_s=5.0):
        frames.append(frame)
        if len(frames) * 480 >= 15_000:
            break
finally:
    mic.close()
starts, sizes = save_frames(frames, {str(out)!r})
report(starts=starts, sizes=sizes)
""",
    )
    got = np.load(out)[:15_000].astype(np.float64)
    assert result["sizes"] == [480]
    expected = np.sin(2 * np.pi * 500.0 * np.arange(len(got)) / CAPTURE_RATE_HZ) * 10000
    middle = slice(1000, len(got) - 1000)
    assert np.sqrt(np.mean((got[middle] - expected[middle]) ** 2)) < 100
    assert any("at 48000 Hz" in line and "resampled to 16000 Hz" in line for line in result["log"])


def test_speaker_plays_the_enqueued_audio_into_the_file(sandbox):
    rate = 16_000
    tone = (np.sin(np.arange(rate) * 0.07) * 9000).astype(np.int16)
    tone[0] = 1234  # a first sample that cannot be mistaken for the primed silence
    np.save(sandbox.root / "tone.npy", tone)
    result = run_scenario(
        sandbox,
        f"""
from bargein.audio.playback import PlaybackRing
from bargein.audio.speaker import Speaker, speaker_format
settings = AudioSettings(output_device="", output_rate_hz={rate}, period_ms=10)
rate_hz, period_frames = speaker_format(settings)
ring = PlaybackRing(rate_hz, period_frames)
tone = np.load({str(sandbox.root / "tone.npy")!r})
# Both halves are in the ring before the device opens: on a loaded machine a producer that
# is late between two enqueues is a real underrun, and this test is about the audio path.
ring.enqueue(tone[:8000], rate_hz, utterance_id=1)
ring.enqueue(tone[8000:], rate_hz, utterance_id=1)
ring.end_utterance(1)
speaker = Speaker(ring, settings).start()
try:
    assert speaker.wait_connected(10), logs.lines
    deadline = time.monotonic() + 10
    while not ring.position().finished:
        assert time.monotonic() < deadline, ring.position()
        time.sleep(0.01)
    position = ring.position()
finally:
    speaker.close()
report(period_frames=period_frames, played_s=position.played_s, underruns=ring.underruns)
""",
    )
    assert result["period_frames"] == 160
    played = sandbox.played()
    start = int(np.flatnonzero(played == 1234)[0])
    assert not played[:start].any()  # only PortAudio's primed silence before it
    np.testing.assert_array_equal(played[start : start + rate], tone)
    assert result["played_s"] == pytest.approx(1.0, abs=0.02)
    assert any(
        "speaker open: #" in line and "period 10.0 ms" in line for line in result["log"]
    ), result["log"]


def test_bargein_devices_lists_the_sandbox_devices_and_defaults(sandbox):
    proc = sandbox.run_bargein("devices", timeout_s=60)
    assert proc.returncode == 0, proc.stderr
    assert "ALSA lib" not in proc.stderr
    lines = proc.stdout.splitlines()
    header = ["index", "in_ch", "out_ch", "rate_hz", "default", "host_api", "name"]
    assert lines[0].split() == header
    rows = {line.split()[-1]: line.split() for line in lines[1:] if line.strip() and line[0] == " "}
    assert rows["default"][4] == "in,out"
    assert rows["default"][5] == "ALSA"
    assert {"bargein_mic", "bargein_speaker"} <= set(rows)
    assert rows["bargein_mic"][4] == "-"


def test_a_missing_device_name_is_one_clear_error(sandbox):
    result = run_scenario(
        sandbox,
        """
from bargein.audio.devices import find_device
from bargein.core.errors import AudioDeviceError
errors = {}
for spec, kind in (("ReSpeaker", "input"), ("99", "output")):
    try:
        find_device(spec, kind)
    except AudioDeviceError as exc:
        errors[spec] = str(exc)
report(errors=errors, mic=find_device("mic", "input").name, default=find_device("", "output").name)
""",
    )
    assert result["errors"]["ReSpeaker"] == (
        "no input device matches 'ReSpeaker'; run `bargein devices` to see the names "
        "and set [audio] input_device"
    )
    assert "no output device with index 99" in result["errors"]["99"]
    assert "`bargein devices`" in result["errors"]["99"]
    assert result["mic"] == "bargein_mic"
    assert result["default"] == "default"


def test_a_mic_that_appears_later_is_picked_up_after_growing_waits(sandbox):
    late_raw = sandbox.write_capture(_ramp(16_000, 11), sandbox.root / "late.raw")
    out = sandbox.root / "frames.npy"
    result = run_scenario(
        sandbox,
        f"""
import sys
sys.path.insert(0, "tests")
from pathlib import Path
from alsa_sandbox import AlsaSandbox
from bargein.audio.capture import Microphone
box = AlsaSandbox(Path({str(sandbox.root)!r}))
settings = AudioSettings(input_device="late_mic", input_channels=1, reconnect_backoff_max_s=0.4)
mic = Microphone(settings, backoff_start_s=0.05).start()
try:
    logs.wait_for("still unavailable", timeout_s=15, count=3)
    waits = list(mic.keeper.retry_waits_s)
    box.write_asoundrc(extra_capture={{"late_mic": Path({str(late_raw)!r})}})
    assert mic.wait_connected(15), logs.lines
    frames = read_samples(mic, 16_000)
finally:
    mic.close()
save_frames(frames, {str(out)!r})
report(waits=waits, connections=mic.keeper.connections)
""",
    )
    waits = result["waits"]
    assert waits[:4] == [0.05, 0.1, 0.2, 0.4]
    assert all(w == 0.4 for w in waits[4:])
    first = [line for line in result["log"] if "microphone" in line][0]
    assert first.startswith("WARNING microphone unavailable: no input device matches 'late_mic'")
    assert first.endswith("; retrying in 0.1 s")  # 0.05 s, printed with one decimal
    assert any(
        line.startswith("INFO microphone open: #") and "'late_mic'" in line
        for line in result["log"]
    )
    assert result["connections"] == 1
    np.testing.assert_array_equal(np.load(out)[:16_000], _ramp(16_000, 11))


def test_a_dying_stream_is_reopened_without_touching_the_other_direction(sandbox):
    n = 16_000
    sandbox.write_capture(_ramp(n, 5))
    tone = (np.sin(np.arange(n) * 0.05) * 8000).astype(np.int16)
    tone[0] = 4321
    np.save(sandbox.root / "tone.npy", tone)
    result = run_scenario(
        sandbox,
        f"""
import shutil
from bargein.audio.capture import Microphone
from bargein.audio.playback import PlaybackRing
from bargein.audio.speaker import Speaker
settings = AudioSettings(input_device="bargein_mic", input_channels=1,
                         output_device="bargein_speaker", output_rate_hz=16000)
ring = PlaybackRing(16000, 160)
speaker = Speaker(ring, settings).start()
mic = Microphone(settings, backoff_start_s=0.05).start()
try:
    assert speaker.wait_connected(10) and mic.wait_connected(10), logs.lines
    read_samples(mic, 4800)
    # the device fails under the stream: PortAudio's stream goes inactive
    mic.keeper.link.stream.stop_stream()
    logs.wait_for("microphone lost", timeout_s=10)
    ring.enqueue(np.load({str(sandbox.root / "tone.npy")!r}), 16000, utterance_id=7)
    ring.end_utterance(7)
    logs.wait_for("microphone back", timeout_s=10)
    deadline = time.monotonic() + 10
    while not ring.position().finished:
        assert time.monotonic() < deadline, ring.position()
        time.sleep(0.01)
    read_samples(mic, 4800)
    time.sleep(0.2)  # the unpaced stream runs on: the file plugin has flushed the tone
    shutil.copy({str(sandbox.playback_raw)!r}, {str(sandbox.root / "first.raw")!r})
    # and the reverse: the speaker's stream dies while the mic keeps delivering
    speaker.keeper.link.stream.stop_stream()
    logs.wait_for("speaker lost", timeout_s=10)
    logs.wait_for("speaker back", timeout_s=10)  # reopening truncates playback.raw
    read_samples(mic, 4800)
    ring.enqueue(-np.load({str(sandbox.root / "tone.npy")!r}), 16000, utterance_id=8)
    ring.end_utterance(8)
    deadline = time.monotonic() + 10
    while not (ring.position().utterance_id == 8 and ring.position().finished):
        assert time.monotonic() < deadline, ring.position()
        time.sleep(0.01)
    speaker_connections = speaker.keeper.connections
finally:
    mic.close()
    speaker.close()
report(mic_connections=mic.keeper.connections, speaker_connections=speaker_connections)
""",
    )
    log = result["log"]
    lost = [line for line in log if "microphone lost" in line]
    assert lost == [
        "WARNING microphone lost: the input stream stopped (device unplugged or failed); "
        "retrying in 0.1 s"
    ]
    assert any(line.startswith("INFO microphone back: #") for line in log)
    assert result["mic_connections"] == 2
    assert result["speaker_connections"] == 2
    speaker_events = [line for line in log if line.split(" ", 1)[1].startswith("speaker")]
    assert [e.split(":")[0] for e in speaker_events] == [
        "INFO speaker open",
        "WARNING speaker lost",
        "INFO speaker back",
    ]
    # the mic was lost once, before the speaker, and only then
    assert sum("microphone lost" in line for line in log) == 1
    assert log.index(lost[0]) < log.index(speaker_events[1])
    played = np.fromfile(sandbox.root / "first.raw", dtype=np.int16)
    start = int(np.flatnonzero(played == 4321)[0])
    np.testing.assert_array_equal(played[start : start + n], tone)
    played = sandbox.played()  # after the speaker came back
    start = int(np.flatnonzero(played == -4321)[0])
    np.testing.assert_array_equal(played[start : start + n], -tone)


def test_stereo_output_path_duplicates_the_ring_into_a_preallocated_buffer():
    ring = PlaybackRing(16_000, 160)
    tone = (np.arange(320) * 50 - 8000).astype(np.int16)
    ring.enqueue(tone, 16_000, utterance_id=1)
    ring.end_utterance(1)
    path = _OutputPath(ring, channels=2, latency_s=0.02)
    first = path.callback(None, 160, {"output_buffer_dac_time": 5.0, "current_time": 4.99}, 0)
    np.testing.assert_array_equal(first[0][:, 0], tone[:160])
    np.testing.assert_array_equal(first[0][:, 1], tone[:160])
    # no DAC time from the host API: current time plus the output latency
    second = path.callback(None, 160, {"output_buffer_dac_time": 0.0, "current_time": 5.0}, 0)
    assert second is first  # the same tuple and array every period: nothing made per call
    np.testing.assert_array_equal(second[0][:, 1], tone[160:])
    assert path.last_dac_s == pytest.approx(5.02)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (-9985, "busy or unplugged"),
        (-9996, "gone (unplugged?)"),
        (-9997, "refused the sample rate"),
        (-9999, "Unanticipated host error; check [audio] output_device against `bargein devices`"),
    ],
)
def test_open_errors_say_what_happened_in_one_line(code, text):
    device = DeviceInfo(3, "USB Audio (hw:1,0)", "ALSA", 0, 2, 48_000)
    exc = OSError(code, "Unanticipated host error" if code == -9999 else "whatever")
    message = str(open_error(device, "output", exc))
    assert message.startswith("cannot open output #3 'USB Audio (hw:1,0)' (ALSA): ")
    assert text in message
    assert "\n" not in message
