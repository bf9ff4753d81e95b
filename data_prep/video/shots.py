"""Shot boundaries inside a time window of a video (PySceneDetect), then merging and selection.

A shot is ``(start_s, end_s)`` in the video's timeline. :func:`detect_shots` returns shots that
cover the window ``[start_s, end_s]`` end to end (the first starts at the window start, the last
ends at the window end, cut times in between); :func:`merge_short_shots` and :func:`select_shots` are
pure functions on such lists.
"""

from __future__ import annotations

from pathlib import Path

from data_prep.video import errors as E
from data_prep.video.errors import VideoDescriptionError

Shot = tuple[float, float]


def video_duration_s(video_path: Path) -> float:
    """Duration of the first video stream in seconds (:func:`mv2desc.media.video.video_duration_s`)."""
    from mv2desc.errors import MediaError
    from mv2desc.media.video import video_duration_s as duration

    try:
        return duration(video_path)
    except MediaError as exc:
        raise VideoDescriptionError(E.VIDEO_UNREADABLE, exc.detail) from exc


def _make_detector(detector: str, threshold: float):
    from scenedetect import AdaptiveDetector, ContentDetector

    # min_scene_len=1 frame: short shots are merged afterwards by duration (min_shot_s), which does
    # not depend on the frame rate.
    if detector == "content":
        return ContentDetector(threshold=threshold, min_scene_len=1)
    if detector == "adaptive":
        return AdaptiveDetector(adaptive_threshold=threshold, min_scene_len=1)
    raise ValueError(f"unknown shot detector {detector!r} (expected 'content' or 'adaptive')")


def detect_cuts(
    video_path: Path, start_s: float, end_s: float, *, detector: str = "content", threshold: float = 27.0
) -> list[float]:
    """Times (seconds, ascending) of the hard cuts PySceneDetect finds strictly inside ``(start_s, end_s)``."""
    from scenedetect import SceneManager
    from scenedetect.backends.pyav import VideoStreamAv

    manager = SceneManager()
    manager.add_detector(_make_detector(detector, threshold))
    try:
        video = VideoStreamAv(str(video_path), suppress_output=True)
        # PySceneDetect reads an int as a frame number and a float as seconds: pass floats.
        if start_s > 0:
            video.seek(float(start_s))
        manager.detect_scenes(video, end_time=float(end_s))
        scenes = manager.get_scene_list(start_in_scene=True)  # [(start, end) FrameTimecode]
        cuts = [start.seconds for start, _ in scenes[1:]]
    except Exception as exc:  # VideoOpenFailure, FrameRateUnavailable, FFmpeg errors, OSError
        raise VideoDescriptionError(E.VIDEO_UNREADABLE, f"shot detection failed on {video_path}: {exc}") from exc
    eps = 1e-3
    return sorted(float(c) for c in cuts if start_s + eps < c < end_s - eps)


def shots_from_cuts(cuts: list[float], start_s: float, end_s: float) -> list[Shot]:
    """[start, c1), [c1, c2), ..., [cn, end] as (start_s, end_s) tuples."""
    bounds = [start_s, *[c for c in cuts if start_s < c < end_s], end_s]
    return [(float(a), float(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def merge_short_shots(shots: list[Shot], min_shot_s: float) -> list[Shot]:
    """Merge every shot shorter than ``min_shot_s`` into a neighbour, shortest first.

    A shot joins its shorter neighbour (the earlier one on a tie; the only one at the ends), so the
    result still covers the same span. A single remaining shot is kept whatever its length.
    """
    out = list(shots)
    while len(out) > 1:
        i = min(range(len(out)), key=lambda k: (out[k][1] - out[k][0], k))
        if out[i][1] - out[i][0] >= min_shot_s:
            break
        if i == 0:
            j = 1
        elif i == len(out) - 1:
            j = i - 1
        else:
            left, right = out[i - 1], out[i + 1]
            j = i - 1 if (left[1] - left[0]) <= (right[1] - right[0]) else i + 1
        a, b = min(i, j), max(i, j)
        out[a : b + 1] = [(out[a][0], out[b][1])]
    return out


def select_shots(shots: list[Shot], max_shots: int) -> list[Shot]:
    """The ``max_shots`` longest shots (earlier first on ties), returned in time order."""
    if len(shots) <= max_shots:
        return list(shots)
    ranked = sorted(range(len(shots)), key=lambda k: (-(shots[k][1] - shots[k][0]), k))
    return [shots[k] for k in sorted(ranked[:max_shots])]


def detect_shots(
    video_path: Path,
    start_s: float,
    end_s: float,
    *,
    detector: str = "content",
    threshold: float = 27.0,
    min_shot_s: float = 1.0,
) -> list[Shot]:
    """Shots covering ``[start_s, end_s]`` (clipped to the video's duration), short ones merged.

    Raises :class:`VideoDescriptionError` (``video_unreadable``, ``video_no_frames``).
    """
    duration = video_duration_s(video_path)
    end_s = min(end_s, duration)
    if end_s - start_s <= 0:
        raise VideoDescriptionError(
            E.VIDEO_NO_FRAMES, f"window starts at {start_s:.2f}s but the video ends at {duration:.2f}s"
        )
    cuts = detect_cuts(video_path, start_s, end_s, detector=detector, threshold=threshold)
    return merge_short_shots(shots_from_cuts(cuts, start_s, end_s), min_shot_s)
