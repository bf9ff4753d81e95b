"""The audio cues of each segment that a renderer may use: energy, onsets and beats (seconds from the
segment's start), from the same decode and the same beats as the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mv2desc.beats import MusicBeats


@dataclass(frozen=True)
class SegmentCues:
    """Energy 0..1 (relative to the song's segments), onsets and beats inside one segment."""

    energy: float
    onsets_s: tuple[float, ...]
    beats_s: tuple[float, ...]


def onset_times(y: np.ndarray, sr: int) -> np.ndarray:
    """Onset times (s) of mono ``y`` (librosa's detector)."""
    import librosa

    return np.asarray(librosa.onset.onset_detect(y=y, sr=sr, hop_length=512, units="time"), dtype=np.float64)


def segment_cues(y: np.ndarray, sr: int, beats: MusicBeats, spans: list[tuple[float, float]]) -> list[SegmentCues]:
    """One :class:`SegmentCues` per ``(start_s, end_s)``; times rounded to ms (stable cache keys)."""
    onsets = onset_times(y, sr)
    levels = []
    for a, b in spans:
        part = y[int(a * sr) : max(int(a * sr) + 1, int(b * sr))]
        levels.append(20 * np.log10(max(float(np.sqrt(np.mean(part.astype(np.float64) ** 2))), 1e-5)))
    levels_a = np.array(levels)
    lo, hi = float(levels_a.min()), float(levels_a.max())
    absolute = np.clip((levels_a + 40.0) / 35.0, 0.0, 1.0)  # -40 dBFS -> 0, -5 dBFS -> 1
    relative = (levels_a - lo) / (hi - lo) if hi - lo > 1.0 else np.full_like(levels_a, 0.5)
    energy = 0.5 * absolute + 0.5 * relative

    def inside(times: np.ndarray, a: float, b: float) -> tuple[float, ...]:
        t = times[(times >= a) & (times < b)] - a
        return tuple(round(float(x), 3) for x in t)

    return [
        SegmentCues(round(float(e), 3), inside(onsets, a, b), inside(np.asarray(beats.beats_s), a, b))
        for e, (a, b) in zip(energy, spans)
    ]
