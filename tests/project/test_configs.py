"""Every YAML in configs/ loads against the code (a renamed field breaks this test, not a user's run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from data_prep.__main__ import parse_build_config

DATA_CONFIGS = sorted((REPO / "configs" / "data").glob("*.yaml"))


def test_there_are_data_configs():
    assert {p.name for p in DATA_CONFIGS} >= {"build.yaml", "demo.yaml"}


@pytest.mark.parametrize("path", DATA_CONFIGS, ids=lambda p: p.name)
def test_data_config_loads(path: Path, tmp_path):
    config, _ = parse_build_config(["--config", str(path), "--root", str(tmp_path), "--out", str(tmp_path / "out")])
    assert config.root == str(tmp_path)
    assert config.features.fingerprint()
    assert config.content_fingerprint()


def test_shipped_clap_configs_build():
    from transformers import ClapConfig, ClapFeatureExtractor

    for name in ("tiny-random", "htsat-unfused"):
        d = REPO / "configs" / "clap" / name
        cfg = ClapConfig.from_pretrained(d)
        fe = ClapFeatureExtractor.from_pretrained(d)
        assert fe.sampling_rate == 48000
        assert cfg.audio_config.enable_fusion is False


def test_prompt_configs_load():
    from data_prep.video.prompts import load_prompts

    paths = sorted((REPO / "configs" / "prompts").glob("*.yaml"))
    assert paths
    for p in paths:
        prompts = load_prompts(p)
        assert "{shot_captions}" in prompts.fusion


MODEL_CONFIGS = sorted((REPO / "configs" / "model").glob("*.yaml"))


@pytest.mark.parametrize("path", MODEL_CONFIGS, ids=lambda p: p.name)
def test_model_config_loads(path: Path):
    from transformers import AutoConfig

    from mv2desc.model.config import CaptionerConfig

    cfg = CaptionerConfig.from_yaml(path)
    if cfg.backbone.config_dir:
        assert AutoConfig.from_pretrained(REPO / cfg.backbone.config_dir).model_type in ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


def test_model_presets_present():
    assert {p.stem for p in MODEL_CONFIGS} >= {"tiny", "qwen2.5-vl-3b", "qwen2.5-vl-7b", "qwen2-vl-7b", "qwen3-vl-8b"}


def test_model_summary_7b_offline_on_meta(capsys, monkeypatch):
    import json

    from train.model_cmd import main as model_main

    monkeypatch.chdir(REPO)
    assert model_main(["summary", "--config", "configs/model/qwen2.5-vl-7b.yaml"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert 8.2e9 < s["parameters"]["backbone"] < 8.4e9  # Qwen2.5-VL-7B is 8.29 B parameters
    assert s["lora_modules"] == 28 * 7 and s["cross_attention_blocks"] == 7
    assert s["parameters"]["backbone_trainable"] == 0
    assert s["memory_estimate_gib"]["total"] > s["memory_estimate_gib"]["frozen_weights"] > 15


INFER_CONFIGS = sorted((REPO / "configs" / "infer").glob("*.yaml"))


def test_infer_presets_present():
    assert {p.stem for p in INFER_CONFIGS} >= {"procedural", "sdxl_svd", "sdxl_turbo_svd", "wan", "wan_fast"}


@pytest.mark.parametrize("path", INFER_CONFIGS, ids=lambda p: p.name)
def test_infer_config_loads(path: Path):
    from infer.mv_generate import parse_generate_config

    cfg, _ = parse_generate_config(["song.mp3", "--out", "out", "--config", str(path)])
    assert cfg.song == "song.mp3" and cfg.renderer == path.stem.split("_")[-1].replace("svd", "svd") or cfg.renderer in ("svd", "wan")
    if cfg.renderer != "procedural":  # the diffusion options are real SDXLKeyframeConfig / SVDConfig / WanConfig fields
        assert cfg.diffusion_configs() is not None
