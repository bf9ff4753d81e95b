""""blend" resampling shows each output frame as the weighted mean of the two source frames its plan
names: checked on a clip whose frames are flat grey levels known in advance (frame ``k`` at ``10 + 15 k``),
slowed down so that most output frames fall between two source frames; the same for a clip of the
output's size (blended in its yuv420p planes) and for one that is letterboxed (blended in RGB)."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.media.video import iter_frames, probe_video, write_video
from mv2desc.sync.render import ClipPlacement, render
from mv2desc.sync.warp import TimeWarp, frame_plan

FPS = 12.0
LEVELS = 10 + 15 * np.arange(12)


@pytest.mark.parametrize("out_size", [(64, 48), (96, 48)])  # the clip's size (yuv420p blend), wider (letterbox, RGB blend)
def test_blended_frames_are_the_weighted_mean_of_their_two_source_frames(tmp_path, out_size):
    frames = np.repeat(LEVELS.astype(np.uint8)[:, None, None, None], 48 * 64 * 3, axis=1).reshape(12, 48, 64, 3)
    clip = write_video(tmp_path / "clip.mp4", frames, FPS, crf=0, preset="veryfast")
    info = probe_video(clip)
    span = 2.2 * info.duration_s  # slowed down: most output frames lie between two source frames
    warp = TimeWarp(np.array([0.0, info.duration_s]), np.array([0.0, span]))
    width, height = out_size
    out = render([ClipPlacement(info, warp, 0.0, span)], tmp_path / "out.mp4", duration_s=span, fps=FPS, width=width,
                 height=height, resample="blend", crf=0, preset="veryfast")
    shown = np.stack(list(iter_frames(out)))
    plan = frame_plan(warp, np.arange(len(shown)) / FPS, info.fps, info.n_frames, "blend", FPS)
    nxt = np.minimum(plan.index + 1, len(LEVELS) - 1)
    expected = (1 - plan.weight) * LEVELS[plan.index] + plan.weight * LEVELS[nxt]
    assert (plan.weight > 0.05).sum() >= len(shown) // 2  # the test does blend
    x0 = (width - 64) // 2
    measured = shown[:, :, x0 : x0 + 64].reshape(len(shown), -1).mean(axis=1)
    assert np.abs(measured - expected).max() <= 2.5, np.c_[measured, expected][:10]  # RGB round trips: 1-2 levels
