"""A spec -> an arrangement: the section plan and every note of drums, bass, chords, pad, lead (and timpani).

Deterministic (``random.Random`` seeded from the spec), 4/4 throughout, notes on a grid of beats so the
beat and downbeat times are exact. The key is made audible: every chord progression starts on the
tonic chord, the song's last bar is the tonic, the bass plays chord roots, the lead lands on chord
tones on the beat; a minor song's dominant is often the harmonic minor's major V (its raised seventh
is in no major scale of the same notes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from mv2desc.audio.key_estimate import PITCH_CLASSES
from mv2desc.midi_music.spec import SECTION_OFFSETS, ArrangementSpec
from mv2desc.midi_music.styles import STYLES, Style, instrument_name

GENERATOR_VERSION = 1  # bump when the same spec would give different notes

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# 4-bar progressions as scale degrees (0 = tonic), each starting on the tonic, none a relative-key
# progression in disguise (i-VI-III-VII would be vi-IV-I-V of the relative major); measured on 40
# random songs, progressions with two minor chords in a row (I-vi-ii-V) or, in natural minor, the
# relative major's dominant (VII) after VI were heard as the mediant or the relative key, so they are out
MAJOR_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (0, 3, 0, 4), (0, 3, 1, 4))
MINOR_PROGRESSIONS = ((0, 3, 4, 0), (0, 3, 0, 4), (0, 5, 4, 0), (0, 4, 0, 3))
HARMONIC_MINOR_PROGRESSIONS = MINOR_PROGRESSIONS + ((0, 5, 3, 4), (0, 6, 5, 4))  # with the major V these stay minor
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
PARTS = ("drums", "bass", "chords", "pad", "lead", "timpani")

# General MIDI percussion keys (channel 10)
KICK, STICK, SNARE, CLAP, HAT, PEDAL, OPEN, CRASH, RIDE, BELL = 36, 37, 38, 39, 42, 44, 46, 49, 51, 53
TOM_LO, TOM_MID, TOM_HI = 45, 47, 50

# (16th step, drum key, velocity scale) per family and level (0 soft .. 2 full)
_EIGHTHS = tuple(range(0, 16, 2))
_SIXTEENTHS = tuple(range(16))
_OFFBEATS = (2, 6, 10, 14)


def _hits(steps, key, scale):
    return [(s, key, scale) for s in steps]


DRUM_PATTERNS: dict[str, tuple[list, list, list]] = {
    "rock": (
        _hits((0, 8), KICK, 0.9) + _hits((4, 12), STICK, 0.8) + _hits((0, 4, 8, 12), HAT, 0.55),
        _hits((0, 8), KICK, 1.0) + _hits((10,), KICK, 0.8) + _hits((4, 12), SNARE, 0.95) + [(s, HAT, 0.7 if s % 4 == 0 else 0.5) for s in _EIGHTHS],
        _hits((0, 8), KICK, 1.0) + _hits((3, 10), KICK, 0.8) + _hits((4, 12), SNARE, 1.0)
        + [(s, HAT, 0.75 if s % 4 == 0 else 0.55) for s in _EIGHTHS if s != 14] + _hits((14,), OPEN, 0.6),
    ),
    "metal": (
        _hits((0, 8), KICK, 0.9) + _hits((4, 12), SNARE, 0.9) + _hits(_EIGHTHS, HAT, 0.55),
        _hits((0, 2, 8, 10), KICK, 0.9) + _hits((4, 12), SNARE, 1.0) + _hits((0, 4, 8, 12), RIDE, 0.7),
        _hits(_SIXTEENTHS, KICK, 0.8) + _hits((4, 12), SNARE, 1.0) + _hits((0, 4, 8, 12), BELL, 0.7),
    ),
    "four": (  # off-beat hats stay soft: loud ones pulled the beat tracker half a beat late on 2 of 8 songs
        _hits((0, 4, 8, 12), KICK, 0.9) + _hits(_OFFBEATS, HAT, 0.3),
        _hits((0, 4, 8, 12), KICK, 1.0) + _hits((4, 12), CLAP, 0.8) + _hits(_OFFBEATS, OPEN, 0.3),
        _hits((0, 4, 8, 12), KICK, 1.0) + _hits((4, 12), CLAP, 0.9) + _hits(_OFFBEATS, OPEN, 0.33)
        + _hits([s for s in _SIXTEENTHS if s % 2], HAT, 0.24),
    ),
    "hiphop": (
        _hits((0, 10), KICK, 0.9) + _hits((4, 12), SNARE, 0.8) + _hits(_EIGHTHS, HAT, 0.45),
        _hits((0, 7, 10), KICK, 1.0) + _hits((4, 12), SNARE, 0.95) + _hits(_EIGHTHS, HAT, 0.55),
        _hits((0, 3, 7, 10), KICK, 1.0) + _hits((4, 12), SNARE, 1.0) + [(s, HAT, 0.55 if s % 2 == 0 else 0.35) for s in _SIXTEENTHS],
    ),
    "funk": (
        _hits((0, 10), KICK, 0.9) + _hits((4, 12), SNARE, 0.85) + _hits(_EIGHTHS, HAT, 0.5),
        _hits((0, 3, 10), KICK, 1.0) + _hits((4, 12), SNARE, 1.0) + _hits((7, 9), SNARE, 0.3)
        + [(s, HAT, 0.6 if s % 2 == 0 else 0.4) for s in _SIXTEENTHS],
        _hits((0, 3, 6, 10), KICK, 1.0) + _hits((4, 12), SNARE, 1.0) + _hits((7, 9, 15), SNARE, 0.35)
        + [(s, HAT, 0.65 if s % 2 == 0 else 0.45) for s in _SIXTEENTHS if s != 14] + _hits((14,), OPEN, 0.6),
    ),
    "swing": (
        _hits((0, 4, 6, 8, 12, 14), RIDE, 0.55) + _hits((4, 12), PEDAL, 0.5),
        _hits((0, 4, 6, 8, 12, 14), RIDE, 0.65) + _hits((4, 12), PEDAL, 0.55) + _hits((0, 8), KICK, 0.4),
        _hits((0, 4, 6, 8, 12, 14), RIDE, 0.75) + _hits((4, 12), PEDAL, 0.6) + _hits((0, 8), KICK, 0.5) + _hits((7, 14), SNARE, 0.45),
    ),
    "brush": (
        _hits((4, 12), STICK, 0.7) + _hits((0, 4, 8, 12), HAT, 0.45),
        _hits((0, 8), KICK, 0.8) + _hits((4, 12), SNARE, 0.75) + _hits(_EIGHTHS, HAT, 0.45),
        _hits((0, 8, 10), KICK, 0.9) + _hits((4, 12), SNARE, 0.9) + _hits(_EIGHTHS, HAT, 0.55),
    ),
    "ambient": (
        [],
        _hits((0, 8), KICK, 0.6) + _hits(_OFFBEATS, HAT, 0.35),
        _hits((0, 8), KICK, 0.8) + _hits((12,), CLAP, 0.6) + _hits(_EIGHTHS, HAT, 0.4),
    ),
    "none": ([], [], []),
}
_FILL = [(12, SNARE, 0.8), (13, SNARE, 0.7), (14, TOM_HI, 0.85), (14, KICK, 0.8), (15, TOM_LO, 0.9)]


@dataclass(frozen=True)
class Note:
    part: str
    pitch: int
    start: float  # beats from the song's start
    dur: float  # beats
    velocity: int


@dataclass(frozen=True)
class Section:
    label: str
    start_bar: int
    bars: int
    energy: float
    start_s: float
    end_s: float

    def to_dict(self) -> dict:
        return {"label": self.label, "start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6), "energy": self.energy,
                "start_bar": self.start_bar, "bars": self.bars}


@dataclass(frozen=True)
class Arrangement:
    """Every note of a song and its ground truth (:meth:`truth`)."""

    spec: ArrangementSpec
    sections: tuple[Section, ...]
    notes: tuple[Note, ...]
    programs: dict  # part -> GM program (drums: the kit)
    progressions: dict  # section label -> scale degrees, one per bar
    harmonic_minor: bool

    @property
    def beat_times_s(self) -> np.ndarray:
        n = int(np.ceil(self.spec.duration_s / self.spec.beat_s - 1e-9))
        return np.arange(n) * self.spec.beat_s

    @property
    def downbeat_times_s(self) -> np.ndarray:
        return self.beat_times_s[::4]

    def section_at(self, t_s: float) -> Section:
        return next((s for s in self.sections if s.start_s <= t_s < s.end_s), self.sections[-1])

    def truth(self) -> dict:
        """What the audio is, exactly: JSON-ready."""
        s = self.spec
        return {
            "generator": "midi", "generator_version": GENERATOR_VERSION,
            "tempo_bpm": s.tempo_bpm, "key": s.key, "mode": s.mode, "energy": s.energy, "genre": s.genre,
            "duration_s": s.duration_s, "time_signature": "4/4", "seed": s.seed,
            "sections": [x.to_dict() for x in self.sections],
            "beat_times_s": [round(float(t), 6) for t in self.beat_times_s],
            "downbeat_times_s": [round(float(t), 6) for t in self.downbeat_times_s],
            "instruments": {p: instrument_name(g, drums=p == "drums") for p, g in self.programs.items()},
            "progressions": {label: [_roman(d, s.mode, self.harmonic_minor) for d in degs] for label, degs in self.progressions.items()},
        }


def _roman(degree: int, mode: str, harmonic: bool) -> str:
    third = _third_quality(degree, mode, harmonic)
    r = ROMAN[degree]
    return r if third == 4 else r.lower()


def _scale(mode: str) -> tuple[int, ...]:
    return MAJOR_SCALE if mode == "major" else MINOR_SCALE


def _chord(degree: int, mode: str, harmonic: bool, seventh: bool) -> list[int]:
    """Semitones above the tonic of the diatonic chord on ``degree`` (root first; may exceed 12)."""
    sc = _scale(mode)
    tones = [sc[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in ((0, 2, 4, 6) if seventh else (0, 2, 4))]
    if harmonic and mode == "minor" and degree == 4:
        tones[1] += 1  # the harmonic minor's major V: its third is the raised seventh (leading tone)
    return tones


def _third_quality(degree: int, mode: str, harmonic: bool) -> int:
    t = _chord(degree, mode, harmonic, False)
    return t[1] - t[0]


def _place(pc: int, lo: int) -> int:
    """The pitch of pitch class ``pc`` in [lo, lo + 12)."""
    return lo + (pc - lo) % 12


def _level(energy: float) -> int:
    return 0 if energy < 0.35 else 1 if energy < 0.7 else 2


def _velocity(energy: float, scale: float, rng: random.Random) -> int:
    return int(np.clip(round((34 + 88 * energy) * scale + rng.uniform(-4, 4)), 1, 127))


def plan_sections(spec: ArrangementSpec, rng: random.Random) -> tuple[Section, ...]:
    """The form: ``spec.sections`` if given, else intro / verse / chorus (/ bridge) / outro sized to the song."""
    n_bars = max(1, int(np.ceil(spec.duration_s / spec.bar_s - 1e-9)))
    if spec.sections:
        plan = [(s.label, s.bars, s.energy) for s in spec.sections]
    else:
        plan = [(label, bars, float(np.clip(round(spec.energy + SECTION_OFFSETS[label], 3), 0.0, 1.0)))
                for label, bars in _auto_form(n_bars, rng)]
    out, bar = [], 0
    for i, (label, bars, energy) in enumerate(plan):
        if bar >= n_bars:
            break
        bars = n_bars - bar if i == len(plan) - 1 else min(bars, n_bars - bar)  # the last section reaches the end
        out.append(Section(label, bar, bars, energy, bar * spec.bar_s, min((bar + bars) * spec.bar_s, spec.duration_s)))
        bar += bars
    return tuple(out)


def _auto_form(n_bars: int, rng: random.Random) -> list[tuple[str, int]]:
    if n_bars <= 3:
        return [("verse", n_bars)]
    intro = 1 if n_bars < 10 else rng.choice((1, 2)) if n_bars < 20 else 2 if n_bars < 40 else 4
    outro = 0 if n_bars < 6 else intro
    middle = n_bars - intro - outro
    unit = 2 if middle < 12 else 4 if middle < 48 else 8
    k = max(1, middle // unit)
    lengths = [unit] * k
    lengths[-1] += middle - unit * k
    cycle = ["verse", "chorus", "verse", "chorus", rng.choice(("bridge", "verse")), "chorus"]
    labels = [cycle[i] if i < len(cycle) else "chorus" for i in range(k)]
    form = [("intro", intro)] + list(zip(labels, lengths)) + ([("outro", outro)] if outro else [])
    return form


def arrange(spec: ArrangementSpec) -> Arrangement:
    """Every note of the song ``spec`` describes, and its ground truth."""
    rng = random.Random(f"midi-arrange-{spec.canonical_json()}")
    style = STYLES[spec.genre]
    sections = plan_sections(spec, rng)
    harmonic = spec.mode == "minor" and spec.genre not in ("rock", "metal") and rng.random() < 0.7
    progs_pool = MAJOR_PROGRESSIONS if spec.mode == "major" else HARMONIC_MINOR_PROGRESSIONS if harmonic else MINOR_PROGRESSIONS
    progressions: dict[str, tuple[int, ...]] = {}
    for label in ("verse", "chorus", "bridge"):
        progressions[label] = rng.choice(progs_pool)
    progressions["intro"] = progressions["verse"]
    progressions["outro"] = progressions["chorus"]
    programs = {
        "drums": style.kit, "bass": rng.choice(style.bass), "chords": rng.choice(style.chords),
        "pad": rng.choice(style.pad) if style.pad else None, "lead": rng.choice(style.lead), "timpani": 47 if style.timpani else None,
    }
    tonic = PITCH_CLASSES.index(spec.key)
    n_bars = sum(s.bars for s in sections)
    # below 90 BPM the soft textures keep their pulse on the beat (eighth-note arpeggios and hats would be
    # heard, by listeners and beat trackers alike, as a song at twice the tempo)
    slow = spec.tempo_bpm < 90
    notes: list[Note] = []
    for si, sec in enumerate(sections):
        level = _level(sec.energy)
        last_section = si == len(sections) - 1
        prog = progressions[sec.label]
        for b in range(sec.bars):
            bar = sec.start_bar + b
            degree = 0 if bar == n_bars - 1 else prog[b % len(prog)]
            chord = [tonic + t for t in _chord(degree, spec.mode, harmonic, style.sevenths)]
            next_degree = 0 if bar + 1 >= n_bars - 1 else prog[(b + 1) % len(prog)] if b + 1 < sec.bars else degree
            next_root = tonic + _chord(next_degree, spec.mode, harmonic, False)[0]
            t0 = 4.0 * bar
            fill = level >= 1 and b == sec.bars - 1 and not last_section and sec.bars >= 2
            crash = level >= 1 and b == 0 and sec.label in ("chorus", "bridge", "verse") and style.drums not in ("swing", "none", "ambient")
            notes += _drums(style, level, sec.energy, t0, fill, crash, slow, rng)
            notes += _bass(style, level, sec.energy, t0, chord, next_root, tonic, spec.mode, harmonic, rng)
            notes += _comp(style, level, sec.energy, t0, chord, slow, rng)
            if style.pad and (style.pad_always or sec.label == "chorus" or (sec.label == "bridge" and level >= 1)):
                notes += [Note("pad", _place(pc % 12, 60), t0, 4.0, _velocity(sec.energy, 0.7, rng)) for pc in chord[:3]]
            if style.timpani and level >= 1:
                notes += _timpani(level, sec.energy, t0, chord, fill, rng)
        if sec.label in ("verse", "chorus", "bridge") or (sec.label == "outro" and level >= 1):
            notes += _lead(spec, style, sec, tonic, harmonic, progressions, n_bars)
    notes = _clip_to_song(notes, spec)
    programs = {p: g for p, g in programs.items() if g is not None and any(n.part == p for n in notes)}
    return Arrangement(spec, sections, tuple(notes), programs, {k: progressions[k] for k in sorted({s.label for s in sections})}, harmonic)


def _clip_to_song(notes: list[Note], spec: ArrangementSpec) -> list[Note]:
    end = spec.duration_s / spec.beat_s
    out = []
    for n in notes:
        if n.start < end - 1e-9:
            out.append(n if n.start + n.dur <= end else Note(n.part, n.pitch, n.start, end - n.start, n.velocity))
    return out


def _swung(step: int, swing: float) -> float:
    """A 16th step in beats, the off-beat eighths (and their 16ths) delayed by ``swing``."""
    beat = step / 4.0
    if swing and step % 4 == 2:
        beat += swing * 0.5
    elif swing and step % 2 == 1:
        beat += swing * 0.25
    return beat


def _drums(style: Style, level: int, energy: float, t0: float, fill: bool, crash: bool, slow: bool, rng: random.Random) -> list[Note]:
    if style.kit is None:
        return []
    hits = list(DRUM_PATTERNS[style.drums][level])
    if slow and style.drums in ("brush", "ambient"):
        hits = [h for h in hits if h[0] % 4 == 0 or h[1] not in (HAT, OPEN)]
    if fill and style.drums not in ("swing", "ambient", "none"):
        hits = [h for h in hits if h[0] < 12 or h[1] in (HAT, RIDE, BELL)] + _FILL
    if crash:
        hits = [h for h in hits if h[0] != 0 or h[1] not in (HAT, OPEN, RIDE, BELL)] + [(0, CRASH, 0.9)]
    return [Note("drums", key, t0 + _swung(step, style.swing), 0.25, _velocity(energy, scale, rng)) for step, key, scale in hits]


def _bass(style: Style, level: int, energy: float, t0: float, chord: list[int], next_root: int, tonic: int, mode: str,
          harmonic: bool, rng: random.Random) -> list[Note]:
    r = _place(chord[0] % 12, 28)
    f, o = r + 7, r + 12
    third = _place(chord[1] % 12, r)
    s = style.bass_style
    if s == "roots":
        pat = [[(0, r, 2), (2, r, 2)], [(0, r, 1), (1, r, 1), (2, f, 1), (3, r, 1)], [(i / 2, r if i % 4 else o, 0.5) for i in range(8)]][level]
    elif s == "eighths":
        pat = [[(0, r, 2), (2, r, 2)], [(i / 2, r, 0.45) for i in range(8)], [(i / 2, o if i == 7 else r, 0.45) for i in range(8)]][level]
    elif s == "octaves":
        pat = [[(0, r, 4)], [(x / 4, r, 0.4) for x in _OFFBEATS], [(i / 2, o if i % 2 else r, 0.4) for i in range(8)]][level]
    elif s == "syncopated":
        pat = [[(0, r, 1), (2.5, r, 1)],
               [(0, r, 0.45), (0.75, o, 0.2), (1.5, r, 0.25), (2, f, 0.45), (2.5, r, 0.45), (3.25, o, 0.2), (3.5, third, 0.25)],
               [(0, r, 0.45), (0.5, r, 0.2), (0.75, o, 0.2), (1.5, r, 0.25), (1.75, r, 0.2), (2, f, 0.45), (2.5, r, 0.45),
                (3, o, 0.2), (3.25, r, 0.2), (3.5, third, 0.25), (3.75, f, 0.2)]][level]
    elif s == "walking":
        scale = [(tonic + d) % 12 for d in _scale(mode)]
        nr = _place(next_root % 12, 28)
        approach = min((p for p in range(nr - 3, nr + 4) if p % 12 in scale and p != nr), key=lambda p: (abs(p - nr), -p))
        pat = [[(0, r, 2), (2, f, 2)], [(0, r, 1), (1, third, 1), (2, f, 1), (3, approach, 1)],
               [(0, r, 1), (1, third, 1), (2, f, 1), (3, approach, 0.6), (3.5 + style.swing * 0.5, approach, 0.4)]][level]
    elif s == "hiphop":
        pat = [[(0, r, 2.5)], [(0, r, 1.5), (1.75, r, 0.7), (2.5, f, 1.4)], [(0, r, 0.7), (0.75, o, 0.5), (1.75, r, 0.7), (2.5, f, 1.4)]][level]
    else:  # long
        pat = [[(0, r, 4)], [(0, r, 2), (2, r, 2)], [(0, r, 1), (1, r, 1), (2, f, 1), (3, r, 1)]][level]
    return [Note("bass", p, t0 + b, d, _velocity(energy, 0.95, rng)) for b, p, d in pat]


def _comp(style: Style, level: int, energy: float, t0: float, chord: list[int], slow: bool, rng: random.Random) -> list[Note]:
    c = style.comp
    voiced = sorted(_place(pc % 12, 55) for pc in chord)
    out: list[Note] = []

    def hit(beat: float, dur: float, pitches, scale: float = 0.85, spread: float = 0.0) -> None:
        v = _velocity(energy, scale, rng)
        for i, p in enumerate(pitches):
            out.append(Note("chords", p, t0 + beat + i * spread, max(0.05, dur - i * spread), v))

    if c == "power":
        r = _place(chord[0] % 12, 40)
        pitches = [r + i for i in style.power] + ([_place(chord[1] % 12, r + 12)] if style.power_third else [])
        rhythm = [[(0, 4)], [(i, 0.9) for i in range(4)], [(i / 2, 0.42) for i in range(8)]][level]
        for b, d in rhythm:
            hit(b, d, pitches)
    elif c == "block":
        rhythm = [[(0, 4)], [(0, 1.4), (1.5, 1.4), (3, 1)], [(s / 4, 0.45) for s in (0, 3, 6, 8, 11, 14)]][level]
        for b, d in rhythm:
            hit(b, d, voiced)
    elif c == "arpeggio":
        root = _place(chord[0] % 12, 48)
        tones = [root, root + (chord[2] - chord[0]), root + 12, root + 12 + (chord[1] - chord[0])]
        step = [1.0, 1.0 if slow else 0.5, 0.5][level]
        seq = tones + tones[1:3][::-1] if level == 2 else tones
        for i in range(int(4 / step)):
            b = i * step
            hit(b, 4 - b, [seq[i % len(seq)]], 0.75)
    elif c == "strum":
        r = _place(chord[0] % 12, 40)
        six = [r, r + 7, r + 12, _place(chord[1] % 12, r + 12), r + 19, r + 24]
        pattern = [[(0, True), (2, True)], [(0, True), (1, True), (1.5, False), (2.5, False), (3, True), (3.5, False)],
                   [(i / 2, i % 2 == 0) for i in range(8)]][level]
        for b, down in pattern:
            hit(b + (style.swing * 0.5 if b % 1 else 0), 1.0, six if down else six[::-1][:4], 0.8 if down else 0.6, spread=0.025)
    elif c == "stabs":
        steps = [(4, 12), _OFFBEATS, (0, 3, 6, 7, 10, 12, 14) if style.drums == "funk" else (2, 3, 6, 10, 11, 14)][level]
        for s in steps:
            hit(s / 4, 0.22, voiced, 0.8)
    elif c == "ostinato":
        rhythm = [[(i, 0.95) for i in range(4)], [(i / 2, 0.45) for i in range(8)], [(i / 4, 0.22) for i in range(16)]][level]
        for b, d in rhythm:
            hit(b, d, voiced, 0.75)
    elif c == "jazz":
        rhythm = [[(0, 3.8)], [(0, 1.4), (1.5 + style.swing * 0.5, 0.5)], [(0, 1.4), (1.5 + style.swing * 0.5, 0.5), (2.5 + style.swing * 0.5, 0.8)]][level]
        for b, d in rhythm:
            hit(b, d, voiced, 0.75)
    else:  # sustain
        hit(0, 4, voiced, 0.75)
    return out


def _timpani(level: int, energy: float, t0: float, chord: list[int], fill: bool, rng: random.Random) -> list[Note]:
    r = _place(chord[0] % 12, 41)
    out = [Note("timpani", r, t0, 1.0, _velocity(energy, 0.9, rng))]
    if level == 2:
        out.append(Note("timpani", _place((chord[0] + 7) % 12, 41), t0 + 2, 1.0, _velocity(energy, 0.8, rng)))
        if fill:
            out += [Note("timpani", r, t0 + 3 + i / 4, 0.25, _velocity(energy, 0.6 + 0.1 * i, rng)) for i in range(4)]
    return out


def _lead(spec: ArrangementSpec, style: Style, sec: Section, tonic: int, harmonic: bool, progressions: dict,
          n_bars: int) -> list[Note]:
    """A melody in 2-bar phrases; a label's phrases repeat (verse 2 sings verse 1's tune)."""
    level = _level(sec.energy)
    centre = {"verse": 69, "chorus": 74, "bridge": 71, "outro": 69}.get(sec.label, 70)
    durations = [(2.0, 1.0, 1.0, 1.5), (1.0, 1.0, 0.5, 0.5, 1.5), (0.5, 0.5, 0.5, 1.0, 0.25, 0.25)][level]
    prog = progressions[sec.label]
    out: list[Note] = []
    for ph in range(0, sec.bars, 2):
        prng = random.Random(f"lead-{spec.seed}-{sec.label}-{ph % 4}-{level}")
        rhythm, t = [], 0.0
        span = 4.0 * min(2, sec.bars - ph)
        while t < span - 1.0:  # the phrase breathes: a rest of at least a beat at its end
            d = prng.choice(durations)
            d = min(d, span - 1.0 - t)
            rhythm.append((t, d))
            t += d
        prev = centre
        for t, d in rhythm:
            bar = sec.start_bar + ph + int(t // 4)
            degree = 0 if bar == n_bars - 1 else prog[(ph + int(t // 4)) % len(prog)]
            chord_pcs = {(tonic + x) % 12 for x in _chord(degree, spec.mode, harmonic, False)}
            scale_pcs = {(tonic + x) % 12 for x in _scale(spec.mode)}
            if harmonic and degree == 4:
                scale_pcs = (scale_pcs - {(tonic + 10) % 12}) | {(tonic + 11) % 12}
            strong = abs(t - round(t)) < 1e-9
            pool = chord_pcs if strong else scale_pcs
            cands = [p for p in range(centre - 9, centre + 10) if p % 12 in pool]
            target = prev + prng.choice((-4, -2, -1, 0, 1, 2, 3, 5)) if strong else prev + prng.choice((-2, -1, 1, 2))
            target += (centre - prev) // 6  # drift back towards the section's register
            if t + d >= rhythm[-1][0] + rhythm[-1][1] - 1e-9 and chord_pcs & {tonic % 12, (tonic + _scale(spec.mode)[2]) % 12}:
                cands = [p for p in cands if p % 12 in {tonic % 12, (tonic + _scale(spec.mode)[2]) % 12}]  # a phrase ends at home
            pitch = min(cands, key=lambda p: (abs(p - target), p))
            accent = 1.0 if t % 4 == 0 else 0.9
            out.append(Note("lead", pitch, 4.0 * (sec.start_bar + ph) + t + (style.swing * 0.5 if (t % 1) == 0.5 else 0), d * 0.95,
                            _velocity(sec.energy, accent, prng)))
            prev = pitch
    return out

