"""Benchmark scenarios: one TOML file describes one scripted moment in the virtual room.

A scenario says what the appliance is saying (``[agent]``), what the room does to
sound (``[room]``), who talks over it and when (``[[user]]``), when the button is
pressed (``[[button]]``), and what a good appliance does about it (``[expect]``).
``start = "idle"`` scenarios begin with the appliance silent and waiting: the question
is then whether the room's sounds start a turn or are ignored, under the listening mode
of ``[listen]`` (``open`` unless the scenario says otherwise), and, for a timer set in
such a turn, whether it rings and how talking over the ring is handled.
The format is documented in ``bench/scenarios/README.md``; this module reads and
checks it. A mistake stops with one line naming the file and the key, like the
config loader.

Times: the virtual clock starts at 0 when the appliance begins preparing its reply.
Without ``reply_delay_ms`` that is also its first sample. A user entry or a button
press is placed either at ``at_s`` or at ``at_word`` (index into the words of the
agent's text, negative from the end) plus ``word_fraction`` of that word, which
the runner resolves with :func:`resolve_at_s` from the TTS word spans.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bargein.agent.classifier import PhraseBook
from bargein.agent.interruption import CUT_TYPES, InterruptionType
from bargein.bench.recordings import (
    RecordingError,
    is_package_spec,
    probe_recording,
    resolve_recording,
)
from bargein.core.errors import ConfigError
from bargein.device.appliance_settings import LISTEN_MODES

log = logging.getLogger(__name__)

SUITE_DIR = Path(str(resources.files("bargein.bench") / "scenarios"))
"""The scenario suite shipped with the package (``bench/scenarios`` in the source tree)."""
CLIPS_DIR = SUITE_DIR / "clips"
"""Its recorded noises (cough, door, ...), made by ``make_clips.py`` beside them."""

OUTCOMES = ("cut", "continue")
MAX_SCENARIO_BYTES = 1_000_000
IDLE_OUTCOMES = ("turn", "ignored")
STARTS = ("answer", "idle")
CONTINUE_TYPES = frozenset({InterruptionType.BACKCHANNEL, InterruptionType.NOISE})

_TOKEN = re.compile(r"(?:[^\W_]|')+")  # letters of any script, digits, apostrophes


class ScenarioError(ConfigError):
    """A scenario file is missing, malformed, or its expectation contradicts itself."""


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case word tokens of ``text`` (punctuation dropped, hyphens split)."""
    return tuple(_TOKEN.findall(text.lower().replace("-", " ")))


@dataclass(frozen=True)
class AgentSpec:
    """What the appliance says."""

    text: str
    reply_delay_ms: int = 0  # the reply is still being prepared this long after t = 0

    @property
    def first_sample_s(self) -> float:
        """Virtual time of the appliance's first sample."""
        return self.reply_delay_ms / 1000.0

    @property
    def words(self) -> tuple[str, ...]:
        return words_of(self.text)


@dataclass(frozen=True)
class RoomSpec:
    """The acoustics between the speaker, the people and the microphone."""

    echo_gain_db: float = -12.0  # speaker -> mic coupling
    echo_delay_ms: float = 8.0
    reverb_ms: float = 150.0  # decay tail of the echo, 0 = none
    noise_db: float = -60.0  # background noise RMS at the mic, dBFS
    tv_db: float | None = None  # RMS of a background television voice at the mic; None = no TV
    tv_text: str = ""  # what the television says (espeak-ng, looped for the whole run)
    tv_voice: str = "en+m3"  # espeak-ng voice of the television
    tv_audio: Path | None = None  # or: a recording it plays (looped), instead of tv_text
    tv_from_s: float = 0.0  # cut of tv_audio, seconds into the recording
    tv_to_s: float | None = None  # None = to its end


