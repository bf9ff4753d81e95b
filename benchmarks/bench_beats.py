"""Beat-tracker accuracy on real music with exact ground truth: MIDI pieces rendered with FluidSynth.

The Debian package ``openttd-openmsx`` ships 31 General-MIDI pieces (rock, blues, jazz, marches, ...);
rendered with ``fluidsynth`` and a GM soundfont they become real multi-instrument recordings whose
beats and downbeats are exact (``pretty_midi`` reads them from the MIDI tempo map). Nothing is
committed: the script renders into a cache folder.

Set-up (benchmark only; none of these is a runtime dependency of mv2desc):

    apt-get install -y openttd-openmsx fluidsynth fluid-soundfont-gm
    .venv/bin/pip install pretty_midi mir_eval

Run:

    .venv/bin/python benchmarks/bench_beats.py [--trackers madmom,librosa] [--limit N] [--cache DIR]

Prints one line per piece and per tracker, then the mean F-measure (mir_eval, ±70 ms window, the
first 5 s skipped as mir_eval's ``trim_beats`` does), downbeat F-measure, the mean signed beat error
(estimate - truth, over beats matched within 70 ms: a tracker's latency), and the seconds of
tracking per minute of audio. ``--json`` writes everything to a file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MIDI_DIR = Path("/usr/share/games/openttd/baseset/openmsx")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def render_midi(mid: Path, out_dir: Path, sample_rate: int = 44100) -> Path:
    """Render ``mid`` to a WAV with fluidsynth (cached)."""
    wav = out_dir / (mid.stem + ".wav")
    if not wav.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = wav.with_suffix(".tmp.wav")
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(tmp), "-r", str(sample_rate), str(SOUNDFONT), str(mid)],
            check=True, capture_output=True,
        )
        tmp.rename(wav)
    return wav


def truth(mid: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact beats and downbeats from the MIDI tempo and time-signature maps, up to the last note."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(mid))
    end = pm.get_end_time()
    beats, downbeats = pm.get_beats(), pm.get_downbeats()
    return beats[beats < end], downbeats[downbeats < end], end


def signed_errors(ref: np.ndarray, est: np.ndarray, window: float = 0.07) -> np.ndarray:
    """estimate - truth for each reference beat with an estimate within ``window`` seconds."""
    if len(est) == 0:
        return np.zeros(0)
    idx = np.argmin(np.abs(est[None, :] - ref[:, None]), axis=1)
    err = est[idx] - ref
    return err[np.abs(err) <= window]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", default="madmom,librosa", help="comma-separated: madmom, librosa")
    parser.add_argument("--networks", type=int, default=8, help="madmom downbeat networks (1-8)")
    parser.add_argument("--threads", type=int, default=2, help="madmom worker processes")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pieces (0 = all)")
    parser.add_argument("--cache", default=str(REPO / "runs" / "bench_beats"), help="where rendered WAVs go")
    parser.add_argument("--json", help="write per-piece results here")
    args = parser.parse_args(argv)
    if shutil.which("fluidsynth") is None:
        sys.exit("error: fluidsynth not found (apt-get install -y fluidsynth fluid-soundfont-gm)")
    if not MIDI_DIR.is_dir() or not SOUNDFONT.is_file():
        sys.exit("error: MIDI pieces or soundfont missing (apt-get install -y openttd-openmsx fluid-soundfont-gm)")
    if importlib.util.find_spec("pretty_midi") is None or importlib.util.find_spec("mir_eval") is None:
        sys.exit("error: this benchmark needs pretty_midi and mir_eval (.venv/bin/pip install pretty_midi mir_eval)")
    import mir_eval

    from mv2desc.beats.tracking import track_beats
    from mv2desc.media.audio import load_audio
    from mv2desc.sync.config import MusicBeatConfig

    mids = sorted(MIDI_DIR.glob("*.mid"))
    if args.limit:
        mids = mids[: args.limit]
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    cfgs = {t: MusicBeatConfig(tracker=t, networks=args.networks, threads=args.threads) for t in trackers}
    # warm-up (numba JIT for librosa, model loading for madmom) is not what we measure
    y0 = np.zeros(44100 * 4, dtype=np.float32)
    y0[::22050] = 1.0
    for cfg in cfgs.values():
        track_beats(y0, 44100, cfg)
    rows, total_min = [], 0.0
    seconds = {t: 0.0 for t in trackers}
    for mid in mids:
        wav = render_midi(mid, Path(args.cache))
        ref_b, ref_d, _ = truth(mid)
        y, sr = load_audio(wav, 44100)
        total_min += y.size / sr / 60
        row = {"piece": mid.stem, "true_bpm": round(float(60 / np.median(np.diff(ref_b))), 1), "minutes": round(y.size / sr / 60, 2)}
        for t in trackers:
            t0 = time.perf_counter()
            mb = track_beats(y, sr, cfgs[t])
            seconds[t] += time.perf_counter() - t0
            f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref_b), mir_eval.beat.trim_beats(mb.beats_s), 0.07)
            fd = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref_d), mir_eval.beat.trim_beats(mb.downbeats_s), 0.07)
            err = signed_errors(ref_b, mb.beats_s)
            row[t] = {"f": round(float(f), 4), "f_downbeat": round(float(fd), 4), "bpm": round(mb.tempo_bpm, 1),
                      "mean_error_ms": round(float(err.mean() * 1000), 1) if err.size else None}
        rows.append(row)
        print(f"{row['piece'][:24]:<24} {row['true_bpm']:6.1f} bpm  "
              + "  ".join(f"{t}: F {row[t]['f']:.2f} Fdb {row[t]['f_downbeat']:.2f} ({row[t]['bpm']:.0f} bpm)" for t in trackers), flush=True)
    summary = {"pieces": len(rows), "audio_minutes": round(total_min, 1)}
    for t in trackers:
        errs = [r[t]["mean_error_ms"] for r in rows if r[t]["mean_error_ms"] is not None]
        summary[t] = {
            "mean_f": round(float(np.mean([r[t]["f"] for r in rows])), 4),
            "median_f": round(float(np.median([r[t]["f"] for r in rows])), 4),
            "mean_f_downbeat": round(float(np.mean([r[t]["f_downbeat"] for r in rows])), 4),
            "mean_signed_error_ms": round(float(np.mean(errs)), 1) if errs else None,
            "seconds_per_audio_minute": round(seconds[t] / max(total_min, 1e-9), 2),
        }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "pieces": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
