"""Hard beat-tracking material with exactly known beats: General MIDI arrangements
(:mod:`mv2desc.midi_music`) edited the ways real songs defeat beat trackers, rendered with FluidSynth.

Cases (``CASES``), each from a seeded :func:`mv2desc.midi_music.random_spec`:

* ``no_drums``: a pop / rock / funk / folk / electronic song, 90-140 BPM, drum track removed;
* ``rubato``: tempo varying smoothly (a sine of 6-12 % depth over 12-28 beats, new tempo every beat);
* ``tempo_step``: one step change at mid-song (x 0.8, 0.85, 1.2 or 1.25);
* ``half_time``: notated at 120-150 BPM (bass, chords, lead on that grid) while the kit plays a
  half-time feel (kick on 1, snare on 3 only, soft hats on the notated beats): the feel is 60-75 BPM.
  **The reference is the notated beat** (120-150 BPM); tracking the felt 60-75 BPM pulse is an
  octave error: F-measure counts it as about 0.67 at best, CMLt low, AMLt still 1;
* ``metal``: metal, 160-190 BPM, overdriven / distortion guitars (GM 29 / 30) for chords and lead,
  energy 0.75-0.95, the chords picked in 16th-note tremolo and the kit playing a blast beat (kick on
  every 16th, snare on every off-beat eighth): onsets everywhere, the beat only in the accents;
* ``slow``: ballad / ambient / orchestral at 55-70 BPM, energy 0.15-0.35, no drums, the chords
  broken into eighths (a double-time trap) and a gentle rubato (3-6 %).

Every note (drums included) is shifted by a random human timing error (Gaussian, ``jitter_ms`` = 10 ms).

The control case ``plain`` is an unedited :func:`~mv2desc.midi_music.random_spec` song (any genre),
only humanised: a fix for the hard cases must not cost anything there.

The truth is the beat grid of the MIDI tempo map (``beat_times``): beat ``k`` of the arrangement lies
where the tempo map puts tick ``k * TICKS_PER_BEAT``. Rendered songs are cached as FLAC plus a JSON
truth file under ``work_dir``, keyed by a hash of everything that makes them.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from mv2desc.midi_music import ArrangementSpec, Note, arrange, random_spec, render_midi, to_midi
from mv2desc.midi_music.arrange import CRASH, GENERATOR_VERSION, HAT, KICK, RIDE, SNARE
from mv2desc.midi_music.midi import TICKS_PER_BEAT

MATERIAL_VERSION = 2  # bump when the same case and seed would give different audio
CASES = ("no_drums", "rubato", "tempo_step", "half_time", "metal", "slow")
CONTROL = "plain"  # an unedited random_spec song (any genre, drums kept): what the hard cases must not cost
SAMPLE_RATE = 44100


@dataclass(frozen=True)
class Piece:
    """One hard piece: its case, the spec it was arranged from, and the tempo map (one tempo per beat)."""

    case: str
    seed: int
    spec: ArrangementSpec
    beat_bpm: tuple[float, ...]  # the tempo of beat k, for every beat of the arrangement
    drums: str  # "keep", "none", "half_time" or "blast"
    programs: tuple[tuple[str, int], ...]  # part -> GM program overrides
    subdivide: tuple[tuple[str, float], ...] = ()  # (part, step in beats): its notes repeated every step
    jitter_ms: float = 10.0  # standard deviation of every note's timing error

    @property
    def beat_times(self) -> np.ndarray:
        """Onset of every beat (seconds) under the tempo map; one more than beats (the end)."""
        return np.concatenate([[0.0], np.cumsum(60.0 / np.asarray(self.beat_bpm))])

    @property
    def duration_s(self) -> float:
        return float(self.beat_times[-1])

    def key(self) -> str:
        payload = {"piece": asdict(self), "generator": GENERATOR_VERSION, "material": MATERIAL_VERSION}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _spec(case: str, seed: int, duration_s: float) -> ArrangementSpec:
    rng = random.Random(f"beat-material-{case}-{seed}")
    if case == CONTROL:
        return random_spec(seed, duration_s=duration_s)
    if case == "no_drums":
        return random_spec(seed, duration_s=duration_s, genre=rng.choice(("pop", "rock", "funk", "folk", "electronic")),
                           tempo_bpm=rng.randint(90, 140))
    if case in ("rubato", "tempo_step"):
        return random_spec(seed, duration_s=duration_s, genre=rng.choice(("pop", "rock", "folk", "funk")), tempo_bpm=rng.randint(85, 135))
    if case == "half_time":
        return random_spec(seed, duration_s=duration_s, genre=rng.choice(("rock", "metal", "pop")), tempo_bpm=rng.randint(120, 150),
                           energy=round(rng.uniform(0.45, 0.8), 2))
    if case == "metal":
        return random_spec(seed, duration_s=duration_s, genre="metal", tempo_bpm=rng.randint(160, 190), energy=round(rng.uniform(0.75, 0.95), 2))
    if case == "slow":
        return random_spec(seed, duration_s=duration_s, genre=rng.choice(("ballad", "ambient", "orchestral")), tempo_bpm=rng.randint(55, 70),
                           energy=round(rng.uniform(0.15, 0.35), 2))
    raise ValueError(f"unknown case {case!r}; one of {CASES + (CONTROL,)}")


def _tempo_map(case: str, seed: int, bpm: float, n_beats: int) -> tuple[float, ...]:
    rng = random.Random(f"beat-material-tempo-{case}-{seed}")
    if case in ("rubato", "slow"):
        lo, hi = (0.06, 0.12) if case == "rubato" else (0.03, 0.06)
        depth, period, phase = rng.uniform(lo, hi), rng.uniform(12, 28), rng.uniform(0, 2 * math.pi)
        return tuple(bpm * (1 + depth * math.sin(2 * math.pi * k / period + phase)) for k in range(n_beats))
    if case == "tempo_step":
        ratio = rng.choice((0.8, 0.85, 1.2, 1.25))
        switch = 4 * (n_beats // 8)  # on a bar line near mid-song
        return tuple(bpm if k < switch else bpm * ratio for k in range(n_beats))
    return tuple(bpm for _ in range(n_beats))


def make_piece(case: str, seed: int, duration_s: float = 40.0) -> Piece:
    """The piece of ``case`` and ``seed``, about ``duration_s`` long."""
    spec = _spec(case, seed, duration_s)
    n_beats = int(math.ceil(duration_s / spec.beat_s - 1e-9))
    drums = {"no_drums": "none", "slow": "none", "half_time": "half_time", "metal": "blast"}.get(case, "keep")
    programs: tuple[tuple[str, int], ...] = ()
    subdivide: tuple[tuple[str, float], ...] = ()
    if case == "metal":
        rng = random.Random(f"beat-material-programs-{seed}")
        programs = (("chords", rng.choice((29, 30))), ("lead", 30))
        subdivide = (("chords", 0.25),)
    elif case == "slow":
        subdivide = (("chords", 0.5),)
    return Piece(case, seed, spec, _tempo_map(case, seed, spec.tempo_bpm, n_beats), drums, programs, subdivide)


def _half_time_drums(n_beats: int, velocity: int) -> list[Note]:
    out = []
    for bar in range(0, n_beats, 4):
        out.append(Note("drums", KICK, float(bar), 0.25, velocity))
        if bar + 2 < n_beats:
            out.append(Note("drums", SNARE, bar + 2.0, 0.25, velocity))
        out += [Note("drums", HAT, float(b), 0.25, max(1, velocity // 3)) for b in range(bar, min(bar + 4, n_beats))]
    return out


def _blast_drums(n_beats: int, velocity: int) -> list[Note]:
    out = [Note("drums", KICK, k / 4, 0.2, max(1, velocity * 3 // 4)) for k in range(4 * n_beats)]
    out += [Note("drums", SNARE, k + 0.5, 0.2, velocity) for k in range(n_beats)]
    out += [Note("drums", CRASH if k % 4 == 0 else RIDE, float(k), 0.5, velocity) for k in range(n_beats)]
    return out


def _subdivided(notes: list[Note], part: str, step: float) -> list[Note]:
    """``part``'s notes longer than ``step`` repeated every ``step`` beats (tremolo, broken chords)."""
    out = []
    for n in notes:
        if n.part != part or n.dur <= step:
            out.append(n)
            continue
        k = int(n.dur / step + 1e-9)
        out += [Note(n.part, n.pitch, n.start + i * step, step * 0.9, n.velocity) for i in range(k)]
    return out


