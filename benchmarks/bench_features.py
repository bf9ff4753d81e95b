"""Feature-extraction cost of the dataset builder on real music.

    python benchmarks/bench_features.py --audio-dir /usr/share/games/wesnoth/1.16/data/core/music --n 20

Real music on Debian: ``apt-get install wesnoth-1.16-music`` (orchestral OGG, GPL) gives 41 tracks.
The script cuts one 30 s clip from the middle of each file into a Music4All-layout folder (MP3, as
Music4All ships), then measures

1. CPU seconds per clip for each extractor (decode, librosa, openSMILE, CLAP) in one process,
   with CLAP at its real size (the laion/clap-htsat-unfused architecture, random weights: same FLOPs);
2. clips/s of the real builder (``build_shard``) with 1 and 2 worker processes, from the first to
   the last finished clip after every worker has finished one (start-up reported separately);
3. the whole process (``--whole``): ``mv2desc data build`` run as a command with ``--num_proc 2``, its CPU
   seconds (user + sys, the command and its workers, start-up and publication included) per clip.

Prints one JSON object. Nothing here is asserted; the numbers go into the issue notes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_clips(audio_dir: Path, n: int, root: Path, clip_s: float = 30.0) -> Path:
    from mv2desc.media.audio import load_audio, write_audio

    files = sorted(p for p in audio_dir.rglob("*") if p.suffix.lower() in (".ogg", ".mp3", ".wav", ".flac"))[:n]
    if not files:
        raise SystemExit(f"no audio files under {audio_dir}")
    (root / "audios").mkdir(parents=True, exist_ok=True)
    rows = ["id\tartist\tsong\talbum_name"]
    for i, f in enumerate(files):
        y, sr = load_audio(f)
        start = max(0, (y.size - int(clip_s * sr)) // 2)
        write_audio(root / "audios" / f"real{i:03d}.mp3", y[start : start + int(clip_s * sr)], sr)
        rows.append(f"real{i:03d}\tArtist {i % 7}\t{f.stem}\tBench")
    (root / "id_information.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def per_extractor(root: Path) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    from mv2desc.audio.feature_config import ClapSettings, FeatureConfig
    from mv2desc.audio.features import AcousticFeatureExtractor

    torch.set_num_threads(1)  # as in a build worker (features.threads_per_worker = 1)
    threadpool_limits(1)
    ex = AcousticFeatureExtractor(FeatureConfig(clap=ClapSettings(name_or_path=str(REPO / "configs/clap/htsat-unfused"), random_init=True)))
    clips = sorted((root / "audios").glob("*.mp3"))
    ex.extract_file(clips[0])  # warm-up (model build, numba cache load)
    stages: dict[str, list[float]] = {}
    for p in clips:
        f = ex.extract_file(p)
        for k, v in f.cpu_s.items():
            stages.setdefault(k, []).append(v)
    totals = [sum(vals) for vals in zip(*stages.values())]
    out = {k: round(statistics.mean(v), 3) for k, v in stages.items()}
    out["total"] = round(statistics.mean(totals), 3)
    return out


def throughput(root: Path, procs: int, work: Path) -> dict:
    import data_prep.build as b
    from data_prep.__main__ import parse_build_config

    out = work / f"out-{procs}"
    shutil.rmtree(out, ignore_errors=True)
    cfg, _ = parse_build_config(
        ["--root", str(root), "--out", str(out), "--num_proc", str(procs),
         "--features.clap.name_or_path", str(REPO / "configs/clap/htsat-unfused"), "--features.clap.random_init", "true"]
    )
    stamps: list[float] = []
    original = b._account

    def _account(outcome, report):
        stamps.append(time.perf_counter())
        original(outcome, report)

    b._account = _account
    t0 = time.perf_counter()
    try:
        summary = b.build_shard(cfg)
    finally:
        b._account = original
    wall = time.perf_counter() - t0
    steady = stamps[procs - 1 :]
    rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else float("nan")
    return {"procs": procs, "clips": summary.ok, "wall_s": round(wall, 1), "startup_s": round(stamps[procs - 1] - t0, 1), "clips_per_s": round(rate, 3)}


def whole_process(root: Path, procs: int, work: Path) -> dict:
    """``mv2desc data build`` as a user runs it: CPU seconds of the command and its workers per clip."""
    import resource
    import subprocess

    out = work / f"whole-{procs}"
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mv2desc.cli", "data", "build", "--root", str(root), "--out", str(out), "--num_proc", str(procs),
         "--features.clap.name_or_path", str(REPO / "configs/clap/htsat-unfused"), "--features.clap.random_init", "true"],
        env={**os.environ, "PYTHONPATH": str(REPO), "TQDM_DISABLE": "1"}, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"data build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    clips = len(list((root / "audios").glob("*.mp3")))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"procs": procs, "clips": clips, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "cpu_s_per_clip": round(cpu / clips, 2),
            "wall_s_per_clip": round(wall / clips, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio-dir", type=Path, default=Path("/usr/share/games/wesnoth/1.16/data/core/music"))
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--work", type=Path, default=REPO / "bench_out" / "features")
    ap.add_argument("--procs", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--whole", action="store_true", help="only the whole-process figure: mv2desc data build --num_proc 2")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = args.work / "music4all"
    if not (root / "id_information.csv").is_file():
        make_clips(args.audio_dir, args.n, root)
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores", "clips": args.n}
    if args.whole:
        result["whole_process"] = whole_process(root, 2, args.work)
        print(json.dumps(result, indent=2))
        return
    result["cpu_s_per_clip"] = per_extractor(root)
    runs = [throughput(root, p, args.work) for p in args.procs]
    result["throughput"] = runs
    if len(runs) >= 2:
        result["speedup_2_vs_1"] = round(runs[1]["clips_per_s"] / runs[0]["clips_per_s"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
