"""Piper synthesis with the real voice: word spans, streaming, cancel, errors, CLI."""

from __future__ import annotations

import dataclasses
import json
import queue
import shutil
import time
import wave

import numpy as np
import pytest

from bargein.core.errors import ModelMissingError
from bargein.device.cli import main
from bargein.tts.boundary_check import TEST_PHRASES, boundary_errors_ms
from bargein.tts.errors import TextError
from bargein.tts.speech import SpeechChunk
from bargein.tts.synth import Synthesizer, iter_chunks
from bargein.tts.voice import Voice, load_voice

WAIT_S = 30.0


@pytest.fixture(scope="module")
def voice() -> Voice:
    return load_voice()


@pytest.fixture
def synth(voice: Voice):
    chunks: queue.Queue[SpeechChunk] = queue.Queue()
    s = Synthesizer(voice, chunks.put)
    s.chunks = chunks  # type: ignore[attr-defined]
    yield s
    s.stop(WAIT_S)


def collect(chunks: queue.Queue[SpeechChunk]) -> list[SpeechChunk]:
    got = [chunks.get(timeout=WAIT_S)]
    while not got[-1].last:
        got.append(chunks.get(timeout=WAIT_S))
    return got


def check_spans(text: str, got: list[SpeechChunk], expected_words: list[str]) -> None:
    """Spans increase, do not overlap, lie inside the audio and cover every word in order."""
    spans = [w for c in got for w in c.words]
    assert [w.text for w in spans] == expected_words
    previous_end = 0
    for c in got:
        for w in c.words:
            assert c.offset_samples <= w.start_sample <= w.end_sample <= c.end_samples
            assert w.start_sample >= previous_end
            previous_end = w.end_sample
    exact = [w for w in spans if not w.approx]
    assert all(w.end_sample > w.start_sample for w in exact)
    assert [w.char_start for w in spans] == sorted(w.char_start for w in spans)
    assert all(0 <= w.char_start < w.char_end <= len(text) for w in spans)


def test_word_spans_cover_every_word_in_order(synth) -> None:
    text = "I went on the bus to the shop. Then I walked home, slowly!"
    synth.speak(text, 1)
    got = collect(synth.chunks)
    assert [c.index for c in got] == [0, 1]
    assert got[1].offset_samples == got[0].end_samples
    assert all(c.rate_hz == 22050 and c.utterance_id == 1 for c in got)
    check_spans(text, got, "I went on the bus to the shop Then I walked home slowly".split())


def test_times_and_contractions_map_back_to_their_original_words(voice) -> None:
    text = "Meet me at 3:30, I don't mind."
    chunks = list(iter_chunks(voice, text))
    spans = [w for c in chunks for w in c.words]
    check_spans(text, chunks, ["Meet", "me", "at", "three", "thirty", "I", "don't", "mind"])
    by_word = {w.text: text[w.char_start:w.char_end] for w in spans}
    assert by_word["three"] == by_word["thirty"] == "3:30"
    assert by_word["don't"] == "don't"
    three, thirty = (w for w in spans if w.text in ("three", "thirty"))
    assert three.end_sample <= thirty.start_sample


def test_merged_words_are_split_and_marked_approximate(voice) -> None:
    # espeak says "on the" as one phoneme word.
    chunks = list(iter_chunks(voice, "Put it on the table."))
    spans = chunks[0].words
    check_spans("Put it on the table.", chunks, ["Put", "it", "on", "the", "table"])
    on, the = spans[2], spans[3]
    assert on.approx and the.approx
    assert on.start_sample < on.end_sample <= the.start_sample < the.end_sample



def test_word_edges_land_at_the_pauses_of_a_held_out_phrase(voice) -> None:
    # A phrase the alignment was never fitted on; words ending in stops test the burst check.
    phrase = "Pocket, sleeve, collar, zipper, belt."
    assert phrase in TEST_PHRASES
    (chunk,) = iter_chunks(voice, phrase)
    assert [w.text for w in chunk.words] == ["Pocket", "sleeve", "collar", "zipper", "belt"]
    errors_ms = boundary_errors_ms(chunk)
    assert len(errors_ms) == 2 * len(chunk.words)
    assert max(errors_ms) < 60.0, errors_ms  # generous: twice the target, runs give <= 30
    # The check itself can fail: spans 100 ms late miss every pause edge.
    late = 2205
    shifted = dataclasses.replace(chunk, words=tuple(
        dataclasses.replace(w, start_sample=w.start_sample + late, end_sample=w.end_sample + late)
        for w in chunk.words
    ))
    assert min(boundary_errors_ms(shifted)) > 60.0

@pytest.mark.parametrize("text", ["", "   \n\t", "** -- ``"])
def test_nothing_to_speak_is_a_clear_error(synth, text) -> None:
    with pytest.raises(TextError, match="nothing to speak"):
        synth.speak(text, 1)
    with pytest.raises(ValueError):
        list(iter_chunks(synth.voice, text))


def test_missing_voice_file_names_the_file(tmp_path) -> None:
    missing = tmp_path / "absent.onnx"
    with pytest.raises(ModelMissingError, match="absent.onnx not found"):
        load_voice(missing)


def test_corrupt_voice_file_is_a_clear_error(tmp_path, voice) -> None:
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01garbage, not a model" * 300)
    shutil.copy(f"{voice.path}.json", f"{corrupt}.json")
    with pytest.raises(ModelMissingError, match="corrupt.onnx could not be loaded"):
        load_voice(corrupt)


def test_voice_without_config_is_a_clear_error(tmp_path, voice) -> None:
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(b"x")
    with pytest.raises(ModelMissingError, match="lonely.onnx.json not found"):
        load_voice(lonely)


