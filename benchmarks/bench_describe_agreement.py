"""Do the descriptions agree with the music they describe? Stated BPM / mode / key vs measured, per describer.

Issue 20's measurement. Each describer describes every song of three sets through the library call
behind ``mv2desc describe`` (:func:`mv2desc.describe.song.describe_song`, default
:class:`~mv2desc.describe.song.DescribeConfig`; a song is decoded and beat-tracked once and shared by
the describers, so they all see the same segments):

* ``metadata``: the metadata-style describer (no captioner);
* ``captioner``: a captioner artifact (``--captioner DIR``, default the shipped ``assets/demo-captioner``);
* ``captioner_raw`` (and ``captioner_audio_only_raw``): the same captioner's own texts, before
  ``describe`` grounds them (:mod:`mv2desc.describe.grounding`: a stated tempo, key or mode that
  contradicts the measurement is rewritten to the measured value), so the model's own agreement stays visible;
* ``captioner_audio_only``: the audio-only ablation (``--captioner_audio_only DIR``: a captioner
  trained without the prompt's measured block), when given.

Song sets (made on the spot in a temporary folder, or ``--work DIR`` to keep and reuse them):

* ``synthetic``: a held-out ``mv2desc data example`` folder rendered by the MIDI generator
  (``data_prep.example.make_example(..., generator="midi")``, ``--synthetic_seed``, not the seed the
  shipped captioner was trained on); each 30 s track described as a whole song; ``truth.jsonl`` gives
  its exact tempo, key and mode (the ``truth`` columns);
* ``demo``: the demo's song (``infer.demo.write_demo_song``, the function ``mv2desc demo`` writes it with);
* ``real``: the first ``--real_s`` seconds of pieces from Debian's ``wesnoth-1.16-music`` (orchestral
  and folk recordings, OGG Vorbis), decoded by the product's decoder and written as WAVs.

Figures per describer and set (:mod:`mv2desc.metrics.agreement`, :mod:`mv2desc.metrics.attributes`):

* **states BPM** / **BPM agree**: share of segments whose text states a BPM; of those, the share
  within 8 % of the segment's measured tempo (the ``tempo_bpm`` printed next to it);
* **mode agree (seg / song)**: of the segments whose text states "major" / "minor", the share that
  matches the segment's measured mode / the song's; **key agree (song)**: a stated tonic ("D minor")
  vs the song's measured key; ``truth`` columns: the same against the generator's ground truth;
* **attr. cons. (chance)**: attribute consistency (tempo / energy / mode classes implied by the text vs
  measured on the segment; the function ``eval score`` and ``mv generate`` report) over the set's
  segments, next to its chance level (always the set's most frequent class); the per-song tables give
  each song's own figure and chance, as ``mv generate`` reports it;
* **distinct / song**: distinct texts / segments, mean over songs (``all``: distinct texts / segments
  over the whole set); **same-text neighbours**: neighbouring segments with the identical text, and in
  brackets those whose measured tempo / energy / mode classes differ.

Set-up: ``apt-get install wesnoth-1.16-music fluidsynth fluid-soundfont-gm`` (or the README's set-up).
Run (about 10 minutes on 2 CPU cores with the demo captioner; ``--quick``: a small run, ~2 minutes):

    .venv/bin/python benchmarks/bench_describe_agreement.py [--quick] [--captioner DIR | --captioner none]
        [--captioner_audio_only DIR] [--out results.json] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC_DIR = Path("/usr/share/games/wesnoth/1.16/data/core/music")
# varied character: marches, folk dances, slow themes, fast battle music, major and minor
REAL_PIECES = [
    "traveling_minstrels.ogg", "northerners.ogg", "love_theme.ogg", "frantic.ogg",
    "elvish-theme.ogg", "knalgan_theme.ogg", "sad.ogg", "heroes_rite.ogg",
]
QUICK_REAL = ["traveling_minstrels.ogg", "love_theme.ogg"]
DEMO_TRUTH = {"tempo_bpm": 104.0, "key": "D", "mode": "minor"}  # infer.demo.write_demo_song's SongSpecs
SETS = ("synthetic", "demo", "real")


@dataclass
class TestSong:
    set: str
    name: str
    path: Path
    truth: dict[str, Any] | None = None  # tempo_bpm, key, mode when known exactly
    song: Any = None  # the decoded mv2desc.song.Song, shared by the describers


@dataclass
class Describer:
    name: str
    source: str | None  # the captioner folder; None for the metadata-style describer
    model: Any = None
    error: str | None = None
    load_s: float = 0.0
    provenance: dict | None = None
    results: dict[str, list[dict]] = field(default_factory=dict)  # set -> per-song records
    raw: dict[str, list[dict]] = field(default_factory=dict)  # captioners: the same, on the model's own texts (before grounding)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- song sets -------------------------------------------------------------------------------------
def synthetic_set(work: Path, n: int, seed: int, duration_s: float) -> list[TestSong]:
    from data_prep.example import TRUTH_FILE, make_example

    root = work / f"synthetic_seed{seed}_n{n}_{duration_s:g}s"
    if not (root / TRUTH_FILE).is_file():
        if root.exists():
            shutil.rmtree(root)
        t0 = time.time()
        make_example(root, n, duration_s=duration_s, seed=seed, generator="midi")
        log(f"synthetic: {n} MIDI-rendered tracks of {duration_s:g} s (seed {seed}) in {time.time() - t0:.0f} s")
    songs = []
    for line in (root / TRUTH_FILE).read_text(encoding="utf-8").splitlines():
        t = json.loads(line)
        truth = {"tempo_bpm": float(t["tempo_bpm"]), "key": t["key"], "mode": t["mode"], "energy": t.get("energy"),
                 "genre": t.get("genre"), "generator": t.get("generator")}
        songs.append(TestSong("synthetic", t["id"], root / "audios" / f"{t['id']}.mp3", truth))
    return songs


def demo_set(work: Path, duration_s: float) -> list[TestSong]:
    from infer.demo import write_demo_song

    path = work / f"demo_song_{duration_s:g}s.mp3"
    if not path.is_file():
        write_demo_song(path, duration_s)
    return [TestSong("demo", path.name, path, dict(DEMO_TRUTH))]


def real_set(work: Path, pieces: Sequence[str], seconds: float) -> list[TestSong]:
    from mv2desc.media.audio import load_audio, write_audio

    out = []
    for piece in pieces:
        src = MUSIC_DIR / piece
        if not src.is_file():
            raise SystemExit(f"{src} is missing: apt-get install wesnoth-1.16-music (or choose --real pieces that exist)")
        wav = work / "real" / f"{Path(piece).stem}_{seconds:g}s.wav"
        if not wav.is_file():
            y, sr = load_audio(src, channels=None, max_duration_s=seconds)  # (C, n) as stored
            write_audio(wav, y, sr)
        out.append(TestSong("real", Path(piece).stem, wav))
    return out


# -- describers ------------------------------------------------------------------------------------
def load_describer(name: str, source: str | None, device: str) -> Describer:
    """A captioner loaded once (as describe_song's own loader does: artifact, its prompt settings)."""
    d = Describer(name, source)
    if source is None:
        return d
    t0 = time.time()
    try:
        from mv2desc.devices import resolve_device
        from mv2desc.model import artifact

        art = artifact.resolve(source)
        meta = artifact.read_meta(art)
        model = artifact.load(art, device=resolve_device(device))
        model.prompt_settings = meta.get("extra", {}).get("data")  # what describe_song reads off a loaded captioner
        if getattr(model, "feature_spec", None) is None:
            raise RuntimeError(f"{source} records no feature spec")
        d.model = model
        prov = Path(art) / "PROVENANCE.json"
        d.provenance = json.loads(prov.read_text(encoding="utf-8")) if prov.is_file() else None
    except Exception as exc:  # report it and measure the other describers
        d.error = f"{type(exc).__name__}: {exc}"
        log(f"{name}: cannot load {source}: {d.error}")
    d.load_s = time.time() - t0
    return d


def describe_one(d: Describer, ts: TestSong, cfg) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One song by one describer -> its record (song-level facts, per-segment rows, the figures) for the
    texts as ``describe`` writes them, and for a captioner the same on the model's own texts (before
    grounding: :mod:`mv2desc.describe.grounding`)."""
    from mv2desc.describe.song import describe_song

    t0 = time.time()
    res = describe_song(ts.song, d.model, cfg)
    seconds = time.time() - t0
    written = record(d, ts, res, seconds, [s.description for s in res.segments])
    raw = (record(d, ts, res, seconds, [s.model_text or s.description for s in res.segments], name=f"{d.name}_raw")
           if d.model is not None else None)
    return written, raw


def record(d: Describer, ts: TestSong, res, seconds: float, texts: list[str], name: str | None = None) -> dict[str, Any]:
    """The figures of ``texts`` (one per segment of ``res``)."""
    from mv2desc.metrics.agreement import agreement_shares, compare, stated_facts, text_variety
    from mv2desc.metrics.attributes import attribute_consistency, audio_classes, text_classes

    song_ref = {"tempo_bpm": res.tempo_bpm, "key": res.key, "mode": res.mode}
    measured = [{"tempo_bpm": s.tempo_bpm, "rms_db_mean": s.rms_db_mean, "mode": s.mode, "key": s.key} for s in res.segments]
    rows = []
    for k, (s, m, text) in enumerate(zip(res.segments, measured, texts)):
        st = stated_facts(text)
        rows.append({
            "set": ts.set, "song": ts.name, "describer": name or d.name, "segment": k, "start_s": round(s.start_s, 3),
            "end_s": round(s.end_s, 3), "text": text, "measured": {**m, "tempo_bpm": round(m["tempo_bpm"], 2),
                                                                   "rms_db_mean": round(m["rms_db_mean"], 2)},
            "measured_classes": audio_classes(m), "text_classes": text_classes(text), "stated": st.to_dict(),
            "vs_segment": compare(st, m), "vs_song": compare(st, song_ref),
            "vs_truth": compare(st, ts.truth) if ts.truth else None,
        })
    return {
        "song": ts.name, "path": str(ts.path), "duration_s": round(res.duration_s, 2), "seconds": round(seconds, 2),
        "n_segments": len(texts), "beat_tracker": res.beat_tracker,
        "measured": {"tempo_bpm": round(res.tempo_bpm, 2), "key": res.key, "mode": res.mode, "energy_class": res.energy_class,
                     "tempo_class": res.tempo_class},
        "truth": ts.truth,
        "vs_segment": agreement_shares(texts, measured),
        "vs_song": agreement_shares(texts, [song_ref] * len(texts)),
        "vs_truth": agreement_shares(texts, [ts.truth] * len(texts)) if ts.truth else None,
        "consistency": attribute_consistency(texts, measured),
        "variety": text_variety(texts, measured),
        "segments": rows,
    }


def summarise(records: list[dict]) -> dict[str, Any]:
    """A set's figures for one describer, pooled over its segments."""
    from mv2desc.metrics.agreement import agreement_shares, bpm_agrees
    from mv2desc.metrics.attributes import attribute_consistency

    rows = [r for rec in records for r in rec["segments"]]
    texts = [r["text"] for r in rows]
    measured = [r["measured"] for r in rows]
    song_refs = [rec["measured"] for rec in records for _ in rec["segments"]]
    truths = [rec["truth"] for rec in records for _ in rec["segments"]]
    with_truth = [(t, tr) for t, tr in zip(texts, truths) if tr]
    per_song = [rec["consistency"]["overall"] for rec in records if "overall" in rec["consistency"]]
    seg_vs_song = [bpm_agrees(r["measured"]["tempo_bpm"], ref["tempo_bpm"]) for r, ref in zip(rows, song_refs)]
    seg_vs_truth = [bpm_agrees(r["measured"]["tempo_bpm"], tr["tempo_bpm"]) for r, tr in zip(rows, truths) if tr]
    return {
        "n_songs": len(records), "n_segments": len(rows), "seconds": round(sum(rec["seconds"] for rec in records), 1),
        "vs_segment": agreement_shares(texts, measured),
        "vs_song": agreement_shares(texts, song_refs),
        "vs_truth": agreement_shares([t for t, _ in with_truth], [tr for _, tr in with_truth]) if with_truth else None,
        "consistency": attribute_consistency(texts, measured),
        "consistency_per_song_mean": {
            "score": sum(c["score"] for c in per_song) / len(per_song) if per_song else None,
            "chance": sum(c["chance"] for c in per_song) / len(per_song) if per_song else None,
        },
        "distinct_per_song_mean": sum(rec["variety"]["distinct_share"] for rec in records) / len(records) if records else None,
        "distinct_all": len({" ".join(t.split()) for t in texts}) / len(texts) if texts else None,
        "identical_neighbours": sum(rec["variety"]["identical_neighbours"] for rec in records),
        "identical_neighbours_differing": sum(rec["variety"]["identical_neighbours_differing"] for rec in records),
        "songs_all_alike": sum(rec["n_segments"] > 1 and rec["variety"]["distinct"] == 1 for rec in records),
        "songs_multi_segment": sum(rec["n_segments"] > 1 for rec in records),
        # the measurement itself, whatever the describer: each segment's measured tempo (printed next to its
        # text) within 8 % of the song's tempo (the report's header) and of the exact tempo
        "measured_segment_tempo_vs_song": sum(seg_vs_song) / len(seg_vs_song) if seg_vs_song else None,
        "measured_segment_tempo_vs_truth": sum(seg_vs_truth) / len(seg_vs_truth) if seg_vs_truth else None,
        # what the texts say, counted (a describer that always says "minor" at 129 BPM shows here)
        "stated_bpm_counts": dict(Counter(str(r["stated"]["bpm"]) for r in rows).most_common()),
        "stated_mode_counts": dict(Counter(str(r["stated"]["mode"]) for r in rows).most_common()),
        "measured_mode_counts": dict(Counter(r["measured"]["mode"] for r in rows).most_common()),
    }


