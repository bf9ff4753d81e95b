"""Matching a clip's visual beats to the music beats of its segment, and the warp that follows.

The problem, per clip: visual beats ``v`` (source seconds, inside ``(src_start, src_end)``) and music
beats ``m`` (output seconds, inside ``(out_start, out_end)``). A matching is a list of pairs
``(i, j)``, strictly increasing in both (monotonic, one-to-one); together with the fixed end points
``(src_start, out_start)`` and ``(src_end, out_end)`` the pairs are the anchors of a
:class:`~mv2desc.sync.warp.TimeWarp` that puts each matched visual beat exactly on its music beat.
It is feasible when every interval's stretch ratio lies in ``[min_stretch, max_stretch]``. Cost:

    skip_visual_cost * (unmatched visual beats) + skip_music_cost * (unmatched music beats)
    + stretch_cost * sum over intervals of (log(ratio) - log(segment's mean ratio))²

:func:`dp_match` finds the cheapest feasible matching by dynamic programming over pairs; it is exact
when ``max_skip`` is at least the number of visual beats (otherwise a matched pair's predecessor is at
most ``max_skip`` visual beats back). :func:`greedy_match` (each visual beat to its nearest music beat,
in order, when feasible) and :func:`uniform_match` (no pairs) are the baselines. Written by hand: no
maintained library solves this constrained monotonic assignment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mv2desc.sync.config import MatchConfig
from mv2desc.sync.metrics import BAS_SIGMA_S
from mv2desc.sync.warp import TimeWarp

_EPS = 1e-9


@dataclass(frozen=True)
class Segment:
    """A clip's place: source span ``[src_start, src_end]`` shown over output span ``[out_start, out_end]``."""

    src_start: float
    src_end: float
    out_start: float
    out_end: float

    @property
    def ratio(self) -> float:
        """Mean stretch ratio of the segment."""
        return (self.out_end - self.out_start) / (self.src_end - self.src_start)


@dataclass(frozen=True)
class Matching:
    """A feasible matching and its warp.

    Attributes:
        pairs: ``(k, 2)`` int, indices ``(i, j)`` into the visual and music beats given to the matcher.
        cost: its cost (see module docstring).
        warp: the anchors (end points + matched pairs) as a :class:`TimeWarp`.
        method: "dp", "greedy" or "uniform".
    """

    pairs: np.ndarray
    cost: float
    warp: TimeWarp
    method: str


