"""A pool's workers share the cores for OpenCV's own threads: ``cpu_count // n`` each, at least one, so
``n`` workers never run ``n`` full-width OpenCV thread pools on the same cores. Set in the parent before
the fork: a forked child resizing its inherited pool hung (the case this test would catch: it forks after
this process ran OpenCV's threads)."""

from __future__ import annotations

import multiprocessing
import os

import cv2
import numpy as np
import pytest

from mv2desc.procs import worker_pool


def _threads(_: int) -> tuple[int, str]:
    return cv2.getNumThreads(), os.environ.get("OPENCV_FOR_THREADS_NUM", "")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_each_worker_gets_its_share_of_the_cores(n):
    before = cv2.getNumThreads()
    cv2.GaussianBlur(np.ones((1500, 1500), np.float32), (9, 9), 3)  # this process's OpenCV threads are running (a fork inherits them)
    with worker_pool(n, multiprocessing.get_context("fork")) as pool:
        seen = set(pool.map(_threads, range(2 * n)))
    share = max(1, (os.cpu_count() or 1) // n)
    assert seen == {(share, str(share))}  # in OpenCV (imported before the fork) and for a later import
    assert cv2.getNumThreads() == before and "OPENCV_FOR_THREADS_NUM" not in os.environ  # this process keeps its own