@dataclass(frozen=True)
class UserClip:
    """One sound a person makes: words (espeak-ng) or a recorded clip.

    ``transcript`` is what an oracle recognizer reports for it: the ``text`` for
    synthesized speech, the file's ``transcript`` for a clip ("" for a noise),
    which for a cut of a longer recording is what is said between ``from_s`` and
    ``to_s``.
    """

    index: int
    text: str | None = None
    audio: Path | None = None  # absolute path of a WAV (any rate), resolved by the loader
    transcript: str = ""
    from_s: float = 0.0  # cut of audio, seconds into the recording
    to_s: float | None = None  # None = to its end
    voice: str = "en-us"
    say: str | None = None  # what espeak-ng pronounces when its reading of text is wrong
    speed_wpm: int | None = None  # espeak-ng -s; None = its default
    level_db: float = -20.0  # RMS of the clip's active part at the mic, dBFS
    at_s: float | None = None
    at_word: int | None = None
    word_fraction: float = 0.5

    @property
    def is_noise(self) -> bool:
        return not words_of(self.transcript)

    @property
    def words(self) -> tuple[str, ...]:
        return words_of(self.transcript)


@dataclass(frozen=True)
class ButtonPress:
    """A press of the hardware button."""

    index: int
    at_s: float | None = None
    at_word: int | None = None
    word_fraction: float = 0.5
    hold_ms: float = 80.0


@dataclass(frozen=True)
class Expectation:
    """What a good appliance does in this scenario.

    ``type`` is the class of the first interruption that cuts (or, for "continue",
    optionally the class a listener would give the sound: backchannel or noise).
    ``cuts``, when given, is the exact number of cuts; ``types`` the class of each.
    ``resumed`` asks that the words left unplayed by the cut play later (the
    "continue" follow-up after a cancellation).

    Scenarios that start idle expect "turn" (something in the room opened a turn: a
    request went to the agent) or "ignored" (nothing did); ``turns``, when given, is the
    exact number of requests, and ``request`` the words the first one should be (the
    wake phrase taken out; a difference is noted in the score). ``rings``, when given,
    is the exact number of kitchen timers that rang and were said; ``ring_cut`` the type
    of the interruption that should cut a ring (recorded against the ring's utterance).
    """

    outcome: str
    type: InterruptionType | None = None
    cuts: int | None = None
    types: tuple[InterruptionType, ...] | None = None
    resumed: bool = False
    turns: int | None = None
    request: str | None = None
    rings: int | None = None
    ring_cut: InterruptionType | None = None


@dataclass(frozen=True)
class Scenario:
    """One benchmark scenario, checked."""

    name: str
    path: Path
    description: str
    agent: AgentSpec
    room: RoomSpec
    users: tuple[UserClip, ...]
    buttons: tuple[ButtonPress, ...]
    expect: Expectation
    duration_s: float | None = None  # run this long; None = until the appliance is done (runner's rule)
    start: str = "answer"  # "answer": the appliance starts answering at t = 0; "idle": it waits
    listen_mode: str = "open"  # [listen] mode of the appliance in this scenario
    language: str = "en"  # [bargein] language of the appliance: the phrase pack it hears with

    @property
    def starts_idle(self) -> bool:
        return self.start == "idle"

    @property
    def is_echo_only(self) -> bool:
        return self.name.startswith("echo-")


def resolve_at_s(
    entry: UserClip | ButtonPress,
    word_spans_s: Sequence[tuple[float, float]],
) -> float:
    """The virtual time of a user clip or button press.

    ``word_spans_s`` are the (start, end) virtual times of each word of the agent's
    first utterance as it will come out of the speaker (TTS word spans shifted by
    the first sample time and the output latency). Needed only for ``at_word``.
    """
    if entry.at_s is not None:
        return entry.at_s
    assert entry.at_word is not None  # the loader guarantees one of the two
    if not word_spans_s:
        raise ScenarioError("at_word needs the agent's word spans; the agent said nothing")
    index = entry.at_word if entry.at_word >= 0 else len(word_spans_s) + entry.at_word
    if not 0 <= index < len(word_spans_s):
        raise ScenarioError(
            f"at_word = {entry.at_word} is outside the agent's {len(word_spans_s)} words; "
            "pick an index inside the text"
        )
    start_s, end_s = word_spans_s[index]
    return start_s + entry.word_fraction * (end_s - start_s)


# --------------------------------------------------------------------------- parsing


