"""Cut a song into segments to describe: on downbeats, lengths in bars within bounds, end to end.

A song no longer than ``single_max_s`` (a Music4All clip: 30 s) is one segment. A longer one is cut
on bar lines (the tracker's downbeats; without them every ``beats_per_bar``-th beat; without beats a
uniform grid), each segment as close to ``target_bars`` as the bounds allow and never longer than
``max_s`` (the captioner's features cover at most ``FeatureSpec.max_duration_s``). The segments
cover ``[0, duration]`` with no gap: the first starts at 0 (a pickup before the first bar belongs to
it), the last ends at the song's end, and a too-short tail is merged into the segment before it
when the bounds allow.

With ``follow_music > 0`` and the song's samples (MV generation), the cut density follows the
music instead of a fixed target: each bar gets the onset density and loudness measured on it, the
target length shrinks where the music is denser than the song's median (down to ``min_bars``) and
grows where it is sparser (up to ``max_bars``), and bar lines where the loudness changes most
(section boundaries) are preferred as cuts; the cuts are chosen by dynamic programming over the bar
lines under the same bounds (see :func:`music_cuts`).

With the song's ``sections`` (:attr:`mv2desc.structure.Structure.sections`), cut points prefer section
boundaries and a segment never straddles one: every section boundary becomes a cut (on the bar line
nearest it; :func:`mv2desc.structure.segments.section_cut_indices`) and each section is cut on its own
by the rules above (``follow_music`` included); a section shorter than ``min_bars`` is one segment
(section boundaries outrank ``min_bars``). A song of one section is cut exactly as without sections;
a song short enough to be one segment (``single_max_s``) stays one segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mv2desc.beats import MusicBeats
from mv2desc.song import Song


@dataclass
class SegmentConfig:
    """How a song is cut into segments.

    Args:
        single_max_s: a song up to this long is one segment (a Music4All clip is 30 s).
        target_bars: preferred segment length, in bars.
        min_bars: shortest segment, in bars (only the whole song may be shorter).
        max_bars: longest segment, in bars.
        max_s: longest segment in seconds (capped again by the captioner's FeatureSpec.max_duration_s).
        beats_per_bar: bar length when the tracker found beats but no downbeats.
        fallback_bar_s: bar length (seconds) when no beats were found at all (2 s = 4 beats at 120 bpm).
        follow_music: 0 = fixed ``target_bars``; > 0 (with the song's samples) = cut density follows
            the music: the target length is ``target_bars * 2 ** (-follow_music * z)``, ``z`` the
            bar's onset density in standard deviations from the song's median, clipped to the bounds.
        boundary_weight: preference for cutting where the loudness changes (section boundaries), in
            units of one squared relative length error; used with ``follow_music > 0``.
    """

    single_max_s: float = 30.0
    target_bars: int = 8
    min_bars: int = 4
    max_bars: int = 16
    max_s: float = 30.0
    beats_per_bar: int = 4
    fallback_bar_s: float = 2.0
    follow_music: float = 0.0
    boundary_weight: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.min_bars <= self.target_bars <= self.max_bars:
            raise ValueError(f"need 1 <= min_bars <= target_bars <= max_bars, got {self.min_bars}, {self.target_bars}, {self.max_bars}")
        if self.max_s <= 0 or self.single_max_s <= 0 or self.fallback_bar_s <= 0:
            raise ValueError("max_s, single_max_s and fallback_bar_s must be > 0")
        if self.beats_per_bar < 1:
            raise ValueError(f"beats_per_bar must be >= 1, got {self.beats_per_bar}")
        if self.follow_music < 0 or self.boundary_weight < 0:
            raise ValueError(f"follow_music and boundary_weight must be >= 0, got {self.follow_music}, {self.boundary_weight}")


@dataclass(frozen=True)
class Segment:
    """``[start_s, end_s)`` of the song; ``bars``: the bars it holds (:func:`count_bars`)."""

    start_s: float
    end_s: float
    bars: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def bar_lines(beats: MusicBeats, duration_s: float, cfg: SegmentConfig) -> tuple[np.ndarray, str]:
    """Bar-line times inside ``(0, duration_s)``, at least a quarter bar from either end, and where they
    came from (``downbeats`` | ``beats`` | ``grid``)."""
    if len(beats.downbeats_s) >= 2:
        lines, source = np.asarray(beats.downbeats_s, dtype=np.float64), "downbeats"
    elif len(beats.beats_s) >= 2 * cfg.beats_per_bar:
        lines, source = np.asarray(beats.beats_s, dtype=np.float64)[:: cfg.beats_per_bar], "beats"
    else:
        lines, source = np.arange(cfg.fallback_bar_s, duration_s, cfg.fallback_bar_s), "grid"
    # a bar line within a quarter bar of either end would make a sliver of a segment (a downbeat at
    # 0.01 s): it is dropped, and the sliver belongs to its neighbour
    edge = 0.25 * float(np.median(np.diff(lines))) if lines.size >= 2 else 1e-3
    return lines[(lines > edge) & (lines < duration_s - edge)], source


def count_bars(beats: MusicBeats, duration_s: float, cfg: SegmentConfig, start_s: float, end_s: float) -> int:
    """Bars of ``[start_s, end_s)``: the bar lines (downbeats) in it, half-open, each moved a quarter bar
    earlier so that a downbeat a few ms after a cut counts for the bar it starts (16 s of 4/4 at 120 bpm
    = 8 bars), plus a lead-in of at least three quarters of a bar before the first one; at least 1 (a
    shorter pickup belongs to the first bar)."""
    if len(beats.downbeats_s) >= 2:
        lines = np.asarray(beats.downbeats_s, dtype=np.float64)
    elif len(beats.beats_s) >= 2 * cfg.beats_per_bar:
        lines = np.asarray(beats.beats_s, dtype=np.float64)[:: cfg.beats_per_bar]
    else:
        lines = np.arange(0.0, duration_s, cfg.fallback_bar_s)
    bar = float(np.median(np.diff(lines))) if lines.size >= 2 else 0.0
    tol = 0.25 * bar
    inside = lines[(lines >= start_s - tol) & (lines < end_s - tol)]
    # a lead-in of (nearly) a whole bar before the first line found is a bar too (a tracker that missed
    # the song's first downbeat); a shorter pickup belongs to the first bar
    lead = (inside[0] if inside.size else end_s) - start_s
    return max(1, int(inside.size) + int(bar > 0 and lead >= 0.75 * bar))


def bar_activity(song: Song, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bar (``bounds[k]..bounds[k+1]``): onsets per second and mean loudness (dB), from the song's
    one onset detection (:meth:`~mv2desc.song.Song.onsets_s`) and loudness curve (:meth:`~mv2desc.song.Song.loudness`)."""
    onset = song.onsets_s()
    loudness = song.loudness()
    density, loud = np.zeros(len(bounds) - 1), np.zeros(len(bounds) - 1)
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        length = max(b - a, 1e-3)
        density[k] = np.count_nonzero((onset >= a) & (onset < b)) / length
        mean = loudness.mean_db(a, b)
        loud[k] = mean if mean is not None else (loud[k - 1] if k else -100.0)
    return density, loud


def music_cuts(bounds: np.ndarray, density: np.ndarray, loud: np.ndarray, cfg: SegmentConfig) -> list[int] | None:
    """Cut indices into ``bounds`` (first 0, last ``len(bounds) - 1``) minimising, over segments,
    ``((bars - target) / target)^2 - boundary_weight * change`` where ``target`` follows the onset
    density at the segment and ``change`` is the loudness step at its end (0..1); every segment within
    ``[min_bars, max_bars]`` and ``max_s``. None when no cut satisfies the bounds."""
    n = len(bounds) - 1
    spread = float(np.std(density)) or 1.0
    z = np.clip((density - np.median(density)) / spread, -2.0, 2.0)
    target = np.clip(cfg.target_bars * 2.0 ** (-cfg.follow_music * z), cfg.min_bars, cfg.max_bars)
    # loudness step at each bar line: mean of the 2 bars after minus the 2 bars before, scaled to 0..1
    change = np.zeros(n + 1)
    for k in range(1, n):
        change[k] = abs(loud[k : k + 2].mean() - loud[max(0, k - 2) : k].mean())
    change = change / (change.max() or 1.0)
    cost = np.full(n + 1, np.inf)
    back = np.zeros(n + 1, dtype=int)
    cost[0] = 0.0
    for j in range(1, n + 1):
        for i in range(max(0, j - cfg.max_bars), j - cfg.min_bars + 1):
            if not np.isfinite(cost[i]) or bounds[j] - bounds[i] > cfg.max_s + 1e-9:
                continue
            tgt = float(target[i:j].mean())
            c = cost[i] + ((j - i - tgt) / tgt) ** 2 - (cfg.boundary_weight * change[j] if j < n else 0.0)
            if c < cost[j]:
                cost[j], back[j] = c, i
    if not np.isfinite(cost[n]):
        return None
    cuts = [n]
    while cuts[-1] > 0:
        cuts.append(int(back[cuts[-1]]))
    return cuts[::-1]


def segment_song(
    duration_s: float, beats: MusicBeats, cfg: SegmentConfig | None = None, *, audio: Song | tuple[np.ndarray, int] | None = None,
    sections: Sequence | None = None,
) -> list[Segment]:
    """Segments covering ``[0, duration_s]`` end to end (see the module docstring for the rules).

    ``audio``: the song (a :class:`~mv2desc.song.Song`, or its mono samples and rate); with
    ``cfg.follow_music > 0`` the cut density follows its onsets and loudness. ``sections``: the song's
    sections in order (anything with ``start_s``, e.g. :class:`mv2desc.structure.Section`): every
    boundary between two of them is a cut and no segment straddles one.
    """
    cfg = cfg or SegmentConfig()
    if duration_s <= 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    if duration_s <= min(cfg.single_max_s, cfg.max_s):
        return [Segment(0.0, float(duration_s), count_bars(beats, duration_s, cfg, 0.0, duration_s))]
    lines, _ = bar_lines(beats, duration_s, cfg)
    bounds = np.concatenate([[0.0], lines, [float(duration_s)]])  # bar k spans bounds[k]..bounds[k+1]
    song = None
    if cfg.follow_music > 0 and audio is not None:
        song = audio if isinstance(audio, Song) else Song(*audio)
    if sections is not None and len(sections) > 1:
        return _cut_by_sections(duration_s, beats, cfg, bounds, sections, song)
    if song is not None:
        density, loud = bar_activity(song, bounds)
        picked = music_cuts(bounds, density, loud, cfg)
        if picked is not None:
            return [Segment(float(bounds[a]), float(bounds[b]), count_bars(beats, duration_s, cfg, float(bounds[a]), float(bounds[b])))
                    for a, b in zip(picked[:-1], picked[1:])]
    return _greedy_cuts(duration_s, beats, cfg, bounds)


def _cut_by_sections(duration_s: float, beats: MusicBeats, cfg: SegmentConfig, bounds: np.ndarray, sections: Sequence,
                     song: Song | None) -> list[Segment]:
    """Every section boundary a cut; each section cut on its own: by :func:`music_cuts` when ``song`` is
    given (the density and loudness measured over the whole song), else (or when no cut of the section
    meets the bounds) by :func:`mv2desc.structure.segments.segments_within_sections`' dynamic programming
    towards ``target_bars``."""
    from mv2desc.structure.segments import section_cut_indices, segments_within_sections

    edges = section_cut_indices(bounds, sections)
    density, loud = bar_activity(song, bounds) if song is not None else (None, None)
    cuts = [0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        sub = bounds[lo : hi + 1]
        picked = music_cuts(sub, density[lo:hi], loud[lo:hi], cfg) if density is not None else None
        if picked is None:  # the section alone (no inner boundary), by the bar-count DP; too short: one segment
            pairs = segments_within_sections(sub, (), min_bars=cfg.min_bars, target_bars=cfg.target_bars,
                                             max_bars=cfg.max_bars, max_s=cfg.max_s)
            picked = [0] + [b for _, b in pairs]
        cuts += [lo + c for c in picked[1:]]
    return [Segment(float(bounds[a]), float(bounds[b]), count_bars(beats, duration_s, cfg, float(bounds[a]), float(bounds[b])))
            for a, b in zip(cuts[:-1], cuts[1:])]


def _greedy_cuts(duration_s: float, beats: MusicBeats, cfg: SegmentConfig, bounds: np.ndarray) -> list[Segment]:
    """Cuts from the start: each segment as close to ``target_bars`` as the bounds allow (no sections,
    no music following)."""
    n_bars = len(bounds) - 1
    cuts = [0]  # indices into bounds
    while cuts[-1] < n_bars:
        i = cuts[-1]
        left = n_bars - i
        if left <= cfg.max_bars and bounds[-1] - bounds[i] <= cfg.max_s:
            cuts.append(n_bars)
            break
        # candidates j: bar count within bounds, length within max_s; prefer target_bars
        ok = [j for j in range(i + cfg.min_bars, min(n_bars, i + cfg.max_bars) + 1) if bounds[j] - bounds[i] <= cfg.max_s]
        if ok:
            j = min(ok, key=lambda j: (abs((j - i) - cfg.target_bars), -j))
            # leave a tail of at least min_bars when one would remain
            if 0 < n_bars - j < cfg.min_bars and any(n_bars - k >= cfg.min_bars for k in ok):
                j = max(k for k in ok if n_bars - k >= cfg.min_bars)
        else:  # bars too long for max_s (very slow music or a gap in the beats): the longest fit, or a time cut
            fit = [j for j in range(i + 1, n_bars + 1) if bounds[j] - bounds[i] <= cfg.max_s]
            if fit:
                j = fit[-1]
            else:  # a single bar longer than max_s: split it on time
                t = bounds[i] + cfg.max_s
                bounds = np.insert(bounds, i + 1, t)
                n_bars += 1
                j = i + 1
        cuts.append(j)
    segments = [Segment(float(bounds[a]), float(bounds[b]), int(b - a)) for a, b in zip(cuts[:-1], cuts[1:])]
    # a short tail joins its neighbour when the merged segment stays within the bounds
    if len(segments) > 1 and segments[-1].bars < cfg.min_bars:
        prev, last = segments[-2], segments[-1]
        if last.end_s - prev.start_s <= cfg.max_s and prev.bars + last.bars <= cfg.max_bars:
            segments[-2:] = [Segment(prev.start_s, last.end_s, prev.bars + last.bars)]
    return [Segment(x.start_s, x.end_s, count_bars(beats, duration_s, cfg, x.start_s, x.end_s)) for x in segments]

