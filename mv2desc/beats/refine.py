"""A second look at a beat grid's phase: is it on the beat, or half a beat off?

madmom's DBN follows its network's beat activation, and dense, evenly loud textures mislead that
network: under a metal blast beat (kick on every 16th, snare on every off-beat eighth, tremolo
guitars) it locks on the off-beats, at the right tempo (``benchmarks/bench_beats_hard.py``, case
``metal``: F 0.00, AMLt 0.99). The activation cannot tell the two phases apart; harmony can. Chords
change on the beat, mostly on the bar line, so along a grid the chroma change measured over half a
beat on either side of every beat (:func:`chord_change`), folded by bar position
(:func:`bar_contrast`), peaks at one bar phase when the grid is on the beat and is smeared when it is
half a beat off (the change then falls between two grid beats).

:func:`phase_evidence` compares the grid with the grid moved by half a beat, on two chroma front-ends
(STFT and constant-Q); the tracker moves the grid only when the moved one is clearly better
(``MusicBeatConfig.phase_ratio``), and then takes its downbeats from the chord changes too
(:func:`downbeats_of`).
"""

from __future__ import annotations

import numpy as np

CHROMA_RATE = 22050
CHROMA_HOP = 512


def chromas(y: np.ndarray, sr: int) -> list[np.ndarray]:
    """Two chroma views of ``y`` (mono at ``sr``): STFT and constant-Q, ``(12, frames)`` at ``CHROMA_HOP``."""
    import librosa

    return [librosa.feature.chroma_stft(y=y, sr=sr, hop_length=CHROMA_HOP), _constant_q(y, sr)]


def _constant_q(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=CHROMA_HOP)


def chroma_views(y: np.ndarray, sr: int) -> list[np.ndarray]:
    """:func:`chromas` of mono ``y`` at any rate ``sr`` (resampled to ``CHROMA_RATE`` first): what
    :func:`refine_phase` reads. It needs no beats, so it may run while the beats are tracked."""
    from mv2desc.media.audio import resample

    return chromas(resample(y, sr, CHROMA_RATE), CHROMA_RATE)


def constant_q_view(y: np.ndarray, sr: int) -> np.ndarray:
    """The constant-Q view of :func:`chroma_views` alone (the same computation, without the STFT view)."""
    from mv2desc.media.audio import resample

    return _constant_q(resample(y, sr, CHROMA_RATE), CHROMA_RATE)


def chord_change(chroma: np.ndarray, fps: float, beats: np.ndarray) -> np.ndarray:
    """Chord change at each beat: cosine distance between the mean chroma of the half beat before it and
    of the half beat after it (half the median beat period). Beats too close to an end get 0."""
    out = np.zeros(len(beats))
    if len(beats) < 2:
        return out
    n = chroma.shape[1]
    cum = np.concatenate([np.zeros((chroma.shape[0], 1)), np.cumsum(chroma, axis=1)], axis=1)
    half = float(np.median(np.diff(beats))) / 2
    for i, t in enumerate(beats):
        a, m, b = (int(np.clip(round(u * fps), 0, n)) for u in (t - half, t, t + half))
        if m - a < 2 or b - m < 2:
            continue
        p, q = cum[:, m] - cum[:, a], cum[:, b] - cum[:, m]
        out[i] = 1.0 - float(p @ q) / (np.linalg.norm(p) * np.linalg.norm(q) + 1e-9)
    return out


def bar_contrast(change: np.ndarray, period: int) -> tuple[float, int]:
    """``(score, phase)``: the largest mean chord change over the beats ``phase, phase + period, ...``."""
    if len(change) < 2 * period:
        return 0.0, 0
    scores = [float(change[p::period].mean()) for p in range(period)]
    best = int(np.argmax(scores))
    return scores[best], best


def midpoints(beats: np.ndarray) -> np.ndarray:
    """The grid moved by half a beat: the midpoints between consecutive beats."""
    return (beats[1:] + beats[:-1]) / 2


def _ratio(num: float, den: float) -> float:
    return float((num + 1e-4) / (den + 1e-4))


def phase_evidence(views: list[np.ndarray], fps: float, beats: np.ndarray, bar: int) -> float:
    """Geometric mean over ``views`` of bar-phase contrast(shifted grid) / contrast(grid)."""
    logs = [np.log(_ratio(bar_contrast(chord_change(c, fps, midpoints(beats)), bar)[0], bar_contrast(chord_change(c, fps, beats), bar)[0]))
            for c in views]
    return float(np.exp(np.mean(logs)))


def beats_per_bar(beats: np.ndarray, downbeats: np.ndarray, choices: tuple[int, ...]) -> int:
    """The bar length (in beats) of the tracker's downbeats: their median spacing in beats, among ``choices``."""
    if len(downbeats) < 2:
        return 4 if 4 in choices else choices[0]
    idx = np.searchsorted(beats, downbeats)
    m = int(round(float(np.median(np.diff(idx)))))
    return m if m in choices else (4 if 4 in choices else choices[0])


def downbeats_of(views: list[np.ndarray], fps: float, beats: np.ndarray, bar: int) -> np.ndarray:
    """Downbeats of ``beats``: every ``bar``-th beat from the bar phase with the largest chord change."""
    if len(beats) < 2 * bar:
        return np.zeros(0)
    change = np.mean([chord_change(c, fps, beats) for c in views], axis=0)
    return beats[bar_contrast(change, bar)[1]::bar]


def refine_phase(y: np.ndarray, sr: int, beats: np.ndarray, downbeats: np.ndarray, choices: tuple[int, ...],
                 threshold: float, views: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """``(beats, downbeats, evidence)``: the grid moved by half a beat when :func:`phase_evidence` of mono
    ``y`` at ``sr`` exceeds ``threshold``, else the grid as given. Grids under four bars stay as they are.
    ``views``: :func:`chroma_views` of ``y`` when computed already."""
    bar = beats_per_bar(beats, downbeats, choices)
    if len(beats) < 4 * bar:
        return beats, downbeats, 1.0
    views = views if views is not None else chroma_views(y, sr)
    fps = CHROMA_RATE / CHROMA_HOP
    evidence = phase_evidence(views, fps, beats, bar)
    if evidence <= threshold:
        return beats, downbeats, evidence
    moved = midpoints(beats)
    return moved, downbeats_of(views, fps, moved, bar), evidence