def _interval_cost(d_src: float | np.ndarray, d_out: float | np.ndarray, log_mean: float, cfg: MatchConfig):
    """Stretch penalty of interval(s), +inf where the ratio is out of bounds."""
    d_src = np.asarray(d_src, dtype=np.float64)
    d_out = np.asarray(d_out, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d_out / d_src
        cost = cfg.stretch_cost * (np.log(ratio) - log_mean) ** 2
    ok = (d_src > _EPS) & (d_out > _EPS) & (ratio >= cfg.min_stretch - _EPS) & (ratio <= cfg.max_stretch + _EPS)
    return np.where(ok, cost, np.inf)


def chain_cost(pairs, visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig) -> float:
    """Cost of a matching given as pairs (see module docstring); +inf when infeasible or not monotonic."""
    pairs = [tuple(p) for p in pairs]
    src = [seg.src_start] + [float(visual[i]) for i, _ in pairs] + [seg.src_end]
    out = [seg.out_start] + [float(music[j]) for _, j in pairs] + [seg.out_end]
    if any(b[0] <= a[0] or b[1] <= a[1] for a, b in itertools.pairwise(pairs)):
        return float("inf")
    log_mean = np.log(seg.ratio)
    total = cfg.skip_visual_cost * (len(visual) - len(pairs)) + cfg.skip_music_cost * (len(music) - len(pairs))
    return float(total + _interval_cost(np.diff(src), np.diff(out), log_mean, cfg).sum())


def _warp(pairs: list[tuple[int, int]], visual: np.ndarray, music: np.ndarray, seg: Segment) -> TimeWarp:
    src = [seg.src_start] + [float(visual[i]) for i, _ in pairs] + [seg.src_end]
    out = [seg.out_start] + [float(music[j]) for _, j in pairs] + [seg.out_end]
    return TimeWarp(np.array(src), np.array(out))


def _inside(seg: Segment, visual: np.ndarray, music: np.ndarray) -> None:
    if len(visual) and (visual.min() <= seg.src_start or visual.max() >= seg.src_end or np.any(np.diff(visual) <= 0)):
        raise ValueError("visual beats must be strictly increasing and strictly inside the source span")
    if len(music) and (music.min() <= seg.out_start or music.max() >= seg.out_end or np.any(np.diff(music) <= 0)):
        raise ValueError("music beats must be strictly increasing and strictly inside the output span")


def uniform_match(visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig) -> Matching:
    """Baseline: no pairs, the clip stretched evenly over its segment."""
    visual, music = np.asarray(visual, float), np.asarray(music, float)
    _inside(seg, visual, music)
    return Matching(np.zeros((0, 2), dtype=np.int64), chain_cost([], visual, music, seg, cfg), _warp([], visual, music, seg), "uniform")


def greedy_match(visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig) -> Matching:
    """Baseline: each visual beat, in order, to the music beat nearest its uniformly stretched time.

    A pair is kept when it is monotonic after the previous one and both the interval before it and
    the rest of the segment stay within the stretch bounds (so the warp is always valid).
    """
    visual, music = np.asarray(visual, float), np.asarray(music, float)
    _inside(seg, visual, music)
    pairs: list[tuple[int, int]] = []
    if len(music):
        uniform = TimeWarp.uniform(seg.src_start, seg.src_end, seg.out_start, seg.out_end)
        last_src, last_out, last_j = seg.src_start, seg.out_start, -1
        for i, v in enumerate(visual):
            j = int(np.argmin(np.abs(music - uniform.to_output(v))))
            if j <= last_j:
                continue
            before = _interval_cost(v - last_src, music[j] - last_out, 0.0, cfg)
            after = _interval_cost(seg.src_end - v, seg.out_end - music[j], 0.0, cfg)
            if np.isfinite(before) and np.isfinite(after):
                pairs.append((i, j))
                last_src, last_out, last_j = v, music[j], j
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return Matching(arr, chain_cost(pairs, visual, music, seg, cfg), _warp(pairs, visual, music, seg), "greedy")


def dp_match(visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig) -> Matching:
    """The cheapest feasible monotonic one-to-one matching (dynamic programming over pairs).

    ``best[i, j]`` is the cheapest chain from the start point whose last pair is ``(i, j)``; a chain
    grows from ``(i', j')`` with ``i - max_skip - 1 <= i' < i`` and ``j' < j`` (or from the start
    point) when the interval's ratio is in bounds. Vectorised over ``j``; cost
    ``O(n * max_skip * w * m)`` with ``w`` the number of music beats one interval may span.
    """
    visual, music = np.asarray(visual, float), np.asarray(music, float)
    _inside(seg, visual, music)
    n, m = len(visual), len(music)
    log_mean = float(np.log(seg.ratio))
    reward = cfg.skip_visual_cost + cfg.skip_music_cost  # what a pair saves over leaving both unmatched
    base = cfg.skip_visual_cost * n + cfg.skip_music_cost * m
    best = np.full((n, m), np.inf)
    prev_i = np.full((n, m), -1, dtype=np.int64)  # -1 = from the start point
    prev_j = np.full((n, m), -1, dtype=np.int64)
    for i in range(n):
        # from the start point
        best[i] = _interval_cost(visual[i] - seg.src_start, music - seg.out_start, log_mean, cfg) - reward
        for ip in range(max(0, i - cfg.max_skip - 1), i):
            d_src = visual[i] - visual[ip]
            row = best[ip]
            if not np.isfinite(row).any():
                continue
            for d in range(1, m):
                d_out = music[d:] - music[:-d]  # j = d.., j' = j - d
                if d_out.min() > cfg.max_stretch * d_src + _EPS:
                    break
                cand = row[:-d] + _interval_cost(d_src, d_out, log_mean, cfg) - reward
                better = cand < best[i, d:]
                if better.any():
                    js = np.flatnonzero(better) + d
                    best[i, js] = cand[better]
                    prev_i[i, js] = ip
                    prev_j[i, js] = js - d
    # close the chain at the end point
    total, end = float(_interval_cost(seg.src_end - seg.src_start, seg.out_end - seg.out_start, log_mean, cfg)), None
    if n and m:
        closing = best + _interval_cost(seg.src_end - visual[:, None], seg.out_end - music[None, :], log_mean, cfg)
        k = int(np.argmin(closing))
        if closing.flat[k] < total:
            total, end = float(closing.flat[k]), np.unravel_index(k, closing.shape)
    pairs: list[tuple[int, int]] = []
    while end is not None:
        i, j = int(end[0]), int(end[1])
        pairs.append((i, j))
        end = None if prev_i[i, j] < 0 else (prev_i[i, j], prev_j[i, j])
    pairs.reverse()
    if not np.isfinite(total):
        raise ValueError(f"segment ratio {seg.ratio:.3f} is outside the stretch bounds: no feasible warp")
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return Matching(arr, base + total, _warp(pairs, visual, music, seg), "dp")


MATCHERS = {"dp": dp_match, "greedy": greedy_match, "uniform": uniform_match}


def match(visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig, method: str | None = None) -> Matching:
    """Run the configured (or named) matcher on beats strictly inside the segment."""
    return MATCHERS[method or cfg.matcher](visual, music, seg, cfg)


def landing_penalty(times_out: np.ndarray, music: np.ndarray, sigma_s: float) -> np.ndarray:
    """``1 - exp(-d² / 2σ²)`` per time, ``d`` its distance to the nearest of ``music`` (1 without music):
    what a visual beat shown at that time loses of a perfect BAS term."""
    times_out = np.asarray(times_out, dtype=np.float64)
    music = np.sort(np.asarray(music, dtype=np.float64))
    if music.size == 0:
        return np.ones(times_out.size)
    idx = np.clip(np.searchsorted(music, times_out), 1, max(1, music.size - 1))
    d = np.abs(times_out - music[idx - 1])
    if music.size > 1:
        d = np.minimum(d, np.abs(times_out - music[idx]))
    return 1.0 - np.exp(-(d**2) / (2 * sigma_s**2))


@dataclass(frozen=True)
class TrimmedMatching:
    """A matching on a clip's material after trimming its ends.

    Attributes:
        matching: the matching; its pairs index the visual beats strictly inside ``segment``'s source span.
        segment: the segment with the source span actually shown (the output span is the one given).
        score: what the choice cost (see :func:`trim_match`).
    """

    matching: Matching
    segment: Segment
    score: float


def _outcome_score(m: Matching, visual: np.ndarray, music: np.ndarray, seg: Segment, orig: Segment, n_trimmed: int,
                   cfg: MatchConfig, sigma_s: float) -> float:
    """The cost the trims are chosen by: the matching's stretch and music-skip costs, each unmatched
    visual beat's ``skip_visual_cost`` scaled by how far off a beat it lands, ``trim_cost`` per trimmed
    visual beat, and the stretch of the whole segment away from its untrimmed mean ratio."""
    matched = set(m.pairs[:, 0].tolist())
    unmatched = np.array([v for i, v in enumerate(visual) if i not in matched])
    flat_skips = cfg.skip_visual_cost * len(unmatched)
    landing = cfg.skip_visual_cost * float(landing_penalty(m.warp.to_output(unmatched), music, sigma_s).sum()) if len(unmatched) else 0.0
    drift = cfg.stretch_cost * (np.log(seg.ratio) - np.log(orig.ratio)) ** 2
    return float(m.cost - flat_skips + landing + cfg.trim_cost * n_trimmed + drift)


def trim_match(visual: np.ndarray, music: np.ndarray, seg: Segment, cfg: MatchConfig, src_fps: float,
               method: str | None = None, sigma_s: float = BAS_SIGMA_S) -> TrimmedMatching:
    """Match as :func:`match` does, and cut visual beats the matching cannot put on a beat out of the
    clip's ends when that costs less.

    Candidates: the clip's start moved to just after one of the visual beats the plain matching left
    unmatched before its first pair (``trim_margin_frames`` source frames after it) and its end to just
    before one of those it left after its last pair, at most ``max_skip`` beats from each end, as long
    as the segment's mean stretch stays within the bounds; each is matched again on the beats left. The one chosen has the least score: stretch and
    music-skip costs, ``skip_visual_cost`` times ``1 - exp(-d² / 2σ²)`` per unmatched visual beat (``d``:
    how far off a music beat it lands, so one that lands on a beat by chance costs nothing),
    ``trim_cost`` per trimmed beat, and the squared log change of the segment's mean ratio.
    ``music`` (the music beats inside the segment) serves both as targets and to score landings.
    """
    visual, music = np.asarray(visual, float), np.asarray(music, float)
    base = match(visual, music, seg, cfg, method)
    best = TrimmedMatching(base, seg, _outcome_score(base, visual, music, seg, seg, 0, cfg, sigma_s))
    if not cfg.trim_stops or (method or cfg.matcher) == "uniform" or visual.size == 0:
        return best
    margin = cfg.trim_margin_frames / src_fps
    out_len = seg.out_end - seg.out_start
    shortest = out_len / cfg.max_stretch  # least source material the segment may show
    # only the stops the matching left unmatched before its first pair / after its last are worth cutting
    first = int(base.pairs[0, 0]) if len(base.pairs) else visual.size
    last = int(base.pairs[-1, 0]) if len(base.pairs) else -1
    n_head = min(cfg.max_skip, first)
    n_tail = min(cfg.max_skip, visual.size - 1 - last)
    if n_head + n_tail == 0:
        return best
    starts = [(seg.src_start, 0)] + [(float(visual[k]) + margin, k + 1) for k in range(n_head)]
    ends = [(seg.src_end, 0)] + [(float(visual[-1 - k]) - margin, k + 1) for k in range(n_tail)]
    for (s, n_s), (e, n_e) in itertools.product(starts, ends):
        if n_s + n_e == 0 or n_s + n_e > visual.size or e - s < shortest - _EPS or s <= seg.src_start - _EPS and n_s:
            continue
        if e > seg.src_end + _EPS or s < seg.src_start - _EPS:
            continue
        sub = Segment(s, e, seg.out_start, seg.out_end)
        if sub.ratio < cfg.min_stretch - _EPS:
            continue
        keep = visual[(visual > s + 1e-3) & (visual < e - 1e-3)]
        if keep.size != visual.size - n_s - n_e:  # a margin that reaches a neighbouring beat: trims it too
            continue
        try:
            m = match(keep, music, sub, cfg, method)
        except ValueError:
            continue
        score = _outcome_score(m, keep, music, sub, seg, n_s + n_e, cfg, sigma_s)
        if score < best.score - 1e-9:
            best = TrimmedMatching(Matching(m.pairs, m.cost + cfg.trim_cost * (n_s + n_e), m.warp, m.method), sub, score)
    return best
