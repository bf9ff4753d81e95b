"""Beat-synchronisation benchmark: sync quality on real songs, and the speed of a full MV assembly.

Songs: the Debian package ``wesnoth-1.16-music`` (orchestral / rock game soundtrack, OGG), which the
script reads from ``/usr/share/games/wesnoth/1.16/data/core/music`` (``--music-dir`` for another
folder of songs). Clips: procedural motion clips (:mod:`mv2desc.sync.synth_video`) whose objects
stop abruptly at irregular, seeded times, rendered and H.264-encoded like SVD output (3 s, 8 fps,
1024x576 by default), so their visual beats are real detections from encoded video.

Quality (``--quality``): for each song, ``--clips`` clips are synced onto its first ``--song-s``
seconds by the product path (``sync_videos``, default settings: 24 fps, flow-interpolated frames),
and scored **on the MP4 it wrote** (visual beats re-detected from the file). Reported per case: BAS
over visual beats (AIST++/FACT), BAS over music beats (Bailando), BCS, BHS (σ = 0.05 s, 1 s bins) of
plain concatenation ("before"), of the output ("measured"), of the plan ("planned") and of the
planned greedy / uniform baselines; the output's length against the song's. ``--long-cases`` adds
whole songs with far too little material (12 clips onto a 3-minute song, 3 clips onto another).

Speed (``--speed``): ``mv2desc mv sync`` end to end (``sync_videos``: optical flow of every clip,
beat tracking, matching, rendering and muxing) with 40 clips of 3 s onto a 3-minute song, repeated
``--runs`` times; prints the wall time and where it went.

    .venv/bin/python benchmarks/bench_sync.py --quality --long-cases --speed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/music")
# rhythmic pieces of the soundtrack (the others are ambient, with few beats to sync to)
SONGS = ("knalgan_theme", "northerners", "loyalists", "battle", "heroes_rite", "casualties_of_war",
         "weight_of_revenge", "the_dangerous_symphony")


def make_clips(out_dir: Path, n: int, *, fps: float, width: int, height: int, seed: int) -> list[Path]:
    """``n`` 3 s motion clips with irregular stops (cached by name)."""
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        path = out_dir / f"clip_{width}x{height}_{fps:g}fps_{seed + k}.mp4"
        if not path.exists():
            frames, _ = render_clip(MotionClipSpec(duration_s=3.0, fps=fps, width=width, height=height, seed=seed + k))
            write_video(path, frames, fps, crf=20, preset="veryfast")
        paths.append(path)
    return paths


def song_excerpt(src: Path, seconds: float, out_dir: Path) -> Path:
    """The first ``seconds`` of ``src`` as a WAV (stereo, native rate), cached."""
    from mv2desc.media.audio import load_audio, write_audio

    out = out_dir / f"{src.stem}_{seconds:g}s.wav"
    if not out.exists():
        y, sr = load_audio(src, channels=2, max_duration_s=seconds)
        write_audio(out, y, sr)
    return out


METRICS = ("bas_visual", "bas_music", "bcs", "bhs")


def quality(args) -> dict:
    """Each case through the product path (``sync_videos``, default settings unless flags say
    otherwise), scored on the MP4 it wrote; plus the plan's figures and the planned baselines."""
    from mv2desc.sync.config import MusicBeatConfig, RenderConfig, SyncConfig
    from mv2desc.sync.engine import sync_videos

    cache = Path(args.cache)
    render_cfg = RenderConfig(fps=args.out_fps, resample=args.resample) if args.out_fps or args.resample else RenderConfig()
    cfg = SyncConfig(music=MusicBeatConfig(networks=args.networks), render=render_cfg)
    cases = [(name, args.song_s, args.clips) for name in SONGS[: args.songs]]
    if args.long_cases:  # the cases: material far shorter than the song
        cases += [("northerners", 0.0, 12), ("knalgan_theme", 0.0, 3)]
    rows = []
    for s_idx, (name, seconds, n_clips) in enumerate(cases):
        src = Path(args.music_dir) / f"{name}.ogg"
        song = song_excerpt(src, seconds, cache / "songs") if seconds else src
        clips = make_clips(cache / "clips", n_clips, fps=args.fps, width=args.width, height=args.height, seed=100 * s_idx)
        t0 = time.perf_counter()
        report = sync_videos(clips, song, cache / "out" / f"{name}_{seconds:g}s_{n_clips}clips.mp4", cfg, workers=2)
        wall = time.perf_counter() - t0
        m, planned = report["metrics"], report["metrics_planned"]
        row = {
            "song": name, "song_s": report["song_duration_s"], "clips": n_clips, "tempo": report["music"]["tempo"],
            "output_s": report["output"]["duration_s"], "shown_clips": len(report["clips"]), "wall_s": round(wall, 1),
            "before": {k: m[f"{k}_before"] for k in METRICS},
            "measured": {k: m[f"{k}_after"] for k in METRICS},
            "planned": {k: planned[f"{k}_after"] for k in METRICS},
            **{name_: {k: v[f"{k}_after"] for k in METRICS} for name_, v in report.get("baselines", {}).items()},
            "ratio_min": report["stretch"]["min"], "ratio_max": report["stretch"]["max"],
            "matched": report["n_matched"], "warnings": report["warnings"],
        }
        rows.append(row)
        print(f"{name:<24} {row['song_s']:6.1f} s {n_clips:3d} clips ({row['shown_clips']} shown) {row['tempo']:6.1f} bpm  "
              f"BAS-visual concatenation {row['before']['bas_visual']:.3f}  measured on the MP4 {row['measured']['bas_visual']:.3f} "
              f"(planned {row['planned']['bas_visual']:.3f}, greedy {row['greedy']['bas_visual']:.3f}, uniform {row['uniform']['bas_visual']:.3f})  "
              f"BAS-music {row['measured']['bas_music']:.3f}  output {row['output_s']:.2f} s  {wall:.0f} s", flush=True)
    summary = {"cases": len(rows), "fps": args.fps, "out_fps": report["output"]["fps"], "resample": report["output"]["resample"], "sigma_s": report["conventions"]["sigma_s"]}
    for key in ("before", "measured", "planned", "greedy", "uniform"):
        summary[key] = {k: round(float(np.mean([r[key][k] for r in rows if r[key][k] is not None])), 4) for k in METRICS}
    summary["measured_beats_concatenation_in_every_case"] = all(r["measured"]["bas_visual"] > r["before"]["bas_visual"] for r in rows)
    summary["min_measured_bas_visual"] = min(r["measured"]["bas_visual"] for r in rows)
    return {"summary": summary, "cases": rows}


