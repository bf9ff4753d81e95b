"""Where do the clips' motion stops land? Sync onto real songs, checked against stops known exactly.

Issue 22's scenario as a new user meets it: procedural clips at 8 fps (like SVD output) in which a
square moves and stops dead at irregular times ``--gap`` apart (0.45-1.1 s; the ``halt`` kind of
:mod:`mv2desc.sync.synth_video`, grain and H.264 like the visual-beat benchmark), synced with the
default settings (``sync_videos``: 24 fps, flow-interpolated frames) onto the first ``--song-s``
seconds (45) of two songs of the Debian package ``wesnoth-1.16-music``.

Every true stop of every shown clip is carried to the MP4 through the report's warp anchors
(``clips[k].warp_anchors``): a stop at source time ``e`` arrives on the first output frame whose
source time reaches ``e``. A stop counts as shown when the motion before it and its first frame at
rest are both inside the clip's shown material. Then, per song and planner:

* ``true``: stops shown in the MP4; ``det``: visual beats the detector finds on the MP4 (what
  ``mv score`` measures); precision / recall of those against the true stops (within one output frame);
* ``BAS det``: visual-beat BAS (AIST++/FACT, σ = 0.05 s; :mod:`mv2desc.sync.metrics`) of the detected
  beats, ``BAS true``: the same figure from the true stops' positions (the cross-check);
* ``span``: ``BAS true`` over the true stops between the song's first and last beat (± half a beat):
  a stop in an intro where the tracker finds no beat cannot be on one, whatever the planner does;
* ``concat``: plain concatenation (clips end to end at their own speed), BAS of the true stops;
* ``fates``: what the planner did with each detected stop (report ``clips[k].stops``).

Planners: ``before`` is ``MatchConfig(trim_stops=False, end_on_last_frame=False)``, the planner as it
was at commit dca58e4 (matching only: an unmatched stop lands wherever the warp puts it, and each clip
ends one frame period after its last frame, held); ``after`` the default (stops the matcher cannot
place on a beat are trimmed out of the material at a clip's ends, and clips end on their last frame).

    .venv/bin/python benchmarks/bench_sync_stops.py            # 2 songs x 45 s, 512x288 clips
    .venv/bin/python benchmarks/bench_sync_stops.py --quick    # 2 songs x 20 s, 7 clips
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/music")
SONGS = ("traveling_minstrels", "northerners")  # clear, steady beats


def make_clips(cache: Path, n: int, args) -> list[tuple[Path, np.ndarray]]:
    """``n`` halt clips with their true stop times (cached by their settings)."""
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        seed = args.seed + k
        name = f"halt_{args.fps:g}fps_s{seed}_{args.width}x{args.height}_{args.clip_s:g}s_g{args.gap[0]:g}-{args.gap[1]:g}"
        path, truth = cache / f"{name}.mp4", cache / f"{name}.json"
        if not (path.exists() and truth.exists()):
            spec = MotionClipSpec(duration_s=args.clip_s, fps=args.fps, width=args.width, height=args.height, n_objects=1,
                                  motion="halt", gap_s=tuple(args.gap), noise=3.0, seed=seed)
            frames, events = render_clip(spec)
            write_video(path, frames, args.fps, crf=23, preset="veryfast")
            truth.write_text(json.dumps([float(e) for e in events]))
        out.append((path, np.asarray(json.loads(truth.read_text()), dtype=np.float64)))
    return out


def song_excerpt(src: Path, seconds: float, out_dir: Path) -> Path:
    """The first ``seconds`` of ``src`` as a WAV (stereo, native rate), cached."""
    from mv2desc.media.audio import load_audio, write_audio

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{src.stem}_{seconds:g}s.wav"
    if not out.exists():
        y, sr = load_audio(src, channels=2, max_duration_s=seconds)
        write_audio(out, y, sr)
    return out


def shown_stops(report: dict, truth: dict[str, np.ndarray]) -> np.ndarray:
    """Output times of the true stops shown in the MP4, from the report's warp anchors.

    A stop at source time ``e`` arrives on the first output frame whose source time reaches ``e``
    (frame ``k`` is shown from ``k / fps``); it is shown when the frame before it in the source is
    in the clip's material and that output frame lies inside the clip's segment.
    """
    fps = float(report["output"]["fps"])
    out = []
    for clip in report["clips"]:
        events = truth[Path(clip["path"]).name]
        src, dst = np.asarray(clip["warp_anchors"]["src_s"]), np.asarray(clip["warp_anchors"]["out_s"])
        seg = clip["segment"]
        for e in events:
            if e - 1.0 / clip["fps"] < src[0] - 1e-3 or e > src[-1]:
                continue
            frame = math.ceil(float(np.interp(e, src, dst)) * fps - 1e-2)
            if seg["out_start_s"] - 1e-3 <= frame / fps < seg["out_end_s"] - 1e-3:
                out.append(frame / fps)
    return np.asarray(sorted(out))


def concatenation_stops(clips: list[tuple[Path, np.ndarray]], durations: list[float], song_s: float) -> np.ndarray:
    """True stop times of the clips end to end at their own speed (cut at the song's end)."""
    out, start = [], 0.0
    for (_, events), d in zip(clips, durations):
        out.extend(start + events[start + events < song_s])
        start += d
    return np.asarray(out)


def run_case(song: Path, clips: list[tuple[Path, np.ndarray]], planner: str, out_dir: Path) -> dict:
    from mv2desc.media.video import probe_video
    from mv2desc.sync.config import SyncConfig
    from mv2desc.sync.engine import sync_videos
    from mv2desc.sync.metrics import bas_visual
    from mv2desc.sync.synth_video import match_events

    cfg = SyncConfig()
    after = planner == "after"
    cfg = replace(cfg, match=replace(cfg.match, trim_stops=after, end_on_last_frame=after))
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rel = os.path.relpath  # the reports written below name files relative to where the benchmark runs
    report = sync_videos([rel(p) for p, _ in clips], rel(song), rel(out_dir / f"{song.stem}_{planner}.mp4"), cfg, workers=2)
    wall = time.perf_counter() - t0
    from mv2desc.atomic import atomic_write_json

    atomic_write_json(out_dir / f"{song.stem}_{planner}.json", report)  # the sync report, as `mv sync` returns it
    fps = float(report["output"]["fps"])
    music = np.asarray(report["music"]["beats"])
    true_out = shown_stops(report, {p.name: e for p, e in clips})
    detected = np.asarray(report["visual_beats_after_s"])
    hits, false_alarms, misses = match_events(detected, true_out, 1.0 / fps)
    shown = [clips[[p.name for p, _ in clips].index(Path(c["path"]).name)] for c in report["clips"]]
    concat = concatenation_stops(shown, [probe_video(p).duration_s for p, _ in shown], report["song_duration_s"])
    fates = Counter(s["fate"] for c in report["clips"] for s in c.get("stops", []))
    period = float(np.median(np.diff(music))) if music.size >= 2 else 0.0
    in_span = true_out[(true_out >= music[0] - period / 2) & (true_out <= music[-1] + period / 2)] if music.size else true_out
    return {
        "song": song.stem, "planner": planner, "tempo": report["music"]["tempo"], "wall_s": round(wall, 1),
        "true": int(true_out.size), "detected": int(detected.size), "hits": hits, "false_alarms": false_alarms, "misses": misses,
        "precision": round(hits / max(1, detected.size), 3), "recall": round(hits / max(1, true_out.size), 3),
        "bas_detected": report["metrics"]["bas_visual_after"], "bas_true": round(bas_visual(true_out, music) or 0.0, 4),
        "bas_planned": report["metrics_planned"]["bas_visual_after"],
        "first_beat_s": float(music[0]) if music.size else None, "true_in_beat_span": int(in_span.size),
        "bas_true_in_beat_span": round(bas_visual(in_span, music) or 0.0, 4),
        "bas_concat_true": round(bas_visual(concat, music) or 0.0, 4), "bas_concat_detected": report["metrics"]["bas_visual_before"],
        "fates": dict(fates), "stretch": [report["stretch"]["min"], report["stretch"]["max"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 s of each song, 7 clips")
    parser.add_argument("--music-dir", default=str(MUSIC_DIR), help="folder of the songs (OGG)")
    parser.add_argument("--songs", default=",".join(SONGS), help="comma-separated file stems")
    parser.add_argument("--song-s", type=float, default=45.0, help="seconds of each song")
    parser.add_argument("--clips", type=int, default=15, help="clips per song")
    parser.add_argument("--clip-s", type=float, default=3.0, help="clip length (seconds)")
    parser.add_argument("--fps", type=float, default=8.0, help="clip frame rate (SVD: 7-8)")
    parser.add_argument("--width", type=int, default=512, help="clip width")
    parser.add_argument("--height", type=int, default=288, help="clip height")
    parser.add_argument("--gap", type=float, nargs=2, default=(0.45, 1.1), help="min and max seconds between stops")
    parser.add_argument("--seed", type=int, default=0, help="first clip's seed (song k uses seed + 100 k)")
    parser.add_argument("--planners", default="before,after", help="comma-separated: before, after")
    parser.add_argument("--cache", default=str(REPO / "runs" / "bench_sync_stops"), help="clips, song excerpts, outputs")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.song_s, args.clips = 20.0, 7
    if not Path(args.music_dir).is_dir():
        sys.exit(f"error: {args.music_dir} not found (apt-get install -y wesnoth-1.16-music, or --music-dir DIR)")
    from mv2desc.app import setup

    setup()
    cache = Path(args.cache)
    rows = []
    print(f"{'song':<20} {'planner':<7} {'true':>4} {'det':>4} {'P':>5} {'R':>5} {'BAS det':>7} {'BAS true':>8} {'span':>5} {'planned':>7} "
          f"{'concat':>6}  fates", flush=True)
    for s_idx, name in enumerate(args.songs.split(",")):
        song = song_excerpt(Path(args.music_dir) / f"{name}.ogg", args.song_s, cache / "songs")
        clip_args = argparse.Namespace(**{**vars(args), "seed": args.seed + 100 * s_idx})
        clips = make_clips(cache / "clips", args.clips, clip_args)
        for planner in args.planners.split(","):
            row = run_case(song, clips, planner, cache / "out")
            rows.append(row)
            print(f"{name:<20} {planner:<7} {row['true']:>4} {row['detected']:>4} {row['precision']:>5.2f} {row['recall']:>5.2f} "
                  f"{row['bas_detected']:>7.3f} {row['bas_true']:>8.3f} {row['bas_true_in_beat_span']:>5.3f} {row['bas_planned']:>7.3f} {row['bas_concat_true']:>6.3f}  "
                  f"{row['fates']}  ({row['wall_s']:.0f} s)", flush=True)
    for planner in args.planners.split(","):
        mine = [r for r in rows if r["planner"] == planner]
        print(f"{'mean':<20} {planner:<7} {sum(r['true'] for r in mine):>4} {sum(r['detected'] for r in mine):>4} "
              f"{np.mean([r['precision'] for r in mine]):>5.2f} {np.mean([r['recall'] for r in mine]):>5.2f} "
              f"{np.mean([r['bas_detected'] for r in mine]):>7.3f} {np.mean([r['bas_true'] for r in mine]):>8.3f} "
              f"{np.mean([r['bas_true_in_beat_span'] for r in mine]):>5.3f} "
              f"{np.mean([r['bas_planned'] for r in mine]):>7.3f} {np.mean([r['bas_concat_true'] for r in mine]):>6.3f}")
    if args.json:
        from mv2desc.atomic import atomic_write_json

        atomic_write_json(Path(args.json), {"settings": {k: v for k, v in vars(args).items() if k not in ("cache", "json", "music_dir")},
                                            "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
