"""Where each clip goes on the song's timeline: segments cut on downbeats (or beats).

Clips are laid in order. The whole set is stretched by one global ratio, ``song / total clip time``
clamped to the stretch bounds; when the clips cannot cover the song even at the largest stretch the
output (and the song) ends with the last clip, and when they overrun it at the smallest stretch the
clips that start after the song's end are dropped and the last one is cut short. Each boundary
between two clips is then moved onto the grid point nearest its target (a downbeat, when known and
preferred, unless a beat is more than half a bar nearer; and the less the segment's length departs
from the global ratio, the better), within half a bar of the target (the
targets are absolute, so the layout does not drift), among the grid points that keep this clip's and
the remaining clips' mean stretch within bounds (and, when possible, ``segment_margin`` inside them,
so the matcher keeps room to stretch intervals both ways). Written by hand: this is the project's own layout policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mv2desc.sync.config import MatchConfig
from mv2desc.sync.matching import Segment

_EPS = 1e-6


@dataclass(frozen=True)
class Layout:
    """Segments of the clips that are shown, in order.

    Attributes:
        segments: one :class:`Segment` per shown clip (clip ``k`` of the input is ``segments[k]``).
        duration_s: output length (seconds): the song's length or less.
        global_ratio: the stretch applied to the set as a whole before snapping to the grid.
        dropped: number of trailing clips that do not fit (start after the song ends).
        grid: "downbeats", "beats" or "none": what the boundaries were snapped to.
    """

    segments: tuple[Segment, ...]
    duration_s: float
    global_ratio: float
    dropped: int
    grid: str


def _snap(target: float, lo: float, hi: float, grids: list[tuple[np.ndarray, float]], spread=None) -> float:
    """The grid point in ``[lo, hi]`` with the least ``|point - target| + penalty + spread(point)`` over
    all grids (``grids``: (points, penalty) pairs; ``spread``: extra cost of a point, seconds); ``target``
    clamped to ``[lo, hi]`` when no grid point is there."""
    best, best_cost = float(np.clip(target, lo, hi)), np.inf
    for grid, penalty in grids:
        cand = grid[(grid >= lo - _EPS) & (grid <= hi + _EPS)]
        if cand.size:
            cost = np.abs(cand - target) + penalty + (spread(cand) if spread is not None else 0.0)
            k = int(np.argmin(cost))
            if cost[k] < best_cost:
                best, best_cost = float(cand[k]), float(cost[k])
    return best


def layout_clips(
    clip_durations: list[float] | np.ndarray,
    song_duration_s: float,
    beats_s: np.ndarray,
    downbeats_s: np.ndarray,
    cfg: MatchConfig,
) -> Layout:
    """Lay clips of ``clip_durations`` (seconds) over a song of ``song_duration_s`` seconds."""
    durs = np.asarray(clip_durations, dtype=np.float64)
    if durs.size == 0 or np.any(durs <= 0):
        raise ValueError(f"clip durations must be > 0, got {durs.tolist()}")
    if song_duration_s <= 0:
        raise ValueError(f"song duration must be > 0, got {song_duration_s}")
    total = float(durs.sum())
    ratio = float(np.clip(song_duration_s / total, cfg.min_stretch, cfg.max_stretch))
    # which clips fit, and the source span of each (the last one may be cut short)
    starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]]) * ratio
    keep = int(np.sum(starts < song_duration_s - _EPS))
    durs = durs[:keep].copy()
    dropped = len(clip_durations) - keep
    length = min(song_duration_s, ratio * float(durs.sum()))
    if ratio * float(durs.sum()) > song_duration_s + _EPS:
        durs[-1] = (song_duration_s - ratio * float(durs[:-1].sum())) / ratio
    beats = np.asarray(beats_s, dtype=np.float64)
    downbeats = np.asarray(downbeats_s, dtype=np.float64)
    if downbeats.size >= 2:
        bar = float(np.median(np.diff(downbeats)))
    elif beats.size >= 2:
        bar = 4 * float(np.median(np.diff(beats)))
    else:
        bar = 0.0
    # a beat only wins over a downbeat when it is more than half a bar nearer the target
    grids: list[tuple[np.ndarray, float]] = []
    grid_name = "none"
    if beats.size >= 2:
        grids.append((beats, bar / 2))
        grid_name = "beats"
    if cfg.prefer_downbeats and downbeats.size >= 2:
        grids.append((downbeats, 0.0))
        grid_name = "downbeats"
    # the end of the video is cut on the grid too when it is shorter than the song
    if length < song_duration_s - _EPS and grids:
        lo_end = cfg.min_stretch * float(durs.sum())
        length = _snap(length, lo_end, length, grids)  # the latest grid point before the clips run out
    bounds = [0.0]
    cum_after = np.concatenate([np.cumsum(durs[::-1])[::-1], [0.0]])  # source time from clip k to the end
    for k in range(len(durs) - 1):
        prev = bounds[-1]
        target = length * float(durs[: k + 1].sum()) / float(durs.sum())
        lo = max(prev + cfg.min_stretch * durs[k], length - cfg.max_stretch * cum_after[k + 1])
        hi = min(prev + cfg.max_stretch * durs[k], length - cfg.min_stretch * cum_after[k + 1])
        if hi < lo:  # cannot happen while the global ratio is in bounds; keep the plain target
            lo = hi = min(max(target, prev + _EPS), length - _EPS)
        # stay within half a bar of the target (absolute targets: the layout never drifts), and keep the
        # segment's mean ratio off the bounds when possible: the matcher needs room to stretch
        near = (max(lo, target - bar / 2), min(hi, target + bar / 2))
        r_lo = min(ratio, cfg.min_stretch * cfg.segment_margin)
        r_hi = max(ratio, cfg.max_stretch / cfg.segment_margin)
        margin = (  # this segment and the rest within the margin
            max(near[0], prev + r_lo * durs[k], length - r_hi * cum_after[k + 1]),
            min(near[1], prev + r_hi * durs[k], length - r_lo * cum_after[k + 1]),
        )
        windows = [w for w in (margin, near, (lo, hi)) if w[0] <= w[1]]
        with_grid = [w for w in windows if any(np.any((g >= w[0] - _EPS) & (g <= w[1] + _EPS)) for g, _ in grids)]
        window = (with_grid or windows)[0]
        # seconds of stretch this cut puts on this segment (and on the last one, when it fixes it)
        last = k == len(durs) - 2

        def spread(b, prev=prev, k=k, last=last):
            out = np.abs((b - prev) - ratio * durs[k])
            return out + np.abs((length - b) - ratio * durs[k + 1]) if last else out

        bounds.append(_snap(target, window[0], window[1], grids, spread))
    bounds.append(length)
    segments = tuple(Segment(0.0, float(d), float(a), float(b)) for d, a, b in zip(durs, bounds[:-1], bounds[1:]))
    return Layout(segments, float(length), ratio, dropped, grid_name)


def layout_unsynced(clip_durations: list[float] | np.ndarray, song_duration_s: float) -> Layout:
    """The "before" layout: clips end to end at their own speed from 0, cut at the song's end."""
    durs = np.asarray(clip_durations, dtype=np.float64)
    starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
    segments = []
    for start, d in zip(starts, durs):
        if start >= song_duration_s - _EPS:
            break
        d = min(d, song_duration_s - start)
        segments.append(Segment(0.0, float(d), float(start), float(start + d)))
    length = segments[-1].out_end if segments else 0.0
    return Layout(tuple(segments), float(length), 1.0, len(durs) - len(segments), "none")


