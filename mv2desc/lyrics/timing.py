"""Lyric lines against the song's segments: which lines a segment holds, and cuts snapped to line starts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from mv2desc.lyrics.parse import LyricLine

SNAP_MAX_SHIFT_S = 1.0  # default reach of a cut snapped onto a line start (describe's and mv generate's snap_max_shift_s)


def _span(seg) -> tuple[float, float]:
    """``(start_s, end_s)`` of a segment: anything with ``start_s``/``end_s`` (``describe``'s ``Segment``, a
    :class:`mv2desc.structure.Section`) or a pair."""
    if hasattr(seg, "start_s"):
        return float(seg.start_s), float(seg.end_s)
    a, b = seg
    return float(a), float(b)


def assign_lines(lines: Sequence[LyricLine], segments: Sequence) -> list[list[LyricLine]]:
    """Per segment (in order), the lines it holds: each line goes to the segment that holds most of it
    (ties: the earlier; a line of no length: the segment its start is in). A line that overlaps no
    segment (after the song's end) is left out."""
    spans = [_span(s) for s in segments]
    out: list[list[LyricLine]] = [[] for _ in spans]
    for ln in lines:
        overlap = [min(b, ln.end_s) - max(a, ln.start_s) for a, b in spans]
        best = int(np.argmax(overlap)) if overlap else -1
        if best < 0:
            continue
        if overlap[best] <= 0:  # no overlap: a line of no length, or one in a gap
            inside = [k for k, (a, b) in enumerate(spans) if a <= ln.start_s < b]
            if not inside:
                continue
            best = inside[0]
        out[best].append(ln)
    return out


def snap_cuts(cut_times: Iterable[float], line_starts: Iterable[float], max_shift_s: float, *,
              keep: Iterable[float] = (), min_gap_s: float = 0.0, tol_s: float = 1e-6) -> np.ndarray:
    """Cut times moved onto the nearest lyric-line start within ``max_shift_s``.

    Cuts stay in order and distinct: a cut may only move to a line start that lies after the cut
    before it (as snapped) and before the cut after it, each by more than ``min_gap_s``; two cuts never
    take the same line start (the first in time wins). A cut within ``tol_s`` of a time in ``keep``
    (section boundaries) does not move. Returns the cuts as an array (same length and order).
    """
    cuts = np.asarray(list(cut_times), dtype=np.float64)
    starts = np.unique(np.asarray(list(line_starts), dtype=np.float64))
    fixed = np.asarray(list(keep), dtype=np.float64)
    if max_shift_s < 0:
        raise ValueError(f"max_shift_s must be >= 0, got {max_shift_s}")
    if cuts.size > 1 and np.any(np.diff(cuts) <= 0):
        raise ValueError("cut_times must be strictly increasing")
    out = cuts.copy()
    used: set[float] = set()
    for k, c in enumerate(cuts):
        if starts.size == 0 or (fixed.size and np.min(np.abs(fixed - c)) <= tol_s):
            continue
        lo = (out[k - 1] if k else -np.inf) + min_gap_s
        hi = (cuts[k + 1] if k + 1 < cuts.size else np.inf) - min_gap_s
        ok = starts[(np.abs(starts - c) <= max_shift_s + tol_s) & (starts > lo) & (starts < hi)]
        ok = np.array([s for s in ok if float(s) not in used])
        if ok.size:
            best = float(ok[np.argmin(np.abs(ok - c))])
            out[k] = best
            used.add(best)
    return out
