"""Frame rates written as decimals keep their NTSC fraction (issue 17, item 14): 23.976 fps is
24000/1001 in the file, not 2997/125; 29.97 is 30000/1001."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from mv2desc.media.video import frame_rate, probe_video, write_video


@pytest.mark.parametrize(
    ("fps", "rate"),
    [
        (23.976, Fraction(24000, 1001)),
        (23.98, Fraction(24000, 1001)),
        (24000 / 1001, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (30000 / 1001, Fraction(30000, 1001)),
        (47.952, Fraction(48000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (119.88, Fraction(120000, 1001)),
        (24.0, Fraction(24)),
        (25.0, Fraction(25)),
        (30.0, Fraction(30)),
        (12.0, Fraction(12)),
        (7.5, Fraction(15, 2)),
        (12.5, Fraction(25, 2)),
        (1.0, Fraction(1)),
        (1.001, Fraction(1001, 1000)),
    ],
)
def test_frame_rate_fraction(fps, rate):
    assert frame_rate(fps) == rate


@pytest.mark.parametrize(("fps", "rate"), [(23.976, Fraction(24000, 1001)), (29.97, Fraction(30000, 1001))])
def test_written_video_has_the_ntsc_rate_and_time_base(tmp_path, fps, rate):
    frames = np.zeros((12, 16, 16, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(12, dtype=np.uint8)[:, None, None] * 20
    path = write_video(tmp_path / "ntsc.mp4", frames, fps)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == rate
        step = 1 / (rate * stream.time_base)  # a frame's duration in ticks: 1001 for a 1/24000 (1/30000) time base
        assert step.denominator == 1 and stream.time_base.denominator % rate.numerator == 0, stream.time_base
        pts = [p.pts for p in container.demux(stream) if p.pts is not None]
    assert sorted(np.diff(sorted(pts)).tolist()) == [step] * (len(pts) - 1)  # every frame lasts 1001/24000 (1001/30000) s
    info = probe_video(path)
    assert info.n_frames == 12 and info.fps == pytest.approx(float(rate), abs=1e-9)
