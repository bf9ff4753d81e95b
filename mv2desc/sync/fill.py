"""Longer material from one clip alone: loop or ping-pong its frames.

A music-video segment can outlast the clip a video model renders for it (SVD-XT gives about 3.6 s,
Wan 5 s). The segment must still show its own clip only, so the clip is first stretched (up to
``MatchConfig.fill_stretch``, with flow frames at render time) and, beyond that, its frames are
repeated: ``loop`` plays them again from the first frame (a visible jump at each restart),
``pingpong`` plays them forward, backward, forward ... (no jump; motion reverses). Written by hand:
a frame-index pattern, nothing a library offers.
"""

from __future__ import annotations

import math

import numpy as np

FILL_MODES = ("pingpong", "loop")


def fill_indices(n_frames: int, n_out: int, mode: str) -> np.ndarray:
    """Indices into a clip of ``n_frames`` frames for ``n_out`` output frames (``n_out >= n_frames``)."""
    if mode not in FILL_MODES:
        raise ValueError(f"fill mode must be one of {FILL_MODES}, got {mode!r}")
    if n_frames < 1 or n_out < 1:
        raise ValueError(f"need at least one frame, got {n_frames} -> {n_out}")
    if n_frames == 1:
        return np.zeros(n_out, dtype=np.int64)
    if mode == "loop":
        cycle = np.arange(n_frames)
    else:  # forward, then backward without repeating either end frame
        cycle = np.concatenate([np.arange(n_frames), np.arange(n_frames - 2, 0, -1)])
    return np.resize(cycle, n_out).astype(np.int64)


def frames_needed(span_s: float, fps: float, fill_stretch: float) -> int:
    """Frames of material that cover ``span_s`` at a stretch of ``fill_stretch``."""
    return max(1, math.ceil(span_s * fps / fill_stretch - 1e-9))


def extend_frames(frames: np.ndarray, n_out: int, mode: str) -> np.ndarray:
    """``frames`` ``(T, H, W, 3)`` repeated by ``mode`` to ``(max(T, n_out), H, W, 3)``."""
    if n_out <= len(frames):
        return frames
    return frames[fill_indices(len(frames), n_out, mode)]


__all__ = ["FILL_MODES", "extend_frames", "fill_indices", "frames_needed"]