# -- report ----------------------------------------------------------------------------------------
def _f(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _agree(a: dict | None, fact: str) -> str:
    if not a or a[fact]["compared"] == 0:
        return "—"
    f = a[fact]
    return f"{f['agree']:.2f} ({f['compared'] - f['contradictions']}/{f['compared']})"


def _cons(c: dict) -> str:
    return "—" if "overall" not in c else f"{c['overall']['score']:.2f} ({c['overall']['chance']:.2f})"


def summary_table(set_name: str, describers: list[Describer], summaries: dict[str, dict]) -> list[str]:
    lines = [f"### {set_name}", "",
             "| describer | songs | segs | states BPM | BPM agree | BPM agree (song) | states mode | mode agree (seg) | mode agree (song) "
             "| key agree (song) | BPM agree (truth) | mode agree (truth) | key agree (truth) | attr. cons. (chance) | tempo / energy / mode cons. "
             "| per-song cons. (chance) | distinct / song (all) | same-text neighbours (differing) | measured seg. tempo ≈ song (truth) | s |",
             "|" + "---|" * 20]
    for d in describers:
        if d.error:
            lines.append(f"| {d.name} | not measured: {d.error[:120]} |" + " |" * 18)
            continue
        s = summaries.get(d.name)
        if s is None:
            continue
        seg, song, truth, c = s["vs_segment"], s["vs_song"], s["vs_truth"], s["consistency"]
        attrs = " / ".join(_f(c[a]["score"]) for a in ("tempo", "energy", "mode")) if "overall" in c else "—"
        ps = s["consistency_per_song_mean"]
        lines.append(
            f"| {d.name} | {s['n_songs']} | {s['n_segments']} | {_f(seg['bpm']['states'])} | {_agree(seg, 'bpm')} "
            f"| {_agree(song, 'bpm')} | {_f(seg['mode']['states'])} | {_agree(seg, 'mode')} | {_agree(song, 'mode')} | {_agree(song, 'key')} "
            f"| {_agree(truth, 'bpm')} | {_agree(truth, 'mode')} | {_agree(truth, 'key')} | {_cons(c)} | {attrs} | {_f(ps['score'])} ({_f(ps['chance'])}) "
            f"| {_f(s['distinct_per_song_mean'])} ({_f(s['distinct_all'])}) | {s['identical_neighbours']} ({s['identical_neighbours_differing']}) "
            f"| {_f(s['measured_segment_tempo_vs_song'])} ({_f(s['measured_segment_tempo_vs_truth'])}) | {s['seconds']:.0f} |")
    return lines + [""]


def song_table(d: Describer, set_name: str, records: list[dict]) -> list[str]:
    lines = [f"#### {d.name} · {set_name}", "",
             "| song | segs | measured (song) | measured seg. tempi | truth | states BPM | BPM agree | BPM agree (song) "
             "| mode agree (seg) | mode agree (song) | attr. cons. (chance) | distinct | same-text neighbours (differing) |",
             "|" + "---|" * 13]
    for rec in records:
        m, t, v = rec["measured"], rec["truth"], rec["variety"]
        truth = f"{t['tempo_bpm']:g} bpm {t['key']} {t['mode']}" if t else "—"
        tempi = " ".join(f"{r['measured']['tempo_bpm']:.0f}" for r in rec["segments"])
        lines.append(
            f"| {rec['song']} | {rec['n_segments']} | {m['tempo_bpm']:.0f} bpm {m['key']} {m['mode']} "
            f"| {tempi} | {truth} "
            f"| {_f(rec['vs_segment']['bpm']['states'])} | {_agree(rec['vs_segment'], 'bpm')} | {_agree(rec['vs_song'], 'bpm')} "
            f"| {_agree(rec['vs_segment'], 'mode')} "
            f"| {_agree(rec['vs_song'], 'mode')} | {_cons(rec['consistency'])} | {v['distinct']}/{v['n']} "
            f"| {v['identical_neighbours']} ({v['identical_neighbours_differing']}) |")
    return lines + [""]


# -- main ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--captioner", default=str(REPO / "assets" / "demo-captioner"),
                    help="captioner artifact or run folder ('none': only the metadata-style describer)")
    ap.add_argument("--captioner_audio_only", default=None, help="the audio-only ablation's artifact (no measured block)")
    ap.add_argument("--no_metadata", action="store_true", help="skip the metadata-style describer")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {','.join(SETS)}")
    ap.add_argument("--quick", action="store_true", help="a small run: 4 synthetic tracks, a 40 s demo song, 2 real pieces of 45 s")
    ap.add_argument("--n_synthetic", type=int, default=None, help="synthetic tracks (default 16; --quick 4)")
    ap.add_argument("--synthetic_seed", type=int, default=2025, help="seed of the held-out example (the shipped captioner's is 7)")
    ap.add_argument("--synthetic_s", type=float, default=30.0, help="length of a synthetic track (one segment up to 30 s)")
    ap.add_argument("--demo_s", type=float, default=None, help="length of the demo song (default 60, the demo's; --quick 40)")
    ap.add_argument("--real", default=None, help=f"comma-separated pieces of {MUSIC_DIR} (default: {','.join(REAL_PIECES)})")
    ap.add_argument("--real_s", type=float, default=None, help="seconds from the start of each real piece (default 75; --quick 45)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--work", default=None, help="keep the songs here (reused by a rerun); default: a temporary folder")
    ap.add_argument("--out", default=None, help="write everything (per-segment rows too) as JSON here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import torch

    from mv2desc.describe.song import DescribeConfig

    torch.set_num_threads(args.threads)
    sets = [s for s in args.sets.split(",") if s]
    unknown = set(sets) - set(SETS)
    if unknown:
        ap.error(f"unknown sets {sorted(unknown)}")
    n_syn = args.n_synthetic or (4 if args.quick else 16)
    demo_s = args.demo_s or (40.0 if args.quick else 60.0)
    real_s = args.real_s or (45.0 if args.quick else 75.0)
    pieces = args.real.split(",") if args.real else (QUICK_REAL if args.quick else REAL_PIECES)

    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tmp := tempfile.mkdtemp(prefix="bench_describe_"))
    t_all = time.time()
    try:
        songs: dict[str, list[TestSong]] = {}
        if "synthetic" in sets:
            songs["synthetic"] = synthetic_set(work, n_syn, args.synthetic_seed, args.synthetic_s)
        if "demo" in sets:
            songs["demo"] = demo_set(work, demo_s)
        if "real" in sets:
            songs["real"] = real_set(work, pieces, real_s)

        describers = [] if args.no_metadata else [Describer("metadata", None)]
        if args.captioner and args.captioner.lower() != "none":
            describers.append(load_describer("captioner", args.captioner, args.device))
        if args.captioner_audio_only:
            describers.append(load_describer("captioner_audio_only", args.captioner_audio_only, args.device))
        cfg = DescribeConfig(device=args.device)

        from mv2desc.song import Song

        for set_name, items in songs.items():
            for ts in items:
                ts.song = Song.load(ts.path)  # decoded and beat-tracked once for every describer
                for d in describers:
                    if d.error:
                        continue
                    try:
                        rec, raw = describe_one(d, ts, cfg)
                    except Exception as exc:
                        d.error = f"{type(exc).__name__}: {exc}"
                        log(f"{d.name} failed on {ts.name}: {d.error}")
                        continue
                    d.results.setdefault(set_name, []).append(rec)
                    if raw is not None:
                        d.raw.setdefault(set_name, []).append(raw)
                    log(f"{set_name}/{ts.name} {d.name}: {rec['n_segments']} segments in {rec['seconds']:.1f} s")
                ts.song = None  # free the samples

        # each captioner twice: as written (grounded) and its model's own texts (``<name>_raw``)
        raws = [Describer(f"{d.name}_raw", d.source, results=d.raw) for d in describers if d.raw]
        describers = [x for d in describers for x in [d, *[r for r in raws if r.name == f"{d.name}_raw"]]]
        summaries = {s: {d.name: summarise(d.results[s]) for d in describers if d.results.get(s)} for s in songs}
        lines = ["## Descriptions vs the measured music", "",
                 "Describers: " + ", ".join(f"`{d.name}`" + (f" ({d.source})" if d.source else "") for d in describers) + ". "
                 "BPM agree: within 8 % of the segment's measured tempo, of the segments stating a BPM (agreeing/stating). "
                 "Mode/key agree: of the segments stating one. attr. cons.: pooled over the set's segments, chance in brackets.",
                 ""]
        for s in songs:
            names = ", ".join(t.name for t in songs[s])
            lines += summary_table(f"{s} ({len(songs[s])} songs: {names})", describers, summaries[s])
        for s in songs:
            for d in describers:
                if d.results.get(s):
                    lines += song_table(d, s, d.results[s])
        print("\n".join(lines))
        log(f"done in {time.time() - t_all:.0f} s")

        if args.out:
            payload = {
                "config": {**vars(args), "n_synthetic": n_syn, "demo_s": demo_s, "real_s": real_s, "real_pieces": pieces,
                           "music_dir": str(MUSIC_DIR), "bpm_tolerance": 0.08, "seconds": round(time.time() - t_all, 1)},
                "sets": {s: [{"name": t.name, "path": str(t.path), "truth": t.truth} for t in songs[s]] for s in songs},
                "describers": {d.name: {"source": d.source, "error": d.error, "load_s": round(d.load_s, 1), "provenance": d.provenance}
                               for d in describers},
                "summaries": summaries,
                "songs": {d.name: {s: [{k: v for k, v in rec.items() if k != "segments"} for rec in recs]
                                   for s, recs in d.results.items()} for d in describers},
                "segments": [row for d in describers for recs in d.results.values() for rec in recs for row in rec["segments"]],
            }
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
            log(f"wrote {args.out}")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
