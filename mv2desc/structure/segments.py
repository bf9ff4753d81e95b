"""Segments that follow sections: cut points prefer section boundaries and no segment straddles one.

``describe``'s segmenter (:func:`mv2desc.describe.segments.segment_song`) cuts the song on bar lines
``bounds`` (``[0, line_1, ..., duration]``, bar ``k`` = ``bounds[k]..bounds[k+1]``). Given the song's
sections, :func:`section_cut_indices` says which of those bar lines are section boundaries (each
boundary goes to its nearest bar line), and :func:`segments_within_sections` cuts every section on
its own, so every section boundary is a cut and a segment never holds two sections' music.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def section_cut_indices(bounds: np.ndarray, sections: Sequence) -> list[int]:
    """Indices into ``bounds`` of the section boundaries: ``0``, each inner boundary's nearest bar line,
    and ``len(bounds) - 1``, increasing and distinct. ``sections``: anything with ``start_s`` (in
    order), e.g. :attr:`mv2desc.structure.Structure.sections` (whose boundaries are downbeats, so with
    the same beats they are bar lines exactly)."""
    bounds = np.asarray(bounds, dtype=np.float64)
    n = len(bounds) - 1
    if n < 1:
        raise ValueError("bounds needs at least two times (one bar)")
    idx = {0, n}
    for sec in list(sections)[1:]:
        k = int(np.argmin(np.abs(bounds - float(sec.start_s))))
        if 0 < k < n:
            idx.add(k)
    return sorted(idx)


def _split(lo: int, hi: int, bounds: np.ndarray, min_bars: int, target_bars: int, max_bars: int, max_s: float) -> list[int]:
    """Cut indices (``lo`` .. ``hi`` inclusive) splitting bars ``lo..hi`` into segments as close to
    ``target_bars`` as the bounds allow (dynamic programming, squared relative length error)."""
    n = hi - lo
    cost = np.full(n + 1, np.inf)
    back = np.zeros(n + 1, dtype=int)
    cost[0] = 0.0
    for j in range(1, n + 1):
        for i in range(max(0, j - max_bars), j - min_bars + 1):
            if np.isfinite(cost[i]) and bounds[lo + j] - bounds[lo + i] <= max_s + 1e-9:
                c = cost[i] + ((j - i - target_bars) / target_bars) ** 2
                if c < cost[j]:
                    cost[j], back[j] = c, i
    if not np.isfinite(cost[n]):
        if n <= max_bars and bounds[hi] - bounds[lo] <= max_s + 1e-9:
            return [lo, hi]  # a section shorter than min_bars: one segment (section boundaries outrank min_bars)
        # too long for the bounds as they stand: even pieces of at most max_bars bars (and max_s where bars allow)
        pieces = max(int(np.ceil(n / max_bars)), int(np.ceil((bounds[hi] - bounds[lo]) / max_s)), 1)
        pieces = min(pieces, n)
        return sorted({lo + int(round(k * n / pieces)) for k in range(pieces + 1)})
    cuts = [n]
    while cuts[-1] > 0:
        cuts.append(int(back[cuts[-1]]))
    return [lo + c for c in cuts[::-1]]


def segments_within_sections(bounds: np.ndarray, sections: Sequence, *, min_bars: int = 4, target_bars: int = 8,
                             max_bars: int = 16, max_s: float = 30.0) -> list[tuple[int, int]]:
    """``[(a, b), ...]``: segments as index pairs into ``bounds`` (bars ``a..b-1``), end to end, every
    section boundary a cut (:func:`section_cut_indices`), each section cut on its own into segments of
    ``min_bars``..``max_bars`` bars and at most ``max_s`` seconds, as close to ``target_bars`` as
    possible. A section shorter than ``min_bars`` is one segment; one too long for the bounds is cut
    into even pieces."""
    if not 1 <= min_bars <= target_bars <= max_bars:
        raise ValueError(f"need 1 <= min_bars <= target_bars <= max_bars, got {min_bars}, {target_bars}, {max_bars}")
    bounds = np.asarray(bounds, dtype=np.float64)
    edges = section_cut_indices(bounds, sections)
    cuts: list[int] = [0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        cuts += _split(lo, hi, bounds, min_bars, target_bars, max_bars, max_s)[1:]
    return list(zip(cuts[:-1], cuts[1:]))


def straddles(segments: Sequence, sections: Sequence, tol_s: float = 1e-6) -> list[int]:
    """Indices of the segments (anything with ``start_s``/``end_s``, or pairs) that hold a section
    boundary strictly inside them: empty when the segments follow the sections."""
    inner = [float(s.start_s) for s in list(sections)[1:]]
    out = []
    for k, seg in enumerate(segments):
        a, b = (seg.start_s, seg.end_s) if hasattr(seg, "start_s") else seg
        if any(a + tol_s < t < b - tol_s for t in inner):
            out.append(k)
    return out
