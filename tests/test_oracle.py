"""The oracle recognizer releases known words on time, growing, then a final."""

from __future__ import annotations

import pytest

from bargein.asr.results import Final, Partial
from bargein.bench.oracle import OracleRecognizer, OracleUtterance


def test_words_grow_and_arrive_after_latency():
    oracle = OracleRecognizer([OracleUtterance("no I said Tuesday", 2.0, 3.0)], latency_s=0.15)
    assert oracle.poll(2.0) == []
    results = oracle.poll(10.0)
    partials = [r for r in results if isinstance(r, Partial)]
    assert [p.text for p in partials] == ["no", "no I", "no I said", "no I said Tuesday"]
    for p in partials:
        assert p.t_seconds == pytest.approx(p.words[-1].end_s + 0.15)
    assert isinstance(results[-1], Final)
    assert results[-1].t_seconds == pytest.approx(3.15)
    starts = [w.start_s for w in results[-1].words]
    assert starts == sorted(starts) and starts[0] == 2.0
    assert oracle.done


def test_noise_clip_gives_no_words_and_poll_is_incremental():
    oracle = OracleRecognizer(
        [OracleUtterance("", 1.0, 1.2), OracleUtterance("stop", 4.0, 4.4)], latency_s=0.1
    )
    assert oracle.poll(4.0) == []
    first = oracle.poll(4.55)
    assert [type(r) for r in first] == [Partial, Final]
    assert oracle.poll(4.55) == []
