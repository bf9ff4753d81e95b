"""Visual beats: moments where motion stops or turns abruptly (the "visual impact" of a frame).

Envelope (after Davis & Agrawala's visual-rhythm idea, written here because no maintained library
computes it): with ``h[i]`` the magnitude-weighted direction histogram of the flow from frame ``i-1``
to ``i`` (see :mod:`mv2desc.sync.flow`), the impact of frame ``i`` is

    impact[i] = sum_b max(0, h[i, b] - h[i+1, b])

the motion that *ends* at frame ``i`` (the negative time derivative clipped at 0, per direction, so a
reversal counts as well as a stop). A stop lands on the first frame at rest, at ``i / fps``; a run of
consecutive decelerating frames is one event at its last frame with its sharpest drop. The
envelope is optionally smoothed, high-passed (minus a moving median) and zeroed around hard cuts; its
peaks above an absolute floor and a fraction of the clip's largest, whose run removed a good share of
the motion (a steady pan's flow jitters, but its motion goes on: not a beat), are the visual beats. The
units (frame heights per second) make one threshold fit every resolution and frame rate, 7-8 fps
included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter
from scipy.signal import find_peaks

from mv2desc.sync.config import VisualBeatConfig
from mv2desc.sync.flow import MotionFeatures, motion_features

_RUN_RATIO = 0.2  # a deceleration run continues while each drop is at least this share of its largest


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


def impact_runs(features: MotionFeatures, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Drops of motion between new pictures, gathered into deceleration events where each ends.

    Returns ``(impact, fraction)``, both ``(T,)`` float64 and zero except at the last frame of a run of
    consecutive decelerations: ``impact`` is the run's sharpest drop (frame heights per second) and
    ``fraction`` the share of the motion at the run's start (direction histogram) that is gone after
    it (a stop or a reversal removes all of it; the jitter of a steady pan little). A stop seen at
    7-8 fps spreads over two frames when the flow of the fast last step is underestimated: the motion
    has ended at the run's last frame, which is where the impact is. Held frames are skipped (the
    next new picture is compared with the last one). Drops of at most ``floor`` (flow noise), or under
    a fifth of the run's largest, end a run; no drop is counted into or out of a hard cut (except a
    stop followed by a still picture up to the cut).
    """
    t = features.n_frames
    impact, fraction = np.zeros(t), np.zeros(t)
    frames = np.flatnonzero(~features.held)  # frame 0 and every new picture
    if frames.size < 2:
        return impact, fraction
    h = features.histograms[frames].astype(np.float64)
    if frames[-1] < t - 1:  # the picture then stays as it is to the end: no motion after the last new one
        h = np.vstack([h, np.zeros((1, h.shape[1]))])
        frames = np.append(frames, t - 1)
    n = frames.size
    drop = np.zeros(n)
    drop[:-1] = np.clip(h[:-1] - h[1:], 0.0, None).sum(axis=1)
    for k in np.flatnonzero(features.cuts[frames]):  # no flow across a cut: the drop into it is not motion,
        drop[k] = 0.0
        if k > 0:  # unless the picture stood still (held frames) before the cut
            still = frames[k] - frames[k - 1] > 1
            drop[k - 1] = float(h[k - 1].sum()) if still else 0.0
    speed = h.sum(axis=1)
    moving = drop > floor
    i = 0
    while i < n:
        if not moving[i]:
            i += 1
            continue
        j = i
        # a run goes on while the drops stay comparable (a later, much smaller one belongs to other motion)
        while j + 1 < n and moving[j + 1] and drop[j + 1] >= _RUN_RATIO * drop[i : j + 1].max():
            j += 1
        impact[frames[j]] = drop[i : j + 1].max()
        after = h[j + 1] if j + 1 < n else np.zeros_like(h[j])
        fraction[frames[j]] = min(1.0, float(np.clip(h[i] - after, 0.0, None).sum()) / max(speed[i], 1e-9))
        i = j + 1
    impact[0] = 0.0  # no motion is seen before the first frame
    return impact, fraction


def impact_envelope(features: MotionFeatures, cfg: VisualBeatConfig) -> np.ndarray:
    """``(T,)`` float64 impact per frame (frame heights per second): runs, optional smoothing, high-pass."""
    env, _ = impact_runs(features, 0.25 * cfg.min_impact)
    if cfg.smooth_s > 0:
        env = gaussian_filter1d(env, cfg.smooth_s * features.fps, mode="constant")
    if cfg.highpass_s > 0:
        size = max(3, round(cfg.highpass_s * features.fps) | 1)
        env = np.clip(env - median_filter(env, size=size, mode="nearest"), 0.0, None)
    return env


def visual_beats_from_features(features: MotionFeatures, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Peak-pick the impact envelope of ``features`` into :class:`VisualBeats`."""
    cfg = cfg or VisualBeatConfig()
    env = impact_envelope(features, cfg)
    _, fraction = impact_runs(features, 0.25 * cfg.min_impact)
    fps = features.fps
    speed = features.speed[1:]
    median_speed = float(np.median(speed)) if speed.size else 0.0
    p90_speed = float(np.percentile(speed, 90)) if speed.size else 0.0
    floor = max(cfg.min_impact, cfg.relative_threshold * float(env.max(initial=0.0)))
    candidates = np.where(fraction >= cfg.min_drop_fraction, env, 0.0)
    peaks = np.zeros(0, dtype=np.int64)
    if candidates.size and float(candidates.max()) >= floor:
        distance = max(1, round(cfg.min_gap_s * fps))
        peaks, _ = find_peaks(np.concatenate([[0.0], candidates, [0.0]]), height=floor, distance=distance)
        peaks = peaks - 1
    return VisualBeats(
        times_s=peaks / fps,
        strengths=env[peaks],
        envelope=env,
        fps=fps,
        cuts_s=np.flatnonzero(features.cuts) / fps,
        median_speed=median_speed,
        low_motion=p90_speed < cfg.low_motion,
    )


def detect_visual_beats(frames: np.ndarray, fps: float, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Visual beats of small frames at ``fps``: grey ``(T, H, W)`` or RGB ``(T, H, W, 3)`` uint8
    (downscale them to about ``cfg.flow_height`` pixels high first)."""
    cfg = cfg or VisualBeatConfig()
    feats = motion_features(frames, fps, bins=cfg.direction_bins, cut_threshold=cfg.cut_threshold, cut_ratio=cfg.cut_ratio)
    return visual_beats_from_features(feats, cfg)


def visual_beats_of_file(path, cfg: VisualBeatConfig | None = None) -> VisualBeats:
    """Decode ``path`` at ``cfg.flow_height`` pixels high (RGB, scaled inside FFmpeg) and detect its visual beats."""
    from mv2desc.media.video import probe_video, read_frames

    cfg = cfg or VisualBeatConfig()
    info = probe_video(path)
    return detect_visual_beats(read_frames(path, height=cfg.flow_height), info.fps, cfg)
