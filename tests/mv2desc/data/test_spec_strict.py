"""A captioner is used only on features computed the way it was trained (issue 17 item 11): every
setting that changes a feature value is compared, and the CLAP checkpoint by its content, not its
folder; a warm start from an artifact that cannot show its features is refused. Location and library
versions stay recorded only."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil

import pytest
import torch

from conftest import REPO, TINY_CLAP
from mv2desc.audio.feature_config import ClapSettings, FeatureConfig, OpenSmileSettings
from mv2desc.data.spec import FeatureSpec, FeatureSpecMismatch
from mv2desc.errors import UserError
from mv2desc.model import artifact

DEMO = REPO / "assets" / "demo-captioner"


def _spec(clap: dict | None = None, rhythm: dict | None = None, **fields) -> FeatureSpec:
    extraction = FeatureConfig(clap=ClapSettings(name_or_path="/models/clap", random_init=True)).to_dict()
    extraction["clap"].update(clap or {})
    extraction["rhythm"].update(rhythm or {})
    return FeatureSpec(extraction=extraction, **{"clap_dim": 32, "clap_model": "/models/clap", "clap_weights": "a1a1a1a1", **fields})


@pytest.mark.parametrize("other, field, values", [
    (_spec(clap={"random_init": False}, clap_weights="b2b2b2b2"), "extraction.clap.random_init", "True, .* False"),
    (_spec(clap={"seed": 1}), "extraction.clap.seed", "0, .* 1"),
    (_spec(rhythm={"start_bpm": 100.0}), "extraction.rhythm.start_bpm", "120.0, .* 100.0"),
    (_spec(clap_weights="b2b2b2b2"), "clap_weights", "a1a1a1a1, .* b2b2b2b2"),  # another checkpoint, same folder
], ids=["clap-random-vs-trained", "clap-seed", "rhythm-start-bpm", "clap-checkpoint-same-folder"])
def test_a_feature_changing_difference_of_equal_width_is_refused_in_one_line(other, field, values):
    with pytest.raises(FeatureSpecMismatch, match=f"mismatch on {field}: the captioner has {values}") as caught:
        _spec().require_same(other, "the captioner", "the dataset")
    assert "\n" not in str(caught.value)


def test_where_the_checkpoint_lives_and_library_versions_stay_recorded_only():
    moved = _spec(clap={"name_or_path": "/elsewhere/clap-copy"}, clap_model="/elsewhere/clap-copy", versions={"librosa": "9"})
    _spec().require_same(moved, "a", "b")
    no_clap = FeatureSpec(streams=("lld", "functionals", "rhythm"), extraction=_spec().extraction)
    no_clap.require_same(dataclasses.replace(no_clap, extraction=_spec(clap={"seed": 5}).extraction), "a", "b")  # no CLAP rows


def test_a_spec_written_before_the_weights_fingerprint_is_compared_on_what_it_records(caplog):
    old = dataclasses.replace(_spec(), clap_weights="")
    with caplog.at_level(logging.WARNING):
        old.require_same(_spec(), "the captioner", "the dataset")
    assert "the captioner records no clap_weights" in caplog.text
    with pytest.raises(FeatureSpecMismatch, match="extraction.clap.seed"):
        old.require_same(_spec(clap={"seed": 3}), "the captioner", "the dataset")


def _extractor_spec(folder, random_init: bool, seed: int = 0) -> FeatureSpec:
    from mv2desc.audio.features import AcousticFeatureExtractor

    settings = ClapSettings(name_or_path=str(folder), random_init=random_init, seed=seed)
    return AcousticFeatureExtractor(FeatureConfig(opensmile=OpenSmileSettings(enabled=False), clap=settings)).spec()


def _trained_clap(folder, seed: int):
    from transformers import ClapConfig, ClapModel

    torch.manual_seed(seed)
    ClapModel(ClapConfig.from_pretrained(TINY_CLAP)).save_pretrained(folder)
    shutil.copy(TINY_CLAP / "preprocessor_config.json", folder)
    return folder


def test_the_clap_fingerprint_is_the_checkpoints_content_not_its_folder(tmp_path):
    shutil.copytree(TINY_CLAP, tmp_path / "copy" / "tiny")
    random = _extractor_spec(TINY_CLAP, random_init=True)
    _extractor_spec(tmp_path / "copy" / "tiny", random_init=True).require_same(random, "a copy", "the original")
    with pytest.raises(FeatureSpecMismatch, match="extraction.clap.seed: seed 1 has 1, seed 0 has 0"):
        _extractor_spec(TINY_CLAP, random_init=True, seed=1).require_same(random, "seed 1", "seed 0")
    one = _extractor_spec(_trained_clap(tmp_path / "one" / "clap", seed=1), random_init=False)
    two = _extractor_spec(_trained_clap(tmp_path / "two" / "clap", seed=2), random_init=False)
    with pytest.raises(FeatureSpecMismatch, match="extraction.clap.random_init: random has True, trained has False"):
        random.require_same(one, "random", "trained")
    with pytest.raises(FeatureSpecMismatch, match=f"clap_weights: one has {one.clap_weights}, two has {two.clap_weights}"):
        one.require_same(two, "one", "two")
    shutil.copytree(tmp_path / "one" / "clap", tmp_path / "moved" / "other-name")
    one.require_same(_extractor_spec(tmp_path / "moved" / "other-name", random_init=False), "one", "one moved")


def test_init_from_refuses_an_artifact_without_a_spec_or_with_other_features(tmp_path):
    from train.fit import check_init_from

    demo_spec = artifact.artifact_spec(artifact.read_meta(DEMO), DEMO)
    # the demo: a dataset built with configs/data/demo.yaml (tiny random CLAP) warm-starts from the shipped artifact
    from mv2desc.audio.features import AcousticFeatureExtractor

    dataset = AcousticFeatureExtractor(FeatureConfig(clap=ClapSettings(name_or_path=str(TINY_CLAP), random_init=True))).spec()
    check_init_from(str(DEMO), dataset, "demo data")
    with pytest.raises(UserError, match=r"mismatch on extraction.clap.seed: init_from .* has 0, dataset d has 4"):
        check_init_from(str(DEMO), dataclasses.replace(dataset, extraction=_spec(clap={"seed": 4}).extraction), "d")
    old = tmp_path / "old-artifact"
    shutil.copytree(DEMO, old)
    meta = json.loads((old / artifact.META_FILE).read_text())
    del meta["feature_spec"]
    (old / artifact.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(UserError, match="records no feature spec") as caught:
        check_init_from(str(old), demo_spec, "d")
    assert "\n" not in str(caught.value)
