"""``frames_at``: the frame shown at each time, in a file of several GOPs (chunks joined by stream copy,
each starting on a key frame): every frame carries its own number in its colour, so the test reads which
frame came back. Times in order (decoded on across a GOP), out of order (a seek back), between frames
(the last frame starting at or before the time), at 0 and past the end (the last frame)."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.errors import MediaError
from mv2desc.media.video import frames_at, write_video
from mv2desc.sync.render import join_chunks

FPS = 12.0


def _numbered(k0: int, n: int) -> np.ndarray:
    """Frames ``k0 .. k0 + n - 1``; frame ``k`` is flat grey ``4 k`` in its green channel (red and blue 0)."""
    frames = np.zeros((n, 48, 64, 3), np.uint8)
    for i in range(n):
        frames[i, ..., 1] = 4 * (k0 + i)
    return frames


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames_at")
    chunks, k0 = [], 0
    for c, n in enumerate((20, 15, 25)):  # three GOPs: key frames at 0, 20 and 35
        chunks.append((write_video(root / f"c{c}.mp4", _numbered(k0, n), FPS, crf=0, preset="veryfast"), n))
        k0 += n
    return join_chunks(chunks, root / "v.mp4", fps=FPS, audio=None, sample_rate=22050, audio_bitrate=128_000)


def _numbers(images) -> list[int]:
    return [round(float(im[..., 1].mean()) / 4) for im in images]


def test_the_frame_shown_at_each_time(video):
    times = [0.0, 0.5 / FPS, 3 / FPS, 19 / FPS, 21.4 / FPS, 34 / FPS, 36 / FPS, 59 / FPS, 99.0]
    assert _numbers(frames_at(video, times)) == [0, 0, 3, 19, 21, 34, 36, 59, 59]


def test_times_out_of_order_and_repeated(video):
    times = [50 / FPS, 5 / FPS, 5 / FPS, 40 / FPS, 22 / FPS, 22.9 / FPS, 21 / FPS]
    assert _numbers(frames_at(video, times)) == [50, 5, 5, 40, 22, 22, 21]


def test_a_file_that_is_not_a_video_is_a_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError):
        frames_at(bad, [0.0])
