"""Issue 18, training / evaluation / export items: outputs never eat inputs, exports only into their own
folders, damaged weights are one line, a full disk is an error that leaves nothing looking finished,
resume checks the dataset's features, and every JSON is written whole or not at all.

1: ``eval score``, ``eval run``, ``export`` and ``train fit`` refuse an output that is (or holds, or lies
   in) an input, before anything is written; eval run's default out beside a run's final/ is fine.
2: ``export --out`` a folder of the user's is refused; a new one, or an earlier export, is written.
6: a truncated or garbled weights file (or captioner.json) of an artifact is one line naming it.
10: a checkpoint or final-artifact write that fails (full disk) is one line naming it; the checkpoint
    before stays whole and no half-written final/ looks finished.
11: resuming on a dataset rebuilt with other features (CLAP window) is refused, naming the field.
13: ``eval score --out`` / ``eval run`` on a full disk keep the previous metrics.json and predictions.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_reliability_train import config, flags, one_error_line

from conftest import REPO
from mv2desc.cli import main as cli_main
from train.fit import fit

DEMO = REPO / "assets" / "demo-captioner"


def failed_with(capsys, rc: int, *needles: str) -> str:
    """Exit code 2, no traceback, and the last line of stderr is the one ``error: ...`` line (a command that
    fails after loading a model has its progress bars above it)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and "Traceback" not in err, err
    assert lines and lines[-1].startswith("error: ") and sum(line.startswith("error") for line in lines) == 1, err
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


def digest(path: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``path`` (or of the file itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path) if p != path else p.name): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def fill_disk(monkeypatch, folder: Path) -> None:
    """From now on every file opened for writing under ``folder`` fails midway, as on a full disk: half of
    the first write lands, then ``OSError(ENOSPC)``."""
    real_open = io.open
    folder = folder.resolve()

    class Full:
        def __init__(self, f) -> None:
            self._f = f

        def write(self, data):
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self._f.close()

    def full_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        target = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.abspath(file)
        if any(m in mode for m in "wax+") and Path(target).resolve().is_relative_to(folder):
            return Full(f)
        return f

    monkeypatch.setattr(io, "open", full_open)
    monkeypatch.setattr(builtins, "open", full_open)


@pytest.fixture(scope="module")
def run(dataset, tmp_path_factory) -> Path:
    """A run stopped after 2 of 4 steps: checkpoints/last.ckpt + step000002.ckpt, config.yaml, final/."""
    out = tmp_path_factory.mktemp("outputs") / "run"
    assert fit(config(dataset, out, "--run.stop_after_steps", "2"))["global_step"] == 2
    return out


