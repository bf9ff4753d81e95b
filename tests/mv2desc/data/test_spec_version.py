"""The feature spec's format is its version (issue 20 item 2): rows of ``mv2desc-feature-spec/2`` carry the
tonal stream and the measured ``onset_rate`` / ``rms_db_slope``; a dataset or a captioner artifact whose spec
is of the older format is refused with one line naming the fix (rebuild the dataset / retrain), before
anything is built -- not a crash deep inside the collator or the prompt."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import REPO
from mv2desc.data import feature_config
from mv2desc.data.feature_config import FeatureConfig
from mv2desc.data.spec import FORMAT, OLDER_FORMATS, FeatureSpec, OutdatedFeatureSpec
from mv2desc.errors import UserError
from mv2desc.model import artifact

DEMO = REPO / "assets" / "demo-captioner"
OLD = "mv2desc-feature-spec/1"


def old_record() -> dict:
    """A spec as the previous version wrote it: format 1, no tonal stream, no tonal fields."""
    d = FeatureSpec.from_config(FeatureConfig(), clap_dim=32).to_dict()
    d = {k: v for k, v in d.items() if not k.startswith("tonal_")}
    d["streams"] = [s for s in d["streams"] if s != "tonal"]
    return {**d, "format": OLD}


def old_dataset(tmp_path):
    """A dataset folder built by the previous version (its manifest; the rows are never reached)."""
    d = tmp_path / "old-data"
    (d / "dataset").mkdir(parents=True)
    (d / "dataset" / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}))
    (d / "manifest.json").write_text(json.dumps({"format": "mv2desc-dataset/1", "feature_spec": old_record()}))
    return d


def test_this_version_writes_and_reads_format_2():
    spec = FeatureSpec.from_config(FeatureConfig(), clap_dim=32)
    assert FORMAT == "mv2desc-feature-spec/2" and OLD in OLDER_FORMATS
    assert spec.to_dict()["format"] == FORMAT and FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unsupported feature spec format 'mv2desc-feature-spec/9'"):
        FeatureSpec.from_dict({**spec.to_dict(), "format": "mv2desc-feature-spec/9"})


def test_an_old_dataset_is_refused_with_one_line_naming_the_rebuild(tmp_path):
    from train.data import feature_spec

    d = old_dataset(tmp_path)
    with pytest.raises(OutdatedFeatureSpec) as caught:
        FeatureSpec.from_manifest(d)
    message = str(caught.value)
    assert "\n" not in message and OLD in message and "tonal" in message and "onset_rate" in message
    assert f"rebuild the dataset {d} with `mv2desc data build`" in message
    with pytest.raises(UserError, match="rebuild the dataset .* with `mv2desc data build`") as caught:
        feature_spec(d)
    assert "\n" not in str(caught.value)


def test_train_fit_on_an_old_dataset_prints_one_line(tmp_path, capsys):
    from mv2desc.cli import main

    d = old_dataset(tmp_path)
    code = main(["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset", str(d),
                 "--run.out_dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err
    assert "mv2desc data build" in err and OLD in err
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_an_old_artifact_is_refused_with_one_line_naming_the_retrain(tmp_path, monkeypatch):
    old = tmp_path / "old-captioner"
    shutil.copytree(DEMO, old)
    meta = json.loads((old / artifact.META_FILE).read_text())
    meta["feature_spec"] = old_record()
    (old / artifact.META_FILE).write_text(json.dumps(meta))

    def no_build(*args, **kwargs):
        raise AssertionError("the backbone was loaded before the outdated spec was refused")

    monkeypatch.setattr(artifact, "load_backbone", no_build)
    for use in (lambda: artifact.load(old), lambda: artifact.artifact_spec(artifact.read_meta(old), old)):
        with pytest.raises(artifact.ArtifactError) as caught:
            use()
        message = str(caught.value)
        assert "\n" not in message and str(old) in message and OLD in message
        assert "retrain it with `mv2desc train fit`" in message and "mv2desc data build" in message


def test_the_build_cache_key_follows_the_extractors_columns(monkeypatch):
    before = FeatureConfig().fingerprint()
    monkeypatch.setattr(feature_config, "EXTRACTOR_VERSION", feature_config.EXTRACTOR_VERSION + 1)
    assert FeatureConfig().fingerprint() != before  # cached features without the new columns are not reused
