"""Issue 11, items 8-10 (training, resume and export): refused with one line, never silently wrong.

8: an empty train split, or only empty descriptions, is refused before the Trainer starts.
9: resuming with a changed configuration is refused (naming the keys); a broken ``last.ckpt`` falls back
   to the newest readable ``step*.ckpt``; none readable is one line.
10: an incomplete artifact (tokenizer, adapter weights, merged backbone) is named before export or load.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from mv2desc.cli import main as cli_main
from mv2desc.errors import UserError
from train.__main__ import parse_train_config
from train.fit import fit

SMOKE = str(REPO / "configs" / "train" / "cpu_smoke.yaml")
# 4 steps in jobs of 2: the first job leaves last.ckpt + step000002.ckpt, config.yaml and final/
RUN_FLAGS = ("--optim.max_steps", "4", "--run.ckpt_every_n_steps", "2", "--data.val_split", "", "--run.sample_generations", "0")


def flags(dataset: Path, out: Path, *extra: str) -> list[str]:
    return ["--config", SMOKE, "--data.dataset", str(dataset), "--run.out_dir", str(out), "--run.loggers", "[csv]", *RUN_FLAGS, *extra]


def config(dataset: Path, out: Path, *extra: str):
    cfg, _ = parse_train_config(flags(dataset, out, *extra))
    return cfg


def one_error_line(capsys, rc: int, *needles: str) -> str:
    """The command failed with exit code 2 and printed exactly one ``error: ...`` line (no traceback)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def variant(dataset: Path, out: Path, edit) -> Path:
    """A copy of the dataset whose train split is ``edit(train split)``."""
    from datasets import load_from_disk

    dd = load_from_disk(str(dataset / "dataset"))
    dd["train"] = edit(dd["train"])
    dd.save_to_disk(str(out / "dataset"))
    shutil.copy(dataset / "manifest.json", out / "manifest.json")
    return out


@pytest.fixture(scope="module")
def stopped_run(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stopped") / "run"
    summary = fit(config(dataset, out, "--run.stop_after_steps", "2"))
    assert summary["global_step"] == 2
    assert (out / "checkpoints" / "last.ckpt").is_file() and (out / "checkpoints" / "step000002.ckpt").is_file()
    return out


# -- item 8 ---------------------------------------------------------------------------------------------
def test_item8_empty_train_split_is_one_line_and_writes_nothing(dataset, tmp_path, capsys):
    data = variant(dataset, tmp_path / "data", lambda split: split.select([]))
    out = tmp_path / "run"
    rc = cli_main(["train", "fit", *flags(data, out)])
    one_error_line(capsys, rc, "split 'train'", "no rows", "data.train_split")
    assert not out.exists()  # no untrained final/, no config.yaml


def test_item8_all_empty_descriptions_are_refused(dataset, tmp_path, capsys):
    data = variant(dataset, tmp_path / "data", lambda split: split.map(lambda r: {"description": "  "}))
    out = tmp_path / "run"
    rc = cli_main(["train", "fit", *flags(data, out)])
    one_error_line(capsys, rc, "every description", "split 'train'", "is empty")
    assert not out.exists()
    with pytest.raises(UserError, match="every description"):
        fit(config(data, out))


def test_item8_some_empty_descriptions_warn(caplog):
    from datasets import Dataset

    from train.data import check_trainable

    with caplog.at_level(logging.WARNING, logger="train.data"):
        check_trainable(Dataset.from_dict({"description": ["a song", "", None]}), "train", "d")
    assert "2 of 3 descriptions" in caplog.text
    with pytest.raises(UserError, match="no 'description' column"):
        check_trainable(Dataset.from_dict({"id": ["a"]}), "train", "d")


# -- item 9 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "key"), [(("--optim.lr", "5e-4"), "optim.lr: 0.001 -> 0.0005"),
                                             (("--model.lora.r", "8"), "model.lora.r: 4 -> 8")])
def test_item9_changed_config_on_resume_is_refused(stopped_run, dataset, tmp_path, capsys, change, key):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    before = (run / "config.yaml").read_bytes()
    rc = cli_main(["train", "fit", *flags(dataset, run, *change)])
    line = one_error_line(capsys, rc, key, "new run.out_dir", "--run.resume none")
    assert "stop_after_steps" not in line and "out_dir:" not in line  # keys that may change are not listed
    assert (run / "config.yaml").read_bytes() == before  # the old run's record is kept