@pytest.fixture
def run_copy(run, tmp_path) -> Path:
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def predictions(tmp_path) -> Path:
    p = tmp_path / "preds" / "predictions.jsonl"
    p.parent.mkdir()
    rows = [{"prediction": "a slow dark song with piano", "reference": "a slow dark piano song"},
            {"prediction": "fast bright drums", "reference": ["bright fast drums", "an upbeat drum track"]}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


# -- item 1 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("out", ["predictions", "folder"])
def test_item1_eval_score_never_writes_over_its_predictions(predictions, capsys, out):
    before = digest(predictions.parent)
    target = predictions if out == "predictions" else predictions.parent
    rc = cli_main(["eval", "score", "--predictions", str(predictions), "--out", str(target)])
    one_error_line(capsys, rc, "--out", str(predictions), "inputs are never overwritten")
    assert digest(predictions.parent) == before


def test_item1_eval_run_never_writes_into_its_artifact_or_dataset(run, dataset, capsys):
    art, before = run / "final", digest(run / "final")
    for out, why in ((art, "is the input"), (dataset / "eval", "is inside the input")):
        rc = cli_main(["eval", "run", "--checkpoint", str(run), "--dataset", str(dataset), "--out", str(out), "--device", "cpu"])
        one_error_line(capsys, rc, why)
    assert digest(art) == before and not (dataset / "eval").exists()


@pytest.mark.parametrize("case", ["artifact", "run folder"])
def test_item1_export_never_writes_into_its_checkpoint(run_copy, capsys, case):
    before = digest(run_copy)
    ckpt = run_copy / "final" if case == "artifact" else run_copy
    rc = cli_main(["export", "--checkpoint", str(ckpt), "--out", str(ckpt)])
    one_error_line(capsys, rc, "--out", "the input", "inputs are never overwritten")
    assert digest(run_copy) == before


@pytest.mark.parametrize("case", ["dataset", "inside dataset", "init_from"])
def test_item1_train_fit_never_writes_into_its_inputs(dataset, run_copy, tmp_path, capsys, case):
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    before = {"data": digest(data), "run": digest(run_copy)}
    if case == "init_from":  # the run's own final/ as the warm start, the run as out_dir: final/ would be rewritten
        argv = flags(data, run_copy, "--init_from", str(run_copy / "final"), "--run.resume", "none")
    else:
        argv = flags(data, data if case == "dataset" else data / "runs" / "x")
    rc = cli_main(["train", "fit", *argv])
    one_error_line(capsys, rc, "--run.out_dir", "inputs are never overwritten")
    assert {"data": digest(data), "run": digest(run_copy)} == before


# -- item 2 ---------------------------------------------------------------------------------------------
def test_item2_export_only_into_a_new_empty_or_earlier_export_folder(run, tmp_path, capsys):
    mine = tmp_path / "my-folder"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    rc = cli_main(["export", "--checkpoint", str(run), "--out", str(mine)])
    one_error_line(capsys, rc, str(mine), "holds files not made by 'mv2desc export'", "nothing in it was changed")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]

    out = tmp_path / "exported"
    for _ in range(2):  # a new folder, then the same export again (it carries the export's marker)
        assert cli_main(["export", "--checkpoint", str(run), "--out", str(out)]) == 0
        assert (out / ".mv2desc-export").is_file() and (out / "captioner.json").is_file()
    capsys.readouterr()


# -- item 6 ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    y = render(SongSpec(tempo_bpm=120.0, key="A", mode="minor", energy=0.6, duration_s=8.0, seed=1), 44100)
    return write_audio(tmp_path_factory.mktemp("song") / "song.wav", np.stack([y, y]) * 0.5, 44100)


@pytest.mark.parametrize(("name", "damage"), [
    ("adapter/adapter_model.safetensors", "truncate"),
    ("audio_modules.safetensors", "truncate"),
    ("audio_modules.safetensors", "garbage"),
    ("captioner.json", "truncate"),
])
def test_item6_a_damaged_artifact_file_is_one_line_naming_it(song, tmp_path, capsys, name, damage):
    art = tmp_path / "captioner"
    shutil.copytree(DEMO, art)
    f = art / name
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2] if damage == "truncate" else os.urandom(len(data)))
    rc = cli_main(["describe", str(song), "--captioner", str(art)])
    line = one_error_line(capsys, rc, str(f), "damaged")
    assert "Traceback" not in line
    rc = cli_main(["export", "--checkpoint", str(art), "--out", str(tmp_path / "exported")])
    one_error_line(capsys, rc, str(f), "damaged")
    assert not (tmp_path / "exported").exists()


# -- item 10 --------------------------------------------------------------------------------------------
def test_item10_a_failed_checkpoint_write_is_one_line_and_keeps_the_checkpoint_before(dataset, run_copy, monkeypatch, capsys):
    ckpts = run_copy / "checkpoints"
    before = digest(ckpts)
    fill_disk(monkeypatch, ckpts)
    rc = cli_main(["train", "fit", *flags(dataset, run_copy)])  # resumes at step 2, saves at step 4
    assert digest(ckpts) == before  # no partial file, no temporary file, the old ones whole
    failed_with(capsys, rc, "cannot write checkpoint", str(ckpts / "step000004.ckpt"), "No space left on device")


