"""The ledger of spoken words: what the echo guard, the conversation and the bench read."""

from __future__ import annotations

from bargein.device.word_ledger import WordLedger
from bargein.tts.speech import WordSpan

RATE = 1000  # samples per second: spans read as milliseconds


def spans(*words: tuple[str, int, int]) -> list[WordSpan]:
    return [WordSpan(text, start, end) for text, start, end in words]


def test_an_utterance_keeps_its_text_and_spans_across_chunks():
    ledger = WordLedger()
    ledger.said(1, "Hello there.")
    ledger.queued(1, RATE, spans(("Hello", 0, 400), ("there", 450, 900)))
    ledger.said(1, "How are you?")
    ledger.queued(1, RATE, spans(("How", 1200, 1400), ("are", 1400, 1600), ("you", 1600, 2000)))
    spoken = ledger.get(1)
    assert spoken.text == "Hello there. How are you?"
    assert [w.text for w in spoken.words] == ["Hello", "there", "How", "are", "you"]
    assert ledger.get(2) is None and ledger.get(None) is None


def test_words_near_a_playback_position_and_words_ended_by_it():
    ledger = WordLedger()
    ledger.queued(7, RATE, spans(("one", 0, 300), ("two", 400, 700), ("three", 800, 1200),
                                 ("four", 5000, 5400)))
    spoken = ledger.get(7)
    assert spoken.words_near(1.0, before_s=0.5, after_s=0.1) == ["two", "three"]
    assert [i for i, _ in spoken.words_ended_by(0.75)] == [0, 1]
    assert [w.text for _, w in spoken.words_ended_by(1.2, start=2)] == ["three"]


def test_a_long_run_keeps_only_the_newest_utterances():
    ledger = WordLedger(keep=3)
    for uid in range(1, 11):
        ledger.said(uid, f"answer {uid}")
        ledger.queued(uid, RATE, spans(("answer", 0, 300)))
    assert ledger.utterance_ids() == [8, 9, 10]
    assert ledger.get(1) is None and ledger.get(10).text == "answer 10"
