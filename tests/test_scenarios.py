"""The scenario suite parses, its expectations are coherent, and mistakes name file and key."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bargein.agent.interruption import InterruptionType
from bargein.device.scenario import (
    CUT_TYPES,
    ButtonPress,
    ScenarioError,
    UserClip,
    load_scenario,
    load_suite,
    resolve_at_s,
)

SUITE = Path(__file__).resolve().parent / "scenarios"
ALL = sorted(SUITE.glob("*.toml"))


def test_suite_is_large_and_covers_every_type():
    suite = load_suite(SUITE)
    assert len(suite) >= 45
    kinds = Counter(s.expect.type for s in suite if s.expect.outcome == "cut")
    for kind in CUT_TYPES:
        assert kinds[kind] >= 3, kind
    continues = [s for s in suite if s.expect.outcome == "continue"]
    assert sum(s.expect.type is InterruptionType.BACKCHANNEL for s in continues) >= 5
    assert sum(s.expect.type is InterruptionType.NOISE for s in continues) >= 4


def test_echo_only_scenarios_cover_the_couplings_and_enough_speech():
    echo = [s for s in load_suite(SUITE) if s.is_echo_only]
    gains = {s.room.echo_gain_db for s in echo}
    assert {-20.0, -10.0, 0.0, 6.0} <= gains
    # 120 s of speech in total: at a brisk 3.2 words/s that needs 384 words
    assert sum(len(s.agent.words) for s in echo) >= 384


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_every_scenario_parses_and_is_coherent(path):
    scenario = load_scenario(path)
    expect = scenario.expect
    assert scenario.description.strip()
    if expect.outcome == "cut":
        assert expect.type in CUT_TYPES
        assert scenario.users or scenario.buttons
        if expect.type is InterruptionType.BUTTON:
            assert scenario.buttons
        else:
            assert any(not u.is_noise for u in scenario.users), "a voice cut needs words"
    else:
        assert expect.type in (None, InterruptionType.BACKCHANNEL, InterruptionType.NOISE)
        assert not scenario.buttons
    if scenario.is_echo_only:
        assert expect.outcome == "continue" and not scenario.users and not scenario.buttons
    if scenario.name.startswith("noise-"):
        assert all(u.is_noise and u.audio is not None for u in scenario.users)
    if scenario.name.startswith("under-echo-"):
        assert scenario.room.echo_gain_db == -6.0
    for clip in scenario.users:
        if clip.audio is not None:
            with wave.open(str(clip.audio)) as wav:
                duration_ms = 1000 * wav.getnframes() / wav.getframerate()
            assert 50 <= duration_ms <= 400
        if clip.at_s is not None and not scenario.agent.reply_delay_ms:
            assert clip.at_s > 0.0


def test_make_clips_reproduces_the_committed_clips(tmp_path):
    clips = SUITE / "clips"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in clips.glob("*.wav")}
    assert len(before) >= 5
    script = SUITE / "make_clips.py"
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=60)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in clips.glob("*.wav")}
    assert after == before


def test_clips_are_bursts_not_silence():
    for path in (SUITE / "clips").glob("*.wav"):
        with wave.open(str(path)) as wav:
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        assert np.max(np.abs(pcm)) > 0.5 * 32767, path.name
        assert abs(pcm[-1]) < 0.01 * 32767, path.name  # ends faded out, no click


def test_resolve_at_word():
    spans = [(0.0, 0.4), (0.45, 0.9), (1.0, 2.0)]
    assert resolve_at_s(UserClip(index=0, text="stop", transcript="stop", at_word=-1,
                                 word_fraction=0.25), spans) == pytest.approx(1.25)
    assert resolve_at_s(ButtonPress(index=0, at_word=1), spans) == pytest.approx(0.675)
    assert resolve_at_s(ButtonPress(index=0, at_s=3.0), []) == 3.0
    with pytest.raises(ScenarioError, match="outside the agent's 3 words"):
        resolve_at_s(ButtonPress(index=0, at_word=5), spans)


BASE = '''description = "d"
[agent]
text = "Hello there, this is the answer."
'''


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[expect]\noutcome = "cut"\ntype = "cancellation"\n[[user]]\nat_s = 1\ntext = "stop"\nlevl_db = 3\n',
         r"\[\[user\]\] #1 levl_db: unknown key"),
        ('[expect]\noutcome = "stopped"\n', r"\[expect\] outcome: 'stopped' is not allowed"),
        ('[expect]\noutcome = "cut"\n[[user]]\nat_s = 1\ntext = "stop"\n', r"\[expect\] type: .*needs the expected type"),
        ('[expect]\noutcome = "cut"\ntype = "backchannel"\n[[user]]\nat_s = 1\ntext = "yeah"\n',
         r"\[expect\] type: 'backchannel' keeps the appliance talking"),
        ('[expect]\noutcome = "continue"\ntype = "redirect"\n', r"\[expect\] type: 'redirect' cuts"),
        ('[expect]\noutcome = "continue"\ncuts = 1\n', r"\[expect\] cuts: .*no cuts"),
        ('[expect]\noutcome = "cut"\ntype = "cancellation"\n', r"nothing in the room can cause a cut"),
        ('[expect]\noutcome = "cut"\ntype = "button"\n[[user]]\nat_s = 1\ntext = "stop"\n', r"needs a \[\[button\]\]"),
        ('[expect]\noutcome = "continue"\n[[user]]\ntext = "yeah"\n', r"#1 at_s: give exactly one of at_s"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\nat_word = 2\ntext = "yeah"\n', r"exactly one of at_s"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = "soon"\ntext = "yeah"\n', r"at_s: expected a number"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\n', r"#1 text: give exactly one of text"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "clips/none.wav"\ntranscript = ""\n',
         r"#1 audio: .*none.wav not found"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "clips/cough.wav"\n', r"#1 transcript: an audio clip needs"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\ntext = "yeah"\ntranscript = "yeah"\n', r"#1 transcript: only for audio"),
        ('[expect]\noutcome = "continue"\n[room]\ntv_db = -40\n', r"\[room\] tv_text: a television"),
        ('[expect]\noutcome = "continue"\n[room]\necho_gain_db = 40\n', r"\[room\] echo_gain_db: 40.0 is out of range"),
        ('[expect]\noutcome = "cut"\ntype = "cancellation"\ntypes = ["clarification"]\n[[user]]\nat_s = 1\ntext = "stop"\n',
         r"\[expect\] types: the first entry"),
        ('[expect]\noutcome = "continue"\nresumed = true\n', r"\[expect\] resumed: only meaningful after a cut"),
        ('colour = 3\n[expect]\noutcome = "continue"\n', r"\[agent\] colour: unknown key; keys here are reply_delay_ms, text"),
        ('[expect\n', r"not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, body, message):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "cough.wav").write_bytes((SUITE / "clips" / "cough.wav").read_bytes())
    path = tmp_path / "bad.toml"
    path.write_text(BASE + body)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_agent_and_echo_rules(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('description = "d"\n[expect]\noutcome = "continue"\n')
    with pytest.raises(ScenarioError, match=r"\[agent\]: missing"):
        load_scenario(path)
    echo = tmp_path / "echo-bad.toml"
    echo.write_text(BASE + '[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\ntext = "stop"\n')
    with pytest.raises(ScenarioError, match="echo-\\* scenarios hold only"):
        load_scenario(echo)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScenarioError, match="no \\*.toml scenarios"):
        load_suite(tmp_path / "empty")


FULL = '''description = "every field"
duration_s = 9.5
[agent]
text = "Hello there, this is the answer."
reply_delay_ms = 1200
[room]
echo_gain_db = -6
tv_db = -40
tv_text = "news at six"
[[user]]
at_word = -1
word_fraction = 0.2
text = "mm-hmm"
say = "hmm hmm"
voice = "en-us+f2"
level_db = -24
[[button]]
at_s = 4
hold_ms = 3500
[expect]
outcome = "cut"
type = "button"
cuts = 1
types = ["button"]
'''


def test_a_full_scenario_reads_every_field(tmp_path):
    path = tmp_path / "full.toml"
    path.write_text(FULL)
    s = load_scenario(path)
    assert s.name == "full" and s.duration_s == 9.5
    assert s.agent.reply_delay_ms == 1200 and s.agent.first_sample_s == 1.2
    assert s.room.echo_gain_db == -6.0 and s.room.tv_db == -40.0 and s.room.tv_text == "news at six"
    (clip,) = s.users
    assert clip.at_word == -1 and clip.word_fraction == 0.2 and clip.say == "hmm hmm"
    assert clip.transcript == "mm-hmm" and clip.words == ("mm", "hmm") and not clip.is_noise
    assert s.buttons == (ButtonPress(index=0, at_s=4.0, hold_ms=3500.0),)
    assert s.expect.cuts == 1 and s.expect.types == (InterruptionType.BUTTON,)
