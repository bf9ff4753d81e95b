"""The audio cues of each segment that a renderer may use: energy, onsets and beats (seconds from the
segment's start), from the pipeline's one :class:`~mv2desc.song.Song`: its one onset detection, its one
loudness curve and the same beats as the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mv2desc.beats import MusicBeats
from mv2desc.song import Song


@dataclass(frozen=True)
class SegmentCues:
    """Energy 0..1 (relative to the song's segments), onsets and beats inside one segment."""

    energy: float
    onsets_s: tuple[float, ...]
    beats_s: tuple[float, ...]


def segment_cues(song: Song, beats: MusicBeats, spans: list[tuple[float, float]]) -> list[SegmentCues]:
    """One :class:`SegmentCues` per ``(start_s, end_s)``; times rounded to ms (stable cache keys).

    A segment's level is the mean of the song's loudness curve over it (:meth:`Song.loudness`: mean
    frame RMS in dBFS, the quantity the describer's energy classes bin); its energy is half that level
    on an absolute scale (-40 dBFS -> 0, -5 dBFS -> 1), half its place between the quietest and the
    loudest segment.
    """
    onsets = song.onsets_s()
    loudness = song.loudness()
    levels_a = np.array([loudness.level_db(a, b) for a, b in spans])
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
