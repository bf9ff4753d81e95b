"""One keyframe per shot: the frame at the shot's midpoint, as a downscaled RGB PIL image."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image

from data_prep.video import errors as E
from data_prep.video.errors import VideoDescriptionError


def fit_max_pixels(image: Image.Image, max_pixels: int) -> Image.Image:
    """Downscale (never upscale) keeping the aspect ratio so that width * height <= ``max_pixels``."""
    w, h = image.size
    if w * h <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (w * h))
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def frames_at(video_path: Path, times_s: list[float]) -> list[Image.Image]:
    """The frame shown at each time, RGB (:func:`mv2desc.media.video.frames_at`). Raises
    :class:`VideoDescriptionError` (``video_unreadable``)."""
    from mv2desc.errors import MediaError
    from mv2desc.media.video import frames_at as decode_frames_at

    try:
        return [Image.fromarray(f) for f in decode_frames_at(video_path, times_s)]
    except MediaError as exc:
        raise VideoDescriptionError(E.VIDEO_UNREADABLE, exc.detail) from exc


def shot_keyframes(video_path: Path, shots: list[tuple[float, float]], max_pixels: int) -> list[Image.Image]:
    """The middle frame of each ``(start_s, end_s)`` shot, each at most ``max_pixels`` pixels."""
    mids = [0.5 * (a + b) for a, b in shots]
    return [fit_max_pixels(im, max_pixels) for im in frames_at(video_path, mids)]
