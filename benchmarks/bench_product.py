"""Product speed benchmark: ``mv2desc describe`` and ``mv2desc mv generate`` on a real song, as
ratios to the song's length, and the iteration loop of a creator (rerun unchanged, rerun with one
segment's description edited).

Song: a track of the Debian package ``wesnoth-1.16-music`` (``--song northerners``, 207 s; any audio
path works too); ``--quick`` takes its first 40 s. Every measured command runs as a fresh process
(``python -m mv2desc.cli ...``: start-up and imports included, as a user sees it); wall seconds and
CPU seconds (user + sys of the process and all its children, from ``getrusage(RUSAGE_CHILDREN)``) are
recorded. ``mv generate``'s stage shares come from its ``report.json`` (``timing_s``, ``cpu_s``).

Cases:

* ``describe``: ``mv2desc describe SONG --cache_dir DIR`` with the demo captioner
  (``assets/demo-captioner``) and without one (metadata-style describer), each with a fresh cache
  (cold), then once more with the cache warm;
* ``generate``: ``mv2desc mv generate SONG --out DIR`` (procedural renderer, the preset's frame size
  unless ``--size WxH``): the first run, a rerun with nothing changed, a rerun after one segment's
  description was edited in ``DIR/segments.json`` (the middle segment); each rerun also as a share of
  the first run.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_product.py --quick
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_product.py --song northerners --json bench.json

On a shared machine, the CPU seconds are the steadier figure; wall seconds grow with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC_DIRS = sorted(Path("/usr/share/games/wesnoth").glob("*/data/core/music"))
DEMO_CAPTIONER = REPO / "assets" / "demo-captioner"
QUICK_S = 40.0


def find_song(name: str) -> Path:
    """A path, or a wesnoth track by name."""
    p = Path(name)
    if p.is_file():
        return p
    for d in MUSIC_DIRS:
        if (d / f"{name}.ogg").is_file():
            return d / f"{name}.ogg"
    raise SystemExit(f"no song {name!r} (not a file, not in {[str(d) for d in MUSIC_DIRS] or 'wesnoth-music: not installed'})")


def excerpt(src: Path, seconds: float, out_dir: Path) -> Path:
    """The first ``seconds`` of ``src`` as a WAV (stereo, its own rate)."""
    import soundfile as sf

    from mv2desc.media.audio import load_audio

    y, sr = load_audio(src, channels=None, max_duration_s=seconds)
    path = out_dir / f"{src.stem}_{seconds:g}s.wav"
    sf.write(path, y.T, sr)
    return path


def duration_s(path: Path) -> float:
    import soundfile as sf

    return float(sf.info(str(path)).duration)


def run(args: list[str], env: dict[str, str]) -> dict:
    """One command in a fresh process: wall and CPU seconds (user + sys, the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mv2desc.cli", *args], env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stdout": proc.stdout, "stderr": proc.stderr}


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MV2DESC_CACHE": str(cache), "TQDM_DISABLE": "1"}


def bench_describe(song: Path, length: float, work: Path, captioner: Path | None) -> dict:
    """Cold (empty cache) and warm runs of ``mv2desc describe``."""
    cache = work / f"cache-describe-{'captioner' if captioner else 'metadata'}"
    args = ["describe", str(song), "--cache_dir", str(cache / "analysis"), *(["--captioner", str(captioner)] if captioner else [])]
    out = {}
    for name in ("cold", "warm"):
        r = run(args, _env(cache))
        out[name] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "ratio_wall": round(r["wall_s"] / length, 4),
                     "ratio_cpu": round(r["cpu_s"] / length, 4), "from_cache": "from the cache" in r["stderr"]}
    return out


def _stages(report: dict) -> dict:
    wall = report.get("timing_s", {})
    cpu = report.get("cpu_s", {})
    total = wall.get("total") or sum(v for k, v in wall.items() if k != "total") or 1.0
    return {k: {"wall_s": v, "share": round(v / total, 3), **({"cpu_s": cpu[k]} if k in cpu else {})}
            for k, v in wall.items() if k != "total"}


def edit_one_segment(out: Path) -> int:
    """Edit the middle segment's description in ``out/segments.json``; returns its index."""
    path = out / "segments.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    k = len(data["segments"]) // 2
    data["segments"][k]["description"] = "A lone lighthouse on a cliff at dusk, waves crashing, slow camera push-in."
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return k


def bench_generate(song: Path, length: float, work: Path, size: str | None) -> dict:
    out = work / "mv"
    args = ["mv", "generate", str(song), "--out", str(out), "-q"]
    if size:
        w, h = size.lower().split("x")
        args += ["--video.width", w, "--video.height", h]
    env = _env(work / "cache-generate")
    runs = {}
    for name in ("first", "rerun_unchanged", "rerun_one_edit"):
        edited = edit_one_segment(out) if name == "rerun_one_edit" else None
        r = run(args, env)
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        runs[name] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "ratio_wall": round(r["wall_s"] / length, 4),
                      "ratio_cpu": round(r["cpu_s"] / length, 4), "stages": _stages(report),
                      "from_cache": report.get("from_cache"), "clips_rendered": report["render"]["rendered"],
                      "size": [report["config"]["video"]["width"], report["config"]["video"]["height"]],
                      "segments": len(report["segments"]), **({"edited_segment": edited} if edited is not None else {})}
        if name != "first":
            runs[name]["of_first_wall"] = round(r["wall_s"] / runs["first"]["wall_s"], 3)
            runs[name]["of_first_cpu"] = round(r["cpu_s"] / runs["first"]["cpu_s"], 3)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--song", default="northerners", help="a wesnoth track name or an audio file")
    ap.add_argument("--quick", action="store_true", help=f"the song's first {QUICK_S:g} s only")
    ap.add_argument("--size", default=None, help="WxH of mv generate (default: the procedural preset's)")
    ap.add_argument("--cases", default="describe,generate", help="comma-separated: describe, generate")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one, removed)")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args(argv)

    src = find_song(a.song)
    with tempfile.TemporaryDirectory(prefix="bench_product-") as tmp:
        work = Path(a.work) if a.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        song = excerpt(src, QUICK_S, work) if a.quick else src
        length = duration_s(song)
        result: dict = {"song": src.stem, "song_s": round(length, 2), "quick": a.quick, "cpus": os.cpu_count(),
                        "load_avg_1min": round(os.getloadavg()[0], 2)}
        cases = a.cases.split(",")
        if "describe" in cases:
            result["describe"] = {"captioner": bench_describe(song, length, work, DEMO_CAPTIONER),
                                  "metadata": bench_describe(song, length, work, None)}
        if "generate" in cases:
            result["generate"] = bench_generate(song, length, work, a.size)
        result["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(result, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
