"""Time warps: monotonic, exact at anchors; frame resampling never goes backwards or stutters needlessly."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.sync.warp import TimeWarp, frame_plan

WARP = TimeWarp(np.array([0.0, 0.5, 1.25, 3.0]), np.array([10.0, 11.0, 11.5, 14.0]))


def test_warp_hits_its_anchors_both_ways():
    np.testing.assert_allclose(WARP.to_output(WARP.src), WARP.out)
    np.testing.assert_allclose(WARP.to_source(WARP.out), WARP.src)


def test_warp_is_monotonic_and_its_inverse_round_trips():
    t = np.linspace(0.0, 3.0, 1001)
    out = WARP.to_output(t)
    assert np.all(np.diff(out) > 0)
    np.testing.assert_allclose(WARP.to_source(out), t, atol=1e-12)


def test_ratios_are_output_over_source_per_interval():
    np.testing.assert_allclose(WARP.ratios(), [2.0, 0.5 / 0.75, 2.5 / 1.75])


@pytest.mark.parametrize(("src", "out"), [([0, 1, 1], [0, 1, 2]), ([0, 2, 1], [0, 1, 2]), ([0, 1], [0, 0]), ([0], [0])])
def test_non_increasing_anchors_are_refused(src, out):
    with pytest.raises(ValueError):
        TimeWarp(np.array(src, float), np.array(out, float))


@pytest.mark.parametrize("mode", ["nearest", "blend"])
def test_frame_plan_never_goes_backwards_and_lands_anchor_frames(mode):
    src_fps, n_src = 8.0, 24  # a 3 s SVD-like clip
    warp = TimeWarp(np.array([0.0, 1.0, 2.25, 3.0]), np.array([0.0, 1.5, 3.0, 4.5]))
    out_fps = 24.0
    times = np.arange(int(4.5 * out_fps)) / out_fps
    plan = frame_plan(warp, times, src_fps, n_src, mode, out_fps)
    assert np.all(np.diff(plan.index) >= 0)
    assert plan.index.min() >= 0 and plan.index.max() <= n_src - 1
    # the output frame shown at 1.5 s and 3.0 s is exactly source frame 8 (1.0 s) and 18 (2.25 s), unblended
    for t_out, frame in ((1.5, 8), (3.0, 18)):
        k = round(t_out * out_fps)
        assert plan.index[k] == frame and plan.weight[k] == 0.0


@pytest.mark.parametrize("beat_s", [1.5, 1.51, 1.52, 1.53, 1.48])
def test_an_anchor_frame_first_appears_on_the_output_frame_nearest_its_beat(beat_s):
    # source frame 8 (1.0 s at 8 fps) is a visual beat matched to a music beat at ``beat_s``
    warp = TimeWarp(np.array([0.0, 1.0, 3.0]), np.array([0.0, beat_s, 4.5]))
    out_fps = 24.0
    plan = frame_plan(warp, np.arange(108) / out_fps, 8.0, 24, "nearest", out_fps)
    first = int(np.flatnonzero(plan.index == 8)[0])
    assert first == round(beat_s * out_fps)  # within half an output frame, on either side
    assert plan.index[first - 1] == 7


def test_nearest_repeats_only_what_the_stretch_needs():
    # same frame rate in and out, stretch 1.5: 2 source frames per 3 output frames -> one repeat per 3
    src_fps = out_fps = 24.0
    warp = TimeWarp.uniform(0.0, 2.0, 0.0, 3.0)
    plan = frame_plan(warp, np.arange(72) / out_fps, src_fps, 48, "nearest", out_fps)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[-1], plan.index, [10**9]]))))
    assert runs.max() <= 2  # no frame is held longer than ceil(1.5)
    assert len(np.unique(plan.index)) == 48  # and none is skipped
    # speeding up (ratio 0.5) skips every other frame and repeats none
    fast = frame_plan(TimeWarp.uniform(0.0, 2.0, 0.0, 1.0), np.arange(24) / out_fps, src_fps, 48, "nearest", out_fps)
    assert np.all(np.diff(fast.index) == 2)


def test_blend_weights_interpolate_between_neighbours():
    warp = TimeWarp.uniform(0.0, 1.0, 0.0, 2.0)  # 2x slow motion
    plan = frame_plan(warp, np.arange(16) / 8.0, 8.0, 8, "blend")
    np.testing.assert_allclose(plan.index[:6], [0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(plan.weight[:6], [0.0, 0.5, 0.0, 0.5, 0.0, 0.5])
    assert plan.weight[-1] == 0.0 and plan.index[-1] == 7  # clamped at the last frame