def cycle_order(clip_durations: list[float] | np.ndarray, song_duration_s: float, fill_stretch: float) -> list[int]:
    """Which clips to show, in order, so that the material covers the song.

    The rule (documented, and reported when it applies): the clips are used in their order; when
    their total length times ``fill_stretch`` is shorter than the song, the sequence is repeated
    (0, 1, ..., n-1, 0, 1, ...) until it is not, so the global stretch stays at or below
    ``fill_stretch`` and the matcher keeps room to move beats both ways.
    """
    durs = np.asarray(clip_durations, dtype=np.float64)
    if durs.size == 0 or np.any(durs <= 0):
        raise ValueError(f"clip durations must be > 0, got {durs.tolist()}")
    order: list[int] = []
    total = 0.0
    while len(order) < durs.size or total * fill_stretch < song_duration_s - _EPS:
        k = len(order) % durs.size
        order.append(k)
        total += float(durs[k])
    return order


def snap_to_frames(layout: Layout, fps: float, cfg: MatchConfig) -> Layout:
    """Move each segment boundary (and the end) onto the output frame grid ``k / fps`` where both
    neighbouring segments keep their mean stretch within bounds (else it stays), so cuts and the
    beats anchored on them fall exactly on output frames."""
    segs = list(layout.segments)
    bounds = [s.out_start for s in segs] + [segs[-1].out_end]

    def fits(seg: Segment, a: float, b: float) -> bool:
        r = (b - a) / (seg.src_end - seg.src_start)
        return b > a and cfg.min_stretch - _EPS <= r <= cfg.max_stretch + _EPS

    new = [0.0]
    for k in range(1, len(bounds)):
        g = round(bounds[k] * fps) / fps
        last = k == len(bounds) - 1
        ok = fits(segs[k - 1], new[-1], g) and (last or fits(segs[k], g, bounds[k + 1]))
        new.append(g if ok else bounds[k])
    out = tuple(Segment(s.src_start, s.src_end, a, b) for s, a, b in zip(segs, new[:-1], new[1:]))
    return Layout(out, float(new[-1]), layout.global_ratio, layout.dropped, layout.grid)


