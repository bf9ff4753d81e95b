"""The clip cache: every clip (and keyframe) is stored under a hash of everything that makes it.

The key of a clip is a fingerprint of the renderer's ``identity()`` (model, steps, version, ...), every
field of its :class:`~mv2desc.mvgen.renderers.base.ClipRequest` but the images, the hashes of its
keyframe and last frame, and the clip encoding. An interrupted run therefore resumes where it
stopped, a changed description re-renders that clip alone, and a changed renderer setting re-renders
everything. Files appear whole or not at all (temporary name, then rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

import numpy as np

from mv2desc.fingerprint import fingerprint
from mv2desc.mvgen.renderers.base import ClipRequest

_IMAGES = ("keyframe", "last_frame")
_LATER = ("motif",)  # request fields newer than the cache format
log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def image_hash(image: np.ndarray | None) -> str | None:
    """A short hash of an image's shape and pixels (None for None)."""
    if image is None:
        return None
    h = hashlib.sha256(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()[:16]


def request_fields(request: ClipRequest) -> dict:
    """The request as JSON-able values, the images replaced by their hashes."""
    # a field added after clips were cached is left out while it holds its default, so those clips keep their keys
    d = {f.name: getattr(request, f.name) for f in fields(request)
         if f.name not in _IMAGES and not (f.name in _LATER and getattr(request, f.name) == f.default)}
    d["palette"] = [list(c) for c in request.palette]
    d["onsets_s"], d["beats_s"] = list(request.onsets_s), list(request.beats_s)
    return d | {f"{k}_hash": image_hash(getattr(request, k)) for k in _IMAGES}


def clip_key(identity: dict, request: ClipRequest, encoding: dict) -> str:
    """The cache key of one clip."""
    return fingerprint({"renderer": identity, "request": request_fields(request), "encoding": encoding}, length=20)


class ClipCache:
    """``root/clips/<key>.mp4`` (+ ``<key>.json``, its seal: size and checksum) and ``root/keyframes/<key>.png``."""

    def __init__(self, root: str | os.PathLike, preset: str = "veryfast") -> None:
        self.root = Path(root)
        self.preset = preset  # x264 preset of the stored clips (intermediates, decoded again by the assembly)
        self._remove_dead_temporaries()

    def _remove_dead_temporaries(self) -> None:
        """``.tmp-<pid>-*`` files of clips a killed process was writing: never finished, removed."""
        from mv2desc.procs import dead_writers_files

        for tmp in dead_writers_files(self.root / "clips", ".tmp-"):
            tmp.unlink(missing_ok=True)

    def clip_path(self, key: str) -> Path:
        return self.root / "clips" / f"{key}.mp4"

    def keyframe_path(self, key: str) -> Path:
        return self.root / "keyframes" / f"{key}.png"

    def seal_path(self, key: str) -> Path:
        return self.root / "clips" / f"{key}.json"

    def has_clip(self, key: str) -> bool:
        """Whether ``key`` is cached and intact: the clip's size and SHA-256 equal those recorded when it
        was stored (its seal). A damaged, truncated or unsealed entry is a miss: it is re-rendered, and a
        warning says so."""
        path, seal = self.clip_path(key), self.seal_path(key)
        if not path.is_file():
            return False
        try:
            want = json.loads(seal.read_text(encoding="utf-8"))
            ok = path.stat().st_size == want["bytes"] and _sha256(path) == want["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            log.warning("cached clip %s is damaged or unverified (its size or checksum differs from when it was stored): "
                        "re-rendering it", path)
        return ok

    def store_clip(self, key: str, frames: np.ndarray | Iterable[np.ndarray], fps: float, crf: int) -> Path:
        """Encode ``frames`` (``(T, H, W, 3)`` uint8 RGB, or a stream of ``(H, W, 3)`` frames:
        :func:`~mv2desc.mvgen.renderers.base.clip_frames`) as H.264 under ``key``, atomically, then seal it."""
        from mv2desc.atomic import atomic_write_json
        from mv2desc.media.video import write_video

        path = self.clip_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        try:
            count = [0]

            def counted(it):
                for f in it:
                    count[0] += 1
                    yield f

            write_video(tmp, counted(frames), fps, crf=crf, preset=self.preset)
            seal = {"bytes": tmp.stat().st_size, "sha256": _sha256(tmp), "frames": count[0], "fps": fps}
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        atomic_write_json(self.seal_path(key), seal)
        return path

    def load_keyframe(self, key: str) -> np.ndarray | None:
        import cv2

        path = self.keyframe_path(key)
        if not path.is_file():
            return None
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def store_keyframe(self, key: str, image: np.ndarray) -> Path:
        import cv2

        from mv2desc.atomic import atomic_write_bytes

        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError("could not encode the keyframe as PNG")
        return atomic_write_bytes(self.keyframe_path(key), png.tobytes())


__all__ = ["ClipCache", "clip_key", "image_hash", "request_fields"]
