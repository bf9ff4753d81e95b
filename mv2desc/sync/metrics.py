"""Sync metrics between visual beats and music beats: BAS in both conventions, BCS and BHS.

Written here because the conventions differ between papers and no maintained package implements
them; each function names its convention. All times in seconds.

* ``bas_visual`` (AIST++ / FACT convention): mean over **visual** beats of ``exp(-d² / 2σ²)``, ``d``
  the distance to the nearest music beat: "is each visual beat on a music beat?"
* ``bas_music`` (Bailando's code): mean over **music** beats of ``exp(-d² / 2σ²)``, ``d`` the distance
  to the nearest visual beat: "is each music beat covered by a visual beat?"
* ``bcs`` / ``bhs`` (D2M-GAN / MuVi): the timeline is cut into bins (1 s); a bin holds a music (visual)
  beat when at least one falls in it. BCS = bins with a visual beat / bins with a music beat;
  BHS = bins with both / bins with a music beat. BCS may exceed 1; BHS is in [0, 1].

σ defaults to :data:`BAS_SIGMA_S` (3 frames at 60 fps; also ``MetricConfig.sigma_s``'s default) and the
bins to :data:`BIN_S`. Empty inputs: BAS over an empty set is ``None``
(undefined, not 0), and BAS/BCS/BHS against an empty reference are 0.
"""

from __future__ import annotations

import numpy as np

BAS_SIGMA_S = 0.05  # seconds: 3 frames at 60 fps, as in AIST++/FACT and Bailando (the one place this width is written)
BIN_S = 1.0  # seconds: BCS/BHS bin length (D2M-GAN, MuVi)


def _nearest_distance(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``(len(x),)`` distance from each element of ``x`` to the nearest element of non-empty ``ref``."""
    ref = np.sort(np.asarray(ref, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64)
    if len(ref) == 1:
        return np.abs(x - ref[0])
    idx = np.clip(np.searchsorted(ref, x), 1, len(ref) - 1)
    return np.minimum(np.abs(x - ref[idx - 1]), np.abs(x - ref[idx]))


def _bas(over: np.ndarray, ref: np.ndarray, sigma_s: float) -> float | None:
    over = np.asarray(over, dtype=np.float64)
    if over.size == 0:
        return None
    if len(ref) == 0:
        return 0.0
    d = _nearest_distance(over, ref)
    return float(np.mean(np.exp(-(d**2) / (2 * sigma_s**2))))


def bas_visual(visual_s: np.ndarray, music_s: np.ndarray, sigma_s: float = BAS_SIGMA_S) -> float | None:
    """BAS over visual beats (AIST++/FACT): None without visual beats, 0 without music beats."""
    return _bas(visual_s, music_s, sigma_s)


def bas_music(visual_s: np.ndarray, music_s: np.ndarray, sigma_s: float = BAS_SIGMA_S) -> float | None:
    """BAS over music beats (Bailando's code): None without music beats, 0 without visual beats."""
    return _bas(music_s, visual_s, sigma_s)


def _bins(times: np.ndarray, bin_s: float, n_bins: int) -> np.ndarray:
    occupied = np.zeros(n_bins, dtype=bool)
    idx = np.floor(np.asarray(times, dtype=np.float64) / bin_s).astype(int)
    occupied[idx[(idx >= 0) & (idx < n_bins)]] = True
    return occupied


def bcs_bhs(visual_s: np.ndarray, music_s: np.ndarray, duration_s: float, bin_s: float = BIN_S) -> tuple[float, float]:
    """(BCS, BHS) over ``[0, duration_s)`` cut into ``bin_s`` bins; (0, 0) without music beats."""
    n_bins = max(1, int(np.ceil(duration_s / bin_s - 1e-9)))
    music = _bins(music_s, bin_s, n_bins)
    visual = _bins(visual_s, bin_s, n_bins)
    if not music.any():
        return 0.0, 0.0
    return float(visual.sum() / music.sum()), float((visual & music).sum() / music.sum())


def sync_scores(
    visual_s: np.ndarray, music_s: np.ndarray, duration_s: float, *, sigma_s: float = BAS_SIGMA_S, bin_s: float = BIN_S
) -> dict[str, float | None]:
    """All four figures, named by convention; beats outside ``[0, duration_s]`` are ignored."""
    v = np.asarray(visual_s, dtype=np.float64)
    m = np.asarray(music_s, dtype=np.float64)
    v = v[(v >= 0) & (v <= duration_s)]
    m = m[(m >= 0) & (m <= duration_s)]
    bcs, bhs = bcs_bhs(v, m, duration_s, bin_s)
    return {
        "bas_visual": bas_visual(v, m, sigma_s),
        "bas_music": bas_music(v, m, sigma_s),
        "bcs": bcs,
        "bhs": bhs,
        "n_visual_beats": int(v.size),
        "n_music_beats": int(m.size),
    }
