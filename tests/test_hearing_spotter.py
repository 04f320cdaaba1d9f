"""The command spotter's reports as evidence: what it withdrew, and what it held.

The sequences are the Korean Vosk grammar spotter's, logged in the Korean bench
(``bench/scenarios-ko``, times relative to the VAD's onset): its open hypotheses carry no
word times and replace one another, its endpoint result carries them.
"""

from __future__ import annotations

import pytest
from test_hearing import final_type, start, words
from test_machine import kinds, speaking_room

from bargein.agent.classifier import InterruptionClassifier
from bargein.agent.interruption import InterruptionType
from bargein.device.events import (
    Cut,
    FinalTranscript,
    PartialTranscript,
    SpeechEnded,
    State,
)
from bargein.device.hearing import Hearing


@pytest.fixture(scope="module")
def korean() -> InterruptionClassifier:
    return InterruptionClassifier.from_language("ko")


def spotter(room, onset: float, *reports: tuple[float, str]) -> list:
    """Open spotter hypotheses at (s after onset, text)."""
    out = []
    for after_s, text in reports:
        room.t = onset + after_s
        out += room.feed(PartialTranscript(text, room.t, source="spotter"))
    return out


def endpoint(room, onset: float, after_s: float, *timed: tuple[str, float, float, float]) -> list:
    """The spotter's result at its endpoint: its words, timed from the onset."""
    room.t = onset + after_s
    said = words(*((w, onset + a, onset + b, conf) for w, a, b, conf in timed))
    return room.feed(PartialTranscript(" ".join(w.text for w in said), room.t, words=said,
                                       source="spotter"))


def finish(room, onset: float, end_after_s: float, *timed: tuple[str, float, float, float]):
    room.feed(SpeechEnded(onset + end_after_s, room.t + 0.03))
    room.t += 0.06
    said = words(*((w, onset + a, onset + b, conf) for w, a, b, conf in timed))
    return room.feed(FinalTranscript(" ".join(w.text for w in said), room.t, words=said))


def test_a_command_the_spotter_passed_through_and_withdrew_does_not_cut(korean):
    # 맞아요: the spotter's hypotheses go 맞아 -> 조용히 -> 맞아 (settled); the open
    # decode writes "저기 요".
    room = speaking_room(korean, language="ko")
    room.play_to(1.0)
    onset = start(room)
    out = spotter(room, onset, (0.66, "맞아"), (0.9, "조용히"))
    assert Cut not in kinds(out)
    out = endpoint(room, onset, 0.96, ("맞아", -0.03, 0.51, 0.85))
    out += finish(room, onset, 0.63, ("저기", 0.21, 0.45, 0.68), ("요", 0.45, 0.57, 0.89))
    assert Cut not in kinds(out), "조용히 was one passing hypothesis the spotter took back"
    assert room.machine.state is State.SPEAKING
    assert final_type(room) is not InterruptionType.CANCELLATION


def test_a_command_after_a_backchannel_counts_once_the_spotter_held_it(korean):
    # 응 응 under loud echo: "음", then the endpoint's "음 조용히"; the open decode "스 유희".
    room = speaking_room(korean, language="ko")
    room.play_to(1.0)
    onset = start(room)
    spotter(room, onset, (0.67, "음"))
    out = endpoint(room, onset, 0.94, ("음", -0.2, 0.22, 1.0), ("조용히", 0.22, 0.64, 1.0))
    out += finish(room, onset, 0.61, ("스", -0.2, 0.16, 1.0), ("유희", 0.16, 0.64, 0.63))
    assert Cut not in kinds(out), "조용히 came after 음 in the spotter's last report only"
    assert room.machine.state is State.SPEAKING

    # 됐어요: "네 조용히" twice running (open, then the endpoint): held, so it counts.
    room = speaking_room(korean, language="ko")
    room.play_to(1.0)
    onset = start(room)
    spotter(room, onset, (0.66, "뭐라고"), (0.9, "네"), (1.14, "네 조용히"))
    endpoint(room, onset, 1.2, ("네", 0.0, 0.33, 0.94), ("조용히", 0.39, 0.93, 1.0))
    out = finish(room, onset, 0.87, ("오", 0.0, 0.15, 0.21), ("의", 0.15, 0.33, 0.49))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


@pytest.mark.parametrize("reports, settled", [
    (((0.66, "음"),), ("취소", 0.0, 0.51, 1.0)),  # first named in the endpoint's result
    (((0.42, "네"), (0.66, "멈춰"), (0.9, "멈춰 어")), ("멈춰", 0.0, 0.51, 1.0)),
])
def test_a_command_the_spotter_settled_on_cuts(korean, reports, settled):
    room = speaking_room(korean, language="ko")
    room.play_to(1.0)
    onset = start(room)
    spotter(room, onset, *reports)
    endpoint(room, onset, 0.9, settled)
    out = finish(room, onset, 0.55, ("쉬고", 0.0, 0.24, 0.58), ("이죠", 0.24, 0.51, 0.64))
    assert Cut in kinds(out)
    assert final_type(room) is InterruptionType.CANCELLATION


def test_a_settled_report_stands_through_the_spotters_next_utterance():
    def normalise(text: str) -> tuple[str, ...]:
        return tuple(text.split())

    hearing = Hearing(onset_s=1.0)
    assert hearing.hear_spotted("stop", normalise, settled=False) == ()
    assert hearing.hear_spotted("okay", normalise, settled=False) == ("stop",), "withdrawn"
    assert hearing.spotted == [("okay",)]
    hearing.hear_spotted("stop", normalise, settled=True)
    assert hearing.hear_spotted("uh", normalise, settled=False) == ()
    assert hearing.spotted == [("stop",), ("uh",)], "a settled result is not replaced"
    hearing.hear_spotted("wait", normalise, settled=True)
    assert hearing.spotted == [("stop",), ("wait",)], "detections add up (keyphrase search)"
    assert hearing.spotter_reports == [("stop",), ("okay",), ("stop",), ("uh",), ("wait",)]
    assert hearing.spotter_held(("stop",), lambda before: before == ("okay",))
    assert not hearing.spotter_held(("wait",), lambda before: before == ("stop",))
