"""Matching visual to music beats: DP equals brute force, baselines are valid, bounds hold."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mv2desc.sync.config import MatchConfig
from mv2desc.sync.matching import Segment, chain_cost, dp_match, greedy_match, uniform_match


def brute_force(visual, music, seg, cfg):
    """Every monotonic one-to-one matching, the cheapest cost."""
    best = np.inf
    for k in range(min(len(visual), len(music)) + 1):
        for vi in itertools.combinations(range(len(visual)), k):
            for mj in itertools.combinations(range(len(music)), k):
                best = min(best, chain_cost(list(zip(vi, mj)), visual, music, seg, cfg))
    return best


def _valid(m, visual, music, seg, cfg):
    pairs = m.pairs
    assert np.all(np.diff(pairs[:, 0]) > 0) and np.all(np.diff(pairs[:, 1]) > 0)  # monotonic, one-to-one
    ratios = m.warp.ratios()
    assert ratios.min() >= cfg.min_stretch - 1e-9 and ratios.max() <= cfg.max_stretch + 1e-9
    assert m.warp.src[0] == seg.src_start and m.warp.src[-1] == seg.src_end
    assert m.warp.out[0] == seg.out_start and m.warp.out[-1] == seg.out_end
    # each matched visual beat lands exactly on its music beat
    np.testing.assert_allclose(m.warp.to_output(visual[pairs[:, 0]]), music[pairs[:, 1]], atol=1e-9)
    assert m.cost == pytest.approx(chain_cost(pairs.tolist(), visual, music, seg, cfg))


def test_dp_equals_brute_force_on_small_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(120):
        src_len = rng.uniform(1.0, 4.0)
        seg = Segment(0.0, src_len, s := rng.uniform(0, 5), s + rng.uniform(0.6, 1.8) * src_len)
        visual = np.sort(rng.uniform(0.01, src_len - 0.01, rng.integers(0, 6)))
        music = np.sort(rng.uniform(seg.out_start + 0.01, seg.out_end - 0.01, rng.integers(0, 7)))
        cfg = MatchConfig(
            skip_visual_cost=rng.uniform(0.2, 2.0), skip_music_cost=rng.uniform(0.0, 0.3), stretch_cost=rng.uniform(0.0, 2.0)
        )
        m = dp_match(visual, music, seg, cfg)
        assert m.cost == pytest.approx(brute_force(visual, music, seg, cfg), abs=1e-9)
        _valid(m, visual, music, seg, cfg)


def test_hand_made_sequence_scaled_copy_is_fully_matched():
    # the visual beats are the music beats slowed down by 1.5: every one has its partner
    music = np.array([1.0, 1.5, 2.5, 3.0, 4.5])
    seg = Segment(0.0, 4.0, 0.0, 6.0)
    visual = music / 1.5
    m = dp_match(visual, music, seg, MatchConfig())
    assert m.pairs.tolist() == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]
    np.testing.assert_allclose(m.warp.ratios(), 1.5)


def test_dp_skips_a_beat_that_would_break_the_stretch_bounds():
    # two visual beats 0.1 s apart cannot both land on beats 0.5 s apart (ratio 5 > 2): one is skipped
    seg = Segment(0.0, 3.0, 0.0, 3.0)
    visual = np.array([1.0, 1.1, 2.0])
    music = np.array([1.0, 1.5, 2.0])
    m = dp_match(visual, music, seg, MatchConfig())
    assert len(m.pairs) == 2
    _valid(m, visual, music, seg, MatchConfig())


def test_greedy_and_uniform_baselines_are_valid_and_never_cheaper_than_dp():
    rng = np.random.default_rng(1)
    cfg = MatchConfig()
    for _ in range(50):
        seg = Segment(0.0, 3.0, 10.0, 10.0 + rng.uniform(2.0, 5.5))
        visual = np.sort(rng.choice(np.arange(1, 72) / 24, size=rng.integers(0, 6), replace=False))
        music = np.arange(10.25, seg.out_end - 0.01, 0.5)
        dp = dp_match(visual, music, seg, cfg)
        for baseline in (greedy_match, uniform_match):
            b = baseline(visual, music, seg, cfg)
            _valid(b, visual, music, seg, cfg)
            assert dp.cost <= b.cost + 1e-9
    assert len(uniform_match(visual, music, seg, cfg).pairs) == 0


def test_greedy_takes_the_nearest_beat():
    seg = Segment(0.0, 2.0, 0.0, 2.0)
    m = greedy_match(np.array([0.9]), np.array([0.5, 1.0, 1.5]), seg, MatchConfig())
    assert m.pairs.tolist() == [[0, 1]]


def test_a_segment_outside_the_bounds_has_no_feasible_warp():
    with pytest.raises(ValueError, match="stretch bounds"):
        dp_match(np.array([1.0]), np.array([5.0]), Segment(0.0, 2.0, 0.0, 10.0), MatchConfig())


def test_beats_outside_the_segment_are_refused():
    with pytest.raises(ValueError, match="inside"):
        dp_match(np.array([2.5]), np.array([1.0]), Segment(0.0, 2.0, 0.0, 2.0), MatchConfig())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"matcher": "best"}, "matcher"),
        ({"min_stretch": 1.5}, "min_stretch <= 1"),
        ({"max_stretch": 0.9}, "max_stretch"),
        ({"skip_visual_cost": -1}, "skip_visual_cost"),
    ],
)
def test_match_config_is_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MatchConfig(**kwargs)
