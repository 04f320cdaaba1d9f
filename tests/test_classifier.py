"""The interruption classifier and the English phrase file it reads."""

from __future__ import annotations

import pytest

from bargein.agent.classifier import InterruptionClassifier, PhraseBook
from bargein.agent.interruption import InterruptionType as T
from bargein.core.errors import ConfigError


@pytest.fixture(scope="module")
def clf() -> InterruptionClassifier:
    return InterruptionClassifier.from_language("en", redirect_after_words=4, redirect_after_ms=1500)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # backchannels, their spellings, repeats and pairs
        ("Uh-huh", T.BACKCHANNEL), ("uh huh", T.BACKCHANNEL), ("Mm-hmm.", T.BACKCHANNEL),
        ("mhm", T.BACKCHANNEL), ("mm hmm", T.BACKCHANNEL), ("mmhmm", T.BACKCHANNEL),
        ("Yeah.", T.BACKCHANNEL), ("yep", T.BACKCHANNEL), ("right", T.BACKCHANNEL),
        ("OK", T.BACKCHANNEL), ("got it", T.BACKCHANNEL), ("I see", T.BACKCHANNEL),
        ("yeah yeah", T.BACKCHANNEL), ("okay, right", T.BACKCHANNEL), ("oh okay", T.BACKCHANNEL),
        ("mmmm", T.BACKCHANNEL),
        # cancellations
        ("stop", T.CANCELLATION), ("Stop it!", T.CANCELLATION), ("stop talking", T.CANCELLATION),
        ("never mind", T.CANCELLATION), ("nevermind", T.CANCELLATION), ("cancel that", T.CANCELLATION),
        ("be quiet", T.CANCELLATION), ("shut up", T.CANCELLATION), ("enough", T.CANCELLATION),
        ("okay stop", T.CANCELLATION), ("actually, never mind", T.CANCELLATION),
        ("I said stop", T.CANCELLATION), ("can you stop", T.CANCELLATION),
        # corrections
        ("no", T.CORRECTION), ("No, I said Tuesday", T.CORRECTION), ("not that", T.CORRECTION),
        ("actually I wanted the blue one", T.CORRECTION), ("I meant Friday", T.CORRECTION),
        ("sorry, I meant Friday", T.CORRECTION),
        # redirects
        ("can you tell me about trains", T.REDIRECT), ("what about Friday", T.REDIRECT),
        ("instead play some music", T.REDIRECT), ("my flight leaves at noon", T.REDIRECT),
        # clarifications
        ("wait", T.CLARIFICATION), ("Wait, what?", T.CLARIFICATION), ("sorry?", T.CLARIFICATION),
        ("Wait, what was that?", T.CLARIFICATION), ("pardon", T.CLARIFICATION),
        ("say that again", T.CLARIFICATION),
        # courtesy words that close an utterance change nothing
        ("Quiet, please.", T.CANCELLATION), ("cancel, thanks", T.CANCELLATION),
        ("hold on please", T.CLARIFICATION), ("okay, thank you", T.BACKCHANNEL),
        ("what about Friday, please", T.REDIRECT),
        # nothing recognisable
        ("", T.NOISE), ("  ", T.NOISE), ("the", T.NOISE), ("...", T.NOISE),
    ],
)
def test_final_types(clf, text, kind):
    assert clf.classify_final(text) is kind


def test_normalisation_folds_case_punctuation_hyphens_and_spellings(clf):
    assert clf.normalise("Uh-huh!") == ("uh", "huh")
    assert clf.normalise("MHM, ok.") == ("mm", "hmm", "okay")
    assert clf.normalise("That\u2019s enough") == ("that's", "enough")
    assert clf.normalise("hmmmm") == ("hmm",)


@pytest.mark.parametrize("text", ["yeah", "yeah yeah", "uh", "mm", "okay", "i", "got", "yeah but"])
def test_no_cut_while_the_words_could_still_be_a_backchannel(clf, text):
    decision = clf.classify_partial(clf.normalise(text), speech_ms=5000)
    assert decision.undecided and not decision.safe_to_cut


