"""Real recognizers on the virtual clock: results wait for their decode, the queue backs up."""

from __future__ import annotations

import numpy as np
import pytest

from bargein.asr.engines import build_recognizers
from bargein.asr.settings import AsrSettings
from bargein.bench.espeak import espeak_pcm
from bargein.bench.virtual_asr import DecodeCost, VirtualAsrWorker
from bargein.core.frames import AudioFrame, to_int16

FRAME = 480


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return build_recognizers(AsrSettings(engine="pocketsphinx"), tmp_path_factory.mktemp("state"))


def frames_of(text: str, start_s: float) -> list[AudioFrame]:
    pcm = np.concatenate([np.zeros(4800, np.int16), to_int16(espeak_pcm(text) * 0.3),
                          np.zeros(8000, np.int16)])
    return [AudioFrame(pcm[i * FRAME:(i + 1) * FRAME], start_s + i * FRAME / 16000)
            for i in range(len(pcm) // FRAME)]


def run(worker: VirtualAsrWorker, frames: list[AudioFrame]) -> list[tuple[float, object]]:
    """Feed the utterance as the pipeline does and poll every frame: (release time, result)."""
    released = []
    worker.begin(frames[:3])
    for frame in frames[3:]:
        worker.feed(frame)
        released += [(frame.end_s, r) for r in worker.poll(frame.end_s)]
    end = frames[-1].end_s
    worker.end(end)
    t = end
    while t < end + 30.0:
        t += 0.03
        released += [(t, r) for r in worker.poll(t)]
    return released


def test_results_wait_for_the_decode_and_arrive_in_order(engines):
    frames = frames_of("please tell me about the weather tomorrow", 50.0)
    worker = VirtualAsrWorker([engines.main()], DecodeCost(engines.name, "profile", 1.0))
    released = run(worker, frames)
    assert released, "pocketsphinx heard nothing"
    times = [t for t, _ in released]
    assert times == sorted(times)
    # every result is released after the audio it covers has been fed and decoded
    assert all(t >= r.t_seconds for t, r in released)
    assert worker.dropped_frames == 0 and worker.busy_s > 0


def test_a_slow_cpu_backs_the_queue_up_and_drops_frames(engines):
    frames = frames_of("please tell me about the weather tomorrow", 0.0)
    quick = VirtualAsrWorker([engines.main()], DecodeCost(engines.name, "profile", 1.0),
                             queue_frames=20)
    slow = VirtualAsrWorker([engines.main()], DecodeCost(engines.name, "profile", 40.0),
                            queue_frames=20)
    first_quick = run(quick, frames)[0][0]
    run(slow, frames)
    assert quick.dropped_frames == 0
    assert slow.dropped_frames > 0
    assert slow.max_lag_s > quick.max_lag_s
    assert first_quick < frames[-1].end_s + 1.0


def test_measured_cost_charges_the_real_cpu_time(engines):
    frames = frames_of("stop", 0.0)
    worker = VirtualAsrWorker([engines.main()], DecodeCost(engines.name, "measured", 1.0))
    run(worker, frames)
    assert worker.busy_s > 0.0


def test_an_unknown_cost_mode_or_scale_is_refused():
    with pytest.raises(ValueError, match="decode cost"):
        DecodeCost("pocketsphinx:en-us", "guess", 1.0)
    with pytest.raises(ValueError, match="cpu_scale"):
        DecodeCost("pocketsphinx:en-us", "profile", 0.0)
