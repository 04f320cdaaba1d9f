"""The event log of one simulation (``events.jsonl``): written by the runner, read by the scorer.

One JSON object per line. Every object has ``t_s`` — the shared virtual clock in
seconds (0 = the start of the run; the appliance's first sample when the scenario
has no ``reply_delay_ms``) — and ``kind``. Other fields depend on the kind; fields
marked * are required, the rest optional, and any extra field is kept.

Ground truth (what really happened in the room, known to the runner only):
  run            *scenario, *strategy, rate_hz, asr (the recognizer, e.g. "pocketsphinx:en-us
                 (with spotter, decode cost profile, cpu x1)" or "oracle (150 ms ...)"),
                 tv_db (the level of a television in the room, null for none), start
                 ("idle" when the scenario starts idle; absent when it starts answering),
                 listen (the listening mode, when not "open"). First line of every log.
  truth_user     *clip (index of the [[user]] entry), *text (its transcript, "" for a
                 noise), *onset_s, *end_s: the TRUE voiced span of the clip at the mic.
                 level_db. Written at t_s = onset_s.
  truth_button   *at_s: a button press. hold_ms.
  end            The run is over; t_s = its length. audio_s (audio simulated, normally
                 = t_s), speaker_active_s. (Nothing here depends on the wall clock: the
                 same scenario on the same commit writes the same log.)

What the pipeline perceived and decided:
  speech_started *onset_s: the VAD declared speech beginning at onset_s; decided at t_s.
  speech_ended   end_s: the VAD declared the speech over. voiced_ms, level_dbfs,
                 background_dbfs: what the span's sound said (bargein.audio.speech_evidence).
  partial        *text: a growing hypothesis arrived at t_s. source ("asr" or "spotter"),
                 words ([text, start_s, end_s, conf] each, capture clock).
  final          *text: the settled transcript arrived at t_s. source ("asr", "spotter" or
                 "phrases": the phrase judge's verdict, its words scored), words (as for
                 partial).
  decision       *type (an InterruptionType value): the machine classified the current
                 utterance (provisional until its record is written). reason.
  state          *state: the machine entered this state (idle, listening, thinking,
                 speaking, speaking_ducked, interrupted); follow_up (true: idle, with the
                 follow-up window open).
  wake           end_s, probability: the wake word detector heard the wake phrase (its
                 deciding block ended at end_s); whether it counted is the machine's call.

What the appliance did:
  turn           reply_id, *text: a request went to the agent (a turn started, or an
                 interruption's words became one); text is the request as sent.
  ignored        words: words heard while idle that nobody opened a turn for (no wake
                 word, press or follow-up window): not answered.
  speak          *utterance_id, *text: an utterance was handed to synthesis/playback.
  ring           *text: a kitchen timer that rang was handed to the voice (the appliance was
                 idle); the ``speak`` of its text at the same t_s is the ring, if the
                 strategy said it.
  duck           gain_db: the voice was lowered while a decision is pending.
  unduck         the voice was restored (false alarm or backchannel).
  cut            type, reason, utterance_id: the speaker was told to stop (fast path).
  cancel         reason: the pending reply was abandoned before any of it played
                 (speech while thinking).
  pause          utterance_id, word_index: playback held at a word boundary.
  resume         utterance_id, word_index: playback resumed from that word.
  interruption   the InterruptionRecord of one interruption: *type, handled ("cut",
                 "cancelled", "continued", "paused", ...), transcript, utterance_id,
                 *words_heard (list of words), word_cut (str or null),
                 words_unplayed (list), progress_pct, onset_s, detect_ms, cut_ms.

What came out of the speaker (measured on the speaker recording, not assumed):
  word_played    *text, *start_s, *end_s, utterance_id, index (word index in the
                 utterance), complete (false when the sound stopped inside the word;
                 end_s is then the silence point).
  speaker_silent utterance_id: the speaker output went silent for good after a cut
                 or cancel; t_s is the first silent sample.
  playback_finished utterance_id: an utterance played to its end.
  reply_played   *utterance_id, *gain_db, level_db, words: an utterance reached the
                 speaker; t_s = its first sample. level_db: median level (dBFS) of
                 its played words; gain_db: median of each word's played level minus
                 its synthesised level (0 = full volume, -18 = ducked); both leave out
                 words played while the pipeline had the voice ducked (null if none left).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

log = logging.getLogger(__name__)

# kind -> required fields (besides t_s and kind)
KINDS: dict[str, tuple[str, ...]] = {
    "run": ("scenario", "strategy"),
    "truth_user": ("clip", "text", "onset_s", "end_s"),
    "truth_button": ("at_s",),
    "end": (),
    "speech_started": ("onset_s",),
    "speech_ended": (),
    "partial": ("text",),
    "final": ("text",),
    "decision": ("type",),
    "state": ("state",),
    "wake": (),
    "turn": ("text",),
    "ignored": (),
    "speak": ("utterance_id", "text"),
    "ring": ("text",),
    "duck": (),
    "unduck": (),
    "cut": (),
    "cancel": (),
    "pause": (),
    "resume": (),
    "interruption": ("type", "words_heard"),
    "word_played": ("text", "start_s", "end_s"),
    "speaker_silent": (),
    "playback_finished": (),
    "reply_played": ("utterance_id", "gain_db"),
}


class SimLogError(ValueError):
    """An event does not follow the events.jsonl format."""


@dataclass(frozen=True)
class SimEvent:
    """One line of ``events.jsonl``."""

    t_s: float
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_json(self) -> dict[str, Any]:
        return {"t_s": self.t_s, "kind": self.kind, **self.data}


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses to dicts, enums to values, tuples to lists, floats rounded."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _plain(value.item())
    return value


def make_event(kind: str, t_s: float, **fields: Any) -> SimEvent:
    """A checked event: known kind, required fields present, JSON-ready values."""
    required = KINDS.get(kind)
    if required is None:
        raise SimLogError(f"unknown event kind {kind!r}; kinds are {', '.join(KINDS)}")
    missing = [name for name in required if name not in fields]
    if missing:
        raise SimLogError(f"{kind} event lacks {', '.join(missing)}")
    if "t_s" in fields or "kind" in fields:
        raise SimLogError(f"{kind} event: t_s and kind are not fields; pass them as arguments")
    return SimEvent(t_s=round(float(t_s), 6), kind=kind, data=_plain(fields))


class SimLogWriter:
    """Appends events to ``events.jsonl`` and keeps them in memory for the scorer.

    Use as a context manager, or call :meth:`close`. ``path=None`` keeps events
    in memory only.
    """

    def __init__(self, path: Path | str | None) -> None:
        self.path = None if path is None else Path(path)
        self._fh: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        self.events: list[SimEvent] = []

    def write(self, kind: str, t_s: float, **fields: Any) -> SimEvent:
        """Record one event of ``kind`` at virtual time ``t_s``."""
        event = make_event(kind, t_s, **fields)
        self.events.append(event)
        if self._fh is not None:
            self._fh.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        return event

    def interruption(self, t_s: float, record: Any, **extra: Any) -> SimEvent:
        """Record an interruption record (a dataclass or mapping), flattened into the event."""
        fields = _plain(record)
        if not isinstance(fields, dict):
            raise SimLogError("an interruption record must be a dataclass or a mapping")
        fields.update(extra)
        return self.write("interruption", t_s, **fields)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SimLogWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _check_rows(rows: Iterable[tuple[int, Any]], source: str) -> list[SimEvent]:
    events = []
    for number, row in rows:
        if not isinstance(row, Mapping) or "t_s" not in row or "kind" not in row:
            raise SimLogError(f"{source}:{number}: every line needs t_s and kind")
        fields = {k: v for k, v in row.items() if k not in ("t_s", "kind")}
        try:
            events.append(make_event(str(row["kind"]), float(row["t_s"]), **fields))
        except (SimLogError, TypeError, ValueError) as exc:
            raise SimLogError(f"{source}:{number}: {exc}") from exc
    return sorted(events, key=lambda e: e.t_s)


def events_from_dicts(rows: Iterable[Mapping[str, Any]], source: str = "<events>") -> list[SimEvent]:
    """Check and convert parsed JSON objects into events (sorted by ``t_s``, stable)."""
    return _check_rows(enumerate(rows, start=1), source)


def read_events(path: Path | str) -> list[SimEvent]:
    """Read an ``events.jsonl`` file; a malformed line stops with its file and line number."""
    path = Path(path)

    def rows() -> Iterator[tuple[int, Any]]:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SimLogError(f"{path}:{number}: not JSON ({exc})") from exc

    return _check_rows(rows(), str(path))


def of_kind(events: Sequence[SimEvent], *kinds: str) -> list[SimEvent]:
    """The events of the given kinds, in log order."""
    return [e for e in events if e.kind in kinds]
