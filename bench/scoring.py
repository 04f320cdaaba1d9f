"""Scoring one simulation's event log against its scenario, and summing a suite up.

Definitions (all times on the virtual clock of ``events.jsonl``):

- A **stop** is a ``cut`` (the speaker was told to stop), a ``cancel`` (the
  pending reply was dropped before it played), or an ``interruption`` record
  handled as "cut"/"cancelled" with neither (decided after the last word ended).
  Stops with the same cause within ``MERGE_S`` count once (a cut is usually
  followed by cancelling the reply; its record may be written later).
- The **cause** of a stop is the latest true event (``truth_user`` onset or
  ``truth_button``) at or before it, provided the stop comes no later than
  ``ATTRIBUTION_WINDOW_S`` after that clip ended. A stop with no cause, or caused by
  a noise (a clip whose transcript is empty), is not a valid cut.
- ``outcome`` is "cut" when anything stopped, else "continue". Recall counts a
  scenario expecting a cut when its first stop is valid; the false-cut rate
  counts any stop in a scenario expecting continue.
- ``type``: the settled type of the first stop: the first ``interruption`` record
  after the cause that neither continued nor was a backchannel/noise; failing that
  the ``type`` on the cut event; failing that the last ``decision`` before it.
- ``detect_ms``: the cause's true onset → the first duck, pause, cut or cancel.
  Without a stop, measured from the first spoken clip (the ducks of a backchannel).
- ``cut_ms``: true onset → ``speaker_silent`` after the first stop.
- ``cut_after_recognition_ms``: the deciding partial (the last ``partial``/``final``
  at or before the stop, after the onset) → ``speaker_silent``.
- ``button_cut_ms``: the press → ``speaker_silent``.
- ``heard_exact``: the record's ``words_heard`` equal the words of the cut utterance
  whose audio finished at the speaker (``word_played`` complete and ending no later
  than the silence point), compared as normalised tokens.

What a listener hears:

- ``reply_level_after_cut_db``: the playback gain (``reply_played`` ``gain_db``: the
  level played minus the level synthesised, outside the ducks the pipeline asked
  for) of each reply that started after the first stop, minus the median gain of the
  replies before it; the one furthest from 0 dB. A reply after a cut should sound
  like the replies before (target +-1 dB).
- ``self_ducks``: ducks no person's sound explains (no ``truth_user`` clip from its
  onset to ``ATTRIBUTION_WINDOW_S`` after its end, the window a stop is attributed
  in: a slow recognizer's late cut still has its person) in a room without a
  television: the appliance lowered its voice for its own echo or for nothing.
  Target 0.
  ``tv_ducks``: the same in a room with a television (the set, or the echo).
- ``reply_latency_ms``: for each clip with words that got an answer, the end of the
  clip to the first sample of the first reply (an utterance other than the
  scenario's first answer) that began after the clip did, when no later clip came
  between them; negative when the reply began while the person was still talking.
  A reply that answers no one (the television's words) gives no figure.

Scenarios that start idle (``start = "idle"``):

- ``outcome`` is "turn" when a request went to the agent (a ``turn`` event), else
  "ignored"; ``turns`` counts the requests, ``ignored`` the utterances the machine
  heard and did not answer, and ``request`` is the first request's text (a difference
  from the scenario's ``request`` is noted, not scored: it is the recognizer's doing).
- ``rings``: the kitchen timers that rang and reached the speaker (a ``ring`` handed to
  the voice, its ``speak`` at the same time, and at least one of its words played);
  ``ring_cuts``: the types of the interruptions recorded against a ring's utterance that
  stopped it. A ring answers no one: it gives no ``reply_latency_ms``.
- ``idle_turn_recall``: the share of idle scenarios expecting a turn that got one (the
  wake phrase and a request answered); ``idle_false_turns``: requests sent in idle
  scenarios expecting none (the television or a side conversation answered). These
  scenarios stay out of recall and the false-cut rate.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bargein.bench.scenario import Scenario, words_of
from bargein.bench.sim_log import SimEvent, of_kind

log = logging.getLogger(__name__)

ATTRIBUTION_WINDOW_S = 3.0  # a stop (or duck) this long after a clip ended is not caused by it
MERGE_S = 1.0  # stops with one cause closer than this are one interruption
_EPS_S = 1e-6
_CONTINUE_TYPES = ("backchannel", "noise")
_DETECT_KINDS = ("duck", "pause", "cut", "cancel")
# An interruption record handled like this stops the appliance even without a cut event
# (e.g. "stop" decided just after the last word finished playing).
STOP_HANDLING = ("cut", "cancelled")
_RANK = {"interruption": 0, "cancel": 1, "cut": 2}


@dataclass(frozen=True)
class Cause:
    """A true event that can explain a reaction: a user clip or a button press."""

    source: str  # "user" or "button"
    index: int
    onset_s: float
    end_s: float
    text: str = ""

    @property
    def is_noise(self) -> bool:
        return self.source == "user" and not words_of(self.text)

    @property
    def label(self) -> str:
        return f"{self.source}:{self.index}"


@dataclass(frozen=True)
class Stop:
    """One interruption that stopped the appliance."""

    t_s: float
    kind: str  # "cut", "cancel", or "interruption" (a record with no cut/cancel event)
    cause: Cause | None
    type: str | None
    record: SimEvent | None
    silent_s: float | None
    deciding_s: float | None

    @property
    def valid(self) -> bool:
        return self.cause is not None and not self.cause.is_noise


@dataclass(frozen=True)
class ScenarioScore:
    """How one strategy did on one scenario. ``to_json`` gives the bench document's row."""

    name: str
    expected: str
    expected_type: str | None
    outcome: str
    type: str | None
    detect_ms: float | None
    cut_ms: float | None
    heard_exact: bool | None
    cut_after_recognition_ms: float | None = None
    button_cut_ms: float | None = None
    cut_valid: bool = False
    correct: bool = False
    type_ok: bool | None = None
    cuts: int = 0
    types: tuple[str | None, ...] = ()
    ducks: int = 0
    resumed: bool | None = None
    cause: str | None = None
    echo_only: bool = False
    under_echo: bool = False
    speaker_active_s: float = 0.0
    audio_s: float = 0.0
    cpu_s: float | None = None
    reply_level_after_cut_db: float | None = None
    self_ducks: int = 0
    tv_ducks: int = 0
    reply_latency_ms: tuple[float, ...] = ()
    idle: bool = False
    turns: int = 0
    ignored: int = 0
    request: str | None = None
    rings: int = 0
    ring_cuts: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expected": self.expected,
            "outcome": self.outcome,
            "type": self.type,
            "detect_ms": self.detect_ms,
            "cut_ms": self.cut_ms,
            "heard_exact": self.heard_exact,
            "expected_type": self.expected_type,
            "correct": self.correct,
            "cut_after_recognition_ms": self.cut_after_recognition_ms,
            "button_cut_ms": self.button_cut_ms,
            "cuts": self.cuts,
            "types": list(self.types),
            "ducks": self.ducks,
            "resumed": self.resumed,
            "cause": self.cause,
            "speaker_active_s": self.speaker_active_s,
            "audio_s": self.audio_s,
            "cpu_s": self.cpu_s,
            "reply_level_after_cut_db": self.reply_level_after_cut_db,
            "self_ducks": self.self_ducks,
            "tv_ducks": self.tv_ducks,
            "reply_latency_ms": list(self.reply_latency_ms),
            **({"idle": True, "turns": self.turns, "ignored": self.ignored,
                "request": self.request, "rings": self.rings,
                "ring_cuts": list(self.ring_cuts)} if self.idle else {}),
            "notes": list(self.notes),
        }


