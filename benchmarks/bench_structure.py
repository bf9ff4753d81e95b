"""Song-structure accuracy on songs whose structure is known: distinct passages concatenated (A B A B C B ...).

The sets are built on the spot (nothing is committed):

* **synthetic**: passages from :mod:`mv2desc.synth` that differ in key, mode, tempo and energy
  (:func:`mv2desc.structure.synth_songs.known_song`), several forms and seeds;
* **real**: passages cut from real recordings, Debian's ``wesnoth-1.16-music`` (orchestral and folk
  pieces, OGG Vorbis, decoded by the product's decoder), one piece per letter, each passage a whole
  number of bars (~20 s) starting on a downbeat of its piece (tracked by the product's ``auto`` tracker,
  whichever tracker is measured, so every tracker sees the same songs). Two
  variants: ``exact`` (a repeat is the same excerpt again) and ``varied`` (a repeat is the *next*
  excerpt of the same piece: same instruments and themes, different bars, as a chorus that comes
  back with variations). The ``heldout`` set is the same on nine other pieces, never looked at while
  :class:`StructureConfig`'s defaults were chosen on the two sets above (a check of over-fitting).

Every song's beats are tracked on the concatenation by the product's tracker (``--tracker``; ``truth``
= the exact beats of the synthetic songs, to separate the tracker's errors from the analysis'), then
:func:`mv2desc.structure.analyse_structure` runs with the default :class:`StructureConfig`.

Figures (means over the songs of a set):

* boundary precision / recall / F at ±0.5 s and ±3 s, ``mir_eval.segment.detection`` (``trim=True``:
  the song's start and end are not boundaries);
* **same-label pairs**: over every pair of true sections cut from the same passage, the share whose
  estimated labels agree (a true section's estimated label is the label of the estimated section that
  covers most of it); **different-label pairs**: the same over pairs of *different* passages (that they
  got different labels);
* ``mir_eval.segment.pairwise`` frame-clustering precision / recall / F (0.1 s frames).

Set-up: ``apt-get install wesnoth-1.16-music`` and ``.venv/bin/pip install mir_eval==0.8.2`` (the
``dev`` extra). Run:

    .venv/bin/python benchmarks/bench_structure.py [--tracker auto] [--sets synthetic,real,heldout] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/music")
SR = 22050
SYNTH_FORMS = [("ABABCB", 0), ("ABABCB", 1), ("CABABDB", 2), ("AABA", 3), ("ABCABC", 4), ("ABACAB", 5), ("DABABCAB", 6)]
SYNTH_BARS = {"A": 8, "B": 8, "C": 6, "D": 4}
REAL_FORMS = ["ABABCB", "ABABCB", "ABACAB", "AABA", "ABCABC", "ABABCB"]
# pieces with a steady pulse, long enough for two excerpts after 30 s; triplets assigned in order
REAL_PIECES = [
    "northerners.ogg", "heroes_rite.ogg", "traveling_minstrels.ogg",
    "loyalists.ogg", "elvish-theme.ogg", "battle.ogg",
    "knalgan_theme.ogg", "the_city_falls.ogg", "wanderer.ogg",
    "breaking_the_chains.ogg", "legends_of_the_north.ogg", "frantic.ogg",
    "return_to_wesnoth.ogg", "the_deep_path.ogg", "siege_of_laurelmor.ogg",
    "weight_of_revenge.ogg", "journeys_end.ogg", "northern_mountains.ogg",
]
# pieces never looked at while the defaults of StructureConfig were chosen (on the sets above): a check of over-fitting
HELDOUT_FORMS = ["ABABCB", "ABACAB", "ABCBCA"]
HELDOUT_PIECES = [
    "casualties_of_war.ogg", "into_the_shadows.ogg", "nunc_dimittis.ogg",
    "silvan_sanctuary.ogg", "suspense.ogg", "the_dangerous_symphony.ogg",
    "the_king_is_dead.ogg", "vengeful.ogg", "knolls.ogg",
]


@dataclass
class TestSong:
    name: str
    y: np.ndarray
    sr: int
    form: str
    spans: list[tuple[float, float]]
    truth_beats: object | None = None


def synthetic_songs() -> list[TestSong]:
    from mv2desc.structure.synth_songs import known_song

    out = []
    for form, seed in SYNTH_FORMS:
        s = known_song(form, SYNTH_BARS, sr=SR, seed=seed)
        out.append(TestSong(f"synth-{form}-{seed}", s.y, s.sr, form, s.spans, s.beats))
    return out


def _source_passages(piece: Path, tracker: str, cache: Path, target_s: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Two consecutive excerpts of ``piece`` (whole bars, ~``target_s`` each, from a downbeat after 35 s)."""
    from mv2desc.beats import MusicBeatConfig, track_beats
    from mv2desc.media.audio import load_audio

    offset, window = 30.0, 80.0
    y, sr = load_audio(piece, SR, offset_s=offset, max_duration_s=window)
    key = cache / f"{piece.stem}-{tracker}.json"
    if key.exists():
        down = np.array(json.loads(key.read_text())["downbeats"])
    else:
        down = track_beats(y, sr, MusicBeatConfig(tracker=tracker)).downbeats_s
        cache.mkdir(parents=True, exist_ok=True)
        key.write_text(json.dumps({"downbeats": [float(t) for t in down]}))
    down = down[down >= 5.0]
    bar = float(np.median(np.diff(down)))
    n = int(np.clip(round(target_s / bar), 4, 16))
    if len(down) < 2 * n + 1:
        raise RuntimeError(f"{piece.name}: too few downbeats ({len(down)}) for two excerpts of {n} bars")
    cut = [int(round(t * sr)) for t in (down[0], down[n], down[2 * n])]
    fade = np.ones(cut[1] - cut[0], dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, int(0.01 * sr), dtype=np.float32)
    fade[: ramp.size], fade[-ramp.size :] = ramp, ramp[::-1]

    def piece_of(a: int, b: int) -> np.ndarray:
        x = y[a:b]
        return x * fade[: x.size] if x.size <= fade.size else x

    return piece_of(cut[0], cut[1]), piece_of(cut[1], cut[2])


