"""How long the recognizer takes, inside the loop, to show what was said once it was said.

Read from a run's event log (:mod:`bargein.bench.sim_log`): for each user clip with words,
the truth is the end of its voiced span at the mic (``truth_user`` ``end_s``: the end of
its last word; espeak-ng gives no time per word, so the utterance's last word is the one
measured). The figure is, per recognizer source (``asr``: the full decoder; ``spotter``:
the command spotter), the time from that end to the first result the source released
after it with new text: a partial whose text differs from what the source last showed
before the end, or the full decoder's final. It is what the state machine waited for:
the decode queue, the virtual clock's decode cost (``--cpu-scale``) and Vosk's own
endpointing are all in it. A source that shows nothing new after the end (the spotter
had already written its phrase, or never did) gives no figure for that clip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bargein.bench.scenario import words_of
from bargein.bench.scoring import percentile
from bargein.bench.sim_log import SimEvent

SOURCES = ("asr", "spotter")


def partial_latencies_ms(events: Sequence[SimEvent]) -> dict[str, list[float]]:
    """Per source, one latency (ms) per user clip with words, when the source showed
    something new after the clip's voiced end."""
    truths = sorted((e for e in events if e.kind == "truth_user" and words_of(e["text"])),
                    key=lambda e: e["end_s"])
    results = [e for e in events if e.kind in ("partial", "final")]
    found: dict[str, list[float]] = {source: [] for source in SOURCES}
    for i, truth in enumerate(truths):
        end_s = truth["end_s"]
        next_onset_s = truths[i + 1]["onset_s"] if i + 1 < len(truths) else float("inf")
        for source in SOURCES:
            shown = ""
            for event in results:
                if event.get("source", "asr") != source:
                    continue
                if event.t_s < end_s:
                    shown = "" if event.kind == "final" else event["text"]
                    continue
                if event.t_s >= next_onset_s:
                    break
                if event.kind == "final" or event["text"] != shown:
                    found[source].append(round((event.t_s - end_s) * 1000.0, 1))
                    break
    return found


def summarise_partial_latency(runs: Iterable[Sequence[SimEvent]]) -> dict[str, Any]:
    """p50/p95 and count of :func:`partial_latencies_ms` over runs, per source."""
    pooled: dict[str, list[float]] = {source: [] for source in SOURCES}
    for events in runs:
        for source, values in partial_latencies_ms(events).items():
            pooled[source].extend(values)
    summary: dict[str, Any] = {"truth": "voiced end of each user clip (its last word)"}
    for source, values in pooled.items():
        summary[f"{source}_after_end_ms_p50"] = percentile(values, 50)
        summary[f"{source}_after_end_ms_p95"] = percentile(values, 95)
        summary[f"{source}_clips"] = len(values)
    return summary
