"""Files that travel name what they need by a reference, never by the path of the machine that wrote
them (issue 17 item 9): a folder shipped in the repository by its repository path (found in whichever
checkout reads the artifact), any other folder relative to the artifact (the two move together)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import pytest

import mv2desc.paths
from conftest import REPO, TINY_CLAP
from mv2desc.data.spec import FeatureSpecMismatch
from mv2desc.model import artifact

DEMO = REPO / "assets" / "demo-captioner"
# where a machine keeps its files (Linux, macOS, Windows); /data/... in the example configs is a placeholder
# for the user's own data, given on the command line
MACHINE_PATH = re.compile(r"(?<![\w.~-])(?:/(?:work|home|tmp|root|Users|mnt|scratch|private|var/folders)/|(?<!\w)[A-Za-z]:\\)")
SHIPPED_TEXT = (".json", ".yaml", ".yml", ".txt", ".jinja")


def test_nothing_shipped_in_assets_or_configs_holds_a_machine_path():
    offenders = {}
    for top in ("assets", "configs"):
        for p in sorted((REPO / top).rglob("*")):
            if p.is_file() and p.suffix in SHIPPED_TEXT:
                hits = [m.group(0) for m in MACHINE_PATH.finditer(p.read_text(encoding="utf-8"))]
                if hits:
                    offenders[str(p.relative_to(REPO))] = hits
    assert offenders == {}


def test_the_demo_captioner_finds_its_clap_folder_in_the_checkout_that_reads_it(tmp_path, monkeypatch):
    """A copy of the shipped artifact, read by another checkout: its CLAP folder is that checkout's
    configs/clap/tiny-random; a folder there with other content is refused, not silently used."""
    art = tmp_path / "copied" / "demo-captioner"
    shutil.copytree(DEMO, art)
    checkout = tmp_path / "checkout"
    shutil.copytree(TINY_CLAP, checkout / "configs" / "clap" / "tiny-random")
    monkeypatch.setattr(mv2desc.paths, "DATA_ROOT", checkout)
    meta = artifact.read_meta(art)
    recorded = meta["feature_spec"]
    assert recorded["clap_model"] == recorded["extraction"]["clap"]["name_or_path"] == "configs/clap/tiny-random"
    spec = artifact.artifact_spec(meta, art)
    here = str(checkout / "configs" / "clap" / "tiny-random")
    assert spec.clap_model == spec.extraction["clap"]["name_or_path"] == here
    assert spec.feature_config().clap.name_or_path == here  # same content: accepted
    config = checkout / "configs" / "clap" / "tiny-random" / "config.json"
    values = json.loads(config.read_text())
    values["audio_config"]["initializer_factor"] = 2.0  # another model under the same name
    config.write_text(json.dumps(values))
    with pytest.raises(FeatureSpecMismatch, match="is not the one these features were computed with"):
        spec.feature_config()


def test_an_artifact_and_the_folders_it_uses_move_together(tmp_path, monkeypatch):
    """Backbone and CLAP in the user's own folders: saved relative to the artifact, so the artifact still
    loads (and computes the same features) after the whole tree moves."""
    from mv2desc.audio.features import AcousticFeatureExtractor

    a = tmp_path / "a"
    shutil.copytree(TINY_CLAP, a / "models" / "clap")
    shutil.copytree(REPO / "assets" / "tiny-mv-lm", a / "models" / "lm")
    model = artifact.load(DEMO, backbone=str(a / "models" / "lm"))
    clap = str(a / "models" / "clap")
    spec = dataclasses.replace(model.feature_spec, clap_model=clap,
                               extraction={**model.feature_spec.extraction, "clap": {**model.feature_spec.extraction["clap"], "name_or_path": clap}})
    out = artifact.save(model, a / "runs" / "x" / "final", feature_spec=spec)
    text = (out / artifact.META_FILE).read_text()
    assert str(tmp_path) not in text
    meta = json.loads(text)
    assert meta["backbone"] == meta["config"]["backbone"]["name_or_path"] == "../../../models/lm"
    assert meta["feature_spec"]["extraction"]["clap"]["name_or_path"] == "../../../models/clap"

    b = tmp_path / "b"
    a.rename(b)
    moved = artifact.load(b / "runs" / "x" / "final")
    assert moved.config.backbone.name_or_path == str(b / "models" / "lm")
    assert moved.feature_spec.clap_model == str(b / "models" / "clap")
    features = moved.feature_spec.feature_config()
    assert features.clap.name_or_path == str(b / "models" / "clap")
    moved.feature_spec.require_same(AcousticFeatureExtractor(features).spec(), "the moved artifact", "its CLAP folder")
    # --init_from the moved artifact: a fresh model on the same backbone, named relative to the working directory
    from mv2desc.model.builder import build_captioner

    monkeypatch.chdir(b)
    config = dataclasses.replace(moved.config, backbone=dataclasses.replace(moved.config.backbone, name_or_path="models/lm"))
    artifact.warm_start(build_captioner(config), b / "runs" / "x" / "final")