def test_long_text_streams_and_cancel_stops_promptly(synth) -> None:
    text = "".join(f"This is sentence {i} of a long reply, and it keeps on going. " for i in range(340))
    assert len(text) >= 20_000
    synth.speak(text, 7)
    first = synth.chunks.get(timeout=WAIT_S)
    assert first.index == 0 and not first.last
    second = synth.chunks.get(timeout=WAIT_S)  # synthesis was still running after the first
    assert second.index == 1 and second.utterance_id == 7
    synth.cancel()
    synth.speak("Done.", 8)
    after = synth.chunks.get(timeout=WAIT_S)
    # Nothing of the cancelled utterance came after cancel(): the next chunk is the new one.
    assert after.utterance_id == 8 and after.last
    assert synth.chunks.empty()


def test_streamed_text_speaks_each_sentence_once_complete(synth) -> None:
    stream = synth.open_stream(3)
    for piece in ["Hello th", "ere. How ", "are **you", "** today? It is 3:", "30 now"]:
        stream.feed(piece)
    # The first two sentences are complete before end(): they are spoken already.
    early = [synth.chunks.get(timeout=WAIT_S) for _ in range(2)]
    assert [c.text for c in early] == ["Hello there.", "How are **you** today?"]
    stream.end()
    got = early + collect(synth.chunks)
    assert got[-1].last and got[-1].text == "It is 3:30 now"
    check_spans(stream.text, got, "Hello there How are you today It is three thirty now".split())
    assert [stream.text[w.char_start:w.char_end] for w in got[-1].words][-3:] == ["3:30", "3:30", "now"]


def test_stream_ending_after_a_full_stop_ends_with_an_empty_marker(synth) -> None:
    stream = synth.open_stream(4)
    stream.feed("All done. ")
    stream.feed("Bye. ")
    stream.end()
    got = collect(synth.chunks)
    assert [c.text for c in got] == ["All done.", "Bye."]
    assert got[-1].last


@pytest.mark.parametrize("pieces", [[], [" "], ["** ", "--"]])
def test_a_stream_with_no_words_ends_with_an_empty_last_chunk(synth, pieces) -> None:
    """An agent's empty answer (the local agent's silence after the button, an LLM that
    finishes with no text) ends its utterance quietly instead of raising in the loop."""
    stream = synth.open_stream(6)
    for piece in pieces:
        stream.feed(piece)
    stream.end()
    (chunk,) = collect(synth.chunks)
    assert chunk.last and chunk.utterance_id == 6 and len(chunk.pcm) == 0 and not chunk.words


def test_feed_after_cancel_is_ignored(synth) -> None:
    stream = synth.open_stream(5)
    synth.cancel()
    stream.feed("This should never be spoken. Nor this.")
    stream.end()
    synth.speak("Next.", 6)
    assert synth.chunks.get(timeout=WAIT_S).utterance_id == 6


def test_say_writes_wav_and_prints_timings(tmp_path, capsys) -> None:
    out = tmp_path / "say.wav"
    assert main(["say", "It's 3:30. Time to go!", "--out", str(out), "--timings"]) == 0
    report = json.loads(capsys.readouterr().out)
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == report["rate_hz"] == 22050
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        assert wav.getnframes() == report["samples"]
        assert abs(wav.getnframes() / 22050 - report["duration_s"]) < 1e-3
    words = report["words"]
    assert [w["text"] for w in words] == ["It's", "three", "thirty", "Time", "to", "go"]
    assert [w["source"] for w in words][1:3] == ["3:30", "3:30"]
    for w in words:
        assert 0 <= w["start_sample"] <= w["end_sample"] <= report["samples"]
        assert w["start_s"] == pytest.approx(w["start_sample"] / 22050, abs=1e-4)


def test_say_reports_a_missing_voice(tmp_path, capsys) -> None:
    code = main(["say", "hi", "--out", str(tmp_path / "x.wav"), "--voice", str(tmp_path / "no.onnx")])
    assert code == 1
    assert "no.onnx not found" in capsys.readouterr().err


def test_stop_joins_the_worker(voice) -> None:
    s = Synthesizer(voice, lambda chunk: None)
    s.speak("One sentence to start.", 1)
    started = time.monotonic()
    s.stop(WAIT_S)
    assert time.monotonic() - started < WAIT_S
    with pytest.raises(RuntimeError):
        s.speak("again", 2)


def test_louder_than_one_bends_peaks_instead_of_clipping_them():
    from bargein.tts.synth import LIMIT_KNEE, louder

    ramp = np.linspace(-1.0, 1.0, 2001, dtype=np.float32)  # Piper's range: peaks at 1
    out = louder(ramp.copy(), 2.0)
    assert np.all(np.abs(out) < 1.0)  # never over full scale, never flat at it
    assert np.all(np.diff(out) > 0)  # still rising everywhere: bent, not cut
    quiet = np.abs(ramp) * 2.0 <= LIMIT_KNEE
    assert np.allclose(out[quiet], ramp[quiet] * 2.0)  # below the knee, just the gain


def test_volume_two_is_louder_with_no_flat_tops(voice):
    from bargein.tts.synth import synthesize_all

    text = "The thermostat in the hall is set to twenty one degrees."
    one = synthesize_all(voice, text, volume=1.0)
    two = synthesize_all(voice, text, volume=2.0)
    rms_db = [20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))) for x in (one, two)]
    assert rms_db[1] - rms_db[0] > 3.0, rms_db
    assert np.abs(two).max() < 1.0  # Piper's own volume clipped 0.8 % of these flat at 1
    peak = np.abs(two) == np.abs(two).max()
    assert not np.any(peak[1:] & peak[:-1])  # no flat top
