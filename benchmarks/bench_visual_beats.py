"""Visual-beat detector benchmark: precision and recall on encoded clips whose events are known exactly.

Clips: :mod:`mv2desc.sync.synth_video`'s benchmark kinds, events at irregular times ``--gap`` apart
(0.45-1.1 s by default, like the clips of issue 22):

* ``halt``: a square (flat or textured) that stops dead, rests a frame or more, sets off elsewhere;
* ``bounce``: a ball reversing against a wall, between two walls (left and right, or floor and
  ceiling) at a speed that changes per leg;
* ``pan``: the whole picture translating (camera pan) and halting;
* ``cut``: panning shots with a steadily moving object, joined by hard cuts;

and two kinds without events, whose every beat or cut is a false alarm: ``still`` (nothing moves:
grain and compression noise only) and ``drift`` (a slow steady pan).

Each clip gets Gaussian grain (``--noise``), is encoded through the project's writer
(:func:`mv2desc.media.video.write_video`, H.264 at ``--crf``, x264 ``veryfast``) and detected on the
decoded file exactly as :func:`mv2desc.sync.visual_beats.visual_beats_of_file` does. A detection
is a hit when it lies within one frame of a true event not yet matched (closest pairs first): stops,
reversals and halts must be in ``times_s``, cuts in ``cuts_s``; every other beat or cut is a false
alarm. Reported per kind and frame rate, then per kind, per frame rate and overall: precision,
recall, the share of hits on the exact frame, and the detector's CPU milliseconds per frame (flow +
peak picking; decoding at ``flow_height`` apart). The clips are cached under ``--cache``; the first
run renders and encodes them (about 3 minutes on 2 cores with the defaults).

    .venv/bin/python benchmarks/bench_visual_beats.py [--fps 8,12,16,24] [--clips 4] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KINDS = ("halt", "bounce", "pan", "cut")
NEGATIVES = ("still", "drift")  # clips without events: every beat or cut reported is a false alarm


def make_clip(cache: Path, kind: str, fps: float, seed: int, args) -> tuple[Path, np.ndarray]:
    """Render, add grain and encode one clip (cached with its events by its settings)."""
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    name = f"{kind}_{fps:g}fps_s{seed}_{args.width}x{args.height}_{args.duration:g}s_n{args.noise:g}_crf{args.crf}"
    path, truth = cache / f"{name}.mp4", cache / f"{name}.json"
    if not (path.exists() and truth.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        spec = MotionClipSpec(duration_s=args.duration, fps=fps, width=args.width, height=args.height, n_objects=args.objects,
                              motion=kind, gap_s=tuple(args.gap), noise=args.noise, seed=seed)
        frames, events = render_clip(spec)
        write_video(path, frames, fps, crf=args.crf, preset="veryfast")
        truth.write_text(json.dumps([float(e) for e in events]))
    return path, np.asarray(json.loads(truth.read_text()), dtype=np.float64)


def default_detector() -> Callable:
    from mv2desc.sync.config import VisualBeatConfig
    from mv2desc.sync.visual_beats import detect_visual_beats

    cfg = VisualBeatConfig()

    def detect(frames: np.ndarray, fps: float):
        return detect_visual_beats(frames, fps, cfg)

    return detect


def evaluate(args, detect: Callable | None = None) -> dict:
    """Run the benchmark; ``detect(frames, fps)`` -> an object with ``times_s`` and ``cuts_s``."""
    from mv2desc.media.video import probe_video, read_frames
    from mv2desc.sync.config import VisualBeatConfig
    from mv2desc.sync.synth_video import match_events

    detect = detect or default_detector()
    height = VisualBeatConfig().flow_height
    rows = []
    for kind in [*args.kinds, *args.negatives]:
        for fps in args.fps:
            for c in range(args.clips):
                path, events = make_clip(Path(args.cache), kind, fps, args.seed + c, args)
                t0 = time.process_time()
                frames = read_frames(path, height=height)
                t1 = time.process_time()
                vb = detect(frames, probe_video(path).fps)
                t2 = time.process_time()
                tol = 1.0 / fps
                beats_truth, cuts_truth = (np.zeros(0), events) if kind == "cut" else (events, np.zeros(0))
                hb, fb, mb = match_events(vb.times_s, beats_truth, tol)
                hc, fc, mc = match_events(vb.cuts_s, cuts_truth, tol)
                found = vb.cuts_s if kind == "cut" else vb.times_s
                exact = sum(bool(np.any(np.abs(found - e) < 0.25 / fps)) for e in events)
                rows.append({"kind": kind, "fps": fps, "seed": args.seed + c, "n": int(events.size), "hits": hb + hc,
                             "false": fb + fc, "missed": mb + mc, "exact": int(exact), "frames": int(len(frames)),
                             "decode_s": t1 - t0, "detect_s": t2 - t1})
    return {"settings": {k: v for k, v in vars(args).items() if k != "json"}, "clips": rows}


def _pr(rows: list[dict]) -> dict:
    hits, false, missed = (sum(r[k] for r in rows) for k in ("hits", "false", "missed"))
    frames = sum(r["frames"] for r in rows)
    return {
        "events": hits + missed,
        "precision": hits / max(1, hits + false),
        "recall": hits / max(1, hits + missed),
        "exact": sum(r["exact"] for r in rows) / max(1, hits + missed),
        "false": false,
        "missed": missed,
        "detect_ms_per_frame": 1000 * sum(r["detect_s"] for r in rows) / max(1, frames),
        "decode_ms_per_frame": 1000 * sum(r["decode_s"] for r in rows) / max(1, frames),
    }


def summarise(result: dict) -> dict:
    rows = result["clips"]
    order = [*KINDS, *NEGATIVES]
    kinds = sorted({r["kind"] for r in rows}, key=order.index)
    fpss = sorted({r["fps"] for r in rows})
    table = {f"{k} @ {f:g} fps": _pr([r for r in rows if r["kind"] == k and r["fps"] == f]) for k in kinds for f in fpss}
    table.update({f"{k} (all fps)": _pr([r for r in rows if r["kind"] == k]) for k in kinds if k in KINDS})
    table.update({f"{k} (all fps)": _pr([r for r in rows if r["kind"] == k]) for k in kinds if k in NEGATIVES})
    table.update({f"all kinds @ {f:g} fps": _pr([r for r in rows if r["fps"] == f]) for f in fpss})
    table["overall"] = _pr(rows)
    return table


def print_table(table: dict) -> None:
    print(f"{'case':<22} {'events':>6} {'precision':>9} {'recall':>7} {'exact':>6} {'false':>5} {'missed':>6} {'ms/frame':>8}")
    for name, s in table.items():
        if s["events"] == 0:  # a kind without events: only its false alarms count
            print(f"{name:<22} {0:>6} {'-':>9} {'-':>7} {'-':>6} {s['false']:>5} {0:>6} {s['detect_ms_per_frame']:>8.2f}")
            continue
        print(f"{name:<22} {s['events']:>6} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['exact']:>6.2f} "
              f"{s['false']:>5} {s['missed']:>6} {s['detect_ms_per_frame']:>8.2f}")
    o = table["overall"]
    print(f"overall: precision {o['precision']:.3f}, recall {o['recall']:.3f}; detection {o['detect_ms_per_frame']:.2f} ms "
          f"per frame (+ {o['decode_ms_per_frame']:.2f} ms decoding at flow height)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", type=lambda s: [k for k in s.split(",") if k], default=list(KINDS), help="comma-separated: halt,bounce,pan,cut")
    p.add_argument("--negatives", type=lambda s: [k for k in s.split(",") if k], default=list(NEGATIVES),
                   help="comma-separated kinds without events (still,drift), '' for none")
    p.add_argument("--fps", type=lambda s: [float(x) for x in s.split(",")], default=[8.0, 12.0, 16.0, 24.0])
    p.add_argument("--clips", type=int, default=4, help="clips per kind and frame rate")
    p.add_argument("--duration", type=float, default=6.0, help="clip length (s)")
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--height", type=int, default=288)
    p.add_argument("--objects", type=int, default=1, help="squares in 'halt' clips (one moves at a time)")
    p.add_argument("--gap", type=float, nargs=2, default=[0.45, 1.1], help="min and max seconds between events")
    p.add_argument("--noise", type=float, default=3.0, help="grain, standard deviation in grey levels")
    p.add_argument("--crf", type=int, default=23, help="H.264 constant rate factor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=str(REPO / "runs" / "bench_visual_beats"), help="where the encoded clips go")
    p.add_argument("--json", help="write the per-clip rows and the table to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    unknown = (set(args.kinds) - set(KINDS)) | (set(args.negatives) - set(NEGATIVES))
    if unknown:
        raise SystemExit(f"unknown kinds {sorted(unknown)}; choose from {KINDS} and {NEGATIVES}")
    result = evaluate(args)
    table = summarise(result)
    print_table(table)
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
