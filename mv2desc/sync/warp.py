"""Piecewise-linear, monotonic time warps between a clip's own time and the output timeline.

A warp is given by anchors ``(src_k, out_k)``, both strictly increasing: source time ``src_k`` of the
clip is shown at output time ``out_k``, and times in between are interpolated linearly. Such a map
never runs backwards and lands every anchor exactly. The stretch ratio of an interval is
``(out_{k+1} - out_k) / (src_{k+1} - src_k)`` (2 = slowed down twice).

Also here: which source frames an output frame rate shows (:func:`frame_plan`), with "nearest" or
"blend" resampling. Written by hand: it is a few lines of ``numpy.interp`` with rules (monotonic,
bounded, frame-exact at anchors) that no library packages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-9


@dataclass(frozen=True)
class TimeWarp:
    """Monotonic piecewise-linear map from source time to output time (seconds).

    Attributes:
        src: ``(K,)`` strictly increasing source anchor times.
        out: ``(K,)`` strictly increasing output anchor times.
    """

    src: np.ndarray
    out: np.ndarray

    def __post_init__(self) -> None:
        src = np.asarray(self.src, dtype=np.float64)
        out = np.asarray(self.out, dtype=np.float64)
        if src.ndim != 1 or src.shape != out.shape or src.size < 2:
            raise ValueError(f"a warp needs >= 2 anchors in matching 1-d arrays, got {src.shape} and {out.shape}")
        if np.any(np.diff(src) <= 0) or np.any(np.diff(out) <= 0):
            raise ValueError("warp anchors must be strictly increasing in both source and output time")
        object.__setattr__(self, "src", src)
        object.__setattr__(self, "out", out)

    @classmethod
    def uniform(cls, src_start: float, src_end: float, out_start: float, out_end: float) -> TimeWarp:
        """The straight line from ``(src_start, out_start)`` to ``(src_end, out_end)``."""
        return cls(np.array([src_start, src_end]), np.array([out_start, out_end]))

    def to_output(self, t_src: np.ndarray | float) -> np.ndarray:
        """Output time of source time(s) (clamped to the warp's span)."""
        return np.interp(t_src, self.src, self.out)

    def to_source(self, t_out: np.ndarray | float) -> np.ndarray:
        """Source time shown at output time(s) (clamped to the warp's span)."""
        return np.interp(t_out, self.out, self.src)

    def ratios(self) -> np.ndarray:
        """``(K-1,)`` stretch ratio of each interval."""
        return np.diff(self.out) / np.diff(self.src)


@dataclass(frozen=True)
class FramePlan:
    """Which source frames make each output frame.

    Attributes:
        index: ``(N,)`` int, the source frame of each output frame ("nearest") or the earlier of the
            two blended frames ("blend"); never decreasing.
        weight: ``(N,)`` float in [0, 1), the share of frame ``index + 1`` in a blend (0 for "nearest").
    """

    index: np.ndarray
    weight: np.ndarray


def frame_plan(
    warp: TimeWarp, out_times: np.ndarray, src_fps: float, n_src_frames: int, mode: str = "nearest", out_fps: float | None = None
) -> FramePlan:
    """Source frames for output frames shown at ``out_times`` (seconds, non-decreasing).

    Frame ``i`` of the source appears at ``i / src_fps`` and stays until the next one, as a player
    shows it. "nearest": each output frame shows the source frame on screen at the warped time of
    the output frame's middle (``out_time + 0.5 / out_fps``), so source frame ``i`` first appears on
    the output frame nearest to where the warp puts ``i / src_fps`` (an anchor such as a visual beat
    lands within half an output frame of its music beat, never systematically early or late).
    "blend" and "flow": the two source frames around the warped time itself, and the position between
    them (``weight``), for a cross-fade or a motion-compensated in-between frame
    (:mod:`mv2desc.sync.interpolate`). A time that warps exactly onto a frame shows that frame alone.
    """
    out_times = np.asarray(out_times, dtype=np.float64)
    if mode == "nearest":
        half = 0.5 / out_fps if out_fps else 0.0
        pos = np.asarray(warp.to_source(out_times + half), dtype=np.float64) * src_fps
        idx = np.floor(np.clip(pos, 0.0, n_src_frames - 1) + _EPS).astype(np.int64)
        return FramePlan(np.minimum(idx, n_src_frames - 1), np.zeros(idx.size))
    pos = np.clip(np.asarray(warp.to_source(out_times), dtype=np.float64) * src_fps, 0.0, n_src_frames - 1)
    if mode not in ("blend", "flow"):
        raise ValueError(f"mode must be 'nearest', 'blend' or 'flow', got {mode!r}")
    idx = np.floor(pos + _EPS).astype(np.int64)
    weight = np.clip(pos - idx, 0.0, None)
    weight[weight < 1e-6] = 0.0
    at_end = idx >= n_src_frames - 1
    idx[at_end], weight[at_end] = n_src_frames - 1, 0.0
    return FramePlan(idx, weight)
