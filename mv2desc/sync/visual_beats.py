"""Visual beats: moments where motion stops or turns abruptly (the "visual impact" of a frame).

Envelope (after Davis & Agrawala's visual-rhythm idea, written here because no maintained library
computes it): with ``a`` the magnitude-weighted direction histogram of the flow into a new picture
(see :mod:`mv2desc.sync.flow`) and ``b`` that of the flow out of it, each direction's drop
``d = max(0, a - b)`` counts as much as it is complete, ``impact = sum d**2 / a`` (:func:`motion_drops`):
a stop or a reversal ends all of its motion, a steady pan's jitter scores the square of its few per
cent, another object moving on elsewhere does not dilute a stop, and motion that veers by less than
45 degrees goes on. A stop lands on the first frame at rest, at ``i / fps``. Three things the flow
gets wrong at 7-8 fps are corrected: the last step before a stop or a bounce is underestimated (the
step before it counts too), a reversal smeared over two pictures is measured over two steps each
side, and a step the flow lost entirely (a fast or occluded object) moves the beat onto the stop it
hid, or drops it when the motion went on (:func:`_lost_steps`).

Peaks of the envelope are visual beats when they remove most of the motion they start from
(``min_drop_fraction``) and clear three floors: an absolute one (flow noise), a fraction of the motion
of the last half second (``local_threshold``: relative to the motion around it, so a small object's
stop counts next to a large pan's) and a small fraction of the clip's largest. A picture held after a
new one is the picture standing still (a stop), unless holds are a pattern of the clip (frame-rate
conversion). Hard cuts are reported apart (``cuts_s``), never as beats. The units (frame heights per
second) make one threshold fit every resolution and frame rate, 7-8 fps included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, median_filter
from scipy.signal import find_peaks

from mv2desc.sync.config import VisualBeatConfig
from mv2desc.sync.flow import MotionFeatures, MotionPiece, join_pieces, measure_piece, motion_features

_EPS = 1e-9
# _lost_steps: a lost step leaves this share of what had moved unexplained, its flow is below this
# share of the motion before, and the next frame's below this share (at rest)
_LOST_SHARE = 0.25
_LOST_SLOWER = 0.7
_LOST_REST = 0.25
_LOST_LOCAL = 0.15  # ... and the change it leaves unexplained is local (at most this share of the picture)
_LOOK_BACK = 0.5  # the step before a picture counts when this one kept at least this share of it
_GROWTH = 5.0  # motion into a picture counts up to this multiple of the step before


@dataclass(frozen=True)
class VisualBeats:
    """Visual beats of one clip.

    Attributes:
        times_s: ``(n,)`` beat times from the clip start (seconds), increasing, on the frame grid.
        strengths: ``(n,)`` impact at each beat (frame heights per second).
        envelope: ``(T,)`` the impact envelope, one value per frame.
        fps: frame rate of the clip.
        cuts_s: times of hard cuts (seconds), never beats themselves.
        median_speed: median motion of the clip (frame heights per second).
        low_motion: True when the clip barely moves (90th percentile of its motion below the floor).
    """

    times_s: np.ndarray
    strengths: np.ndarray
    envelope: np.ndarray
    fps: float
    cuts_s: np.ndarray
    median_speed: float
    low_motion: bool

    def to_dict(self) -> dict:
        return {
            "times_s": [round(float(t), 4) for t in self.times_s],
            "strengths": [round(float(s), 5) for s in self.strengths],
            "fps": self.fps,
            "cuts_s": [round(float(t), 4) for t in self.cuts_s],
            "median_speed": round(self.median_speed, 5),
            "low_motion": self.low_motion,
        }


def _new_pictures(features: MotionFeatures) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, h)``: frame 0 and every new picture (held frames skipped), and ``(n, B)`` float64 the
    motion into each (the histogram rows). When the picture then stays as it is to the end, the
    clip's last frame is appended with no motion (the motion has ended there)."""
    t = features.n_frames
    frames = np.flatnonzero(~features.held)
    h = features.histograms[frames].astype(np.float64)
    if frames.size and frames[-1] < t - 1:
        h = np.vstack([h, np.zeros((1, h.shape[1]))])
        frames = np.append(frames, t - 1)
    return frames, h