class _Table:
    """A TOML table read key by key, with errors that name the file and the key."""

    def __init__(self, source: str, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: {where} must be a table of keys")
        self.source, self.where, self.data = source, where, data
        self.used: set[str] = set()

    def _fail(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self.where} {key}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False,
            lo: float | None = None, hi: float | None = None,
            choices: Sequence[Any] | None = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self._fail(key, "missing; this key is required")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, bool) if kind is bool else (
            isinstance(value, kind) and not isinstance(value, bool)
        )
        if not ok:
            names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
            raise self._fail(key, f"expected {names[kind]}, got {type(value).__name__} {value!r}")
        if kind is float and not math.isfinite(value):
            raise self._fail(key, f"{value!r} is not a finite number")
        if choices is not None and value not in choices:
            raise self._fail(key, f"{value!r} is not allowed; use one of "
                             + ", ".join(repr(c) for c in choices))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self._fail(key, f"{value!r} is out of range; allowed {lo} to {hi}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self._fail(unknown[0], "unknown key; keys here are " + ", ".join(sorted(self.used)))


_TYPE_VALUES = tuple(t.value for t in InterruptionType)


def _parse_agent(source: str, data: Any) -> AgentSpec:
    t = _Table(source, "[agent]", data)
    text = t.get("text", str, required=True)
    if not words_of(text):
        raise t._fail("text", "the appliance must say at least one word")
    agent = AgentSpec(text=text, reply_delay_ms=t.get("reply_delay_ms", int, 0, lo=0, hi=30000))
    t.finish()
    return agent


def _parse_room(source: str, data: Any, base_dir: Path) -> RoomSpec:
    t = _Table(source, "[room]", data)
    tv_audio, tv_from_s, tv_to_s = _parse_recording(t, "tv_audio", "tv_from_s", "tv_to_s", base_dir)
    room = RoomSpec(
        echo_gain_db=t.get("echo_gain_db", float, RoomSpec.echo_gain_db, lo=-120.0, hi=20.0),
        echo_delay_ms=t.get("echo_delay_ms", float, RoomSpec.echo_delay_ms, lo=0.0, hi=500.0),
        reverb_ms=t.get("reverb_ms", float, RoomSpec.reverb_ms, lo=0.0, hi=2000.0),
        noise_db=t.get("noise_db", float, RoomSpec.noise_db, lo=-120.0, hi=0.0),
        tv_db=t.get("tv_db", float, None, lo=-120.0, hi=0.0),
        tv_text=t.get("tv_text", str, ""),
        tv_voice=t.get("tv_voice", str, RoomSpec.tv_voice),
        tv_audio=tv_audio,
        tv_from_s=tv_from_s,
        tv_to_s=tv_to_s,
    )
    if tv_audio is not None:
        for key in ("tv_text", "tv_voice"):
            if t.has(key):
                raise t._fail(key, "the television plays tv_audio; give either tv_audio or tv_text, "
                              "not both")
    elif room.tv_db is not None and not words_of(room.tv_text):
        raise t._fail("tv_text", "a television (tv_db) needs something to say; set tv_text "
                      "or tv_audio")
    if room.tv_db is None and (room.tv_text or tv_audio is not None):
        key = "tv_text" if room.tv_text else "tv_audio"
        raise t._fail("tv_db", f"{key} is set but tv_db is not; give the television's level")
    t.finish()
    return room


def _parse_recording(t: _Table, key: str, from_key: str, to_key: str,
                     base_dir: Path) -> tuple[Path | None, float, float | None]:
    """The recording named by ``key`` and its cut, checked against the file.

    A missing package or file stops here, naming the key and the install command,
    so a run never starts without its audio.
    """
    spec = t.get(key, str, None)
    from_s = t.get(from_key, float, 0.0, lo=0.0, hi=3600.0)
    to_s = t.get(to_key, float, None, lo=0.0, hi=3600.0)
    if spec is None:
        for cut_key in (from_key, to_key):
            if t.has(cut_key):
                raise t._fail(cut_key, f"cuts a recording; only meaningful with {key}")
        return None, 0.0, None
    local = not is_package_spec(spec) and not Path(spec).is_absolute()
    if local and not (base_dir / spec).is_file():
        raise t._fail(key, f"{(base_dir / spec).resolve()} not found; run bench/scenarios/make_clips.py "
                      "or fix the path (relative to the scenario file)")
    try:
        path = resolve_recording(spec, base_dir)
        info = probe_recording(path)
    except RecordingError as exc:
        raise t._fail(key, str(exc)) from exc
    if to_s is not None and to_s <= from_s:
        raise t._fail(to_key, f"{to_s} is not after {from_key} = {from_s}; the cut must have a length")
    if from_s >= info.duration_s:
        raise t._fail(from_key, f"{from_s} is past the end of {spec} ({info.duration_s:.2f} s)")
    if to_s is not None and to_s > info.duration_s + 1e-3:
        raise t._fail(to_key, f"{to_s} is past the end of {spec} ({info.duration_s:.2f} s); "
                      "leave it out to read to the end")
    return path, from_s, to_s


def _parse_when(t: _Table) -> dict[str, Any]:
    at_s = t.get("at_s", float, None, lo=0.0, hi=3600.0)
    at_word = t.get("at_word", int, None)
    fraction = t.get("word_fraction", float, 0.5, lo=0.0, hi=1.0)
    if (at_s is None) == (at_word is None):
        raise t._fail("at_s", "give exactly one of at_s (seconds) or at_word (agent word index)")
    if at_s is not None and t.has("word_fraction"):
        raise t._fail("word_fraction", "only meaningful with at_word")
    return {"at_s": at_s, "at_word": at_word, "word_fraction": fraction}


def _parse_user(source: str, index: int, data: Any, base_dir: Path) -> UserClip:
    t = _Table(source, f"[[user]] #{index + 1}", data)
    when = _parse_when(t)
    text = t.get("text", str, None)
    transcript = t.get("transcript", str, None)
    if (text is None) == (not t.has("audio")):
        raise t._fail("text", "give exactly one of text (spoken by espeak-ng) or audio (a WAV clip)")
    audio, from_s, to_s = _parse_recording(t, "audio", "from_s", "to_s", base_dir)
    if text is not None:
        if not words_of(text):
            raise t._fail("text", "must contain words; use audio + transcript = \"\" for a noise")
        if transcript is not None:
            raise t._fail("transcript", "only for audio clips; the text is the transcript "
                          "(use say = ... to change how espeak-ng pronounces it)")
        transcript = text
    elif transcript is None:
        raise t._fail("transcript", 'an audio clip needs its transcript ("" for a noise; '
                      "for a cut of a recording, the words said in the cut)")
    clip = UserClip(
        index=index,
        text=text,
        audio=audio,
        transcript=transcript,
        from_s=from_s,
        to_s=to_s,
        voice=t.get("voice", str, UserClip.voice),
        say=t.get("say", str, None),
        speed_wpm=t.get("speed_wpm", int, None, lo=80, hi=450),
        level_db=t.get("level_db", float, UserClip.level_db, lo=-90.0, hi=0.0),
        **when,
    )
    for key in ("voice", "say", "speed_wpm"):
        if audio is not None and t.has(key):
            raise t._fail(key, "only for text spoken by espeak-ng")
    t.finish()
    return clip


def _parse_button(source: str, index: int, data: Any) -> ButtonPress:
    t = _Table(source, f"[[button]] #{index + 1}", data)
    press = ButtonPress(index=index, hold_ms=t.get("hold_ms", float, 80.0, lo=1.0, hi=30000.0),
                        **_parse_when(t))
    t.finish()
    return press


def _parse_type(t: _Table, key: str, value: Any) -> InterruptionType:
    if not isinstance(value, str) or value not in _TYPE_VALUES:
        raise t._fail(key, f"{value!r} is not a type; use one of " + ", ".join(_TYPE_VALUES))
    return InterruptionType(value)


def _parse_listen(source: str, data: Any) -> str:
    t = _Table(source, "[listen]", data)
    mode = t.get("mode", str, "open", choices=LISTEN_MODES)
    t.finish()
    return mode


def _parse_expect(source: str, data: Any, start: str) -> Expectation:
    t = _Table(source, "[expect]", data)
    outcome = t.get("outcome", str, required=True,
                    choices=IDLE_OUTCOMES if start == "idle" else OUTCOMES)
    if start == "idle":
        turns = t.get("turns", int, None, lo=0, hi=20)
        request = t.get("request", str, None)
        rings = t.get("rings", int, None, lo=0, hi=20)
        raw_ring_cut = t.get("ring_cut", str, None)
        ring_cut = None if raw_ring_cut is None else _parse_type(t, "ring_cut", raw_ring_cut)
        t.finish()
        if ring_cut is not None and ring_cut not in CUT_TYPES:
            raise t._fail("ring_cut", f"{ring_cut.value!r} keeps the appliance talking; it "
                          "cannot cut a ring")
        if ring_cut is not None and rings == 0:
            raise t._fail("ring_cut", "needs a ring to cut; rings = 0 says none rings")
        if rings and outcome != "turn":
            raise t._fail("rings", 'a timer is set by a request: rings need outcome = "turn"')
        if outcome == "ignored" and turns not in (None, 0):
            raise t._fail("turns", 'outcome = "ignored" means no turns')
        if outcome == "turn" and turns == 0:
            raise t._fail("turns", 'outcome = "turn" needs at least one turn')
        if request is not None and (outcome != "turn" or not words_of(request)):
            raise t._fail("request", 'the words of the first request, with outcome = "turn"')
        return Expectation(outcome=outcome, turns=turns, request=request, rings=rings,
                           ring_cut=ring_cut)
    raw_type = t.get("type", str, None)
    kind = None if raw_type is None else _parse_type(t, "type", raw_type)
    cuts = t.get("cuts", int, None, lo=0, hi=20)
    t.used.add("types")
    raw_types = t.data.get("types")
    types = None
    if raw_types is not None:
        if not isinstance(raw_types, list) or not raw_types:
            raise t._fail("types", "expected a non-empty list of types, one per cut")
        types = tuple(_parse_type(t, "types", v) for v in raw_types)
    resumed = t.get("resumed", bool, False)
    t.finish()

    if outcome == "cut":
        if kind is None:
            raise t._fail("type", 'outcome = "cut" needs the expected type of the cut')
        if kind not in CUT_TYPES:
            raise t._fail("type", f'{kind.value!r} keeps the appliance talking; it cannot cut')
        if cuts == 0:
            raise t._fail("cuts", 'outcome = "cut" needs at least one cut')
    else:
        if kind is not None and kind not in CONTINUE_TYPES:
            raise t._fail("type", f'{kind.value!r} cuts; with outcome = "continue" use '
                          "backchannel, noise or leave type out")
        if cuts not in (None, 0):
            raise t._fail("cuts", 'outcome = "continue" means no cuts')
        if types is not None:
            raise t._fail("types", 'outcome = "continue" has no cuts to type')
        if resumed:
            raise t._fail("resumed", 'only meaningful after a cut (outcome = "cut")')
    if types is not None:
        if cuts is not None and len(types) != cuts:
            raise t._fail("types", f"lists {len(types)} types for {cuts} cuts")
        if types[0] != kind:
            raise t._fail("types", f"the first entry must equal type = {kind.value if kind else None!r}")
        bad = [v.value for v in types if v not in CUT_TYPES]
        if bad:
            raise t._fail("types", f"{bad[0]!r} cannot cut")
    return Expectation(outcome=outcome, type=kind, cuts=cuts, types=types, resumed=resumed)


def scenario_from_dict(data: Mapping[str, Any], path: Path) -> Scenario:
    """Build a checked :class:`Scenario` from parsed TOML read from ``path``."""
    source = str(path)
    top = _Table(source, "top level", dict(data))
    description = top.get("description", str, required=True)
    duration_s = top.get("duration_s", float, None, lo=0.1, hi=3600.0)
    start = top.get("start", str, "answer", choices=STARTS)
    language = top.get("language", str, "en")
    try:
        PhraseBook.load(language)
    except ConfigError as exc:
        raise ScenarioError(f"{source}: top level language: {exc}") from exc
    for key in ("agent", "room", "user", "button", "expect", "listen"):
        top.used.add(key)
    top.finish()
    if "agent" not in data and start != "idle":
        raise ScenarioError(f"{source}: [agent]: missing; every scenario says what the appliance "
                            "says (only a scenario with start = \"idle\" may leave it out)")
    if "expect" not in data:
        outcomes = '"turn" or "ignored"' if start == "idle" else '"cut" or "continue"'
        raise ScenarioError(f"{source}: [expect]: missing; say outcome = {outcomes}")
    agent = _parse_agent(source, data["agent"]) if "agent" in data else AgentSpec(text="")
    listen_mode = _parse_listen(source, data.get("listen", {}))
    room = _parse_room(source, data.get("room", {}), path.parent)
    users_raw = data.get("user", [])
    buttons_raw = data.get("button", [])
    for name, raw in (("user", users_raw), ("button", buttons_raw)):
        if not isinstance(raw, list):
            raise ScenarioError(f"{source}: [[{name}]]: must be an array of tables ([[{name}]])")
    users = tuple(_parse_user(source, i, d, path.parent) for i, d in enumerate(users_raw))
    buttons = tuple(_parse_button(source, i, d) for i, d in enumerate(buttons_raw))
    expect = _parse_expect(source, data["expect"], start)

    if expect.outcome == "turn" and not users and not buttons:
        raise ScenarioError(f"{source}: [expect] outcome: nothing in the room can start a turn; "
                            "add a [[user]] or [[button]]")
    if start == "idle" and not agent.text:
        for entry in (*users, *buttons):
            if entry.at_word is not None:
                raise ScenarioError(f"{source}: at_word: an idle scenario without [agent] has no "
                                    "answer to time it against; use at_s")
    if start == "idle" and agent.reply_delay_ms:
        raise ScenarioError(f"{source}: [agent] reply_delay_ms: only for scenarios that start "
                            "answering")
    if expect.outcome == "cut" and not users and not buttons:
        raise ScenarioError(f"{source}: [expect] outcome: nothing in the room can cause a cut; "
                            "add a [[user]] or [[button]]")
    if expect.type is InterruptionType.BUTTON and not buttons:
        raise ScenarioError(f"{source}: [expect] type: \"button\" needs a [[button]] press")
    if path.stem.startswith("echo-") and (users or buttons or expect.outcome != "continue"):
        raise ScenarioError(f"{source}: [expect] outcome: echo-* scenarios hold only the "
                            "appliance's own voice and expect \"continue\"")
    if duration_s is not None:
        last = max([u.at_s or 0.0 for u in users] + [b.at_s or 0.0 for b in buttons], default=0.0)
        if duration_s <= last:
            raise ScenarioError(f"{source}: top level duration_s: {duration_s} ends before the "
                                f"last entry at {last} s; make it longer")
    return Scenario(name=path.stem, path=path, description=description, agent=agent, room=room,
                    users=users, buttons=buttons, expect=expect, duration_s=duration_s,
                    start=start, listen_mode=listen_mode, language=language)


def load_scenario(path: Path | str) -> Scenario:
    """Read and check one scenario file."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"{path}: scenario file not found; check the path")
    if not path.is_file():
        raise ScenarioError(f"{path}: not a regular file; give a scenario .toml file")
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from exc
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"{path}: larger than {MAX_SCENARIO_BYTES} bytes; not a scenario file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc}); fix the syntax at that line") from exc
    return scenario_from_dict(data, path)


def load_suite(directory: Path | str) -> tuple[Scenario, ...]:
    """Every ``*.toml`` scenario in ``directory``, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ScenarioError(f"{directory}: not a directory; give the folder holding the scenario files")
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ScenarioError(f"{directory}: no *.toml scenarios here; point at bench/scenarios")
    suite = tuple(load_scenario(p) for p in paths)
    log.info("loaded %d scenarios from %s", len(suite), directory)
    return suite