def _ms(later_s: float | None, earlier_s: float | None) -> float | None:
    if later_s is None or earlier_s is None:
        return None
    return round((later_s - earlier_s) * 1000.0, 1)


def causes_of(events: Sequence[SimEvent]) -> list[Cause]:
    """Every true user clip and button press of a run, by onset."""
    causes = [
        Cause("user", int(e["clip"]), float(e["onset_s"]), float(e["end_s"]), str(e["text"]))
        for e in of_kind(events, "truth_user")
    ]
    presses = of_kind(events, "truth_button")
    causes += [Cause("button", i, float(e["at_s"]), float(e["at_s"])) for i, e in enumerate(presses)]
    return sorted(causes, key=lambda c: c.onset_s)


def cause_of(t_s: float, causes: Sequence[Cause]) -> Cause | None:
    """The latest true event at or before ``t_s`` that can still explain a reaction then."""
    before = [c for c in causes if c.onset_s <= t_s + _EPS_S]
    if not before:
        return None
    latest = before[-1]
    return latest if t_s <= latest.end_s + ATTRIBUTION_WINDOW_S else None


def _settled_type(events: Sequence[SimEvent], stop_event: SimEvent, cause: Cause | None,
                  until_s: float) -> tuple[str | None, SimEvent | None]:
    since_s = cause.onset_s if cause is not None else stop_event.t_s - 0.5
    for record in of_kind(events, "interruption"):
        if not since_s - _EPS_S <= record.t_s < until_s:
            continue
        if record.get("handled") == "continued" or record["type"] in _CONTINUE_TYPES:
            continue
        return str(record["type"]), record
    if stop_event.get("type"):
        return str(stop_event["type"]), None
    decisions = [d for d in of_kind(events, "decision") if since_s - _EPS_S <= d.t_s <= stop_event.t_s]
    return (str(decisions[-1]["type"]) if decisions else None), None