@pytest.mark.parametrize(
    ("text", "kind"),
    [("stop", T.CANCELLATION), ("no", T.CORRECTION), ("actually", T.CORRECTION),
     ("wait", T.CLARIFICATION), ("what", T.CLARIFICATION), ("okay stop", T.CANCELLATION),
     ("i said", T.CORRECTION), ("what about", T.REDIRECT), ("yeah but what about", T.REDIRECT)],
)
def test_first_decisive_word_is_safe_to_cut(clf, text, kind):
    decision = clf.classify_partial(clf.normalise(text), speech_ms=300)
    assert decision.kind is kind and decision.safe_to_cut


def test_a_phrase_in_progress_waits(clf):
    assert clf.classify_partial(("never",), 300).undecided
    assert clf.classify_partial(("shut",), 300).undecided
    assert clf.classify_partial(("never", "mind"), 400).kind is T.CANCELLATION


def test_redirect_after_words_or_time(clf):
    assert clf.classify_partial(("the", "weather", "in"), 900).undecided
    assert clf.classify_partial(("the", "weather", "in", "paris"), 900).kind is T.REDIRECT
    assert clf.classify_partial(("the", "weather"), 1600).kind is T.REDIRECT


def test_resume_phrases(clf):
    for text in ("continue", "Yes, please.", "go on", "yeah", "okay continue"):
        assert clf.is_resume(text), text
    for text in ("what about friday", "no", "stop"):
        assert not clf.is_resume(text), text


def test_phrase_file_ships_in_the_package():
    book = PhraseBook.load("en")
    assert book.language == "en"
    assert ("uh", "huh") in book.backchannels
    assert ("no",) in book.phrases[T.CORRECTION]


def test_one_word_cut_phrases_never_open_a_backchannel(clf):
    """Keeps "no", "stop", "wait" decisive on their own: none starts a backchannel phrase."""
    for kind, phrases in clf.phrases.phrases.items():
        for phrase in phrases:
            if len(phrase) == 1:
                assert not clf.could_be_backchannel(phrase), (kind, phrase)


def test_unknown_language_names_the_fix():
    with pytest.raises(ConfigError, match="language"):
        InterruptionClassifier.from_language("xx")


def test_malformed_phrase_table_is_refused():
    with pytest.raises(ConfigError, match="list of strings"):
        PhraseBook.from_dict({"backchannel": {"phrases": ["yeah"]}, "correction": {"phrases": "no"}})


def test_a_few_words_replacing_part_of_what_was_said_are_a_correction_cue():
    book = PhraseBook.load("en")
    c = InterruptionClassifier(book)
    said = frozenset("the rear left speaker is not getting".split())
    assert c.replaces_said_words(("front", "left"), said)
    assert not c.replaces_said_words(("rear", "left"), said), "nothing changed: a repeat"
    assert not c.replaces_said_words(("front", "door"), said), "nothing kept: a new subject"
    assert not c.replaces_said_words(("the", "left"), said), "function words count for neither"
    bare = PhraseBook.from_dict({"backchannel": {"phrases": ["okay"]}})
    assert not InterruptionClassifier(bare).replaces_said_words(("front", "left"), said)


@pytest.mark.parametrize("text, opener", [
    ("no", True), ("okay, stop", True), ("wait", True),
    ("no, I said", False), ("can you", False), ("i mean", False),
    ("can you repeat", False), ("stop that", False), ("what about stop that right", False),
    ("no no", False), ("cool", False), ("the weather", False),
])
def test_an_opener_that_stands_alone_holds_its_category_for_what_follows(clf, text, opener):
    assert clf.ends_with_standalone_opener(clf.normalise(text)) is opener


@pytest.mark.parametrize("text, kept", [
    ("what about stop that right", "what about"), ("okay, can you stop", "okay can you"),
    ("can you repeat that", "can you repeat that"), ("no, I said", "no i said"),
    ("actually never mind", "actually never mind"), ("the weather", "the weather"),
])
def test_what_follows_an_opener_of_open_content_is_not_a_phrase(clf, text, kept):
    assert clf.through_open_opener(clf.normalise(text)) == tuple(kept.split())


def test_courtesy_words_that_close_an_utterance_change_nothing_while_it_grows(clf):
    assert clf.classify_partial(("quiet", "please")).kind is T.CANCELLATION
    assert clf.is_resume("continue, please")
    assert clf.classify_final("please") is T.NOISE, "a closer alone is no utterance"
