"""Training with Lightning on the tiny captioner (CPU): outputs, trainable-only checkpoints, exact
resume, 2-process DDP (gloo) with a no-audio rank, NaN guard, presets, export."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from conftest import REPO
from train.__main__ import parse_train_config
from train.config import TrainerConfig
from train.fit import fit

SMOKE = str(REPO / "configs" / "train" / "cpu_smoke.yaml")


def n_rows(dataset: Path, split: str) -> int:
    return json.loads((dataset / "manifest.json").read_text())["splits"][split]["clips"]


def config(dataset: Path, out: Path, *flags: str):
    cfg, _ = parse_train_config(
        ["--config", SMOKE, "--data.dataset", str(dataset), "--run.out_dir", str(out), "--run.loggers", "[csv]", *flags]
    )
    return cfg


def losses(out: Path) -> dict[int, float]:
    import csv

    got = {}
    for path in sorted((out / "logs" / "csv").glob("job-*/metrics.csv")):
        for row in csv.DictReader(open(path, encoding="utf-8")):
            if row.get("train/loss"):
                got[int(row["step"])] = float(row["train/loss"])
    return got


@pytest.fixture(scope="module")
def smoke_run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke")
    summary = fit(config(dataset, out, "--optim.max_steps", "4", "--run.ckpt_every_n_steps", "2"))
    assert summary["global_step"] == 4
    return out


def test_run_outputs(smoke_run):
    assert (smoke_run / "config.yaml").is_file() and (smoke_run / "summary.json").is_file()
    assert (smoke_run / "final" / "captioner.json").is_file()
    samples = [json.loads(line) for line in (smoke_run / "samples.jsonl").read_text().splitlines()]
    assert samples and {"prediction", "reference", "step"} <= set(samples[0])
    got = losses(smoke_run)
    assert sorted(got) == [0, 1, 2, 3] and all(math.isfinite(v) for v in got.values())
    header = next(iter((smoke_run / "logs" / "csv").glob("job-000/metrics.csv"))).read_text().splitlines()[0]
    for col in ("train/loss", "train/tokens_per_s", "lr/lora", "lr/new_modules", "val/loss"):
        assert col in header
    # the saved config is the resolved one and parses again
    cfg, _ = parse_train_config(["--config", str(smoke_run / "config.yaml")])
    assert cfg.optim.max_steps == 4


def test_checkpoint_holds_only_trainable_weights(smoke_run):
    from mv2desc.model import artifact

    ckpt = torch.load(smoke_run / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    model = artifact.load(smoke_run / "final", trainable=True)
    trainable = {f"model.{n}" for n, p in model.named_parameters() if p.requires_grad}
    assert set(ckpt["state_dict"]) == trainable
    saved = sum(t.numel() * t.element_size() for t in ckpt["state_dict"].values())
    full = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert saved < 0.35 * full
    assert ckpt["optimizer_states"] and ckpt["lr_schedulers"]


def test_resume_reproduces_the_uninterrupted_loss_curve(dataset, tmp_path):
    per_epoch = 2
    bs = math.ceil(n_rows(dataset, "train") / per_epoch)  # 2 steps per epoch: step 4 is an epoch boundary
    flags = ("--optim.max_steps", "8", "--run.ckpt_every_n_steps", "4", "--data.batch_size", str(bs), "--data.val_split", "")
    fit(config(dataset, tmp_path / "straight", *flags))
    first = fit(config(dataset, tmp_path / "resumed", *flags, "--run.stop_after_steps", "4"))
    assert first["global_step"] == 4
    second = fit(config(dataset, tmp_path / "resumed", *flags))
    assert second["resumed_from"].endswith("last.ckpt") and second["global_step"] == 8
    a, b = losses(tmp_path / "straight"), losses(tmp_path / "resumed")
    assert sorted(a) == sorted(b) == list(range(8))
    for step in range(8):
        assert b[step] == pytest.approx(a[step], rel=1e-6, abs=1e-7), step


def no_audio_on_odd_rows(dataset: Path, out: Path) -> Path:
    """A copy of the dataset whose odd train rows have no features at all."""
    from datasets import load_from_disk

    dd = load_from_disk(str(dataset / "dataset"))
    empty = {"egemaps_lld": [], "egemaps_functionals": [], "clap_windows": [], "clap_window_starts_s": [], "clap_clip": [],
             "onset_env": [], "rms": [], "beat_times_s": []}
    dd["train"] = dd["train"].map(lambda r, i: {**r, **empty} if i % 2 else r, with_indices=True)
    dd.save_to_disk(str(out / "dataset"))
    shutil.copy(dataset / "manifest.json", out / "manifest.json")
    return out


def test_ddp_two_processes_agree_and_survive_a_rank_without_audio(dataset, tmp_path):
    data = no_audio_on_odd_rows(dataset, tmp_path / "data")
    cfg = config(
        data, tmp_path / "ddp", "--trainer.devices", "2", "--trainer.strategy", "ddp_notebook", "--data.batch_size", "1",
        "--data.shuffle", "false", "--optim.max_steps", "3", "--run.ckpt_every_n_steps", "3", "--run.sample_generations", "0",
    )
    summary = fit(cfg)  # with shuffle off, rank 1 gets the odd rows: no audio in any of its batches
    assert summary["world_size"] == 2
    assert summary["ranks_consistent"] is True
    assert summary["global_step"] == 3


def test_nan_loss_stops_with_a_clear_message(dataset, tmp_path, monkeypatch):
    import train.data as data_mod
    from train.module import NonFiniteLossError

    original = data_mod.TrainCollator.__call__

    def poisoned(self, rows):
        batch = original(self, rows)
        batch["audio"].functionals[:] = float("nan")
        return batch

    monkeypatch.setattr(data_mod.TrainCollator, "__call__", poisoned)
    with pytest.raises(NonFiniteLossError, match="loss is nan at step 0"):
        fit(config(dataset, tmp_path / "nan", "--optim.max_steps", "2"))


def test_fp16_is_refused_unless_forced():
    with pytest.raises(ValueError, match="fp16 precision is refused"):
        TrainerConfig(precision="16-mixed")
    assert TrainerConfig(precision="16-mixed", allow_fp16=True).precision == "16-mixed"


TRAIN_CONFIGS = sorted((REPO / "configs" / "train").glob("*.yaml"))


def test_train_presets_present():
    assert {p.stem for p in TRAIN_CONFIGS} >= {"cpu_smoke", "lora_1gpu", "lora_ddp", "fsdp", "deepspeed_zero2", "deepspeed_zero3"}
    for p in TRAIN_CONFIGS:
        first = p.read_text(encoding="utf-8").splitlines()[:3]
        assert any("mv2desc train fit" in line or "-m train fit" in line for line in first), p.name


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.name)
def test_train_config_parses_and_strategy_builds(path):
    from mv2desc.errors import UserError
    from train.strategies import build_strategy

    cfg, _ = parse_train_config(["--config", str(path)])
    if cfg.trainer.strategy.startswith("deepspeed"):
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            with pytest.raises(UserError, match="pip install deepspeed"):
                build_strategy(cfg.trainer.strategy)
            return
    assert build_strategy(cfg.trainer.strategy, torch.nn.Linear) is not None


def test_export_adapter_and_merged_reload_and_generate(smoke_run, tmp_path):
    from export_helpers import generate_once

    from train.export_cmd import main as export_main

    assert export_main(["--checkpoint", str(smoke_run), "--out", str(tmp_path / "adapter")]) == 0
    assert export_main(["--checkpoint", str(smoke_run), "--out", str(tmp_path / "merged"), "--merge"]) == 0
    merged = tmp_path / "merged" / "backbone"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"):
        assert (merged / name).is_file(), name
    a = generate_once(tmp_path / "adapter")
    m = generate_once(tmp_path / "merged")
    assert a and a == m  # merging changes nothing the model says


def test_eval_run_writes_predictions_and_metrics(smoke_run, dataset, tmp_path):
    from train.eval_cmd import main as eval_main

    out = tmp_path / "eval"
    assert eval_main(["run", "--checkpoint", str(smoke_run), "--dataset", str(dataset), "--split", "test", "--out", str(out),
                      "--max-new-tokens", "8", "--device", "cpu"]) == 0
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(preds) == n_rows(dataset, "test") and all({"id", "prediction", "reference"} <= set(p) for p in preds)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("bleu1", "bleu4", "meteor", "rougeL", "cider"):
        assert 0.0 <= metrics[key] <= 10.0, key
    assert eval_main(["run", "--checkpoint", str(tmp_path / "nope"), "--dataset", str(dataset)]) == 2


def test_the_artifact_records_the_datasets_feature_spec(smoke_run, dataset):
    from mv2desc.data.spec import FeatureSpec

    meta = json.loads((smoke_run / "final" / "captioner.json").read_text())
    assert FeatureSpec.from_dict(meta["feature_spec"]) == FeatureSpec.from_manifest(dataset)


def test_eval_refuses_a_dataset_of_another_feature_spec(smoke_run, dataset, tmp_path):
    from mv2desc.errors import UserError
    from train.evaluate import eval_run

    other = tmp_path / "other"
    shutil.copytree(dataset, other, ignore=shutil.ignore_patterns("cache"))
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["feature_spec"]["clap_window_s"] = 5.0
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="feature spec mismatch on clap_window_s: the captioner has 10.0"):
        eval_run(str(smoke_run), str(other), "test", str(tmp_path / "eval"), device="cpu")


def test_describe_a_long_stereo_song_with_the_trained_captioner(smoke_run, tmp_path):
    import numpy as np

    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    y = render(SongSpec(tempo_bpm=100.0, duration_s=70.0, seed=5), 22050)
    song = write_audio(tmp_path / "song.m4a", np.stack([y, 0.5 * y]), 22050)
    calls = []
    result = describe_song(song, smoke_run, DescribeConfig(beats=MusicBeatConfig(tracker="librosa"), max_new_tokens=6, device="cpu", batch_size=2),
                           progress=lambda stage, done, total: calls.append((stage, done, total)))
    segs = result.segments
    assert result.describer == "captioner" and result.captioner.endswith("final")
    assert len(segs) >= 3 and segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx(70.0, abs=0.05)
    assert all(a.end_s == b.start_s for a, b in zip(segs, segs[1:]))
    assert all(isinstance(s.description, str) for s in segs)
    assert ("descriptions", len(segs), len(segs)) in calls and ("features", len(segs), len(segs)) in calls


def test_init_from_starts_from_the_artifacts_weights_and_refuses_another_model(smoke_run, dataset, tmp_path):
    """`--init_from ARTIFACT` (the demo's warm start): LoRA and audio weights start as the artifact's;
    other model settings are one clear error before any run folder is written."""
    from mv2desc.errors import UserError
    from mv2desc.model import artifact
    from train.module import CaptionerModule

    cfg = config(dataset, tmp_path / "warm", "--init_from", str(smoke_run))
    warm = CaptionerModule(cfg).model
    saved = artifact.load(smoke_run / "final")
    for k, v in saved.audio_state_dict().items():
        torch.testing.assert_close(warm.audio_state_dict()[k], v)
    lora = {n: p for n, p in warm.named_parameters() if "lora_B" in n}
    assert lora and any(p.abs().sum() > 0 for p in lora.values())  # fresh LoRA B is all zeros; the artifact's is trained
    summary = fit(config(dataset, tmp_path / "warm_fit", "--init_from", str(smoke_run), "--optim.max_steps", "1",
                         "--run.ckpt_every_n_steps", "1", "--run.sample_generations", "0"))
    assert summary["global_step"] == 1
    with pytest.raises(UserError, match="model config differs in \\['lora'\\]"):
        fit(config(dataset, tmp_path / "other", "--init_from", str(smoke_run), "--model.lora.r", "8"))
    assert not (tmp_path / "other").exists()
    with pytest.raises(UserError, match="neither a captioner artifact"):
        fit(config(dataset, tmp_path / "missing", "--init_from", str(tmp_path / "nowhere")))
