"""Songs whose structure is known exactly: distinct passages concatenated in a form such as ``ABABCB``.

Each passage is rendered by :func:`mv2desc.synth.render` (its own key, mode, tempo and energy, whole
bars of 4 beats), so the joins are bar lines and the true beats and downbeats are known; a repeat of a
passage is re-rendered with its own seed (the hi-hat noise differs, the music does not). Used by the
tests and by ``benchmarks/bench_structure.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mv2desc.beats import MusicBeats, tempo_from_beats
from mv2desc.synth import SongSpec, render

# Passages that differ in key, mode, tempo and energy (hi-hat density and loudness), as far as the generator allows.
PASSAGES: dict[str, SongSpec] = {
    "A": SongSpec(tempo_bpm=110.0, key="C", mode="major", energy=0.35),
    "B": SongSpec(tempo_bpm=124.0, key="F#", mode="minor", energy=0.8),
    "C": SongSpec(tempo_bpm=96.0, key="D#", mode="major", energy=0.15),
    "D": SongSpec(tempo_bpm=140.0, key="A", mode="minor", energy=0.6),
}


@dataclass(frozen=True)
class KnownSong:
    """A concatenated song: samples, rate, the form's letters, the true section spans and beats."""

    y: np.ndarray
    sr: int
    form: str
    spans: list[tuple[float, float]]
    beats: MusicBeats

    @property
    def boundaries_s(self) -> list[float]:
        return [a for a, _ in self.spans[1:]]


def known_song(form: str = "ABABCB", bars: int | dict[str, int] = 8, *, sr: int = 22050, seed: int = 0,
               passages: dict[str, SongSpec] | None = None) -> KnownSong:
    """Render ``form`` (one letter per section) from ``passages`` (default :data:`PASSAGES`), each
    section ``bars`` bars long (or ``bars[letter]``)."""
    passages = passages or PASSAGES
    pieces, spans, beats, downbeats = [], [], [], []
    t = 0.0
    for k, letter in enumerate(form):
        if letter not in passages:
            raise ValueError(f"no passage {letter!r}; known: {''.join(passages)}")
        n_bars = bars[letter] if isinstance(bars, dict) else bars
        spec = passages[letter]
        period = 60.0 / spec.tempo_bpm
        spec = replace(spec, duration_s=n_bars * 4 * period, seed=seed * 1000 + k)
        y = render(spec, sr)
        length = y.size / sr
        b = t + np.arange(n_bars * 4) * period
        beats.append(b)
        downbeats.append(b[::4])
        spans.append((t, t + length))
        pieces.append(y)
        t += length
    y = np.concatenate(pieces).astype(np.float32)
    all_beats = np.concatenate(beats)
    return KnownSong(y, sr, form, spans, MusicBeats(tempo_from_beats(all_beats), all_beats, np.concatenate(downbeats), "truth", y.size / sr))
