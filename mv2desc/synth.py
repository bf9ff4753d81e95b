"""Procedural music with known tempo, key, mode and energy.

Used for the bundled example (the no-weights demo), for test fixtures and wherever a clip with an
exactly known answer is needed: kick on every beat, hi-hat on eighths (denser when energetic), a
bass line and a triad pad following I-IV-I-V (major) or i-iv-i-v (minor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mv2desc.audio.key_estimate import PITCH_CLASSES

_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Chord roots (scale degrees): I-IV-I-V and i-iv-i-v keep the tonic on half the bars, so the mode is audible
# (a minor progression built from the relative major's chords would be ambiguous).
_PROGRESSION = {"major": (0, 3, 0, 4), "minor": (0, 3, 0, 4)}


@dataclass(frozen=True)
class SongSpec:
    """What a synthetic song is: every field is recoverable from the audio."""

    tempo_bpm: float = 120.0
    key: str = "C"
    mode: str = "major"
    energy: float = 0.5  # 0 (soft, sparse) .. 1 (loud, dense)
    duration_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 40 <= self.tempo_bpm <= 240:
            raise ValueError(f"tempo_bpm must be in [40, 240], got {self.tempo_bpm}")
        if self.key not in PITCH_CLASSES:
            raise ValueError(f"key must be one of {PITCH_CLASSES}, got {self.key!r}")
        if self.mode not in ("major", "minor"):
            raise ValueError(f"mode must be 'major' or 'minor', got {self.mode!r}")
        if not 0.0 <= self.energy <= 1.0:
            raise ValueError(f"energy must be in [0, 1], got {self.energy}")


def beat_times(spec: SongSpec) -> np.ndarray:
    period = 60.0 / spec.tempo_bpm
    return np.arange(0.0, spec.duration_s - 1e-9, period)


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _tone(freq: float, n: int, sr: int, decay_s: float) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.exp(-t / decay_s)
    return (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)) * env


def render(spec: SongSpec, sr: int = 22050) -> np.ndarray:
    """Render ``spec`` to a mono float32 waveform of ``spec.duration_s`` seconds at :func:`level_db` RMS, peak < 0.98."""
    rng = np.random.default_rng(spec.seed)
    n = int(round(spec.duration_s * sr))
    y = np.zeros(n + sr, dtype=np.float64)
    period = 60.0 / spec.tempo_bpm
    beats = beat_times(spec)
    # kick: pitched-down sine burst on every beat, accent on the bar's first beat
    kick_n = int(0.12 * sr)
    kt = np.arange(kick_n) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-kt * 40)) * kt) * np.exp(-kt * 25)
    hat_n = int(0.03 * sr)
    for i, b in enumerate(beats):
        s = int(round(b * sr))
        y[s : s + kick_n] += (1.0 if i % 4 == 0 else 0.7) * kick
        subdivisions = 4 if spec.energy > 0.66 else 2 if spec.energy > 0.33 else 1
        for k in range(subdivisions):
            hs = int(round((b + k * period / subdivisions) * sr))
            hat = rng.standard_normal(hat_n) * np.exp(-np.arange(hat_n) / (0.006 * sr))
            y[hs : hs + hat_n] += 0.15 * spec.energy * hat
    # harmony: one chord per bar
    scale = _MAJOR_SCALE if spec.mode == "major" else _MINOR_SCALE
    tonic_midi = 48 + PITCH_CLASSES.index(spec.key)
    bar = 4 * period
    for j, start in enumerate(np.arange(0.0, spec.duration_s, bar)):
        degree = _PROGRESSION[spec.mode][j % 4]
        root = tonic_midi + scale[degree]
        third = tonic_midi + scale[(degree + 2) % 7] + (12 if degree + 2 >= 7 else 0)
        fifth = tonic_midi + scale[(degree + 4) % 7] + (12 if degree + 4 >= 7 else 0)
        s = int(round(start * sr))
        m = min(int(round(bar * sr)), y.size - s)
        for note in (root + 12, third + 12, fifth + 12):
            y[s : s + m] += 0.12 * _tone(_midi_hz(note), m, sr, decay_s=bar)
        for k in range(4):  # bass on each beat
            bs = int(round((start + k * period) * sr))
            bm = min(int(round(period * sr)), y.size - bs)
            if bm > 0:
                y[bs : bs + bm] += 0.25 * _tone(_midi_hz(root - 12), bm, sr, decay_s=period / 2)
    return _level(y[:n], spec.energy).astype(np.float32)


def level_db(energy: float) -> float:
    """The RMS level a song of ``energy`` is rendered at, dBFS: -30 (energy 0) .. -10 (energy 1), the range
    of real recordings from quiet acoustic to loud mastered pop, so that loudness tells energies apart."""
    return -30.0 + 20.0 * energy


def _level(y: np.ndarray, energy: float) -> np.ndarray:
    """``y`` at :func:`level_db` RMS, peaks soft-limited below 1 (as a mastering limiter would)."""
    target = 10 ** (level_db(energy) / 20)
    for _ in range(4):  # the limiter lowers the RMS a little: converge on the target
        rms = float(np.sqrt(np.mean(y**2))) or 1.0
        y = y * (target / rms)
        y = 0.98 * np.tanh(y / 0.98)
    return y
