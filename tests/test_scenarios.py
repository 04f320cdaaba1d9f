"""The scenario suite parses, its expectations are coherent, and mistakes name file and key."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tomllib
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bargein.agent.interruption import InterruptionType
from bargein.bench.recordings import is_package_spec, read_recording
from bargein.bench.scenario import (
    CUT_TYPES,
    SUITE_DIR,
    ButtonPress,
    ScenarioError,
    UserClip,
    load_scenario,
    load_suite,
    resolve_at_s,
    words_of,
)
from bargein.bench.simulate import voiced_span

SUITE = SUITE_DIR
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


def test_the_probe_uses_wordings_and_voices_the_suite_does_not():
    probe = load_suite(SUITE.parent / "scenarios-probe")
    suite = load_suite(SUITE)
    assert len(probe) >= 20
    suite_texts = {words_of(u.text or "") for s in suite for u in s.users}
    for scenario in probe:
        for clip in scenario.users:
            assert words_of(clip.text or "") not in suite_texts, (scenario.name, clip.text)
    suite_voices = {u.voice for s in suite for u in s.users}
    new_voices = [u for s in probe for u in s.users if u.voice not in suite_voices]
    assert len(new_voices) >= len(probe) // 3


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
        if clip.audio is not None and clip.audio.is_relative_to(SUITE / "clips"):
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
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "no_such_package_xyz:assets/a.wav"\ntranscript = "a"\n',
         r"#1 audio: no_such_package_xyz:assets/a.wav: package no_such_package_xyz is not installed; install"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/none.wav"\ntranscript = "a"\n',
         r"#1 audio: .*no assets/none.wav in the installed moonshine_voice .*pip install moonshine-voice"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:../../../x.wav"\ntranscript = "a"\n',
         r"#1 audio: .*leaves the moonshine_voice package"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "/usr/share/sounds/alsa/Nowhere.wav"\ntranscript = "a"\n',
         r"#1 audio: /usr/share/sounds/alsa/Nowhere.wav not found; apt install alsa-utils"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/beckett.wav"\n'
         'from_s = 2.0\nto_s = 2.0\ntranscript = "a"\n', r"#1 to_s: 2.0 is not after from_s = 2.0"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/beckett.wav"\n'
         'from_s = 5.0\nto_s = 3.0\ntranscript = "a"\n', r"#1 to_s: 3.0 is not after from_s = 5.0"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/beckett.wav"\n'
         'from_s = 3.0\nto_s = 12.0\ntranscript = "a"\n', r"#1 to_s: 12.0 is past the end of .*beckett.wav \(9.96 s\)"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/beckett.wav"\n'
         'from_s = 10.0\ntranscript = "a"\n', r"#1 from_s: 10.0 is past the end"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\ntext = "yeah"\nfrom_s = 1.0\n',
         r"#1 from_s: cuts a recording; only meaningful with audio"),
        ('[expect]\noutcome = "continue"\n[[user]]\nat_s = 1\naudio = "moonshine_voice:assets/beckett.wav"\n'
         'voice = "en-us"\ntranscript = "a"\n', r"#1 voice: only for text spoken by espeak-ng"),
        ('[expect]\noutcome = "continue"\n[room]\ntv_db = -40\ntv_audio = "moonshine_voice:assets/two_cities.wav"\n'
         'tv_text = "news"\n', r"\[room\] tv_text: the television plays tv_audio"),
        ('[expect]\noutcome = "continue"\n[room]\ntv_audio = "moonshine_voice:assets/two_cities.wav"\n',
         r"\[room\] tv_db: tv_audio is set but tv_db is not"),
        ('[expect]\noutcome = "continue"\n[room]\ntv_db = -40\ntv_text = "news"\ntv_to_s = 3.0\n',
         r"\[room\] tv_to_s: cuts a recording; only meaningful with tv_audio"),
        ('[expect]\noutcome = "continue"\n[room]\ntv_db = -40\ntv_audio = "nope_pkg_q:a.wav"\n',
         r"\[room\] tv_audio: nope_pkg_q:a.wav: package nope_pkg_q is not installed"),
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


# --------------------------------------------------------------------------- recorded speech

HUMAN = sorted(SUITE.glob("human-*.toml"))


def test_a_package_recording_loads_with_its_cut(tmp_path):
    path = tmp_path / "rec.toml"
    path.write_text(BASE + '''[[user]]
at_s = 1.5
audio = "moonshine_voice:assets/two_cities.wav"
from_s = 0.9
to_s = 4.8
transcript = "It was the best of times, it was the worst of times"
level_db = -22
[expect]
outcome = "cut"
type = "redirect"
''')
    (clip,) = load_scenario(path).users
    package_dir = Path(importlib.util.find_spec("moonshine_voice").submodule_search_locations[0])
    assert clip.audio == (package_dir / "assets" / "two_cities.wav").resolve()
    assert (clip.from_s, clip.to_s, clip.level_db) == (0.9, 4.8, -22.0)
    assert clip.words[:4] == ("it", "was", "the", "best") and not clip.is_noise


def test_a_recorded_television_reads_its_fields(tmp_path):
    path = tmp_path / "tv.toml"
    path.write_text(BASE + '''[room]
tv_db = -40
tv_audio = "/usr/share/sounds/alsa/Front_Center.wav"
tv_to_s = 1.0
[expect]
outcome = "continue"
''')
    room = load_scenario(path).room
    assert room.tv_audio == Path("/usr/share/sounds/alsa/Front_Center.wav")
    assert (room.tv_db, room.tv_from_s, room.tv_to_s, room.tv_text) == (-40.0, 0.0, 1.0, "")


def _recordings(scenario):
    """(path, from_s, to_s, transcript) of every recording a scenario plays, television included."""
    found = [(u.audio, u.from_s, u.to_s, u.transcript) for u in scenario.users if u.audio is not None]
    if scenario.room.tv_audio is not None:
        found.append((scenario.room.tv_audio, scenario.room.tv_from_s, scenario.room.tv_to_s, None))
    return found


def test_human_scenarios_read_recordings_from_installed_packages():
    assert len(HUMAN) >= 15
    for path in HUMAN:
        assert _recordings(load_scenario(path)), path.stem
        raw = tomllib.loads(path.read_text())
        specs = [u["audio"] for u in raw.get("user", []) if "audio" in u]
        specs += [raw["room"]["tv_audio"]] if "tv_audio" in raw.get("room", {}) else []
        for spec in specs:
            # read where a package put it, never a copy in this repository; never the
            # pocketsphinx test data (held out for evaluation)
            assert is_package_spec(spec) or spec.startswith("/usr/share/sounds/"), (path.stem, spec)
            assert "pocketsphinx" not in spec, (path.stem, spec)


def _block_db(pcm: np.ndarray) -> np.ndarray:
    n = len(pcm) // 160  # 10 ms at 16 kHz
    return 10.0 * np.log10(np.mean(pcm[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)


@pytest.mark.parametrize("path", HUMAN, ids=[p.stem for p in HUMAN])
def test_human_cuts_fall_in_pauses_and_transcripts_fit_their_length(path):
    """Each cut edge inside a recording lies in a pause (15 dB below the cut's speech),
    and the transcript's word count fits the cut's voiced length (1 to 4.5 words/s)."""
    for audio, from_s, to_s, transcript in _recordings(load_scenario(path)):
        whole = read_recording(audio)
        db = _block_db(whole)
        first, last = int(round(from_s * 100)), len(db) if to_s is None else int(round(to_s * 100))
        cut = db[first:last]
        speech_db = 10.0 * np.log10(np.mean(10.0 ** (cut[cut >= cut.max() - 30.0] / 10.0)))
        for edge in (first, last):
            if 2 <= edge <= len(db) - 2:
                around = db[edge - 2: edge + 2]  # +-20 ms
                assert around.max() < speech_db - 15.0, (path.stem, audio.name, edge / 100)
        if transcript is not None:
            on_s, off_s = voiced_span(read_recording(audio, from_s, to_s))
            rate = len(words_of(transcript)) / (off_s - on_s)
            assert 1.0 <= rate <= 4.5, (path.stem, audio.name, rate)


IDLE = '''description = "d"
start = "idle"
[listen]
mode = "wake_word"
'''


def test_an_idle_scenario_reads_its_listening_mode_and_expected_turn(tmp_path):
    path = tmp_path / "idle.toml"
    path.write_text(IDLE + '[[user]]\nat_s = 1.0\ntext = "Alexa, what time is it?"\n'
                    '[expect]\noutcome = "turn"\nturns = 1\nrequest = "what time is it"\n')
    s = load_scenario(path)
    assert s.starts_idle and s.listen_mode == "wake_word" and s.agent.text == ""
    assert s.expect.outcome == "turn" and s.expect.turns == 1
    assert s.expect.request == "what time is it"
    answering = tmp_path / "answer.toml"
    answering.write_text(BASE + '[expect]\noutcome = "continue"\n')
    s = load_scenario(answering)
    assert not s.starts_idle and s.listen_mode == "open", "scenarios listen openly by default"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (IDLE + '[expect]\noutcome = "cut"\ntype = "button"\n',
         r"\[expect\] outcome: 'cut' is not allowed; use one of 'turn', 'ignored'"),
        (IDLE + '[expect]\noutcome = "turn"\n', "nothing in the room can start a turn"),
        (IDLE + '[[user]]\nat_word = 2\ntext = "alexa"\n[expect]\noutcome = "turn"\n',
         "at_word: an idle scenario without \\[agent\\]"),
        (IDLE + '[[user]]\nat_s = 1.0\ntext = "hello"\n[expect]\noutcome = "ignored"\nturns = 1\n',
         'outcome = "ignored" means no turns'),
        (BASE + '[listen]\nmode = "always"\n[expect]\noutcome = "continue"\n',
         r"\[listen\] mode: 'always' is not allowed"),
        (BASE + '[expect]\noutcome = "turn"\n', r"'turn' is not allowed; use one of 'cut'"),
    ],
)
def test_idle_scenario_mistakes_name_the_key(tmp_path, body, message):
    path = tmp_path / "x.toml"
    path.write_text(body)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ('outcome = "turn"\nring_cut = "backchannel"\n', r"ring_cut: 'backchannel' keeps the appliance"),
        ('outcome = "turn"\nrings = 0\nring_cut = "cancellation"\n', r"ring_cut: needs a ring"),
        ('outcome = "ignored"\nrings = 1\n', r"rings: a timer is set by a request"),
        ('outcome = "turn"\nring_cut = "stopped"\n', r"ring_cut: 'stopped' is not a type"),
    ],
)
def test_timer_expectations_are_checked(tmp_path, expect, message):
    path = tmp_path / "timer.toml"
    path.write_text('description = "d"\nstart = "idle"\n[[user]]\nat_s = 1\n'
                    'text = "set a timer for five seconds"\n[expect]\n' + expect)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_the_timer_scenarios_expect_a_ring_and_a_cancelled_one():
    rings = load_scenario(SUITE / "timer-rings.toml").expect
    assert rings.outcome == "turn" and rings.rings == 1 and rings.ring_cut is None
    stopped = load_scenario(SUITE / "timer-stop-over-ring.toml").expect
    assert stopped.rings == 1 and stopped.ring_cut is InterruptionType.CANCELLATION
