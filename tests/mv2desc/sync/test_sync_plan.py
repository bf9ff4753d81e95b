"""Clip layout over a song: tiles the timeline, cuts on downbeats, stays within the stretch bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mv2desc.sync.config import MatchConfig
from mv2desc.sync.plan import layout_clips, layout_unsynced

BEATS = np.arange(0.3, 200.0, 0.5)  # 120 bpm from 0.3 s
DOWNBEATS = BEATS[::4]


def _tiles(layout, length):
    segs = layout.segments
    assert segs[0].out_start == 0.0 and segs[-1].out_end == pytest.approx(length)
    for a, b in itertools.pairwise(segs):
        assert a.out_end == b.out_start and b.out_start > a.out_start


def test_forty_three_second_clips_over_three_minutes():
    layout = layout_clips([3.0] * 40, 180.0, BEATS, DOWNBEATS, MatchConfig())
    assert len(layout.segments) == 40 and layout.dropped == 0 and layout.grid == "downbeats"
    assert layout.global_ratio == pytest.approx(1.5)
    _tiles(layout, 180.0)
    ratios = np.array([s.ratio for s in layout.segments])
    # no segment is longer or shorter than the global ratio makes it by more than one beat (0.5 s)
    assert np.all(np.abs(ratios * 3.0 - 4.5) <= 0.5 + 1e-9)
    # every cut is on a beat and none drifts more than half a bar (1 s) from its target; 4.5 s segments
    # and 2 s bars cannot all start on downbeats without leaving the margin, so beats fill in
    cuts = np.array([s.out_start for s in layout.segments[1:]])
    assert np.all(np.min(np.abs(cuts[:, None] - BEATS[None, :]), axis=1) < 1e-9)
    targets = 4.5 * np.arange(1, 40)
    assert np.max(np.abs(cuts - targets)) <= 1.0 + 1e-9


def test_cuts_land_on_downbeats_when_the_stretch_allows():
    layout = layout_clips([4.0] * 45, 180.0, BEATS, DOWNBEATS, MatchConfig())
    cuts = np.array([s.out_start for s in layout.segments[1:]])
    assert np.all(np.min(np.abs(cuts[:, None] - DOWNBEATS[None, :]), axis=1) < 1e-9)
    _tiles(layout, 180.0)


def test_too_few_clips_end_the_video_early_on_a_beat():
    layout = layout_clips([3.0] * 5, 180.0, BEATS, DOWNBEATS, MatchConfig())
    assert 29.0 <= layout.duration_s <= 30.0  # the clips at the largest stretch, cut back to a beat
    assert np.min(np.abs(BEATS - layout.duration_s)) < 1e-9
    _tiles(layout, layout.duration_s)
    assert all(s.ratio <= 2.0 + 1e-9 for s in layout.segments)


def test_too_many_clips_are_dropped_and_the_last_is_cut_short():
    layout = layout_clips([3.0] * 100, 60.0, BEATS, DOWNBEATS, MatchConfig())
    assert layout.global_ratio == 0.5
    assert layout.dropped == 60
    _tiles(layout, 60.0)
    assert all(s.ratio >= 0.5 - 1e-9 for s in layout.segments)


def test_without_beats_the_layout_is_plain_proportional():
    layout = layout_clips([1.0, 2.0, 3.0], 9.0, np.zeros(0), np.zeros(0), MatchConfig())
    assert layout.grid == "none"
    np.testing.assert_allclose([s.out_start for s in layout.segments], [0.0, 1.5, 4.5])


def test_unsynced_layout_is_clips_end_to_end():
    layout = layout_unsynced([3.0, 3.0, 3.0], 7.0)
    assert [(s.out_start, s.out_end, s.src_end) for s in layout.segments] == [(0.0, 3.0, 3.0), (3.0, 6.0, 3.0), (6.0, 7.0, 1.0)]


def test_bad_durations_are_refused():
    with pytest.raises(ValueError):
        layout_clips([3.0, 0.0], 10.0, BEATS, DOWNBEATS, MatchConfig())