def real_songs(tracker: str, cache: Path, variant: str, *, heldout: bool = False) -> list[TestSong]:
    out = []
    forms, all_pieces = (HELDOUT_FORMS, HELDOUT_PIECES) if heldout else (REAL_FORMS, REAL_PIECES)
    for k, form in enumerate(forms):
        pieces = all_pieces[3 * k : 3 * k + 3]
        letters = sorted(set(form))
        pool = {ch: _source_passages(MUSIC_DIR / pieces[i % len(pieces)], tracker, cache) for i, ch in enumerate(letters)}
        seen: dict[str, int] = {}
        parts, spans, t = [], [], 0.0
        for ch in form:
            nth = seen.get(ch, 0)
            seen[ch] = nth + 1
            x = pool[ch][0] if variant == "exact" or nth % 2 == 0 else pool[ch][1]
            parts.append(x)
            spans.append((t, t + x.size / SR))
            t += x.size / SR
        out.append(TestSong(f"{'heldout' if heldout else 'real'}-{variant}-{form}-{'+'.join(p.split('.')[0] for p in pieces)}", np.concatenate(parts), SR, form, spans))
    return out


def evaluate(song: TestSong, est, mir_eval) -> dict:
    ref_iv = np.array(song.spans)
    est_iv = np.array([[s.start_s, s.end_s] for s in est.sections])
    est_iv[-1, 1] = ref_iv[-1, 1] = max(ref_iv[-1, 1], est_iv[-1, 1])
    res = {}
    for w in (0.5, 3.0):
        p, r, f = mir_eval.segment.detection(ref_iv, est_iv, window=w, trim=True)
        res[f"P@{w}"], res[f"R@{w}"], res[f"F@{w}"] = p, r, f
    pp, pr, pf = mir_eval.segment.pairwise(ref_iv, list(song.form), est_iv, est.labels, frame_size=0.1)
    res.update({"pairwise_P": pp, "pairwise_R": pr, "pairwise_F": pf})
    got = []
    for a, b in song.spans:  # the estimated label covering most of each true section
        overlap = [max(0.0, min(b, s.end_s) - max(a, s.start_s)) for s in est.sections]
        got.append(est.sections[int(np.argmax(overlap))].label)
    same = [got[i] == got[j] for i, j in itertools.combinations(range(len(got)), 2) if song.form[i] == song.form[j]]
    diff = [got[i] != got[j] for i, j in itertools.combinations(range(len(got)), 2) if song.form[i] != song.form[j]]
    res["same_pairs"], res["same_agree"] = len(same), int(sum(same))
    res["diff_pairs"], res["diff_agree"] = len(diff), int(sum(diff))
    res["est_labels"] = "".join(est.labels) if all(len(x) == 1 for x in est.labels) else " ".join(est.labels)
    res["est_names"] = [s.name for s in est.sections]
    return res