def _jittered(notes: list[Note], beat_bpm: tuple[float, ...], jitter_ms: float, seed: int) -> list[Note]:
    """Every note moved by a Gaussian timing error of ``jitter_ms`` (converted to beats at its local tempo)."""
    rng = np.random.default_rng(seed)
    out = []
    for n in notes:
        bpm = beat_bpm[min(int(n.start), len(beat_bpm) - 1)]
        shift = rng.normal(0.0, jitter_ms / 1000.0) * bpm / 60.0
        out.append(replace(n, start=max(0.0, n.start + shift)))
    return out


def midi_bytes(piece: Piece) -> bytes:
    """The piece as a Standard MIDI File: the arrangement's notes (drums edited), a tempo event per beat."""
    import io

    import mido

    arr = arrange(piece.spec)
    notes = [n for n in arr.notes if n.part != "drums"] if piece.drums != "keep" else list(arr.notes)
    programs = dict(arr.programs)
    if piece.drums == "none":
        programs.pop("drums", None)
    elif piece.drums == "half_time":
        notes += _half_time_drums(len(piece.beat_bpm), int(np.clip(40 + 80 * piece.spec.energy, 1, 127)))
        programs.setdefault("drums", 0)
    elif piece.drums == "blast":
        notes += _blast_drums(len(piece.beat_bpm), int(np.clip(40 + 80 * piece.spec.energy, 1, 127)))
        programs.setdefault("drums", 16)
    for part, step in piece.subdivide:
        notes = _subdivided(notes, part, step)
    if piece.jitter_ms > 0:
        notes = _jittered(notes, piece.beat_bpm, piece.jitter_ms, piece.seed)
    programs.update(dict(piece.programs))
    mid = to_midi(replace(arr, notes=tuple(notes), programs=programs))
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    last = 0  # beat of the previous tempo event
    for k, bpm in enumerate(piece.beat_bpm):
        if k == 0 or bpm != piece.beat_bpm[k - 1]:
            meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=(k - last) * TICKS_PER_BEAT))
            last = k
    meta.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks[0] = meta
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def truth(piece: Piece) -> dict:
    """Beats and downbeats (seconds) up to the end of the audio, the notated tempo map and the case."""
    t = piece.beat_times[:-1]
    return {"case": piece.case, "seed": piece.seed, "genre": piece.spec.genre, "tempo_bpm": piece.spec.tempo_bpm,
            "min_bpm": min(piece.beat_bpm), "max_bpm": max(piece.beat_bpm), "duration_s": piece.duration_s,
            "beats_s": [round(float(x), 6) for x in t], "downbeats_s": [round(float(x), 6) for x in t[::4]]}


