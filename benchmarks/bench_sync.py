"""Beat-synchronisation benchmark: sync quality on real songs, and the speed of a full MV assembly.

Songs: the Debian package ``wesnoth-1.16-music`` (orchestral / rock game soundtrack, OGG), which the
script reads from ``/usr/share/games/wesnoth/1.16/data/core/music`` (``--music-dir`` for another
folder of songs). Clips: procedural motion clips (:mod:`mv2desc.sync.synth_video`) whose objects
stop abruptly at irregular, seeded times, rendered and H.264-encoded like SVD output (3 s, 8 fps,
1024x576 by default), so their visual beats are real detections from encoded video.

Quality (``--quality``): for each song, ``--clips`` clips are laid over its first ``--song-s``
seconds. Reported per matcher (clips end to end unsynchronised = "before", the greedy nearest-beat
matcher, a uniform stretch per clip, the DP matcher): BAS over visual beats (AIST++/FACT), BAS over
music beats (Bailando), BCS, BHS (σ = 0.05 s, 1 s bins), the range of stretch ratios; for DP also
the BAS *measured* on the rendered MP4 at each ``--measure-fps`` frame rate (visual beats
re-detected from the file, clip boundaries being hard cuts; a beat can only show on the output's
frame grid, so at 8 fps it lands up to 62.5 ms off, at 24 fps up to 21 ms).

Speed (``--speed``): ``mv2desc mv sync`` end to end (``sync_videos``: optical flow of every clip,
beat tracking, matching, rendering and muxing) with 40 clips of 3 s onto a 3-minute song, repeated
``--runs`` times; prints the wall time and where it went.

    .venv/bin/python benchmarks/bench_sync.py --quality --speed
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


def quality(args) -> dict:
    from mv2desc.beats.tracking import track_file
    from mv2desc.media.audio import load_audio
    from mv2desc.sync.config import MusicBeatConfig, SyncConfig
    from mv2desc.sync.engine import analyse_clips, build_report, plan_sync, visual_before
    from mv2desc.sync.metrics import sync_scores
    from mv2desc.sync.render import ClipPlacement, render
    from mv2desc.sync.visual_beats import visual_beats_of_file

    cache = Path(args.cache)
    cfg = SyncConfig(music=MusicBeatConfig(networks=args.networks))
    measure_fps = [float(f) for f in args.measure_fps.split(",") if f.strip()]
    rows = []
    for s_idx, name in enumerate(SONGS[: args.songs]):
        song = song_excerpt(Path(args.music_dir) / f"{name}.ogg", args.song_s, cache / "songs")
        clips = make_clips(cache / "clips", args.clips, fps=args.fps, width=args.width, height=args.height, seed=100 * s_idx)
        analyses, _ = analyse_clips(clips, cfg.visual, workers=2)
        music = track_file(song, cfg.music)
        y, sr = load_audio(song, channels=2)
        duration = y.shape[1] / sr
        durations = [a.info.duration_s for a in analyses]
        beats = [a.beats for a in analyses]
        before, before_layout = visual_before(beats, durations, duration)
        row = {"song": name, "tempo": round(music.tempo_bpm, 1), "n_visual": int(sum(len(b.times_s) for b in beats))}
        sb = sync_scores(before, music.beats_s, before_layout.duration_s)
        row["before"] = {k: sb[k] for k in ("bas_visual", "bas_music", "bcs", "bhs")}
        for method in ("greedy", "uniform", "dp"):
            plan = plan_sync(beats, durations, music, duration, cfg.match, cfg.metrics, method=method)
            ratios = np.concatenate([m.warp.ratios() for m in plan.matchings])
            row[method] = {k: plan.scores[k] for k in ("bas_visual", "bas_music", "bcs", "bhs")}
            row[method]["ratio_min"], row[method]["ratio_max"] = float(ratios.min()), float(ratios.max())
            row[method]["matched"] = int(sum(len(m.pairs) for m in plan.matchings))
            if method == "dp":
                placements = [ClipPlacement(a.info, m.warp, s.out_start, s.out_end)
                              for a, m, s in zip(analyses, plan.matchings, plan.layout.segments)]
                for out_fps in measure_fps:
                    out = cache / "out" / f"{name}_dp_{out_fps:g}fps.mp4"
                    render(placements, out, duration_s=plan.layout.duration_s, fps=out_fps, width=args.width,
                           height=args.height, audio=y[:, : int(plan.layout.duration_s * sr)], sample_rate=sr)
                    measured = visual_beats_of_file(out, cfg.visual)
                    sm = sync_scores(measured.times_s, music.beats_s, plan.layout.duration_s)
                    key = f"dp_measured_{out_fps:g}fps"
                    row[key] = {k: sm[k] for k in ("bas_visual", "bas_music", "bcs", "bhs")}
                    row[key]["n_visual"] = int(measured.times_s.size)
                    row[key]["cuts"] = int(measured.cuts_s.size)
                build_report(analyses, music, duration, plan, cfg)  # the report builds on real data
        rows.append(row)
        measured_txt = " ".join(f"{f:g}fps {row[f'dp_measured_{f:g}fps']['bas_visual']:.3f}" for f in measure_fps)
        print(f"{name:<24} {row['tempo']:6.1f} bpm  BAS-visual before {row['before']['bas_visual']:.3f} "
              f"greedy {row['greedy']['bas_visual']:.3f} uniform {row['uniform']['bas_visual']:.3f} "
              f"dp {row['dp']['bas_visual']:.3f} (measured on the MP4: {measured_txt})  "
              f"BAS-music dp {row['dp']['bas_music']:.3f}  ratios {row['dp']['ratio_min']:.2f}-{row['dp']['ratio_max']:.2f}",
              flush=True)
    summary = {"songs": len(rows), "clips_per_song": args.clips, "song_s": args.song_s, "fps": args.fps, "sigma_s": 0.05}
    for method in ("before", "greedy", "uniform", "dp", *(f"dp_measured_{f:g}fps" for f in measure_fps)):
        summary[method] = {k: round(float(np.mean([r[method][k] for r in rows if r[method][k] is not None])), 4)
                           for k in ("bas_visual", "bas_music", "bcs", "bhs")}
    summary["dp"]["ratio_min"] = round(min(r["dp"]["ratio_min"] for r in rows), 3)
    summary["dp"]["ratio_max"] = round(max(r["dp"]["ratio_max"] for r in rows), 3)
    summary["dp"]["matched_share"] = round(sum(r["dp"]["matched"] for r in rows) / max(1, sum(r["n_visual"] for r in rows)), 3)
    return {"summary": summary, "songs": rows}


def speed(args) -> dict:
    from mv2desc.sync.config import MusicBeatConfig, RenderConfig, SyncConfig
    from mv2desc.sync.engine import sync_videos

    cache = Path(args.cache)
    song = song_excerpt(Path(args.music_dir) / f"{args.speed_song}.ogg", 180.0, cache / "songs")
    clips = make_clips(cache / "clips", 40, fps=args.fps, width=args.width, height=args.height, seed=5000)
    cfg = SyncConfig(music=MusicBeatConfig(networks=args.networks), render=RenderConfig(fps=args.out_fps))
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
    parser.add_argument("--measure-fps", default="8,24", help="--quality: render the DP result at these frame rates and re-measure")
    parser.add_argument("--out-fps", type=float, default=0.0, help="output frame rate (0 = the engine's default)")
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
