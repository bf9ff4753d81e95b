"""Per-frame motion features from dense optical flow (OpenCV DIS) on downscaled grey frames.

For each pair of consecutive frames ``(i-1, i)`` the flow field is summarised by a direction
histogram weighted by magnitude: bin ``b`` holds the mean over all pixels of ``|flow|`` for the pixels
whose flow points into direction sector ``b``, each pixel shared between the two sectors nearest its
direction (so motion along a sector border does not flicker between bins). Flow is expressed in
frame heights per second, so the features do not depend on resolution or frame rate.

Where the flow leaves much of the picture unexplained, or reports a sudden slow-down, it is searched
again from a guess (the picture's global shift: a pan too fast for one search; the motion so far: a
fast step lost) and the better-explaining flow is kept. A hard cut makes the flow meaningless; cuts are
detected from the change that the flow cannot explain (on slightly blurred pictures, so fine texture
does not count), and flagged. Held frames (the same picture again, as slowed-down or
frame-rate-converted video has) carry no motion information: the motion is measured between new
pictures and divided by the time between them.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

# DIS (Kroeger et al. 2016) with OpenCV's "medium" preset: patch search on every pyramid level down to
# full resolution, then variational refinement. On 96 px high frames it follows a pan of 10-15 px per
# frame (1.2 frame heights per second at 8 fps), where Farnebäck (5 levels, 15 px windows) lost track
# above about 8 px on fine texture, reported a hard cut and missed the stop; and it costs less CPU.
_DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
_DIS_MIN_SIDE = 12  # DIS needs a picture at least this wide or high
_dis = None
# a new picture whose motion fell below this share of the previous one's, or whose change the flow
# leaves unexplained beyond the cut threshold, gets a second flow search from a guess; the second flow
# is kept when it leaves at most this share of the first one's unexplained change
_RETRY_SLOWDOWN = 0.7
_RETRY_GAIN = 0.9
# a held frame: besides a mean grey-level change of at most hold_level, at most this share of the pixels
# changed by more than _HOLD_PIXEL grey levels (a repeated picture re-encoded changes by 1-3 levels; a
# small object moving slowly changes the mean by less than hold_level, but its edges a lot)
_HOLD_PIXEL = 8
_HOLD_SHARE = 0.002
_CHANGE_BLUR = 1.0  # standard deviation (pixels) of the blur before measuring unexplained change
# a cut persists: a picture up to this long after it is not explained by the one before it (after a
# flash, it is)
_TRANSIENT_S = 0.25
STREAM_HINT = 64  # frames the feature arrays of a stream of unknown length start with (then doubled)


@dataclass(frozen=True)
class MotionFeatures:
    """Motion of a clip, one row per frame.

    Attributes:
        fps: frame rate of the clip (frames per second).
        histograms: ``(T, B)`` float32; row ``i`` describes the motion from frame ``i-1`` to frame
            ``i`` (row 0 is zero), in frame heights per second, averaged over the frame.
        change: ``(T,)`` float32, share of the picture that changed from frame ``i-1`` beyond what
            the flow explains (0-1).
        cuts: ``(T,)`` bool, True where frame ``i`` starts a new shot (hard cut).
        held: ``(T,)`` bool, True where frame ``i`` repeats the previous picture (a held frame, as a
            frame-rate conversion or a slow-down makes): its row is zero, and the motion up to the
            next new picture is measured from the last new one over the whole gap.
        lost: ``(T,)`` float32, share of what had just moved (the pixels the motion into the last new
            picture landed on) that changes again into frame ``i`` beyond what the flow explains
            (0-1): high where an object goes on moving but the flow lost it (a fast last step,
            an occlusion), low where it stopped or where the flow follows it.
    """

    fps: float
    histograms: np.ndarray
    change: np.ndarray
    cuts: np.ndarray
    held: np.ndarray
    lost: np.ndarray | None = None

    @property
    def speed(self) -> np.ndarray:
        """``(T,)`` mean flow magnitude (frame heights per second)."""
        return self.histograms.sum(axis=1)

    @property
    def n_frames(self) -> int:
        return int(self.histograms.shape[0])


def _flow(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """DIS flow ``(H, W, 2)`` float32: ``prev[y, x] ~ cur[y + f[..., 1], x + f[..., 0]]`` (pixels)."""
    global _dis
    if max(prev.shape) < _DIS_MIN_SIDE:
        return np.zeros((*prev.shape, 2), np.float32)
    if _dis is None:  # one instance per process (workers fork or spawn their own)
        _dis = cv2.DISOpticalFlow_create(_DIS_PRESET)
    return _dis.calc(prev, cur, None)


def _flow_from(prev: np.ndarray, cur: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Flow like :func:`_flow` near a guess ``init`` ``(H, W, 2)``: ``cur`` is warped back along the guess
    and the flow of what remains is added to it."""
    gx, gy = _grid(*prev.shape)
    back = cv2.remap(cur, gx + init[..., 0], gy + init[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return _flow(prev, back) + init


def _global_shift(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """A uniform flow field ``(H, W, 2)``: the whole picture's translation (phase correlation)."""
    (dx, dy), _ = cv2.phaseCorrelate(prev.astype(np.float32), cur.astype(np.float32))
    flow = np.empty((*prev.shape, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def direction_histogram(flow: np.ndarray, bins: int, scale: float) -> np.ndarray:
    """Magnitude-weighted direction histogram ``(bins,)`` of a flow field, averaged over its pixels.

    ``scale`` converts pixels per frame to the output unit.
    """
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    pos = (ang.ravel() * (bins / (2 * np.pi))).astype(np.float64)  # sector centres at integers
    lo = np.floor(pos)
    w_hi = pos - lo
    lo = lo.astype(np.int64) % bins
    m = mag.ravel().astype(np.float64)
    hist = np.bincount(lo, weights=m * (1.0 - w_hi), minlength=bins)
    hist += np.bincount((lo + 1) % bins, weights=m * w_hi, minlength=bins)
    return (hist[:bins] * (scale / mag.size)).astype(np.float32)


def unexplained(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray, level: int = 10) -> np.ndarray:
    """``(H, W)`` bool, in ``prev``'s coordinates: where ``cur`` warped back along ``flow`` differs from
    ``prev`` by more than ``level`` (grey ``(H, W)`` or colour ``(H, W, 3)``, any channel counts)."""
    gx, gy = _grid(*prev.shape[:2])
    back = cv2.remap(cur, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = cv2.absdiff(prev, back)
    if diff.ndim == 3:  # any channel (np.maximum: much faster than max(axis=2) over 3 values)
        diff = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
    return diff > level


@functools.cache
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``(x, y)``, each ``(h, w)`` float32 (read-only, shared)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def compensated_change(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray, level: int = 10) -> float:
    """Share of the picture (0-1) that changes by more than ``level`` after motion compensation.

    ``cur`` (grey ``(H, W)`` or colour ``(H, W, 3)``, any channel counts) is warped back along ``flow``
    onto ``prev``. Motion that the flow explains leaves little; motion it misses (a fast object)
    leaves a change where the object is; a hard cut changes nearly the whole picture.
    """
    miss = unexplained(prev, cur, flow, level)
    return np.count_nonzero(miss) / miss.size


def landed(flow: np.ndarray, min_px: float = 1.0) -> np.ndarray | None:
    """``(H, W)`` bool, in the next picture's coordinates: where the pixels that moved by at least
    ``min_px`` land (dilated by 2 pixels); None when nothing moved that far."""
    h, w = flow.shape[:2]
    ys, xs = np.nonzero(cv2.magnitude(flow[..., 0], flow[..., 1]) >= min_px)
    if ys.size == 0:
        return None
    x2 = np.clip(np.rint(xs + flow[ys, xs, 0]), 0, w - 1).astype(np.intp)
    y2 = np.clip(np.rint(ys + flow[ys, xs, 1]), 0, h - 1).astype(np.intp)
    mask = np.zeros((h, w), np.uint8)
    mask[y2, x2] = 1
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


def _share(mask: np.ndarray, where: np.ndarray | None) -> float:
    """Share of ``where`` (the whole picture when None) that ``mask`` covers."""
    if where is None:
        return np.count_nonzero(mask) / mask.size
    return float(np.count_nonzero(mask & where)) / max(1, np.count_nonzero(where))


class _Pictures:
    """The grey and the slightly blurred picture of every frame (what :func:`motion_features` compares).

    From an array they are made at once; from an iterable of frames (a decoder's), a background thread
    makes them as the frames come while the flow runs on the ones already there (decoding, scaling and
    blurring release the GIL, as OpenCV's flow does): the same pictures, in less wall time. Reading
    picture ``i`` waits until it is there; :meth:`has` says whether the clip has it.
    """

    def __init__(self, frames: np.ndarray | Iterable[np.ndarray]) -> None:
        self.gray: list[np.ndarray] = []
        # the change the flow leaves unexplained is measured on slightly blurred pictures: fine texture
        # (foliage, grain, compression) then does not count a sub-pixel error of the flow as change
        self.soft: list[np.ndarray] = []
        self._ready = threading.Condition()
        self._done = False
        self._stop = False
        self._error: BaseException | None = None
        self._hint = STREAM_HINT
        if isinstance(frames, np.ndarray):
            self._hint = max(1, len(frames))
            for f in frames:
                self._add(f)
            self._done = True
        else:
            self._thread = threading.Thread(target=self._fill, args=(iter(frames),), daemon=True)
            self._thread.start()

    def _add(self, frame: np.ndarray) -> None:
        if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
            raise ValueError(f"frames must be (H, W) grey or (H, W, 3) RGB, got shape {frame.shape}")
        g = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        soft = cv2.GaussianBlur(frame, (0, 0), _CHANGE_BLUR) if _CHANGE_BLUR > 0 else frame
        with self._ready:
            self.gray.append(g)
            self.soft.append(soft)
            self._ready.notify_all()

    def _fill(self, frames: Iterator[np.ndarray]) -> None:
        try:
            for f in frames:
                if self._stop:
                    break
                self._add(f)
        except BaseException as exc:  # handed to the reader
            self._error = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a generator's decoder closes its file
            with self._ready:
                self._done = True
                self._ready.notify_all()

    def has(self, i: int) -> bool:
        """Whether picture ``i`` exists (waiting for it while the stream goes on)."""
        with self._ready:
            while len(self.gray) <= i and not self._done:
                self._ready.wait()
            if self._error is not None:
                raise self._error
            return len(self.gray) > i

    def size_hint(self) -> int:
        return self._hint

    def close(self) -> None:
        """Stop the background thread (on an error the rest of the stream is not decoded)."""
        self._stop = True
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join()


@dataclass(frozen=True)
class MotionPiece:
    """The per-frame measurements of a stretch of frames measured on its own (its first frame has no
    predecessor): what :func:`join_pieces` makes :class:`MotionFeatures` of. A clip is one piece; a video
    assembled from segments (a hard cut between each two, by construction) can be measured one piece
    per segment, in parallel, and an unchanged segment's piece kept for the next run.

    Attributes are those of :class:`MotionFeatures` before the cut decision (which needs the whole
    video's median change): ``suspect`` (T,) bool marks the frames whose change exceeded the cut
    threshold, ``faded`` (T,) bool those of them that a picture shortly after explains again (a flash).
    """

    histograms: np.ndarray
    change: np.ndarray
    held: np.ndarray
    lost: np.ndarray
    suspect: np.ndarray
    faded: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.change.shape[0])


def motion_features(
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    bins: int = 8,
    cut_threshold: float = 0.3,
    cut_ratio: float = 4.0,
    hold_level: float = 0.5,
) -> MotionFeatures:
    """Motion features of small frames at ``fps``: grey ``(T, H, W)`` or RGB ``(T, H, W, 3)``, uint8, or an
    iterable of such frames (made into pictures in a background thread while the flow runs: :class:`_Pictures`).

    Flow is computed on grey levels; with colour frames, cuts between shots of equal brightness but
    different colour are seen too. A frame is a cut when the share of the picture that changed
    beyond what motion explains (:func:`unexplained`, on pictures blurred by ``_CHANGE_BLUR``) exceeds
    ``cut_threshold`` and ``cut_ratio`` times the clip's median, and the change persists (a picture up
    to ``_TRANSIENT_S`` later is not explained by the last calm one before it either: a flash, which
    fades, is no cut); its flow is discarded. A frame whose mean grey level differs from the last new
    picture by at most ``hold_level`` (0-255 scale), with hardly a pixel changed visibly (a small
    object moving slowly changes the mean little, but its edges a lot), is a held frame.
    """
    piece = measure_piece(frames, fps, bins=bins, cut_threshold=cut_threshold, hold_level=hold_level)
    return join_pieces([piece], fps, cut_ratio=cut_ratio)


def measure_piece(
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    bins: int = 8,
    cut_threshold: float = 0.3,
    hold_level: float = 0.5,
) -> MotionPiece:
    """The per-frame measurements of :func:`motion_features` on ``frames`` (same inputs), before the cut
    decision: one piece for :func:`join_pieces`."""
    if isinstance(frames, np.ndarray) and (frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] != 3)):
        raise ValueError(f"frames must be (T, H, W) grey or (T, H, W, 3) RGB, got shape {frames.shape}")
    pictures = _Pictures(frames)
    try:
        return _measure(pictures, fps, bins, cut_threshold, hold_level)
    finally:
        pictures.close()


def _measure(pictures: _Pictures, fps: float, bins: int, cut_threshold: float, hold_level: float) -> MotionPiece:
    if not pictures.has(0):
        raise ValueError("no frames")
    gray, soft = pictures.gray, pictures.soft
    h, w = gray[0].shape
    scale = fps / h  # pixels per frame -> frame heights per second
    t = pictures.size_hint()  # grown as the pictures come (a stream's length is known at its end)
    hist = np.zeros((t, bins), dtype=np.float32)
    change = np.zeros(t, dtype=np.float32)
    held = np.zeros(t, dtype=bool)
    last = 0  # the last frame that showed a new picture
    rate, speed, moved = None, 0.0, None  # the flow per frame into it, its speed, where it landed
    lost = np.zeros(t, dtype=np.float32)
    suspects = []  # (picture, the last calm picture before it): cuts, or flashes
    calm = 0  # the last new picture that the flow explained (no cut, no flash, nothing lost)
    for i in itertools.count(1):
        if not pictures.has(i):
            break
        if i >= change.size:
            hist, change, held, lost = (np.concatenate([a, np.zeros_like(a)]) for a in (hist, change, held, lost))
        diff = cv2.absdiff(gray[last], gray[i])
        if float(diff.mean()) <= hold_level and np.count_nonzero(diff > _HOLD_PIXEL) <= _HOLD_SHARE * diff.size:
            held[i] = True
            continue
        gap = i - last
        flow = _flow(gray[last], gray[i])
        miss = unexplained(soft[last], soft[i], flow)
        change[i] = _share(miss, None)
        hist[i] = direction_histogram(flow, bins, scale / gap)
        astray = change[i] > cut_threshold  # a cut, a flash, or motion the flow lost track of (a fast pan)
        slower = rate is not None and float(hist[i].sum()) < _RETRY_SLOWDOWN * speed  # a stop, or a fast step lost
        if (astray or slower) and max(h, w) >= _DIS_MIN_SIDE:
            # search again from the picture's global shift (a cut, or a pan too fast) and from the motion
            # so far (a fast step lost); keep the flow that explains clearly better the whole picture,
            # respectively what had just moved (a stop leaves it in place, a lost step does not)
            tries = [(_global_shift(gray[last], gray[i]), None)] if astray else []
            if rate is not None:
                tries.append((rate * gap, moved))
            for start, where in tries:
                retry = _flow_from(gray[last], gray[i], start)
                retry_miss = unexplained(soft[last], soft[i], retry)
                if _share(retry_miss, where) < _RETRY_GAIN * _share(miss, where):
                    flow, miss = retry, retry_miss
                    change[i] = _share(miss, None)
                    hist[i] = direction_histogram(flow, bins, scale / gap)
        if change[i] > cut_threshold:
            suspects.append((i, calm))
        elif change[i] <= 0.5 * cut_threshold:
            calm = i
        if moved is not None:
            lost[i] = _share(miss, moved)
        rate, speed, moved = flow / gap, float(hist[i].sum()), landed(flow)
        last = i
    t = len(gray)
    suspect, faded = np.zeros(t, dtype=bool), np.zeros(t, dtype=bool)
    # a cut persists; a flash (a light, an explosion) fades: a picture shortly after it is explained by
    # the last calm picture before it, and then it was not a cut
    reach = max(1, round(_TRANSIENT_S * fps))
    for i, before in suspects:
        suspect[i] = True
        later = sorted({min(t - 1, i + d) for d in (reach, (reach + 1) // 2, 1)} - {i}, reverse=True)
        for j in later:  # the picture after the flash has faded first, then nearer ones (less motion since)
            if _share(unexplained(soft[before], soft[j], _flow(gray[before], gray[j])), None) <= cut_threshold:
                faded[i] = True
                break
    return MotionPiece(hist[:t], change[:t], held[:t], lost[:t], suspect, faded)


def join_pieces(pieces: list[MotionPiece], fps: float, *, cut_ratio: float = 4.0) -> MotionFeatures:
    """:class:`MotionFeatures` of pieces shown one after the other: each piece's first frame after the
    first piece's is a cut (the pieces were measured apart); the other cuts are decided on the whole
    (a suspect frame, over the cut threshold it was measured with, whose change exceeds ``cut_ratio``
    times the median change of all new pictures and that did not fade). One piece gives exactly
    :func:`motion_features`."""
    if not pieces:
        raise ValueError("no pieces")
    hist = np.concatenate([p.histograms for p in pieces])
    change = np.concatenate([p.change for p in pieces])
    held = np.concatenate([p.held for p in pieces])
    lost = np.concatenate([p.lost for p in pieces])
    starts = np.cumsum([0] + [p.n_frames for p in pieces[:-1]])
    new = ~held
    new[starts] = False  # a piece's first frame has no predecessor in it
    median = float(np.median(change[new])) if new.sum() > 1 else 0.0
    suspect = np.concatenate([p.suspect for p in pieces])
    faded = np.concatenate([p.faded for p in pieces])
    cuts = suspect & (change > cut_ratio * median) & new & ~faded
    cuts[starts[1:]] = True
    hist[cuts] = 0.0  # no flow across a cut
    lost[cuts] = 0.0
    return MotionFeatures(float(fps), hist, change, cuts, held, lost)
