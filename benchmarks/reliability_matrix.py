"""Bad-input and fault matrix (issue 11): every case runs the real console script in a subprocess and
gets one verdict.

    .venv/bin/python benchmarks/reliability_matrix.py [--only 2,13] [--json out.json]

Verdicts: ``clear error`` (non-zero exit, the last stderr line is ``error: ...``, no traceback),
``valid output`` (exit 0 and the case's own check passes), ``traceback``, ``hang`` (timeout),
``silent wrong`` (exit 0 but the check found a wrong result), ``data lost`` (a file the user owned was
changed or removed), ``unclear error`` (non-zero exit without an ``error:`` line); for signal cases,
``stopped`` (exit 128 + signal within 15 s, no traceback, no process of its group left) or ``orphans``.
Issue 18 items 10 (full disk), 12 (two runs into one folder) and 13 (a full disk under ``eval score``)
need a fault injected inside the process: their tests cover them (tests/*/test_reliability_*.py). Each case also
says what it expects; the table marks the cases whose verdict differs. Nothing is asserted: the
tests assert behaviour (tests/*/test_reliability_*.py); this prints where the product stands.
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
    interrupt: tuple[str, int, bool] | None = None  # (file that says the work started, signal, to the whole group?)


def _digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "missing" for p in paths}


def run_case(case: Case, work: Path) -> dict:
    d = work / f"{case.item}-{case.name}".replace(" ", "_")
    d.mkdir(parents=True, exist_ok=True)
    argv = case.setup(d)
    owned = [d / p for p in case.owned]
    before = _digest(owned)
    t0 = time.perf_counter()
    if case.interrupt is not None:
        return _run_interrupted(case, argv, d, t0)
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


def _run_interrupted(case: Case, argv: list[str], d: Path, t0: float) -> dict:
    """Start the command in its own process group, wait for ``interrupt[0]`` to appear, send the signal
    (to the group, as Ctrl-C does, or to the main process only); verdict ``stopped`` when it exits with
    128 + signal within 15 s, prints no traceback and leaves no process of its group behind."""
    import signal as _signal

    from mv2desc.procs import group_members

    marker, sig, group = case.interrupt
    proc = subprocess.Popen([str(EXE), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=d,
                            start_new_session=True)
    deadline = time.perf_counter() + case.timeout
    while not list(d.glob(marker)) and proc.poll() is None and time.perf_counter() < deadline:
        time.sleep(0.1)
    if proc.poll() is not None:
        return {"item": case.item, "case": case.name, "verdict": "not run", "expect": case.expect,
                "last_stderr": f"finished before {marker} appeared (exit {proc.returncode})"}
    sent = time.perf_counter()
    (os.killpg if group else os.kill)(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, _signal.SIGKILL)
        proc.communicate()
        return {"item": case.item, "case": case.name, "verdict": "hang", "expect": case.expect, "wall_s": round(time.perf_counter() - t0, 1)}
    stop_s = time.perf_counter() - sent
    time.sleep(2.0)
    left = group_members(proc.pid)
    err_lines = [line for line in err.strip().splitlines() if line.strip()]
    if "Traceback (most recent call last)" in err:
        verdict = "traceback"
    elif left:
        verdict = "orphans"
    elif proc.returncode in (128 + sig, -sig):
        verdict = "stopped"
    else:
        verdict = "silent wrong"  # went on, or exited with another code
    return {"item": case.item, "case": case.name, "verdict": verdict, "expect": case.expect, "exit": proc.returncode,
            "last_stderr": err_lines[-1][:160] if err_lines else "", "wall_s": round(time.perf_counter() - t0, 1),
            "stop_s": round(stop_s, 2), "left_running": left}


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
    return ["mv", "sync", "--video", str(c), "--audio", str(song(d.parent)), "--out", str(c), "--beats.tracker", "librosa"]


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
    args = ["mv", "sync", "--audio", str(s), "--out", str(d / "o.mp4"), "--beats.tracker", "librosa", "--workers", "1"]
    for k in range(5):
        args += ["--video", str(clip(d.parent, f"clip{k}.mp4"))]
    return args


def _warned_drop(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    return None if "did not fit" in proc.stderr else "silent wrong"


def _blocked_out(d: Path) -> list[str]:
    (d / "a-file").write_text("x")
    return ["mv", "beats", str(song(d.parent)), "--beats.tracker", "librosa", "--out", str(d / "a-file" / "beats.json")]


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


def _copy_of_song(d: Path) -> Path:
    import shutil

    return Path(shutil.copy(song(d.parent), d / "mine.wav"))


def _copy_of_clip(d: Path) -> Path:
    import shutil

    return Path(shutil.copy(clip(d.parent), d / "mine.mp4"))


def _long_song(d: Path, seconds: float = 40.0) -> Path:
    code = ("import sys; from mv2desc.synth import SongSpec, render; from mv2desc.media.audio import write_audio; "
            f"write_audio(sys.argv[1], render(SongSpec(tempo_bpm=120, energy=0.7, duration_s={seconds}), 22050), 22050)")
    subprocess.run([str(EXE.with_name("python")), "-c", code, str(d / "long.wav")], check=True, env=ENV)
    return d / "long.wav"


SMALL_MV = ["--video.width", "160", "--video.height", "96", "--video.fps", "12", "--sync.render.fps", "12", "--workers", "1"]


def _predictions(d: Path) -> Path:
    (d / "preds.jsonl").write_text('{"prediction": "a slow song", "reference": "a slow song"}\n')
    return d / "preds.jsonl"


def _captioner_copy(d: Path, damage: str | None = None) -> Path:
    import shutil

    art = d / "captioner"
    shutil.copytree(REPO / "assets" / "demo-captioner", art)
    if damage:
        f = art / damage
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return art


def _user_folder(d: Path) -> Path:
    (d / "mine").mkdir(exist_ok=True)
    (d / "mine" / "notes.txt").write_text("the user's own notes")
    return d / "mine"


def _truncated_cached_clip(d: Path) -> list[str]:
    argv = ["mv", "generate", str(song(d.parent)), "--out", str(d / "mv"), *SMALL_MV]
    subprocess.run([str(EXE), *argv], check=True, capture_output=True, env=ENV, cwd=d)
    victim = sorted((d / "mv" / "cache" / "clips").glob("*.mp4"))[0]
    victim.write_bytes(victim.read_bytes()[:2000])
    return argv


def _rerendered(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    report = json.loads((d / "mv" / "report.json").read_text())
    return None if report["render"]["rendered"] == 1 else "silent wrong"


def _bars_16s(d: Path) -> list[str]:
    _long_song(d, 16.0)
    return ["describe", str(d / "long.wav"), "--beats.tracker", "librosa", "--out", str(d / "d.json")]


def _eight_bars(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    bars = [s["bars"] for s in json.loads((d / "d.json").read_text())["segments"]]
    return None if bars == [8] else "silent wrong"


def _tempo_16s(d: Path) -> list[str]:
    _long_song(d, 16.0)
    return ["mv", "beats", str(d / "long.wav")]


def _has_tempo(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    tempo = json.loads(proc.stdout)["tempo"]
    return None if tempo is not None and abs(tempo - 120) < 3 else "silent wrong"


def _json_array(d: Path) -> list[str]:
    (d / "preds.json").write_text('[{"prediction": "a", "reference": "a"}]')
    return ["eval", "score", "--predictions", str(d / "preds.json")]


def _generate_long(d: Path, *extra: str) -> list[str]:
    return ["mv", "generate", str(_long_song(d)), "--out", str(d / "mv"), *SMALL_MV, *extra]


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
    Case("-", "describe an 8 s song", lambda d: ["describe", str(song(d.parent)), "--beats.tracker", "librosa"], expect="valid output",
         check=_valid_json),
    Case("-", "mv score of a missing video", lambda d: ["mv", "score", "--video", str(d / "nope.mp4")]),
    Case("-", "unknown subcommand", lambda d: ["mv", "beets"]),
    # issue 18: no output path may eat an input, Ctrl-C stops every command, one run per folder
    Case("18.1", "mv beats --out is the song", lambda d: ["mv", "beats", str(_copy_of_song(d)), "--out", str(d / "mine.wav")],
         owned=["mine.wav"]),
    Case("18.1", "mv score --out is the video", lambda d: ["mv", "score", "--video", str(_copy_of_clip(d)), "--audio",
                                                           str(song(d.parent)), "--out", str(d / "mine.mp4")], owned=["mine.mp4"]),
    Case("18.1", "eval score --out is the predictions", lambda d: ["eval", "score", "--predictions", str(_predictions(d)), "--out",
                                                                   str(d / "preds.jsonl")], owned=["preds.jsonl"]),
    Case("18.1", "export --out is the checkpoint", lambda d: ["export", "--checkpoint", str(_captioner_copy(d)), "--out",
                                                              str(d / "captioner")], owned=["captioner/captioner.json"]),
    Case("18.1", "describe --out is the song", lambda d: ["describe", str(_copy_of_song(d)), "--out", str(d / "mine.wav"),
                                                          "--overwrite"], owned=["mine.wav"]),
    Case("18.2", "export --out a user's folder", lambda d: ["export", "--checkpoint", str(REPO / "assets" / "demo-captioner"), "--out",
                                                            str(_user_folder(d))], owned=["mine/notes.txt"]),
    Case("18.3", "demo --out a user's folder", lambda d: ["demo", "--out", str(_user_folder(d))], owned=["mine/notes.txt"], timeout=120),
    Case("18.4", "Ctrl-C during mv generate's render", lambda d: _generate_long(d, "--devices", "2"), expect="stopped",
         interrupt=("mv/cache/clips/*.mp4", 2, True)),
    Case("18.4", "SIGTERM during mv generate's render", lambda d: _generate_long(d, "--devices", "2"), expect="stopped",
         interrupt=("mv/cache/clips/*.mp4", 15, False)),
    Case("18.5", "SIGKILL during mv generate's render", lambda d: _generate_long(d, "--devices", "2"), expect="stopped",
         interrupt=("mv/cache/clips/*.mp4", 9, False)),
    Case("18.6", "describe with a truncated adapter", lambda d: ["describe", str(song(d.parent)), "--captioner",
                                                                str(_captioner_copy(d, "adapter/adapter_model.safetensors"))]),
    Case("18.6", "describe with truncated audio modules", lambda d: ["describe", str(song(d.parent)), "--captioner",
                                                                     str(_captioner_copy(d, "audio_modules.safetensors"))]),
    Case("18.7", "rerun with a truncated cached clip", _truncated_cached_clip, expect="valid output", check=_rerendered),
    Case("18.8", "bars of 16 s at 120 bpm", _bars_16s, expect="valid output", check=_eight_bars),
    Case("18.9", "tempo of 16 s at 120 bpm", _tempo_16s, expect="valid output", check=_has_tempo),
    Case("18.14", "a folder given as the song", lambda d: ["describe", str(_user_folder(d))]),
    Case("18.14", "a JSON array given as JSONL", _json_array),
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
