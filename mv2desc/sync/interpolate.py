"""Motion-compensated in-between frames: OpenCV's DIS optical flow + backward warping.

When a clip is slowed down or shown at a higher frame rate than it was made at (SVD gives 7-8 fps,
the output is 24 fps), the frames in between are *interpolated along the motion*, not held (a held
frame makes motion stutter and moves a visual beat onto the source's coarse frame grid) and not
cross-faded (a cross-fade doubles moving edges). For two frames ``a`` (time 0) and ``b`` (time 1):

* flows ``F01`` (a -> b) and ``F10`` (b -> a) by DIS (Kroeger et al. 2016, ``cv2.DISOpticalFlow``),
  computed once per pair at a working height (``flow_height``) and scaled up;
* the flows from time ``t`` back to each frame approximated as in Super SloMo (Jiang et al. 2018):
  ``Ft0 = -(1-t) t F01 + t^2 F10``, ``Ft1 = (1-t)^2 F01 - t (1-t) F10``;
* ``I_t = (1-t) a(x + Ft0) + t b(x + Ft1)`` with ``cv2.remap`` (bilinear).

A held source frame (``a == b``) gives zero flow, so it stays held. ffmpeg's ``minterpolate`` filter
(through PyAV) was measured first: 0.55 s per 3 s clip at 320x180 for 8 -> 24 fps only, and it can
only emit a constant rate, not the arbitrary positions a time warp asks for; this is ~10x cheaper
per output frame and takes any ``t``. Written with OpenCV's primitives because no maintained package
offers flow-based interpolation at arbitrary times on the CPU.
"""

from __future__ import annotations

import cv2
import numpy as np


class FlowInterpolator:
    """In-between frames of consecutive source frames; flows are cached for the current pair."""

    def __init__(self, flow_height: int = 180) -> None:
        self.flow_height = flow_height
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._key: object = None
        self._flows: tuple[np.ndarray, np.ndarray] | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def _pair_flows(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(F01, F10) at full size, ``(H, W, 2)`` float32 in pixels."""
        h, w = a.shape[:2]
        scale = min(1.0, self.flow_height / h)
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        ga = cv2.cvtColor(cv2.resize(a, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        gb = cv2.cvtColor(cv2.resize(b, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        flows = []
        for src, dst in ((ga, gb), (gb, ga)):
            f = self._dis.calc(src, dst, None)
            if size != (w, h):
                f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) * np.array([w / size[0], h / size[1]], np.float32)
            flows.append(f)
        return flows[0], flows[1]

    def between(self, a: np.ndarray, b: np.ndarray, t: float, key: object = None) -> np.ndarray:
        """The frame at ``t`` in (0, 1) between RGB frames ``a`` and ``b`` (``(H, W, 3)`` uint8).

        ``key`` identifies the pair (e.g. the source frame index): flows are reused while it stays
        the same, so several output frames between one pair cost one flow computation.
        """
        if t <= 0.0:
            return a
        if t >= 1.0:
            return b
        if key is None or key != self._key or self._flows is None:
            self._flows, self._key = self._pair_flows(a, b), key
        f01, f10 = self._flows
        h, w = a.shape[:2]
        if self._grid is None or self._grid[0].shape != (h, w):
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            self._grid = (gx, gy)
        gx, gy = self._grid
        ft0 = -(1 - t) * t * f01 + t * t * f10
        ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
        wa = cv2.remap(a, gx + ft0[..., 0], gy + ft0[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wb = cv2.remap(b, gx + ft1[..., 0], gy + ft1[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.addWeighted(wa, 1.0 - t, wb, t, 0.0)
