"""A pool's workers share the cores for OpenCV's and FFmpeg's codecs' own threads: ``cpu_count // n`` each,
at least one, so ``n`` workers never run ``n`` full-width thread pools on the same cores. Set in the parent before
the fork: a forked child resizing its inherited pool hung (the case this test would catch: it forks after
this process ran OpenCV's threads)."""

from __future__ import annotations

import multiprocessing
import os

import cv2
import numpy as np
import pytest

from mv2desc.procs import CODEC_THREADS_ENV, codec_threads, worker_pool


def _threads(_: int) -> tuple[int, str, int]:
    return cv2.getNumThreads(), os.environ.get("OPENCV_FOR_THREADS_NUM", ""), codec_threads()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_each_worker_gets_its_share_of_the_cores(n):
    before = cv2.getNumThreads()
    cv2.GaussianBlur(np.ones((1500, 1500), np.float32), (9, 9), 3)  # this process's OpenCV threads are running (a fork inherits them)
    with worker_pool(n, multiprocessing.get_context("fork")) as pool:
        seen = set(pool.map(_threads, range(2 * n)))
    share = max(1, (os.cpu_count() or 1) // n)
    assert seen == {(share, str(share), share)}  # in OpenCV (imported before the fork), for a later import, in FFmpeg's codecs
    assert cv2.getNumThreads() == before and "OPENCV_FOR_THREADS_NUM" not in os.environ  # this process keeps its own
    assert CODEC_THREADS_ENV not in os.environ and codec_threads() == 0


def test_a_video_writer_in_a_share_encodes_on_that_many_threads(tmp_path):
    from mv2desc.media.video import VideoWriter, read_frames
    from mv2desc.procs import thread_share

    frame = np.full((64, 96, 3), 120, np.uint8)
    with thread_share(1):
        w = VideoWriter(tmp_path / "one.mp4", fps=8, width=96, height=64)
        assert w._vstream.codec_context.thread_count == 1
        w.write(frame)
        w.close()
    w = VideoWriter(tmp_path / "auto.mp4", fps=8, width=96, height=64)
    assert w._vstream.codec_context.thread_count == 0  # FFmpeg's choice outside a share
    w.write(frame)
    w.close()
    assert np.abs(read_frames(tmp_path / "one.mp4").astype(int) - 120).max() <= 2
