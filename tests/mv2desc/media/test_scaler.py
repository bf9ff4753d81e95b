"""The decoder's scaling names swscale's bilinear scaler (``mv2desc.media.video.SCALER``) because PyAV,
given no name, uses the same one at twice the cost: the scaled frames, grey frames, RGB conversions and
yuv420p reformats must stay byte-for-byte those of PyAV's unnamed default (what the detector and the
encodes were validated on)."""

from __future__ import annotations

import av
import numpy as np

from mv2desc.media.video import iter_av_frames, iter_frames, write_video


def _video(path):
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:128]
    frames = np.empty((8, 96, 128, 3), np.uint8)
    for k in range(8):
        frames[k, ..., 0] = (x * 2 + 9 * k) % 256
        frames[k, ..., 1] = (y * 2 + 5 * k) % 256
        frames[k, ..., 2] = rng.integers(0, 256, (96, 128))
    return write_video(path, frames, 12.0, crf=12, preset="veryfast")


def _pyav_default(path, **kw):
    with av.open(str(path)) as c:
        return [f.to_ndarray(**kw) for f in c.decode(c.streams.video[0])]


def test_scaled_and_grey_frames_are_pyavs_default(tmp_path):
    path = _video(tmp_path / "v.mp4")
    for ours, theirs in [
        (iter_frames(path, height=48), _pyav_default(path, width=64, height=48, format="rgb24")),
        (iter_frames(path, width=50, height=30), _pyav_default(path, width=50, height=30, format="rgb24")),
        (iter_frames(path, gray=True), _pyav_default(path, format="gray")),
        (iter_frames(path, height=48, gray=True), _pyav_default(path, width=64, height=48, format="gray")),
    ]:
        ours = list(ours)
        assert len(ours) == len(theirs) == 8
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_reformatted_yuv_frames_are_pyavs_default(tmp_path):
    path = _video(tmp_path / "v.mp4")
    with av.open(str(path)) as c:
        theirs = [f.reformat(width=64, height=48, format="yuv420p").to_ndarray() for f in c.decode(c.streams.video[0])]
    ours = [f.to_ndarray() for f in iter_av_frames(path, width=64, height=48)]
    assert len(ours) == 8 and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