def test_item9_resume_changes_that_do_not_alter_training_are_accepted(stopped_run, dataset, tmp_path):
    from train.config import TrainConfig
    from train.fit import RESUME_MAY_CHANGE, check_resume_config

    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    cfg = config(dataset, run, "--optim.max_steps", "6", "--run.ckpt_every_n_steps", "1", "--data.num_workers", "1")
    check_resume_config(cfg, str(run / "checkpoints" / "last.ckpt"))  # no error
    assert RESUME_MAY_CHANGE <= {f"{section}.{k}" for section, sub in TrainConfig().__dict__.items()
                                 if hasattr(sub, "__dataclass_fields__") for k in sub.__dataclass_fields__}


def test_item9_truncated_last_ckpt_falls_back_to_the_step_checkpoint(stopped_run, dataset, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # a job killed while writing it
    with caplog.at_level(logging.WARNING, logger="train.fit"):
        summary = fit(config(dataset, run))
    assert summary["resumed_from"].endswith("step000002.ckpt")
    assert summary["global_step"] == 4
    assert "last.ckpt is truncated" in caplog.text and "resuming from" in caplog.text


def test_item9_no_readable_checkpoint_is_one_line(stopped_run, dataset, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(stopped_run, run)
    for ckpt in (run / "checkpoints").glob("*.ckpt"):
        ckpt.write_bytes(ckpt.read_bytes()[:1000])
    rc = cli_main(["train", "fit", *flags(dataset, run)])
    one_error_line(capsys, rc, "no readable checkpoint", "last.ckpt", "step000002.ckpt", "--run.resume none")


def test_item9_checkpoint_readability(tmp_path):
    import torch

    from train.fit import resolve_resume

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    torch.save({"state_dict": {}, "global_step": 2}, folder / "step000002.ckpt")
    torch.save({"state_dict": {}, "global_step": 4}, folder / "step000004.ckpt")
    (folder / "last.ckpt").write_bytes(b"")
    assert resolve_resume("auto", tmp_path) == str(folder / "step000004.ckpt")  # the newest readable one
    (folder / "step000004.ckpt").write_bytes((folder / "step000004.ckpt").read_bytes()[:-30])
    assert resolve_resume("auto", tmp_path) == str(folder / "step000002.ckpt")
    with pytest.raises(UserError, match="run.resume: .*last.ckpt is an empty file"):
        resolve_resume(str(folder / "last.ckpt"), tmp_path)
    torch.save([1, 2], folder / "other.ckpt")
    with pytest.raises(UserError, match="not a Lightning checkpoint"):
        resolve_resume(str(folder / "other.ckpt"), tmp_path)


# -- item 10 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("remove", ["tokenizer.json", "adapter/adapter_model.safetensors", "audio_modules.safetensors"])
def test_item10_export_of_an_incomplete_artifact_names_the_file(stopped_run, tmp_path, capsys, remove):
    art = tmp_path / "art"
    shutil.copytree(stopped_run / "final", art)
    (art / remove).unlink()
    out = tmp_path / "exported"
    rc = cli_main(["export", "--checkpoint", str(art), "--out", str(out)])
    one_error_line(capsys, rc, f"missing {remove}", str(art))
    assert not out.exists()  # nothing written


def test_item10_eval_run_of_an_incomplete_artifact_is_one_line(stopped_run, dataset, tmp_path, capsys):
    art = tmp_path / "art"
    shutil.copytree(stopped_run / "final", art)
    (art / "tokenizer_config.json").unlink()
    rc = cli_main(["eval", "run", "--checkpoint", str(art), "--dataset", str(dataset), "--out", str(tmp_path / "eval"), "--device", "cpu"])
    one_error_line(capsys, rc, "missing tokenizer_config.json")


def test_item10_merged_artifact_needs_its_backbone_weights(tmp_path):
    from mv2desc.model.artifact import FORMAT, META_FILE, ArtifactError, check_complete, missing_files

    art = tmp_path / "merged"
    (art / "backbone").mkdir(parents=True)
    (art / META_FILE).write_text(json.dumps({"format": FORMAT, "merged": True, "num_lora_modules": 0}))
    import torch
    from safetensors.torch import save_file

    for name in ("tokenizer_config.json", "tokenizer.json", "chat_template.jinja", "backbone/config.json"):
        (art / name).write_text("x")
    save_file({"w": torch.zeros(1)}, art / "audio_modules.safetensors")
    assert missing_files(art) == ["backbone/model.safetensors"]
    (art / "backbone" / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "model-00001.safetensors"}}))
    with pytest.raises(ArtifactError, match="missing backbone/model-00001.safetensors"):
        check_complete(art)
    save_file({"a": torch.zeros(1)}, art / "backbone" / "model-00001.safetensors")
    assert check_complete(art)["merged"] is True