def motion_drops(features: MotionFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The motion that ends at each frame: ``(impact, completeness)``, both ``(T,)`` float64.

    With ``a`` the direction histogram of the motion into a new picture and ``b`` that of the motion
    out of it (into the next new picture), each direction's drop ``d = max(0, a - b)`` counts as much as
    it is complete: ``impact = sum d**2 / a`` (frame heights per second). A stop or a reversal ends all
    of its motion (``impact = |a|``); a steady pan's jitter, a few per cent in each direction, scores
    the square of that share; another object moving on elsewhere does not dilute a stop.
    ``completeness = impact / sum d`` is the drop-weighted share of the motion that ended (1 for a stop
    or a reversal). No drop is counted into or out of a hard cut, except a stop followed by a still
    picture up to the cut (held frames).
    """
    t = features.n_frames
    impact, complete = np.zeros(t), np.zeros(t)
    frames, h = _new_pictures(features)
    if frames.size < 2:
        return impact, complete
    # the motion into each picture, per direction; where the step before was faster, up to twice this
    # step's (flow underestimates the last step before a stop or a bounce: the object meets a still edge)
    into = h.copy()
    into[1:] = np.maximum(h[1:], np.minimum(h[:-1], h[1:] / _LOOK_BACK))
    # ... and only motion that was under way: at most _GROWTH times the step before (a burst of flow
    # in new directions on one frame, a compression or flow glitch, does not stop anything)
    under_way = h.copy()
    under_way[1:] = np.minimum(h[1:], _GROWTH * h[:-1] + _EPS)
    into[1:] = np.minimum(into[1:], _GROWTH * h[:-1] + _EPS)
    into = into[:-1]
    # the motion out of it, per direction, including the neighbouring directions (within 45 degrees):
    # motion that only veers a little goes on (a flat object's flow flickers between next sectors)
    reach = max(1, round(h.shape[1] / 8)) if h.shape[1] >= 4 else 0

    def near(x: np.ndarray) -> np.ndarray:
        return sum(np.roll(x, s, axis=1) for s in range(-reach, reach + 1))

    drop = np.clip(into - near(h[1:]), 0.0, None)
    # a picture held after a new one: the picture stood still, a stop, unless holds are a pattern of the
    # clip (a frame-rate conversion or a slow-down holds pictures while things move on: then the motion
    # is measured across the hold, from new picture to new picture)
    holds = (np.diff(frames) > 1) & (into.sum(axis=1) > _EPS)
    if holds.any():
        gone = (drop * drop / np.maximum(into, _EPS)).sum(axis=1)
        went_on = holds & (gone < 0.5 * into.sum(axis=1))  # the motion after the hold is the same motion
        if went_on.sum() < max(2, 0.5 * holds.sum()):
            drop[holds] = into[holds]
    for k in np.flatnonzero(features.cuts[frames]):  # no flow across a cut: the drop into it is not motion,
        if k > 0:  # unless the picture stood still (held frames) before the cut
            still = frames[k] - frames[k - 1] > 1
            drop[k - 1] = into[k - 1] if still else 0.0
    imp = (drop * drop / np.maximum(into, _EPS)).sum(axis=1)
    total = drop.sum(axis=1)
    # the same over two steps each side, per step: a reversal the flow smears over two pictures (a slow
    # or flat object meeting a wall) ends the two steps before it, where no single step ends much
    n = frames.size
    if n >= 4:
        k = np.arange(1, n - 2)
        ok = (frames[k + 2] - frames[k - 1] == 3) & ~features.cuts[frames[k - 1]] & ~features.cuts[frames[k]]
        ok &= ~features.cuts[frames[k + 1]] & ~features.cuts[frames[k + 2]]
        a2 = under_way[k - 1] + under_way[k]
        d2 = np.clip(a2 - near(h[k + 1] + h[k + 2]), 0.0, None)
        imp2 = np.where(ok, (d2 * d2 / np.maximum(a2, _EPS)).sum(axis=1) / 2, 0.0)
        better = imp2 > imp[k]
        imp[k[better]] = imp2[better]
        total[k[better]] = d2[better].sum(axis=1) / 2
    impact[frames[:-1]] = imp
    complete[frames[:-1]] = np.where(total > _EPS, imp / np.maximum(total, _EPS), 0.0)
    impact[0] = complete[0] = 0.0  # no motion is seen before the first frame
    return impact, complete


def impact_envelope(features: MotionFeatures, cfg: VisualBeatConfig) -> np.ndarray:
    """``(T,)`` float64 impact per frame (frame heights per second): :func:`motion_drops`, optionally
    smoothed and high-passed."""
    return _filtered(motion_drops(features)[0], features.fps, cfg)


def _filtered(env: np.ndarray, fps: float, cfg: VisualBeatConfig) -> np.ndarray:
    if cfg.smooth_s > 0:
        env = gaussian_filter1d(env, cfg.smooth_s * fps, mode="constant")
    if cfg.highpass_s > 0:
        size = max(3, round(cfg.highpass_s * fps) | 1)
        env = np.clip(env - median_filter(env, size=size, mode="nearest"), 0.0, None)
    return env


def local_motion(features: MotionFeatures, window_s: float) -> np.ndarray:
    """``(T,)`` the largest speed (frame heights per second) over the ``window_s`` up to each frame."""
    speed = features.speed.astype(np.float64)
    if speed.size == 0:
        return speed
    back = max(0, round(window_s * features.fps))
    # the window [i - back, i]: maximum_filter1d centres it, so shift its origin by half its length
    return maximum_filter1d(speed, size=back + 1, mode="nearest", origin=back // 2)


def _lost_steps(features: MotionFeatures, peaks: np.ndarray) -> np.ndarray:
    """Beats next to a step the flow lost: moved onto the stop it hid, or dropped (-1).

    At 7-8 fps a fast or occluded step can be too much for the flow, which then reports little motion
    into that frame and a drop of motion (a beat) on the frame before. Such a frame gives itself away:
    what had just moved changes again beyond what the flow explains (``features.lost``); after a real
    stop it stays as it is (or the picture is held). Then: when everything is at rest after it, the
    stop is on that frame (the beat moves one frame later); when the same motion goes on after it,
    nothing stopped (the beat is dropped). After a bounce the motion goes on, reversed: kept.
    """
    if features.lost is None or peaks.size == 0:
        return peaks
    frames, h = _new_pictures(features)
    speed = h.sum(axis=1)
    out = []
    for p in peaks:
        k = int(np.searchsorted(frames, p))
        if k + 1 >= frames.size or frames[k] != p or frames[k + 1] != p + 1:  # p + 1 held: at rest after p
            out.append(p)
            continue
        q = p + 1
        before = h[k] if k == 0 else np.maximum(h[k], h[k - 1])
        if (features.cuts[q] or features.lost[q] < _LOST_SHARE or speed[k + 1] >= _LOST_SLOWER * before.sum()
                or features.change[q] > _LOST_LOCAL):  # a change over much of the picture: a flash, not a lost step
            out.append(p)
            continue
        if k + 2 >= frames.size or frames[k + 2] != q + 1:  # held after q: at rest
            out.append(q)
            continue
        after = h[k + 2]
        if features.cuts[q + 1]:
            out.append(p)
        elif after.sum() < _LOST_REST * before.sum() and features.lost[q + 1] < _LOST_SHARE:  # at rest after q
            out.append(q)
        elif np.clip(before - after, 0.0, None).sum() < 0.5 * before.sum():  # the same motion went on
            out.append(-1)
        else:
            out.append(p)
    return np.asarray(out, dtype=np.int64)


def visual_beats_from_features(features: MotionFeatures, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Peak-pick the impact envelope of ``features`` into :class:`VisualBeats`."""
    cfg = cfg or VisualBeatConfig()
    impact, complete = motion_drops(features)
    fps = features.fps
    env = _filtered(impact, fps, cfg)
    speed = features.speed[1:]
    median_speed = float(np.median(speed)) if speed.size else 0.0
    p90_speed = float(np.percentile(speed, 90)) if speed.size else 0.0
    floor = np.maximum(cfg.min_impact, cfg.relative_threshold * float(env.max(initial=0.0)))
    floor = np.maximum(floor, cfg.local_threshold * local_motion(features, cfg.local_window_s))
    candidates = np.where((complete >= cfg.min_drop_fraction) & (env >= floor), env, 0.0)
    peaks, strengths = np.zeros(0, dtype=np.int64), np.zeros(0)
    if candidates.size and float(candidates.max()) > 0:
        distance = max(1, round(cfg.min_gap_s * fps))
        found, _ = find_peaks(np.concatenate([[0.0], candidates, [0.0]]), height=_EPS, distance=distance)
        moved = _lost_steps(features, found - 1)
        keep = moved >= 0
        peaks, first = np.unique(moved[keep], return_index=True)
        strengths = env[found[keep] - 1][first]
    return VisualBeats(
        times_s=peaks / fps,
        strengths=strengths,
        envelope=env,
        fps=fps,
        cuts_s=np.flatnonzero(features.cuts) / fps,
        median_speed=median_speed,
        low_motion=p90_speed < cfg.low_motion,
    )


def detect_visual_beats(frames: np.ndarray | Iterable[np.ndarray], fps: float, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Visual beats of small frames at ``fps``: grey ``(T, H, W)`` or RGB ``(T, H, W, 3)`` uint8, or an
    iterable of such frames (downscale them to about ``cfg.flow_height`` pixels high first)."""
    cfg = cfg or VisualBeatConfig()
    feats = motion_features(frames, fps, bins=cfg.direction_bins, cut_threshold=cfg.cut_threshold, cut_ratio=cfg.cut_ratio)
    return visual_beats_from_features(feats, cfg)


def declared_visual_beats(stops_s: Sequence[float], fps: float, n_frames: int, strengths: Sequence[float] | None = None) -> VisualBeats:
    """The visual beats of a clip whose motion stops are known, not detected (a renderer that draws its
    own motion declares them: :meth:`mv2desc.mvgen.renderers.procedural.ProceduralRenderer.motion_stops`).

    A stop at ``t`` lands on the frame nearest it, ``round(t * fps) / fps``, where the detector puts it (the
    step into that frame ends the motion; what is left after it is under half a frame's travel); stops
    on the first frame or past the last are dropped; ``strengths``: the speed each stop ends, in frame heights
    per second (1.0 each when not given). The envelope holds the strengths on those frames, zero elsewhere;
    the clip has no cuts."""
    t = np.asarray(stops_s, dtype=np.float64)
    s = np.ones_like(t) if strengths is None else np.asarray(strengths, dtype=np.float64)
    if s.shape != t.shape:
        raise ValueError(f"need one strength per stop, got {s.size} for {t.size}")
    frames = np.round(t * fps).astype(np.int64)
    keep = (frames >= 1) & (frames < n_frames)
    frames, s = frames[keep], s[keep]
    frames, first = np.unique(frames, return_index=True)
    s = s[first]
    envelope = np.zeros(max(0, n_frames), dtype=np.float64)
    envelope[frames] = s
    return VisualBeats(times_s=frames / fps, strengths=s, envelope=envelope, fps=float(fps), cuts_s=np.zeros(0),
                       median_speed=float(np.median(s)) if s.size else 0.0, low_motion=False)


def visual_beats_of_file(path, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Decode ``path`` at ``cfg.flow_height`` pixels high (RGB, scaled inside FFmpeg) and detect its visual
    beats; the frames are decoded in a background thread while the flow runs on those already decoded."""
    from mv2desc.errors import MediaError
    from mv2desc.media.video import iter_frames, probe_video

    cfg = cfg or VisualBeatConfig()
    info = probe_video(path)

    def frames():
        n = 0
        for n, f in enumerate(iter_frames(path, height=cfg.flow_height), 1):
            yield f
        if n == 0:
            raise MediaError("corrupt_video", f"no decodable frames in {path}")

    return detect_visual_beats(frames(), info.fps, cfg)


def measure_file_piece(path, first: int, count: int, cfg: VisualBeatConfig | None = None, fps: float | None = None) -> MotionPiece:
    """The motion of frames ``first .. first + count - 1`` of ``path`` measured on their own (decoded at
    ``cfg.flow_height`` pixels high): one piece of :func:`visual_beats_of_pieces`. ``fps``: the file's
    frame rate when known (else probed)."""
    from mv2desc.errors import MediaError
    from mv2desc.media.video import iter_frames, probe_video

    cfg = cfg or VisualBeatConfig()
    fps = fps if fps is not None else probe_video(path).fps
    decoded = [0]

    def frames():  # decoded while the flow runs
        for f in iter_frames(path, height=cfg.flow_height, first=first, count=count):
            decoded[0] += 1
            yield f

    try:
        piece = measure_piece(frames(), fps, bins=cfg.direction_bins, cut_threshold=cfg.cut_threshold)
    except ValueError:
        if decoded[0]:
            raise
        piece = None  # no frame decoded there
    if piece is None or piece.n_frames != count:
        raise MediaError("corrupt_video", f"{path}: frames {first}..{first + count - 1} asked, "
                                          f"{0 if piece is None else piece.n_frames} decoded")
    return piece


def _measure_job(job: tuple) -> MotionPiece:
    return measure_file_piece(*job)


def measure_file_pieces(path, ranges: Sequence[tuple[int, int]], cfg: VisualBeatConfig | None = None, *, workers: int = 1,
                        known: Sequence[MotionPiece | None] | None = None) -> list[MotionPiece]:
    """The pieces ``(first, count)`` of ``path`` (:func:`measure_file_piece`), in ``workers`` processes
    (1 = in this one); a piece given in ``known`` (measured before on the same frames) is kept as it is."""
    cfg = cfg or VisualBeatConfig()
    known = list(known) if known is not None else [None] * len(ranges)
    if len(known) != len(ranges):
        raise ValueError(f"need one known piece (or None) per range, got {len(known)} for {len(ranges)} ranges")
    todo = [k for k, piece in enumerate(known) if piece is None]
    if not todo:
        return known
    from mv2desc.media.video import probe_video

    fps = probe_video(path).fps  # once, not once per piece
    jobs = [(str(path), ranges[k][0], ranges[k][1], cfg, fps) for k in todo]
    if workers <= 1 or len(jobs) <= 1:
        fresh = [_measure_job(j) for j in jobs]
    else:
        import multiprocessing

        from mv2desc.procs import raise_if_interrupted, worker_pool

        # workers ignore Ctrl-C and die with this process; an interrupt or error here terminates them
        with worker_pool(min(workers, len(jobs)), multiprocessing.get_context("fork")) as pool:
            fresh = list(pool.map(_measure_job, jobs))
            raise_if_interrupted()
    pieces = list(known)
    for k, piece in zip(todo, fresh):
        pieces[k] = piece
    return pieces


def visual_beats_of_pieces(pieces: Sequence[MotionPiece], fps: float, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Visual beats of a video measured one piece after the other (a cut between each two)."""
    cfg = cfg or VisualBeatConfig()
    feats = join_pieces(list(pieces), fps, cut_ratio=cfg.cut_ratio)
    return visual_beats_from_features(feats, cfg)
