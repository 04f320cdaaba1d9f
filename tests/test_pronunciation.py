"""Phone-level agreement between two readings of one utterance."""

from __future__ import annotations

import pytest

from bargein.asr.pronunciation import (
    Pronunciations,
    pronunciations_for,
    read_dictionary,
    shared_phones,
)


@pytest.fixture(scope="module")
def english() -> Pronunciations:
    pronunciations = pronunciations_for("en")
    assert pronunciations is not None
    return pronunciations


def test_shared_phones_is_the_longest_common_subsequence():
    assert shared_phones(("S", "T", "AA", "P"), ("T", "AA", "P")) == 3
    assert shared_phones(("K", "W", "AY", "AH", "T"), ("D", "W", "AY", "T")) == 3
    assert shared_phones(("N", "OW"), ()) == 0


@pytest.mark.parametrize("judged, heard", [("stop", "top"), ("quiet", "dwight"),
                                           ("cancel", "can so"), ("never mind", "never mind")])
def test_a_misspelt_command_sounds_like_it(english, judged, heard):
    assert english.sounds_alike(judged.split(), heard.split())


@pytest.mark.parametrize("judged, heard", [
    ("okay stop", "okay"),          # a backchannel does not confirm a command starting like it
    ("stop", "okay"),
    ("wait", "way"),                # two phones agree by chance
    ("never mind", "then a minute"),
    ("stop", "qzxv"),               # not in the dictionary: no evidence
])
def test_other_sounds_do_not(english, judged, heard):
    assert not english.sounds_alike(judged.split(), heard.split())


def test_the_dictionary_reads_first_pronunciations_without_stress(tmp_path):
    path = tmp_path / "tiny.dict"
    path.write_text("read R IY1 D\nread(2) R EH1 D\nstop S T AA1 P\n", encoding="utf-8")
    entries = read_dictionary(path)
    assert entries == {"read": ("R", "IY", "D"), "stop": ("S", "T", "AA", "P")}


def test_a_language_without_a_dictionary_has_no_agreement():
    assert pronunciations_for("ko") is None