def layout_spans(clip_durations: list[float] | np.ndarray, spans: list[tuple[float, float]], cfg: MatchConfig,
                 fps: float | None = None) -> Layout:
    """Each clip on its own span of the output (``spans[k]`` = clip ``k``'s ``(start, end)`` seconds,
    end to end from 0): the cuts are the spans' edges (on the frame grid ``k / fps`` when given), never
    moved, and no clip is shown anywhere else.

    A clip longer than its span is shown at its own speed from its start and cut at the span's end; a
    shorter one is stretched evenly over its span, which must stay within ``cfg.max_stretch`` (extend
    the material first, e.g. :func:`mv2desc.sync.fill.extend_frames`): a ``ValueError`` says which
    clip is too short.
    """
    durs = np.asarray(clip_durations, dtype=np.float64)
    if durs.size != len(spans) or durs.size == 0:
        raise ValueError(f"need one span per clip, got {durs.size} clips and {len(spans)} spans")
    if np.any(durs <= 0):
        raise ValueError(f"clip durations must be > 0, got {durs.tolist()}")
    edges = [float(spans[0][0])] + [float(b) for _, b in spans]
    if abs(edges[0]) > _EPS or any(abs(float(a) - float(prev_b)) > 1e-3 for (a, _), (_, prev_b) in zip(spans[1:], spans[:-1])):
        raise ValueError("spans must run end to end from 0 s")
    if fps:
        edges = [round(e * fps) / fps for e in edges]
    segments = []
    for k, (d, a, b) in enumerate(zip(durs, edges[:-1], edges[1:])):
        if b <= a:
            raise ValueError(f"span {k} is empty on the frame grid ({a:.3f}..{b:.3f} s)")
        length = b - a
        if length > cfg.max_stretch * d + 1e-6:
            raise ValueError(f"clip {k} lasts {d:.3f} s: too short for its {length:.3f} s span at max_stretch "
                             f"{cfg.max_stretch} (extend it first: loop or ping-pong)")
        segments.append(Segment(0.0, float(min(d, length)), float(a), float(b)))
    return Layout(tuple(segments), float(edges[-1]), float(np.mean([s.ratio for s in segments])), 0, "spans")