def render_piece(piece: Piece, work_dir: str | Path, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, dict]:
    """``(audio (n,) float32 at sample_rate, truth)``, from ``work_dir``'s cache when rendered before."""
    import soundfile as sf

    work = Path(work_dir)
    base = work / f"{piece.case}-{piece.seed}-{piece.key()}-{sample_rate}"
    flac, meta = base.with_suffix(".flac"), base.with_suffix(".json")
    if flac.is_file() and meta.is_file():
        y, _ = sf.read(str(flac), dtype="float32")
        return y, json.loads(meta.read_text())
    work.mkdir(parents=True, exist_ok=True)
    spec = replace(piece.spec, duration_s=round(piece.duration_s, 6))
    y = render_midi(midi_bytes(piece), spec, sample_rate)
    t = truth(piece)
    tmp = base.with_suffix(".tmp.flac")
    sf.write(str(tmp), y, sample_rate, format="FLAC", subtype="PCM_16")
    tmp.rename(flac)
    meta.write_text(json.dumps(t) + "\n")
    y, _ = sf.read(str(flac), dtype="float32")
    return y, t


def material(work_dir: str | Path, *, cases: tuple[str, ...] = CASES, seeds: tuple[int, ...] = (0, 1, 2),
             duration_s: float = 40.0) -> list[tuple[np.ndarray, dict]]:
    """Every (case, seed) piece rendered (or read from the cache): ``[(audio, truth), ...]``."""
    return [render_piece(make_piece(c, s, duration_s), work_dir) for c in cases for s in seeds]