def speed(args) -> dict:
    from mv2desc.sync.config import MusicBeatConfig, RenderConfig, SyncConfig
    from mv2desc.sync.engine import sync_videos

    cache = Path(args.cache)
    song = song_excerpt(Path(args.music_dir) / f"{args.speed_song}.ogg", 180.0, cache / "songs")
    clips = make_clips(cache / "clips", 40, fps=args.fps, width=args.width, height=args.height, seed=5000)
    render_cfg = RenderConfig(fps=args.out_fps, resample=args.resample) if args.out_fps or args.resample else RenderConfig()
    cfg = SyncConfig(music=MusicBeatConfig(networks=args.networks), render=render_cfg)
    runs = []
    # the default (beat tracking overlapped with the clips' optical flow), then one run stage by stage
    for r, overlap in enumerate([True] * args.runs + [False]):
        t0 = time.perf_counter()
        report = sync_videos(clips, song, cache / "out" / "speed.mp4", cfg, workers=2, overlap=overlap)
        wall = time.perf_counter() - t0
        runs.append({"overlap": overlap, "wall_s": round(wall, 2), "timing_s": report["timing_s"],
                     "metrics": report["metrics"], "stretch": report["stretch"], "tracker": report["music"]["tracker"]})
        print(f"speed run {r + 1} ({'overlapped' if overlap else 'stage by stage'}): {wall:.1f} s  {report['timing_s']}", flush=True)
    best = min((x for x in runs if x["overlap"]), key=lambda x: x["wall_s"])
    return {"clips": 40, "clip_s": 3.0, "song_s": 180.0, "fps": args.fps, "out_fps": args.out_fps, "size": f"{args.width}x{args.height}",
            "cpus": os.cpu_count(), "best": best, "stage_by_stage": runs[-1], "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true", help="sync quality on --songs songs")
    parser.add_argument("--speed", action="store_true", help="40 clips of 3 s onto a 3-minute song, end to end")
    parser.add_argument("--music-dir", default=str(MUSIC_DIR), help="folder of the songs (OGG)")
    parser.add_argument("--songs", type=int, default=len(SONGS), help="how many songs for --quality")
    parser.add_argument("--clips", type=int, default=15, help="clips per song for --quality")
    parser.add_argument("--song-s", type=float, default=60.0, help="seconds of each song for --quality")
    parser.add_argument("--speed-song", default="northerners", help="song (file stem) for --speed")
    parser.add_argument("--runs", type=int, default=2, help="repetitions of --speed (the best is reported)")
    parser.add_argument("--fps", type=float, default=8.0, help="clip frame rate (SVD: 7-8)")
    parser.add_argument("--width", type=int, default=1024, help="clip width")
    parser.add_argument("--height", type=int, default=576, help="clip height")
    parser.add_argument("--long-cases", action="store_true", help="--quality: also 12 clips on a whole song, 3 clips on another")
    parser.add_argument("--out-fps", type=float, default=0.0, help="output frame rate (0 = the engine's default, 24)")
    parser.add_argument("--resample", default="", help="flow, nearest or blend (default: the engine's, flow)")
    parser.add_argument("--networks", type=int, default=8, help="madmom downbeat networks (1-8)")
    parser.add_argument("--cache", default=str(REPO / "runs" / "bench_sync"), help="clips, song excerpts, outputs")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if not (args.quality or args.speed):
        parser.error("choose --quality and/or --speed")
    if not Path(args.music_dir).is_dir():
        sys.exit(f"error: {args.music_dir} not found (apt-get install -y wesnoth-1.16-music, or --music-dir DIR)")
    from mv2desc.app import setup

    setup()
    results = {}
    if args.quality:
        results["quality"] = quality(args)
        print(json.dumps(results["quality"]["summary"], indent=2))
    if args.speed:
        results["speed"] = speed(args)
        print(json.dumps({k: v for k, v in results["speed"].items() if k != "runs"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