def find_stops(events: Sequence[SimEvent]) -> list[Stop]:
    """The interruptions that stopped the appliance, first to last."""
    causes = causes_of(events)
    raw = [e for e in events if e.kind in ("cut", "cancel")
           or (e.kind == "interruption" and e.get("handled") in STOP_HANDLING)]
    merged: list[tuple[SimEvent, Cause | None]] = []
    for event in raw:
        cause = cause_of(event.t_s, causes)
        if merged:
            prev_event, prev_cause = merged[-1]
            same = cause is not None and cause == prev_cause
            if same and (event.kind == "interruption" or event.t_s - prev_event.t_s < MERGE_S):
                if _RANK[event.kind] > _RANK[prev_event.kind]:
                    merged[-1] = (event, cause)  # the cut is the one that silenced the speaker
                continue
        merged.append((event, cause))
    silents = of_kind(events, "speaker_silent")
    stops = []
    for i, (event, cause) in enumerate(merged):
        until_s = merged[i + 1][0].t_s if i + 1 < len(merged) else math.inf
        kind, record = _settled_type(events, event, cause, until_s)
        silent = next((s.t_s for s in silents if event.t_s - _EPS_S <= s.t_s < until_s), None)
        since_s = cause.onset_s if cause is not None else -math.inf
        partials = [p.t_s for p in of_kind(events, "partial", "final")
                    if since_s - _EPS_S <= p.t_s <= event.t_s + _EPS_S]
        stops.append(Stop(t_s=event.t_s, kind=event.kind, cause=cause, type=kind, record=record,
                          silent_s=silent, deciding_s=partials[-1] if partials else None))
    return stops


def _cut_utterance(events: Sequence[SimEvent], stop: Stop) -> Any:
    if stop.record is not None and stop.record.get("utterance_id") is not None:
        return stop.record["utterance_id"]
    for event in of_kind(events, "cut"):
        if abs(event.t_s - stop.t_s) < _EPS_S and event.get("utterance_id") is not None:
            return event["utterance_id"]
    speaks = [s for s in of_kind(events, "speak") if s.t_s <= stop.t_s + _EPS_S]
    return speaks[-1]["utterance_id"] if speaks else None


