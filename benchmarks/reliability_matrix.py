"""Bad-input and fault matrix (issue 11): every case runs the real console script in a subprocess and
gets one verdict.

    .venv/bin/python benchmarks/reliability_matrix.py [--only 2,13] [--json out.json]

Verdicts: ``clear error`` (non-zero exit, the last stderr line is ``error: ...``, no traceback),
``valid output`` (exit 0 and the case's own check passes), ``traceback``, ``hang`` (timeout),
``silent wrong`` (exit 0 but the check found a wrong result), ``data lost`` (a file the user owned was
changed or removed), ``unclear error`` (non-zero exit without an ``error:`` line). Each case also
says what it expects; the table marks the cases whose verdict differs. Nothing is asserted: the
tests assert behaviour (tests/test_reliability_*.py); this prints where the product stands.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("mv2desc")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@dataclass
class Case:
    item: str
    name: str
    setup: Callable[[Path], list[str]]  # prepares files under the case folder, returns the argv
    expect: str = "clear error"
    check: Callable[[Path, subprocess.CompletedProcess], str | None] | None = None  # -> a bad verdict or None
    owned: list[str] = field(default_factory=list)  # files (relative to the case folder) the user owns
    timeout: float = 300.0


def _digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "missing" for p in paths}


def run_case(case: Case, work: Path) -> dict:
    d = work / f"{case.item}-{case.name}".replace(" ", "_")
    d.mkdir(parents=True, exist_ok=True)
    argv = case.setup(d)
    owned = [d / p for p in case.owned]
    before = _digest(owned)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(EXE), *argv], capture_output=True, text=True, timeout=case.timeout, env=ENV, cwd=d)
    except subprocess.TimeoutExpired:
        return {"item": case.item, "case": case.name, "verdict": "hang", "expect": case.expect, "wall_s": case.timeout}
    wall = time.perf_counter() - t0
    err_lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    if _digest(owned) != before:
        verdict = "data lost"
    elif "Traceback (most recent call last)" in proc.stderr:
        verdict = "traceback"
    elif proc.returncode == 0:
        verdict = (case.check(d, proc) if case.check else None) or "valid output"
    elif err_lines and err_lines[-1].startswith("error: "):
        verdict = "clear error"
    else:
        verdict = "unclear error"
    return {"item": case.item, "case": case.name, "verdict": verdict, "expect": case.expect, "exit": proc.returncode,
            "last_stderr": err_lines[-1][:160] if err_lines else "", "wall_s": round(wall, 1)}


# -- shared fixtures (made once per run) ---------------------------------------------------------------
_SHARED: dict[str, Path] = {}


def example(work: Path) -> Path:
    if "example" not in _SHARED:
        root = work / "_shared" / "m4a"
        if not (root / "id_information.csv").is_file():
            subprocess.run([str(EXE), "data", "example", "--out", str(root), "--n_tracks", "6", "--duration_s", "6"],
                           check=True, capture_output=True, env=ENV)
        _SHARED["example"] = root
    return _SHARED["example"]


def song(work: Path) -> Path:
    if "song" not in _SHARED:
        from mv2desc.media.audio import write_audio
        from mv2desc.synth import SongSpec, render

        p = work / "_shared" / "song.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            write_audio(p, render(SongSpec(tempo_bpm=120.0, duration_s=8.0), 22050), 22050)
        _SHARED["song"] = p
    return _SHARED["song"]


def clip(work: Path, name: str = "clip.mp4") -> Path:
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    p = work / "_shared" / name
    if not p.exists():
        frames, _ = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=96, height=64, seed=len(name)))
        write_video(p, frames, 8.0)
    return p


def dataset(work: Path) -> Path:
    if "dataset" not in _SHARED:
        out = work / "_shared" / "data"
        if not (out / "manifest.json").is_file():
            subprocess.run([str(EXE), "data", "build", "--config", str(REPO / "configs/data/demo.yaml"), "--root", str(example(work)),
                            "--out", str(out), "--features.clap.name_or_path", str(REPO / "configs/clap/tiny-random")],
                           check=True, capture_output=True, env=ENV)
        _SHARED["dataset"] = out
    return _SHARED["dataset"]


def trained(work: Path) -> Path:
    if "run" not in _SHARED:
        run = work / "_shared" / "run"
        if not (run / "final" / "captioner.json").is_file():
            subprocess.run([str(EXE), "train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset",
                            str(dataset(work)), "--run.out_dir", str(run), "--optim.max_steps", "2", "--run.ckpt_every_n_steps", "2",
                            "--run.loggers", "[csv]"], check=True, capture_output=True, env=ENV)
        _SHARED["run"] = run
    return _SHARED["run"]


# -- the cases ----------------------------------------------------------------------------------------
def _user_folder_with_dataset(d: Path) -> list[str]:
    (d / "mine" / "dataset").mkdir(parents=True, exist_ok=True)
    (d / "mine" / "dataset" / "precious.txt").write_text("mine")
    (d / "mine" / "report.json").write_text("{}")
    return ["data", "build", "--config", str(REPO / "configs/data/demo.yaml"), "--root", str(example(d.parent)), "--out", str(d / "mine"),
            "--features.clap.name_or_path", str(REPO / "configs/clap/tiny-random")]


def _non_empty(d: Path) -> list[str]:
    (d / "root").mkdir(exist_ok=True)
    (d / "root" / "notes.txt").write_text("mine")
    return ["data", "example", "--out", str(d / "root")]


def _sync_onto_input(d: Path) -> list[str]:
    c = d / "mine.mp4"
    c.write_bytes(clip(d.parent).read_bytes())
    return ["mv", "sync", "--video", str(c), "--audio", str(song(d.parent)), "--out", str(c), "--tracker", "librosa"]


def _comma_rows(d: Path) -> list[str]:
    import shutil

    root = d / "m4a"
    if not root.exists():
        shutil.copytree(example(d.parent), root)  # a real example whose table then loses its tabs
    (root / "id_information.csv").write_text("id\tartist\tsong\talbum_name\na1,Someone,Song,Album\n")
    return ["data", "build", "--root", str(root), "--out", str(d / "out"), "--features.clap.enabled", "false"]


def _empty_train_split(d: Path) -> list[str]:
    return ["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset", str(_emptied(d)),
            "--data.train_split", "test", "--data.val_split", "", "--run.out_dir", str(d / "run")]


def _emptied(d: Path) -> Path:
    """A copy of the shared dataset whose test split is empty (the manifest says so too)."""
    import shutil

    out = d / "data"
    if not out.exists():
        from datasets import load_from_disk

        shutil.copytree(dataset(d.parent), out, ignore=shutil.ignore_patterns("cache"))
        dd = load_from_disk(str(dataset(d.parent) / "dataset"))
        dd["test"] = dd["test"].select([])
        shutil.rmtree(out / "dataset")
        dd.save_to_disk(str(out / "dataset"))
    return out


def _resume_changed_lr(d: Path) -> list[str]:
    import shutil

    run = d / "run"
    if not run.exists():
        shutil.copytree(trained(d.parent), run)
    return ["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset", str(dataset(d.parent)),
            "--run.out_dir", str(run), "--optim.max_steps", "4", "--run.ckpt_every_n_steps", "2", "--optim.lr", "0.5",
            "--run.loggers", "[csv]"]


def _export_without_tokenizer(d: Path) -> list[str]:
    import shutil

    art = d / "art"
    if not art.exists():
        shutil.copytree(trained(d.parent) / "final", art)
        for f in art.glob("tokenizer*"):
            f.unlink()
    return ["export", "--checkpoint", str(art), "--out", str(d / "exported")]


def _export_without_adapter(d: Path) -> list[str]:
    import shutil

    art = d / "art"
    if not art.exists():
        shutil.copytree(trained(d.parent) / "final", art)
        (art / "adapter" / "adapter_model.safetensors").unlink()
    return ["export", "--checkpoint", str(art), "--out", str(d / "exported")]


def _sync_drops(d: Path) -> list[str]:
    import numpy as np

    from mv2desc.media.audio import write_audio

    s = write_audio(d / "short.wav", np.zeros(4 * 22050, np.float32), 22050)
    args = ["mv", "sync", "--audio", str(s), "--out", str(d / "o.mp4"), "--tracker", "librosa", "--workers", "1"]
    for k in range(5):
        args += ["--video", str(clip(d.parent, f"clip{k}.mp4"))]
    return args


def _warned_drop(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    return None if "did not fit" in proc.stderr else "silent wrong"


def _blocked_out(d: Path) -> list[str]:
    (d / "a-file").write_text("x")
    return ["mv", "beats", str(song(d.parent)), "--tracker", "librosa", "--out", str(d / "a-file" / "beats.json")]


def _corrupt_song(d: Path) -> list[str]:
    (d / "bad.mp3").write_bytes(b"ID3" + os.urandom(2000))
    return ["describe", str(d / "bad.mp3")]


def _offline_clap(d: Path) -> list[str]:
    return ["data", "build", "--config", str(REPO / "configs/data/build.yaml"), "--root", str(example(d.parent)), "--out", str(d / "out")]


def _valid_json(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    try:
        json.loads(proc.stdout)
    except json.JSONDecodeError:
        return "silent wrong"
    return None


CASES = [
    Case("2", "build into a user's folder", _user_folder_with_dataset, owned=["mine/dataset/precious.txt", "mine/report.json"]),
    Case("3", "example into a non-empty folder", _non_empty, owned=["root/notes.txt"]),
    Case("4", "sync --out is the input clip", _sync_onto_input, owned=["mine.mp4"]),
    Case("7", "tab header, comma rows", _comma_rows),
    Case("8", "empty train split", _empty_train_split),
    Case("9", "resume with a changed lr", _resume_changed_lr),
    Case("10", "export: artifact without tokenizer", _export_without_tokenizer),
    Case("10", "export: artifact without adapter weights", _export_without_adapter),
    Case("11", "data example --n_tracks -1", lambda d: ["data", "example", "--out", str(d / "x"), "--n_tracks", "-1"]),
    Case("11", "demo --n_tracks -1", lambda d: ["demo", "--out", str(d / "x"), "--n_tracks", "-1"]),
    Case("11", "sync drops clips that do not fit", _sync_drops, expect="valid output", check=_warned_drop),
    Case("12", "CLAP weights not local", _offline_clap),
    Case("13", "mv beats --out under a file", _blocked_out),
    Case("13", "describe --batch_size 0", lambda d: ["describe", str(song(d.parent)), "--batch_size", "0"]),
    Case("13", "eval run --batch_size 0", lambda d: ["eval", "run", "--checkpoint", "c", "--dataset", "d", "--batch_size", "0"]),
    Case("13", "data example --duration_s 0", lambda d: ["data", "example", "--out", str(d / "x"), "--duration_s", "0"]),
    Case("13", "train with a hub backbone offline", lambda d: ["train", "fit", "--config", str(REPO / "configs/train/lora_1gpu.yaml"),
                                                              "--data.dataset", str(dataset(d.parent)), "--run.out_dir", str(d / "r"),
                                                              "--model.audio.clap_dim", "32"]),
    Case("14", "train fit flag typo", lambda d: ["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--optim.lrr", "1"]),
    Case("14", "data build flag typo", lambda d: ["data", "build", "--root", "r", "--out", "o", "--num_prc", "2"]),
    Case("-", "describe a missing file", lambda d: ["describe", str(d / "nope.mp3")]),
    Case("-", "describe a corrupt MP3", _corrupt_song),
    Case("-", "describe an 8 s song", lambda d: ["describe", str(song(d.parent)), "--tracker", "librosa"], expect="valid output",
         check=_valid_json),
    Case("-", "mv score of a missing video", lambda d: ["mv", "score", "--video", str(d / "nope.mp4")]),
    Case("-", "unknown subcommand", lambda d: ["mv", "beets"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(REPO / "runs" / "reliability"), help="scratch folder")
    parser.add_argument("--only", default="", help="comma-separated items to run (e.g. 2,13)")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    rows = []
    for case in CASES:
        if only and case.item not in only:
            continue
        try:
            row = run_case(case, work)
        except Exception as exc:  # a fixture that could not be made: say so, go on
            row = {"item": case.item, "case": case.name, "verdict": "not run", "expect": case.expect, "last_stderr": f"{type(exc).__name__}: {exc}"}
        rows.append(row)
        mark = "" if row["verdict"] == row["expect"] else "  <-- expected " + row["expect"]
        print(f"{row['item']:>3}  {row['case']:<42} {row['verdict']:<14}{mark}  {row.get('last_stderr', '')[:90]}", flush=True)
    counts = Counter(r["verdict"] for r in rows)
    print("\n| verdict | cases |\n|---|---|")
    for verdict, n in counts.most_common():
        print(f"| {verdict} | {n} |")
    print(f"\n{sum(r['verdict'] == r['expect'] for r in rows)} of {len(rows)} cases as expected")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
