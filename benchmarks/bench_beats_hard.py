"""Beat trackers on hard material with exact beats: no drums, rubato, tempo steps, half-time feel,
dense metal, slow songs (``benchmarks/beat_material.py``), plus a control of plain songs.

Run:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_beats_hard.py [--quick] [--seeds 0,1,2] [--json out.json]

Trackers: ``librosa`` (librosa alone), ``madmom`` (madmom's RNN + DBN alone: the tracker before the
phase check, ``phase_check=False``) and ``after`` (the product's tracker: madmom plus the harmonic
phase check, :mod:`mv2desc.beats.refine`). Scores (mir_eval, the first 5 s skipped as
``trim_beats`` does): F-measure with a ±70 ms window, CMLt and AMLt (continuity; AMLt also accepts
double, half and off-beat grids, so F low with AMLt high means an octave or phase error). The
reference is the notated beat (for ``half_time``: the 120-150 BPM grid, not the 60-75 BPM feel).
The hard mean is over the hard cases only; ``plain`` is the control. Rendered audio is cached under
``--work``; ``--quick`` takes one seed of 30 s per case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TRACKERS = ("librosa", "madmom", "after")


def scores(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    """F (±70 ms), CMLt and AMLt of ``est`` against ``ref`` (both trimmed of their first 5 s)."""
    import mir_eval

    r, e = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)
    _, _, cmlt, _, amlt = (lambda c: (0, 0, c[1], 0, c[3]))(mir_eval.beat.continuity(r, e))
    return {"f": float(mir_eval.beat.f_measure(r, e, 0.07)), "cmlt": float(cmlt), "amlt": float(amlt)}


def configs(threads: int):
    from mv2desc.beats import MusicBeatConfig

    return {"librosa": MusicBeatConfig(tracker="librosa"),
            "madmom": MusicBeatConfig(tracker="madmom", phase_check=False, threads=threads),
            "after": MusicBeatConfig(tracker="madmom", threads=threads)}


def summarise(rows: list[dict], trackers: tuple[str, ...], cases: list[str]) -> dict:
    """Mean F / CMLt / AMLt per case and tracker, and the mean over the hard cases' pieces."""
    from benchmarks.beat_material import CONTROL

    out: dict = {}
    for case in cases + ["hard"]:
        sel = [r for r in rows if (r["case"] == case if case != "hard" else r["case"] != CONTROL)]
        if sel:
            out[case] = {t: {k: round(float(np.mean([r[t][k] for r in sel])), 3) for k in ("f", "cmlt", "amlt")} for t in trackers}
            out[case]["pieces"] = len(sel)
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.beat_material import CASES, CONTROL, make_piece, render_piece
    from mv2desc.beats import track_beats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed of 30 s per case")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds per case")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds per piece")
    parser.add_argument("--cases", default=",".join(CASES + (CONTROL,)), help="comma-separated cases")
    parser.add_argument("--threads", type=int, default=2, help="madmom worker processes")
    parser.add_argument("--work", default=str(REPO / "runs" / "beat_material"), help="rendered-audio cache")
    parser.add_argument("--json", help="write per-piece results and the summary here")
    args = parser.parse_args(argv)
    seeds = (0,) if args.quick else tuple(int(s) for s in args.seeds.split(","))
    duration = 30.0 if args.quick else args.duration
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    cfgs = configs(args.threads)
    warm = np.zeros(44100 * 4, dtype=np.float32)
    warm[::22050] = 1.0
    for cfg in cfgs.values():  # model loading and numba JIT are not what we measure
        track_beats(warm, 44100, cfg)
    rows, seconds, minutes = [], dict.fromkeys(TRACKERS, 0.0), 0.0
    for case in cases:
        for seed in seeds:
            y, truth = render_piece(make_piece(case, seed, duration), args.work)
            ref = np.asarray(truth["beats_s"])
            minutes += y.size / 44100 / 60
            row = {"case": case, "seed": seed, "genre": truth["genre"], "bpm": round(float(60 / np.median(np.diff(ref))), 1)}
            for t, cfg in cfgs.items():
                t0 = time.perf_counter()
                mb = track_beats(y, 44100, cfg)
                seconds[t] += time.perf_counter() - t0
                row[t] = {**scores(ref, mb.beats_s), "bpm": round(mb.tempo_bpm, 1)}
            rows.append(row)
            print(f"{case:<11} {seed} {row['genre']:<10} {row['bpm']:6.1f} bpm  "
                  + "  ".join(f"{t}: F {row[t]['f']:.2f} AMLt {row[t]['amlt']:.2f} ({row[t]['bpm']:.0f})" for t in TRACKERS), flush=True)
    summary = summarise(rows, TRACKERS, cases)
    speed = {t: round(seconds[t] / max(minutes, 1e-9), 2) for t in TRACKERS}
    print(f"\n{'case':<11} {'n':>2}  " + "  ".join(f"{t + ' F / CMLt / AMLt':<26}" for t in TRACKERS))
    for case, s in summary.items():
        print(f"{case:<11} {s['pieces']:>2}  " + "  ".join(f"{s[t]['f']:.3f} / {s[t]['cmlt']:.3f} / {s[t]['amlt']:.3f}     " for t in TRACKERS))
    print("seconds per audio minute: " + ", ".join(f"{t} {v}" for t, v in speed.items()) + f" ({minutes:.1f} min of audio)")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "seconds_per_audio_minute": speed, "pieces": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