def words_finished(events: Sequence[SimEvent], utterance_id: Any, silent_s: float) -> tuple[str, ...]:
    """Normalised words of an utterance whose audio finished at the speaker by ``silent_s``."""
    by_index: dict[int, str] = {}
    played = [w for w in of_kind(events, "word_played") if w.get("utterance_id") == utterance_id]
    for order, word in enumerate(played):
        finished = word.get("complete", True) and word["end_s"] <= silent_s + _EPS_S
        if finished:
            by_index.setdefault(int(word.get("index", order)), str(word["text"]))
    return words_of(" ".join(by_index[i] for i in sorted(by_index)))


def _heard_exact(events: Sequence[SimEvent], stop: Stop, notes: list[str]) -> bool | None:
    if stop.record is None:
        notes.append("no interruption record for the cut")
        return False
    recorded = words_of(" ".join(str(w) for w in stop.record["words_heard"]))
    if stop.kind == "cancel" and stop.silent_s is None:  # the reply never started playing
        truth: tuple[str, ...] = ()
    else:
        silent_s = stop.silent_s if stop.silent_s is not None else stop.t_s
        truth = words_finished(events, _cut_utterance(events, stop), silent_s)
    if recorded != truth:
        notes.append(f"words heard recorded {len(recorded)} ({' '.join(recorded[-3:])!r}), "
                     f"truly finished {len(truth)} ({' '.join(truth[-3:])!r})")
    return recorded == truth


