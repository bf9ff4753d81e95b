"""Do cuts snapped to lyric lines land on the lines in the written MP4? (issue 21's real-song check)

A real song (a Debian ``wesnoth-1.16-music`` piece, the first ``--seconds``) and an LRC of lines at
phrase-like irregular times, through ``mv2desc mv generate --snap_to_lyrics`` (procedural renderer).
The cuts are then measured on ``mv.mp4`` itself, by the project's hard-cut detector
(:func:`mv2desc.sync.visual_beats.visual_beats_of_file`, ``cuts_s``), first checked against the report's
segment joins (precision / recall within one frame), then every detected cut on a join that is not a
section boundary is compared with the nearest line start.

    python benchmarks/bench_lyric_cuts.py [--song PATH] [--seconds 60] [--work bench_out/lyric_cuts]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SONG = Path("/usr/share/games/wesnoth/1.16/data/core/music/traveling_minstrels.ogg")
FPS = 24.0
WORDS = ("down the long road", "lanterns in the square", "we play for bread and song", "the river turns to gold",
         "a tavern full of strangers", "dance until the dawn", "mountains in the distance", "our boots are worn")


def lrc_lines(seconds: float, seed: int = 3) -> list[tuple[float, str]]:
    """Line starts 3.2-5.4 s apart (phrase-like, off the bar grid on purpose) from 1.5 s on."""
    rng = np.random.default_rng(seed)
    out, t, k = [], 1.5, 0
    while t < seconds - 2.0:
        out.append((round(t, 2), f"{WORDS[k % len(WORDS)]}"))
        t += float(rng.uniform(3.2, 5.4))
        k += 1
    return out


def write_lrc(path: Path, lines: list[tuple[float, str]]) -> None:
    path.write_text("".join(f"[{int(t // 60):02d}:{t % 60:05.2f}]{x}\n" for t, x in lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--song", type=Path, default=SONG)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--work", type=Path, default=REPO / "bench_out" / "lyric_cuts")
    args = ap.parse_args()
    if not args.song.is_file():
        raise SystemExit(f"error: {args.song} is missing: install Debian's wesnoth-1.16-music or pass --song")
    args.work.mkdir(parents=True, exist_ok=True)
    song = args.work / "song.wav"
    from mv2desc.media.audio import load_audio, write_audio

    y, sr = load_audio(args.song, channels=2, max_duration_s=args.seconds)
    write_audio(song, y, sr)
    lines = lrc_lines(args.seconds)
    write_lrc(args.work / "song.lrc", lines)
    out = args.work / "mv"
    from infer.__main__ import main as mv_main

    code = mv_main(["generate", str(song), "--out", str(out), "--lyrics", str(args.work / "song.lrc"), "--snap_to_lyrics",
                    "--video.width", "320", "--video.height", "180", "--video.fps", str(int(FPS)), "--sync.render.fps", str(int(FPS))])
    if code:
        raise SystemExit(f"mv generate exited with {code}")
    report = json.loads((out / "report.json").read_text())
    joins = np.array([s["out_start_s"] for s in report["segments"][1:]])
    sections = np.array([s["start_s"] for s in (report["song"].get("structure") or {}).get("sections", [])[1:]])
    starts = np.array([t for t, _ in lines])
    from mv2desc.sync.synth_video import match_events
    from mv2desc.sync.visual_beats import visual_beats_of_file

    cuts = np.sort(visual_beats_of_file(out / "mv.mp4").cuts_s)
    tol = 1.0 / FPS + 1e-6
    hits, false_alarms, misses = match_events(cuts, joins, tol)
    precision, recall = hits / max(hits + false_alarms, 1), hits / max(hits + misses, 1)
    # the cuts the planner snapped: joins that are not section boundaries and lie within reach of a line
    snapped = [j for j in joins if not (len(sections) and np.min(np.abs(sections - j)) <= tol)]
    measured = []
    for j in snapped:
        k = int(np.argmin(np.abs(cuts - j))) if len(cuts) else -1
        if k >= 0 and abs(cuts[k] - j) <= tol:
            measured.append(float(np.min(np.abs(starts - cuts[k]))))
    measured = np.asarray(measured)
    print(f"song: {args.song.name}, first {args.seconds:.0f} s; {len(lines)} LRC lines; {len(joins)} cuts in the report "
          f"({len(snapped)} not on a section boundary)")
    print(f"cut detector on mv.mp4 vs the report's joins (within one frame, {1000 / FPS:.0f} ms): precision {precision:.3f}, "
          f"recall {recall:.3f} ({len(cuts)} detected)")
    if len(measured):
        within = float(np.mean(measured <= tol))
        print(f"snapped cuts measured on mv.mp4: {len(measured)}; distance to the nearest line start: median "
              f"{1000 * np.median(measured):.1f} ms, max {1000 * measured.max():.1f} ms; within one frame: {within:.3f}")
    result = {"song": args.song.name, "seconds": args.seconds, "lines": len(lines), "joins": len(joins), "detected": len(cuts),
              "precision": precision, "recall": recall, "snapped_measured_s": measured.tolist()}
    (args.work / "result.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
