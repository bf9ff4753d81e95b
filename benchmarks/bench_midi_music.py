"""The MIDI music generator measured against its own ground truth (mv2desc.midi_music).

For N random specs (``random_spec(seed)``: genre, genre-typical tempo, key, mode, energy) the song is
rendered with FluidSynth and measured the way the dataset measures a clip (``RhythmExtractor``: the
librosa beat tracker's tempo, Krumhansl-Kessler key and mode on mean chroma, mean frame RMS). Prints
one line per song, then:

* tempo agreement: measured within 4 % of the spec, and within 4 % up to a factor of 2 (octave);
* beats: the share of tracked beats within 70 ms of a true beat, and of true beats with a tracked beat
  within 70 ms (a tracker at twice the tempo finds every true beat, half its beats on off-beats);
* key agreement: tonic and mode both right; mode right; the relative key (same notes) instead;
* sections: of the pairs of sections whose energies differ by 0.1 or more, the share whose RMS levels
  are in the same order (mean over songs), and the share of songs with every such pair in order;
* render speed: seconds of rendering (FluidSynth + mastering, cache off) per 30 s of audio.

Run (after ``bash scripts/setup.sh``, which installs fluidsynth and the soundfont):

    .venv/bin/python benchmarks/bench_midi_music.py [--n 20] [--duration 30] [--seed0 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mv2desc.audio.key_estimate import PITCH_CLASSES  # noqa: E402
from mv2desc.midi_music import random_spec, render_song  # noqa: E402


def section_order(y: np.ndarray, sr: int, sections, min_gap: float = 0.1) -> float | None:
    """Of the pairs of sections whose energies differ by ``min_gap`` or more, the share whose RMS levels
    are in the same order (None: no such pair)."""
    levels = [float(np.sqrt(np.mean(y[int(s.start_s * sr): int(s.end_s * sr)] ** 2) + 1e-12)) for s in sections]
    pairs = [(i, j) for i in range(len(sections)) for j in range(len(sections)) if sections[i].energy >= sections[j].energy + min_gap]
    return float(np.mean([levels[i] > levels[j] for i, j in pairs])) if pairs else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--sr", type=int, default=22050)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from mv2desc.audio.rhythm_features import RhythmExtractor
    from mv2desc.data.feature_config import RhythmSettings

    rx = RhythmExtractor(RhythmSettings(sample_rate=args.sr))
    rows = []
    for i in range(args.n):
        spec = random_spec(args.seed0 + i, duration_s=args.duration)
        t = time.perf_counter()
        r = render_song(spec, args.sr, cache=False)
        render_s = time.perf_counter() - t
        m = rx(r.audio)
        truth_beats = np.asarray(r.arrangement.truth()["beat_times_s"])
        tracked = np.asarray(m["beat_times_s"], dtype=np.float64)
        tempo = float(m["tempo_bpm"])
        ratio = tempo / spec.tempo_bpm
        tonic_ok = m["key"] == spec.key
        rel = PITCH_CLASSES[(PITCH_CLASSES.index(spec.key) + (3 if spec.mode == "minor" else -3)) % 12]
        row = {
            "seed": spec.seed, "genre": spec.genre, "tempo": spec.tempo_bpm, "key": spec.key, "mode": spec.mode, "energy": spec.energy,
            "measured_tempo": round(tempo, 2), "measured_key": m["key"], "measured_mode": m["mode"], "rms_db_mean": round(float(m["rms_db_mean"]), 2),
            "tempo_ok": abs(ratio - 1) <= 0.04, "tempo_octave_ok": min(abs(ratio * k - 1) for k in (0.5, 1, 2)) <= 0.04,
            "key_ok": tonic_ok and m["mode"] == spec.mode, "mode_ok": m["mode"] == spec.mode,
            "relative_key": m["key"] == rel and m["mode"] != spec.mode,
            "beats_on_true_beats": float(np.mean([np.min(np.abs(truth_beats - b)) <= 0.07 for b in tracked])) if tracked.size else 0.0,
            "true_beats_found": float(np.mean([np.min(np.abs(tracked - b)) <= 0.07 for b in truth_beats])) if tracked.size else 0.0,
            "section_order": section_order(r.audio, args.sr, r.arrangement.sections), "render_s_per_30s": render_s * 30.0 / spec.duration_s,
        }
        rows.append(row)
        print(f"{spec.genre:11s} {spec.tempo_bpm:5.0f} -> {tempo:6.1f} BPM  {spec.key:2s} {spec.mode:5s} -> {m['key']:2s} {m['mode']:5s}  "
              f"energy {spec.energy:.2f} rms_db_mean {m['rms_db_mean']:6.1f}  sections {row['section_order'] if row['section_order'] is None else round(row['section_order'], 2)}"
              f"  render {row['render_s_per_30s']:.2f} s/30 s", flush=True)
    share = lambda key, rs=rows: float(np.mean([r[key] for r in rs]))  # noqa: E731
    orders = [r["section_order"] for r in rows if r["section_order"] is not None]
    summary = {
        "n": len(rows), "tempo_within_4pct": share("tempo_ok"), "tempo_within_4pct_octave": share("tempo_octave_ok"),
        "beats_on_true_beats": share("beats_on_true_beats"), "true_beats_found": share("true_beats_found"),
        "key_and_mode": share("key_ok"), "mode": share("mode_ok"), "relative_key_confusions": share("relative_key"),
        "section_pairs_in_energy_order": float(np.mean(orders)) if orders else None,
        "songs_with_all_section_pairs_in_order": float(np.mean([x == 1.0 for x in orders])) if orders else None,
        "render_s_per_30s_mean": float(np.mean([r["render_s_per_30s"] for r in rows])),
        "render_s_per_30s_max": float(np.max([r["render_s_per_30s"] for r in rows])),
    }
    by_genre = defaultdict(list)
    for r in rows:
        by_genre[r["genre"]].append(r)
    summary["by_genre"] = {g: {"n": len(rs), "tempo_octave_ok": share("tempo_octave_ok", rs), "key_and_mode": share("key_ok", rs)}
                           for g, rs in sorted(by_genre.items())}
    print(json.dumps({k: v for k, v in summary.items() if k != "by_genre"}, indent=1))
    for g, v in summary["by_genre"].items():
        print(f"  {g:11s} n={v['n']:2d} tempo(octave) {v['tempo_octave_ok']:.2f} key+mode {v['key_and_mode']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