def _is_subsequence(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    it = iter(haystack)
    return all(word in it for word in needle)


def _resumed(events: Sequence[SimEvent], scenario: Scenario, stop: Stop) -> bool:
    if stop.record is not None and stop.record.get("words_unplayed") is not None:
        remainder = words_of(" ".join(str(w) for w in stop.record["words_unplayed"]))
    else:
        heard = words_finished(events, _cut_utterance(events, stop), stop.silent_s or stop.t_s)
        remainder = scenario.agent.words[len(heard):]
    later = [w for w in of_kind(events, "word_played") if w["start_s"] > stop.t_s]
    played_after = words_of(" ".join(str(w["text"]) for w in later))
    return bool(remainder) and _is_subsequence(remainder, played_after)


def _speaker_active_s(events: Sequence[SimEvent]) -> float:
    ends = of_kind(events, "end")
    if ends and ends[-1].get("speaker_active_s") is not None:
        return float(ends[-1]["speaker_active_s"])
    spans: dict[Any, list[float]] = {}
    for word in of_kind(events, "word_played"):
        span = spans.setdefault(word.get("utterance_id"), [math.inf, -math.inf])
        span[0] = min(span[0], float(word["start_s"]))
        span[1] = max(span[1], float(word["end_s"]))
    return round(sum(end - start for start, end in spans.values()), 3)


def _reply_level_after_cut_db(events: Sequence[SimEvent], first: Stop | None) -> float | None:
    if first is None:
        return None
    replies = [e for e in of_kind(events, "reply_played") if e["gain_db"] is not None]
    before = [e["gain_db"] for e in replies if e.t_s < first.t_s]
    after = [e["gain_db"] for e in replies if e.t_s > first.t_s]
    if not before or not after:
        return None
    reference = statistics.median(before)
    return round(max((g - reference for g in after), key=abs), 2)


def _lonely_ducks(events: Sequence[SimEvent], notes: list[str]) -> tuple[int, int]:
    """(self ducks, television ducks): ducks with no person making a sound."""
    clips = [(float(e["onset_s"]), float(e["end_s"])) for e in of_kind(events, "truth_user")]
    lonely = [e.t_s for e in of_kind(events, "duck")
              if not any(on - _EPS_S <= e.t_s <= end + ATTRIBUTION_WINDOW_S for on, end in clips)]
    if not lonely:
        return 0, 0
    tv = any(e.get("tv_db") is not None for e in of_kind(events, "run"))
    notes.append(f"ducked with nobody making a sound{' but the television' if tv else ''} at "
                 + ", ".join(f"{t:.2f} s" for t in lonely))
    return (0, len(lonely)) if tv else (len(lonely), 0)


def ring_utterances(events: Sequence[SimEvent]) -> list[Any]:
    """Utterance ids of the timer rings that reached the speaker, in order: the ``speak``
    of a ``ring``'s text at its time, with at least one word played."""
    speaks = of_kind(events, "speak")
    played = {w.get("utterance_id") for w in of_kind(events, "word_played")}
    uids = []
    for ring in of_kind(events, "ring"):
        said = next((e for e in speaks if abs(e.t_s - ring.t_s) < _EPS_S
                     and e["text"] == ring["text"]), None)
        if said is not None and said["utterance_id"] in played:
            uids.append(said["utterance_id"])
    return uids


def _ring_cuts(events: Sequence[SimEvent], rings: Sequence[Any]) -> tuple[str, ...]:
    """The types of the interruptions that stopped a ring, in order."""
    return tuple(str(r["type"]) for r in of_kind(events, "interruption")
                 if r.get("utterance_id") in rings and r.get("handled") in STOP_HANDLING)


def _reply_latencies_ms(events: Sequence[SimEvent]) -> tuple[float, ...]:
    """One figure per spoken clip that got an answer: its end to the first sample of the
    first reply that began after the clip did (later replies are not answers to it). A
    timer's ring is no reply."""
    spoken = [c for c in causes_of(events) if c.source == "user" and not c.is_noise]
    rings = set(ring_utterances(events))
    replies = sorted((e for e in of_kind(events, "reply_played")
                      if e["utterance_id"] not in rings), key=lambda e: e.t_s)
    first_uid = min((e["utterance_id"] for e in replies), default=None)
    replies = [e for e in replies if e["utterance_id"] != first_uid]
    latencies, used = [], set()
    for clip in spoken:
        reply = next((e for e in replies if e.t_s > clip.onset_s), None)
        if reply is None or reply["utterance_id"] in used:
            continue
        later = [c for c in spoken if clip.onset_s < c.onset_s < reply.t_s]
        if later:
            continue  # the reply answers the later clip
        used.add(reply["utterance_id"])
        latencies.append(round((reply.t_s - clip.end_s) * 1000.0, 1))
    return tuple(latencies)


def score_scenario(scenario: Scenario, events: Sequence[SimEvent],
                   cpu_s: float | None = None) -> ScenarioScore:
    """Score one run of ``scenario`` from its event log (``cpu_s``: what the run cost,
    which the repeatable log does not hold)."""
    events = sorted(events, key=lambda e: e.t_s)
    notes: list[str] = []
    stops = find_stops(events)
    first = stops[0] if stops else None
    expect = scenario.expect
    expected_type = expect.type.value if expect.type is not None else None

    outcome = "cut" if stops else "continue"
    turns = of_kind(events, "turn")
    if scenario.starts_idle:
        outcome = "turn" if turns else "ignored"
    detect_from: Cause | None
    if first is not None:
        detect_from = first.cause
        if first.cause is None:
            notes.append(f"stopped at {first.t_s:.3f} s with nobody talking")
        elif first.cause.is_noise:
            notes.append(f"stopped at {first.t_s:.3f} s on a noise (clip {first.cause.index})")
    else:
        spoken = [c for c in causes_of(events) if c.source == "user"]
        detect_from = next((c for c in spoken if not c.is_noise), spoken[0] if spoken else None)

    detect_ms = None
    if detect_from is not None and detect_from.source == "user":
        reaction = next((e.t_s for e in of_kind(events, *_DETECT_KINDS)
                         if detect_from.onset_s - _EPS_S <= e.t_s
                         <= detect_from.end_s + ATTRIBUTION_WINDOW_S), None)
        detect_ms = _ms(reaction, detect_from.onset_s)

    cut_ms = cut_after_ms = button_cut_ms = None
    heard_exact = None
    if first is not None:
        if first.cause is not None:
            if first.cause.source == "button":
                button_cut_ms = _ms(first.silent_s, first.cause.onset_s)
            else:
                cut_ms = _ms(first.silent_s, first.cause.onset_s)
                cut_after_ms = _ms(first.silent_s, first.deciding_s)
        if first.kind == "cut" and first.silent_s is None:
            notes.append("cut, but the speaker never went silent")
        heard_exact = _heard_exact(events, first, notes)

    self_ducks, tv_ducks = _lonely_ducks(events, notes)
    cut_valid = first is not None and first.valid
    resumed = _resumed(events, scenario, first) if (expect.resumed and first is not None) else None
    request = str(turns[0]["text"]) if turns else None
    rings = ring_utterances(events)
    ring_cuts = _ring_cuts(events, rings)
    if scenario.starts_idle:
        correct = outcome == expect.outcome
        if expect.turns is not None and len(turns) != expect.turns:
            correct = False
            notes.append(f"{len(turns)} turns, expected {expect.turns}")
        if expect.rings is not None and len(rings) != expect.rings:
            correct = False
            notes.append(f"{len(rings)} timer rings said, expected {expect.rings}")
        wanted_cut = expect.ring_cut.value if expect.ring_cut is not None else None
        if wanted_cut is not None and ring_cuts[:1] != (wanted_cut,):
            correct = False
            notes.append(f"the ring was stopped by {list(ring_cuts)}, expected {wanted_cut!r}")
        elif wanted_cut is None and expect.rings and ring_cuts:
            correct = False
            notes.append(f"a ring was cut ({', '.join(ring_cuts)}) with nobody meant to stop it")
        if expect.request is not None and turns and words_of(request or "") != words_of(expect.request):
            # What the recognizer made of the words is its own figure: noted, not scored.
            notes.append(f"the request went as {request!r}, expected {expect.request!r}")
        for turn in turns:
            notes.append(f"turn at {turn.t_s:.2f} s: {turn['text']!r}")
    elif expect.outcome == "continue":
        correct = not stops
    else:
        correct = cut_valid
        if expect.cuts is not None and len(stops) != expect.cuts:
            correct = False
            notes.append(f"{len(stops)} cuts, expected {expect.cuts}")
        if expect.resumed and not resumed:
            correct = False
            notes.append("the unplayed words never played after the cut")
    observed_type = first.type if first is not None else None
    type_ok = None
    if expect.outcome == "cut" and cut_valid:
        type_ok = observed_type == expected_type
        if expect.types is not None:
            type_ok = type_ok and tuple(s.type for s in stops) == tuple(t.value for t in expect.types)

    ends = of_kind(events, "end")
    audio_s = float(ends[-1].get("audio_s", ends[-1].t_s)) if ends else (events[-1].t_s if events else 0.0)
    score = ScenarioScore(
        name=scenario.name,
        expected=expect.outcome,
        expected_type=expected_type,
        outcome=outcome,
        type=observed_type,
        detect_ms=detect_ms,
        cut_ms=cut_ms,
        heard_exact=heard_exact,
        cut_after_recognition_ms=cut_after_ms,
        button_cut_ms=button_cut_ms,
        cut_valid=cut_valid,
        correct=correct,
        type_ok=type_ok,
        cuts=len(stops),
        types=tuple(s.type for s in stops),
        ducks=len(of_kind(events, "duck")),
        resumed=resumed,
        cause=first.cause.label if first is not None and first.cause is not None else None,
        echo_only=scenario.is_echo_only,
        under_echo=scenario.name.startswith("under-echo-"),
        speaker_active_s=_speaker_active_s(events),
        audio_s=round(audio_s, 3),
        cpu_s=None if cpu_s is None else float(cpu_s),
        reply_level_after_cut_db=_reply_level_after_cut_db(events, first),
        self_ducks=self_ducks,
        tv_ducks=tv_ducks,
        reply_latency_ms=_reply_latencies_ms(events),
        idle=scenario.starts_idle,
        turns=len(turns),
        ignored=len(of_kind(events, "ignored")),
        request=request,
        rings=len(rings),
        ring_cuts=ring_cuts,
        notes=tuple(notes),
    )
    log.debug("scored %s: %s", scenario.name, score)
    return score


# --------------------------------------------------------------------------- summary


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default rule); None when there are no values."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    rank = (len(data) - 1) * pct / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return round(data[lo] + (data[hi] - data[lo]) * (rank - lo), 1)


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def summarise(scores: Sequence[ScenarioScore]) -> dict[str, Any]:
    """The aggregate figures of one strategy over a suite (the bench document's ``summary``)."""
    want_cut = [s for s in scores if s.expected == "cut"]
    want_continue = [s for s in scores if s.expected == "continue"]
    voice_cut = [s for s in want_cut if s.button_cut_ms is None]
    cancellations = [s for s in voice_cut if s.expected_type == "cancellation"]
    echo = [s for s in scores if s.echo_only]
    under_echo = [s for s in want_cut if s.under_echo]
    cpu = [s for s in scores if s.cpu_s is not None]
    echo_minutes = sum(s.speaker_active_s for s in echo) / 60.0
    levels = [s.reply_level_after_cut_db for s in scores if s.reply_level_after_cut_db is not None]
    latencies = [ms for s in scores for ms in s.reply_latency_ms]
    audio_s = sum(s.audio_s for s in cpu)
    want_turn = [s for s in scores if s.idle and s.expected == "turn"]
    want_ignored = [s for s in scores if s.idle and s.expected == "ignored"]
    return {
        "recall": _rate([s.cut_valid for s in want_cut]),
        "false_cut_rate": _rate([s.outcome == "cut" for s in want_continue]),
        "type_accuracy": _rate([bool(s.type_ok) for s in want_cut if s.type_ok is not None]),
        "detect_ms_p50": percentile([s.detect_ms for s in voice_cut], 50),
        "detect_ms_p95": percentile([s.detect_ms for s in voice_cut], 95),
        "cut_ms_p50": percentile([s.cut_ms for s in voice_cut], 50),
        "cut_ms_p95": percentile([s.cut_ms for s in voice_cut], 95),
        "cancel_cut_ms_p50": percentile([s.cut_ms for s in cancellations], 50),
        "cancel_cut_ms_p95": percentile([s.cut_ms for s in cancellations], 95),
        "button_cut_ms_p95": percentile([s.button_cut_ms for s in scores], 95),
        "heard_exact_rate": _rate([bool(s.heard_exact) for s in scores if s.heard_exact is not None]),
        "cpu_s_per_audio_s": round(sum(s.cpu_s for s in cpu) / audio_s, 4) if audio_s > 0 else None,
        # extras
        "scenarios": len(scores),
        "expect_cut": len(want_cut),
        "expect_continue": len(want_continue),
        "correct_rate": _rate([s.correct for s in scores]),
        "cut_after_recognition_ms_p50": percentile([s.cut_after_recognition_ms for s in voice_cut], 50),
        "cut_after_recognition_ms_p95": percentile([s.cut_after_recognition_ms for s in voice_cut], 95),
        "button_cut_ms_p50": percentile([s.button_cut_ms for s in scores], 50),
        "echo_cuts": sum(s.cuts for s in echo),
        "ducks_per_min_echo": round(sum(s.ducks for s in echo) / echo_minutes, 2) if echo_minutes else None,
        "echo_speech_s": round(echo_minutes * 60.0, 1),
        "under_echo_recall": _rate([s.cut_valid for s in under_echo]),
        "under_echo_detect_ms_p95": percentile([s.detect_ms for s in under_echo], 95),
        "ducks_per_scenario": round(sum(s.ducks for s in scores) / len(scores), 2) if scores else None,
        # what a listener hears
        "reply_level_after_cut_db_worst": max(levels, key=abs) if levels else None,
        "reply_level_after_cut_within_1db": _rate([abs(v) <= 1.0 for v in levels]),
        "self_ducks": sum(s.self_ducks for s in scores),
        "tv_ducks": sum(s.tv_ducks for s in scores),
        "reply_latency_ms_p50": percentile(latencies, 50),
        "reply_latency_ms_p95": percentile(latencies, 95),
        # who opens a turn (scenarios that start idle)
        "idle_scenarios": len(want_turn) + len(want_ignored),
        "idle_turn_recall": _rate([s.outcome == "turn" for s in want_turn]),
        "idle_false_turns": sum(s.turns for s in want_ignored) if want_ignored else None,
    }