@pytest.mark.parametrize("fault", ["python writer", "safetensors"])
def test_item10_a_failed_final_artifact_write_leaves_nothing_looking_finished(dataset, run_copy, monkeypatch, capsys, fault):
    from safetensors import SafetensorError

    from mv2desc.model import artifact

    assert artifact.resolve(run_copy) == run_copy / "final"  # the first job's final/
    if fault == "python writer":
        fill_disk(monkeypatch, run_copy / "final")
    else:
        def full(*args, **kwargs):
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

        monkeypatch.setattr(artifact, "save_file", full)
    rc = cli_main(["train", "fit", *flags(dataset, run_copy)])
    with pytest.raises(artifact.ArtifactError, match="neither a captioner artifact"):
        artifact.resolve(run_copy)  # a half-written final/ is not taken for the first job's, nor for a finished one
    failed_with(capsys, rc, "cannot write the captioner artifact", str(run_copy / "final"), "No space left on device")


# -- item 11 --------------------------------------------------------------------------------------------
def test_item11_resume_on_a_dataset_rebuilt_with_another_clap_window_is_refused(dataset, run_copy, tmp_path, capsys):
    rebuilt = tmp_path / "data"
    shutil.copytree(dataset, rebuilt)
    manifest = json.loads((rebuilt / "manifest.json").read_text())
    assert manifest["feature_spec"]["clap_window_s"] == 10.0
    manifest["feature_spec"]["clap_window_s"] = 5.0
    (rebuilt / "manifest.json").write_text(json.dumps(manifest))
    # the run's dataset folder, rebuilt in place: config.yaml names the same folder
    cfg = run_copy / "config.yaml"
    cfg.write_text(cfg.read_text().replace(str(dataset), str(rebuilt)))
    before = digest(run_copy)
    rc = cli_main(["train", "fit", *flags(rebuilt, run_copy)])
    one_error_line(capsys, rc, "cannot resume", "clap_window_s", "10.0", "5.0", "new run.out_dir")
    assert digest(run_copy) == before


# -- item 13 --------------------------------------------------------------------------------------------
def test_item13_eval_score_on_a_full_disk_keeps_the_previous_metrics(predictions, tmp_path, monkeypatch, capsys):
    out = tmp_path / "scores" / "metrics.json"
    assert cli_main(["eval", "score", "--predictions", str(predictions), "--out", str(out)]) == 0
    before = digest(out.parent)
    fill_disk(monkeypatch, out.parent)
    capsys.readouterr()
    rc = cli_main(["eval", "score", "--predictions", str(predictions), "--out", str(out)])
    assert digest(out.parent) == before  # whole, and no temporary file left
    failed_with(capsys, rc, f"cannot write {out}", "No space left on device")


def test_item13_eval_run_on_a_full_disk_keeps_the_previous_outputs(run, dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval"
    argv = ["eval", "run", "--checkpoint", str(run), "--dataset", str(dataset), "--out", str(out), "--device", "cpu",
            "--limit", "1", "--max_new_tokens", "4"]
    assert cli_main(argv) == 0
    assert json.loads((out / "metrics.json").read_text())["n"] == 1 and (out / "predictions.jsonl").is_file()
    before = digest(out)
    fill_disk(monkeypatch, out)
    capsys.readouterr()
    rc = cli_main(argv)
    assert digest(out) == before
    failed_with(capsys, rc, f"cannot write {out / 'predictions.jsonl'}", "No space left on device")


def test_item1_eval_run_default_out_beside_final_is_allowed(run_copy, dataset, capsys):
    rc = cli_main(["eval", "run", "--checkpoint", str(run_copy), "--dataset", str(dataset), "--device", "cpu",
                   "--limit", "1", "--max_new_tokens", "4"])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((run_copy / "eval-test" / "metrics.json").read_text())["n"] == 1
