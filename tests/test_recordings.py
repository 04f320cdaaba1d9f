"""Recorded speech is found in installed packages, cut where asked, and heard in the room at its level."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from bargein.bench.recordings import (
    RecordingError,
    install_hint,
    is_package_spec,
    probe_recording,
    read_recording,
    resolve_recording,
)
from bargein.bench.scenario import UserClip, load_scenario
from bargein.bench.simulate import run_scenario, user_clip_audio
from bargein.tts.voice import load_voice

MOONSHINE = Path(importlib.util.find_spec("moonshine_voice").submodule_search_locations[0]).resolve()
BECKETT = MOONSHINE / "assets" / "beckett.wav"  # 16 kHz mono: no resampling, samples compare exactly
TWO_CITIES = MOONSHINE / "assets" / "two_cities.wav"  # 48 kHz
FRONT_LEFT = Path("/usr/share/sounds/alsa/Front_Left.wav")


def _raw(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def _active_db(pcm: np.ndarray) -> float:
    """RMS of the 10 ms blocks within 30 dB of the loudest (the room's own definition)."""
    n = len(pcm) // 160
    power = np.mean(pcm[: n * 160].astype(np.float64).reshape(n, 160) ** 2, axis=1)
    return float(10.0 * np.log10(power[power >= power.max() * 1e-3].mean()))


def test_a_package_file_resolves_without_importing_the_package():
    code = (
        "import sys\n"
        "from bargein.bench.recordings import resolve_recording\n"
        "print(resolve_recording('moonshine_voice:assets/two_cities.wav'))\n"
        "assert 'moonshine_voice' not in sys.modules, 'the package was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == TWO_CITIES


def test_specs_and_install_hints():
    assert is_package_spec("moonshine_voice:assets/two_cities.wav")
    assert not is_package_spec("/usr/share/sounds/alsa/Front_Left.wav")
    assert not is_package_spec("clips/cough.wav")
    assert install_hint("moonshine_voice:assets/x.wav") == "pip install moonshine-voice"
    assert install_hint("/usr/share/sounds/alsa/Front_Left.wav") == "apt install alsa-utils"
    assert "other_pkg" in install_hint("other_pkg:x.wav")
    # any installed package will do, e.g. one of the standard library
    assert resolve_recording("json:__init__.py") == Path(importlib.util.find_spec("json").origin).resolve()
    with pytest.raises(RecordingError, match="os is a module, not a package folder"):
        resolve_recording("os:x.wav")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_package_xyz:a.wav", r"^no_such_package_xyz:a.wav: package no_such_package_xyz is not installed"),
        ("moonshine_voice:assets/none.wav", r"no assets/none.wav in the installed moonshine_voice .*pip install moonshine-voice"),
        ("moonshine_voice:../../../../etc/passwd", r"leaves the moonshine_voice package"),
        ("/usr/share/sounds/alsa/Nowhere.wav", r"Nowhere.wav not found; apt install alsa-utils$"),
        ("clips/none.wav", r"needs the folder it is relative to"),
    ],
)
def test_missing_recordings_fail_in_one_line_naming_the_fix(spec, message):
    with pytest.raises(RecordingError, match=message) as info:
        resolve_recording(spec)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_a_cut_is_the_recording_between_its_cut_points_with_faded_edges():
    whole = _raw(BECKETT)
    cut = read_recording(BECKETT, 3.35, 6.0)
    first, last = int(3.35 * 16000), int(6.0 * 16000)
    assert len(cut) == last - first
    fade = 80  # 5 ms
    np.testing.assert_array_equal(cut[fade:-fade], whole[first + fade:last - fade])
    assert cut[0] == 0.0 and cut[-1] == 0.0
    assert np.all(np.abs(cut[:fade]) <= np.abs(whole[first:first + fade]) + 1e-7)
    # uncut, a file comes back untouched
    np.testing.assert_array_equal(read_recording(BECKETT), whole)


def test_a_48k_recording_is_cut_on_its_own_rate_and_resampled():
    cut = read_recording(TWO_CITIES, 0.9, 4.8)
    assert abs(len(cut) - round(3.9 * 16000)) <= 1
    assert cut.dtype == np.float32
    # the words are in the cut, the pauses at its ends are quiet
    assert _active_db(cut) > -45.0
    assert np.sqrt(np.mean(cut[:1600] ** 2)) < 0.1 * np.sqrt(np.mean(cut ** 2))


def test_bad_files_and_cuts_are_refused(tmp_path):
    deep = tmp_path / "deep.wav"
    with wave.open(str(deep), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(3)
        wav.setframerate(16000)
        wav.writeframes(b"\0" * 3 * 1600)
    with pytest.raises(RecordingError, match="24-bit samples; give a 16-bit PCM WAV"):
        probe_recording(deep)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(RecordingError, match="not a readable WAV file"):
        probe_recording(text)
    with pytest.raises(RecordingError, match="cut 5.0..3.0 s is empty"):
        read_recording(BECKETT, 5.0, 3.0)
    with pytest.raises(RecordingError, match="outside its 9.96 s"):
        read_recording(BECKETT, 12.0)


def test_a_user_clip_plays_its_cut():
    clip = UserClip(index=0, audio=BECKETT, transcript="No matter. Try again.", from_s=3.35, to_s=6.0, at_s=1.0)
    np.testing.assert_array_equal(user_clip_audio(clip), read_recording(BECKETT, 3.35, 6.0))


ROOM = '''description = "a recorded radio and a recorded voice, nothing else: the mic hears each at its level"
duration_s = 4.0
[agent]
text = "Yes."
[room]
echo_gain_db = -120.0
noise_db = -120.0
tv_db = -55.0
tv_audio = "moonshine_voice:assets/beckett.wav"
tv_from_s = 0.05
tv_to_s = 1.5
[[user]]
at_s = 2.0
audio = "/usr/share/sounds/alsa/Front_Left.wav"
transcript = "Front left"
level_db = -20.0
[expect]
outcome = "continue"
'''


def test_the_room_plays_a_recorded_television_and_a_recorded_voice_at_their_levels(tmp_path):
    path = tmp_path / "recorded-room.toml"
    path.write_text(ROOM)
    result = run_scenario(load_scenario(path), voice=load_voice())
    mic = result.mic.astype(np.float32) / 32768.0  # int16 at 16 kHz
    rate = result.rate_hz
    # the radio alone ("Ever tried", looped every 1.45 s) before the person speaks; it is
    # quiet enough (35 dB under the voice) to stay out of the voice's active blocks below
    assert _active_db(mic[: int(1.9 * rate)]) == pytest.approx(-55.0, abs=1.5)
    truth = next(e for e in result.events if e.kind == "truth_user")
    onset_s, end_s = truth["onset_s"], truth["end_s"]
    assert onset_s == pytest.approx(2.0, abs=0.1)
    assert _active_db(mic[int(onset_s * rate): int(end_s * rate)]) == pytest.approx(-20.0, abs=0.5)
