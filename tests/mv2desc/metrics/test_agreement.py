"""Agreement of stated facts with measured ones (mv2desc/metrics/agreement.py), on texts whose answer is known."""

from __future__ import annotations

import pytest

from mv2desc.metrics.agreement import (
    Stated,
    agreement_shares,
    bpm_agrees,
    compare,
    pitch_class,
    stated_facts,
    stated_key,
    stated_mode,
    text_variety,
)

D_MINOR_118 = {"tempo_bpm": 118.0, "key": "D", "mode": "minor"}


def test_stated_facts_of_describer_like_texts():
    assert stated_facts("a mid-tempo D major groove at 96 BPM") == Stated(bpm=96.0, mode="major", key="D")
    assert stated_facts("Set to an upbeat F# minor track (140-bpm), this ...") == Stated(bpm=140.0, mode="minor", key="F#")
    assert stated_facts("a brooding film, 90-100 beats per minute") == Stated(bpm=95.0, mode=None, key=None)  # mood is no mode statement
    assert stated_facts("lights and smoke") == Stated(bpm=None, mode=None, key=None)


def test_key_names_are_pitch_classes_and_need_a_capital_tonic():
    assert stated_key("a B-flat minor dirge") == "A#"
    assert stated_key("an Eb major fanfare") == "D#"
    assert stated_key("in F sharp minor") == "F#"
    assert stated_key("a major shift in the video") is None  # the article, not the key of A
    assert stated_key("AB minor") is None
    assert pitch_class("Db") == pitch_class("C#") == "C#"
    assert pitch_class("B#") == "C"
    with pytest.raises(ValueError):
        pitch_class("H")


def test_negated_statements_do_not_count():
    assert stated_mode("not minor, a bright song") is None
    assert stated_mode("not minor, but a bright G major song") == "major"
    assert stated_key("never in C major") is None
    assert stated_facts("not 120 BPM; it runs at 90 BPM").bpm == 90.0
    assert stated_mode("a minor-key ballad") == "minor"  # a known suffix, as in the attribute parser


def test_bpm_agrees_within_eight_percent():
    assert bpm_agrees(120.0, 118.0) is True
    assert bpm_agrees(110.0, 118.0) is True  # 6.8 % off
    assert bpm_agrees(108.0, 118.0) is False  # 8.5 % off
    assert bpm_agrees(236.0, 118.0) is False  # double time contradicts the printed tempo
    assert bpm_agrees(None, 118.0) is None  # silent
    assert bpm_agrees(120.0, 0.0) is False  # a tempo stated for music without beats
    assert bpm_agrees(120.0, None) is False


def test_compare_with_a_reference():
    assert compare(stated_facts("a D major groove at 120 BPM"), D_MINOR_118) == {"bpm": True, "mode": False, "key": True}
    assert compare(stated_facts("a Bb minor song"), {"mode": "Minor", "key": "A#"}) == {"bpm": None, "mode": True, "key": True}
    assert compare(stated_facts("a D minor song"), {"tempo_bpm": 118.0}) == {"bpm": None, "mode": None, "key": None}  # nothing to check against


def test_agreement_shares_count_statements_agreements_and_contradictions():
    texts = ["a D major groove at 120 BPM", "a dark video", "an upbeat C minor track at 140 BPM", "D minor, 117 bpm"]
    r = agreement_shares(texts, [D_MINOR_118] * 4)
    assert r["n"] == 4
    assert r["bpm"] == {"states": 0.75, "compared": 3, "agree": 2 / 3, "agree_of_all": 0.5, "contradictions": 1}
    assert r["mode"] == {"states": 0.75, "compared": 3, "agree": 2 / 3, "agree_of_all": 0.5, "contradictions": 1}
    assert r["key"] == {"states": 0.75, "compared": 3, "agree": 2 / 3, "agree_of_all": 0.5, "contradictions": 1}
    silent = agreement_shares(["lights"], [D_MINOR_118])
    assert silent["bpm"]["states"] == 0.0 and silent["bpm"]["agree"] is None and silent["bpm"]["contradictions"] == 0
    with pytest.raises(ValueError):
        agreement_shares(["a"], [])


def test_text_variety_counts_identical_neighbours_that_sound_different():
    slow = {"tempo_bpm": 70.0, "rms_db_mean": -33.0, "mode": "minor"}
    fast = {"tempo_bpm": 150.0, "rms_db_mean": -33.0, "mode": "minor"}
    loud_slow = {"tempo_bpm": 70.0, "rms_db_mean": -12.0, "mode": "minor"}
    texts = ["same text", "same  text", "same text", "other", "other"]
    r = text_variety(texts, [slow, slow, fast, loud_slow, loud_slow])
    assert r["n"] == 5 and r["distinct"] == 2 and r["distinct_share"] == 0.4  # whitespace does not make a text new
    assert r["identical_neighbours"] == 3  # (0,1), (1,2), (3,4)
    assert r["identical_neighbours_differing"] == 1 and r["differing_pairs"] == [1]  # slow -> fast under one text
    assert "identical_neighbours_differing" not in text_variety(texts)
    assert text_variety([])["distinct_share"] is None