def run_set(name: str, songs: list[TestSong], tracker: str, mir_eval) -> dict:
    from mv2desc.beats import MusicBeatConfig, track_beats
    from mv2desc.structure import StructureConfig, analyse_structure

    rows = []
    for song in songs:
        t0 = time.time()
        if tracker == "truth":
            if song.truth_beats is None:
                continue
            beats = song.truth_beats
        else:
            beats = track_beats(song.y, song.sr, MusicBeatConfig(tracker=tracker))
        t1 = time.time()
        est = analyse_structure(song.y, song.sr, beats, StructureConfig())
        t2 = time.time()
        r = evaluate(song, est, mir_eval) | {"song": song.name, "form": song.form, "tracker": beats.tracker,
                                             "beats_s": round(t1 - t0, 2), "structure_s": round(t2 - t1, 2)}
        rows.append(r)
        print(f"  {song.name:70s} form {song.form:9s} got {r['est_labels']:12s} F@0.5 {r['F@0.5']:.2f} F@3 {r['F@3.0']:.2f} "
              f"same {r['same_agree']}/{r['same_pairs']} diff {r['diff_agree']}/{r['diff_pairs']} pairwise F {r['pairwise_F']:.2f} "
              f"({r['structure_s']:.1f} s)", flush=True)
    if not rows:
        return {"set": name, "songs": 0}
    summary = {
        "set": name, "songs": len(rows), "tracker": rows[0]["tracker"],
        **{k: float(np.mean([r[k] for r in rows])) for k in ("P@0.5", "R@0.5", "F@0.5", "P@3.0", "R@3.0", "F@3.0",
                                                               "pairwise_P", "pairwise_R", "pairwise_F")},
        "same_label_pairs": sum(r["same_agree"] for r in rows) / max(1, sum(r["same_pairs"] for r in rows)),
        "different_label_pairs": sum(r["diff_agree"] for r in rows) / max(1, sum(r["diff_pairs"] for r in rows)),
        "rows": rows,
    }
    print(f"{name}: {len(rows)} songs, tracker {summary['tracker']}: boundary F@0.5 s {summary['F@0.5']:.3f}, "
          f"F@3 s {summary['F@3.0']:.3f} (P {summary['P@3.0']:.3f} R {summary['R@3.0']:.3f}); same-passage pairs with "
          f"the same label {summary['same_label_pairs']:.3f}; different-passage pairs with different labels "
          f"{summary['different_label_pairs']:.3f}; mir_eval pairwise F {summary['pairwise_F']:.3f}", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracker", default="auto", help="auto | madmom | librosa | truth (synthetic set only)")
    ap.add_argument("--sets", default="synthetic,real,heldout",
                    help="comma-separated: synthetic, real, heldout (real: exact and varied repeats; heldout: other pieces)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "mv2desc-bench-structure"))
    ap.add_argument("--json", default=None, help="write every figure to this file")
    args = ap.parse_args(argv)
    try:
        import mir_eval
    except ImportError:
        print("needs mir_eval: .venv/bin/pip install mir_eval==0.8.2 (the dev extra)", file=sys.stderr)
        return 2
    from mv2desc.beats import resolve_tracker

    tracker = args.tracker if args.tracker == "truth" else resolve_tracker(args.tracker)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    results = []
    if "synthetic" in sets:
        results.append(run_set("synthetic", synthetic_songs(), tracker, mir_eval))
    for kind in ("real", "heldout"):
        if kind not in sets or tracker == "truth":
            continue
        if not MUSIC_DIR.is_dir():
            print(f"skipping the {kind} set: {MUSIC_DIR} missing (apt-get install wesnoth-1.16-music)", file=sys.stderr)
            continue
        for variant in ("exact", "varied"):
            # the passages are cut on the best tracker's downbeats whichever tracker is measured: the same songs for all
            songs = real_songs(resolve_tracker("auto"), Path(args.cache), variant, heldout=kind == "heldout")
            results.append(run_set(f"{kind}-{variant}", songs, tracker, mir_eval))
    print("\nsummary")
    for s in results:
        if s.get("songs"):
            print(f"  {s['set']:13s} songs {s['songs']:2d}  F@0.5 {s['F@0.5']:.3f}  F@3 {s['F@3.0']:.3f}  same-label pairs "
                  f"{s['same_label_pairs']:.3f}  different-label pairs {s['different_label_pairs']:.3f}  pairwise F {s['pairwise_F']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
