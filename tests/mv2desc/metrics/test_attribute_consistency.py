"""Attribute consistency (mv2desc/metrics/attributes.py): classes from the text and from the audio, the
score next to the split's chance level, and its place in `eval score`."""

from __future__ import annotations

import json

import pytest

from mv2desc.metrics.attributes import AttributeConfig, attribute_consistency, audio_classes, text_classes
from mv2desc.metrics.text import score_captions

SLOW_CALM_MINOR = {"tempo_bpm": 70.0, "rms_db_mean": -33.0, "mode": "minor"}
FAST_LOUD_MAJOR = {"tempo_bpm": 150.0, "rms_db_mean": -15.0, "mode": "major"}
MID_MODERATE_MAJOR = {"tempo_bpm": 100.0, "rms_db_mean": -24.0, "mode": "major"}


def test_text_classes_explicit_values_win_and_longer_phrases_first():
    assert text_classes("A gentle ballad in E minor at 150 BPM") == {"tempo": "fast", "energy": "calm", "mode": "minor"}
    assert text_classes("moderately energetic, mid-tempo and dark")["energy"] == "moderate"  # not "energetic"
    assert text_classes("a melancholic video for a song in C major")["mode"] == "major"  # explicit key wins over mood
    assert text_classes("Up-tempo and HIGH ENERGY")["tempo"] == "fast"
    assert text_classes("Up-tempo and HIGH ENERGY")["energy"] == "intense"  # a space matches the hyphen of "high-energy"
    assert text_classes("slowly") == {"tempo": None, "energy": None, "mode": None}  # whole words only
    assert text_classes(",,,,,,,,") == {"tempo": None, "energy": None, "mode": None}


def test_audio_classes_follow_the_bins():
    assert audio_classes(SLOW_CALM_MINOR) == {"tempo": "slow", "energy": "calm", "mode": "minor"}
    assert audio_classes(FAST_LOUD_MAJOR) == {"tempo": "fast", "energy": "intense", "mode": "major"}
    assert audio_classes(MID_MODERATE_MAJOR) == {"tempo": "mid", "energy": "moderate", "mode": "major"}
    assert audio_classes({"tempo_bpm": 85.0, "rms_db_mean": -28.0, "mode": "major"})["tempo"] == "mid"  # lower bound inclusive
    with pytest.raises(ValueError, match="mode"):
        audio_classes({"tempo_bpm": 85.0, "rms_db_mean": -28.0, "mode": "dorian"})


def test_a_constant_description_scores_at_most_the_chance_level():
    attrs = [SLOW_CALM_MINOR] * 6 + [FAST_LOUD_MAJOR] * 3 + [MID_MODERATE_MAJOR]
    constant = ["A slow, calm song in a minor key."] * len(attrs)
    r = attribute_consistency(constant, attrs)
    for a in ("tempo", "energy", "mode"):
        assert r[a]["score"] == pytest.approx(r[a]["chance"]) == pytest.approx(0.6)
    assert r["overall"]["score"] == pytest.approx(r["overall"]["chance"])
    right = ["slow calm minor"] * 6 + ["fast intense major"] * 3 + ["mid-tempo, moderately energetic, major"]
    assert attribute_consistency(right, attrs)["overall"]["score"] == 1.0
    silent = attribute_consistency(["a video"] * len(attrs), attrs)
    assert silent["overall"]["score"] == 0.0 and silent["tempo"]["mentioned"] == 0.0


def test_rows_without_attributes_are_skipped_and_counted():
    r = attribute_consistency(["slow", "fast"], [SLOW_CALM_MINOR, None])
    assert r["n"] == 1 and r["skipped"] == 1 and r["tempo"]["score"] == 1.0


def test_config_yaml_is_the_default_and_is_validated(tmp_path):
    from mv2desc.paths import REPO_ROOT

    assert AttributeConfig.from_yaml(REPO_ROOT / "configs/metrics/attributes.yaml") == AttributeConfig()
    with pytest.raises(ValueError, match="increasing"):
        AttributeConfig(tempo_bins_bpm=(120.0, 85.0))
    with pytest.raises(ValueError, match="unknown attribute-config keys"):
        AttributeConfig.from_dict({"tempo_bin": [1, 2]})
    custom = AttributeConfig.from_dict({"tempo_bins_bpm": [60, 100]})
    assert audio_classes({"tempo_bpm": 70, "rms_db_mean": -20, "mode": "major"}, custom)["tempo"] == "mid"


def test_score_captions_and_eval_score_report_it(tmp_path, capsys):
    from train.eval_cmd import main as eval_main

    m = score_captions(["slow calm minor", "fast"], ["a slow calm minor song", "fast"], attributes=[SLOW_CALM_MINOR, FAST_LOUD_MAJOR])
    assert m["attributes"]["overall"]["score"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert "attributes" not in score_captions(["a"], ["a"])
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"prediction": "slow calm minor", "reference": "slow calm minor", "attributes": SLOW_CALM_MINOR},
        {"prediction": "fast and intense", "reference": "fast", "attributes": FAST_LOUD_MAJOR},
    ]) + "\n")
    assert eval_main(["score", "--predictions", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["attributes"]["n"] == 2 and out["attributes"]["tempo"]["score"] == 1.0
    path.write_text(json.dumps({"prediction": "x", "reference": "x", "attributes": {"tempo_bpm": "fast"}}) + "\n")
    assert eval_main(["score", "--predictions", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'attributes' must be" in err[0] and "p.jsonl:1" in err[0]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("tempo_bins: [1, 2]\n")
    path.write_text(json.dumps({"prediction": "x", "reference": "x"}) + "\n")
    assert eval_main(["score", "--predictions", str(path), "--attributes_config", str(cfg)]) == 2
    assert "unknown attribute-config keys" in capsys.readouterr().err


def test_negation_hyphenated_compounds_and_number_formats():
    """Issue 17 item 10: phrasing a captioner or a person writes (more in test_attribute_vocabulary.py)."""
    assert text_classes("Not fast, a slow drift")["tempo"] == "slow"  # a negated word does not count
    assert text_classes("far from calm, it turns loud")["energy"] == "intense"
    assert text_classes("it isn't bright; a gloomy piece")["mode"] == "minor"
    assert text_classes("not slow but fast")["tempo"] == "fast"  # "but" ends the negation's scope
    assert text_classes("a fast-paced montage")["tempo"] == "fast"
    assert text_classes("a minor-key lament")["mode"] == "minor"
    assert text_classes("slow-motion shots")["tempo"] is None  # a picture, not a tempo
    for said in ("120-bpm", "120bpm", "120 BPM", "120.5 bpm", "~120 bpm", "120 beats per minute"):
        assert text_classes(f"a groove at {said}, slow and calm")["tempo"] == "fast", said
    assert text_classes("at 84.6 BPM")["tempo"] == audio_classes({"tempo_bpm": 84.6, "rms_db_mean": -20, "mode": "major"})["tempo"] == "mid"
    assert text_classes("at 0 BPM")["tempo"] is None  # no tempo is not a slow tempo


def test_audio_without_a_tempo_has_no_tempo_class():
    """Issue 17 item 13: a song without beats (tempo 0) is not "slow"; stating a tempo for it is wrong."""
    beatless = {"tempo_bpm": 0.0, "rms_db_mean": -100.0, "mode": "major"}
    assert audio_classes(beatless)["tempo"] is None
    r = attribute_consistency(["a beatless, calm drone", "a slow, calm drone"], [beatless, beatless])
    assert r["tempo"]["score"] == 0.5
