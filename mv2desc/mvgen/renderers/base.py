"""The contract between MV generation and its renderers.

A renderer turns one :class:`ClipRequest` (a segment's prompt, timing, audio cues and optional
keyframe) into frames. The pipeline owns everything around it: prompts, caching, assembly.
Frames cross this boundary as ``uint8`` arrays, ``(T, H, W, 3)`` RGB; a renderer that makes its frames
one at a time may also offer them as a stream (``frames(request)``, :func:`clip_frames`), which the
pipeline then encodes as they come, never holding the clip in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ClipRequest:
    """Everything a renderer may use to draw one segment.

    Attributes:
        index: the segment's position in the video (0-based).
        prompt: the full image/video prompt: style sheet + segment description.
        negative_prompt: what to avoid (diffusion renderers).
        description: the segment's description alone (the procedural renderer reads its words).
        duration_s: length of the segment in the song (the clip may be shorter; sync stretches it).
        fps: frames per second the renderer should produce.
        width, height: frame size in pixels.
        seed: the clip's seed (derived from the run seed and the index).
        energy: the segment's loudness, 0 (quiet) .. 1 (loud), relative to the song.
        onsets_s: onset times inside the segment, seconds from its start.
        beats_s: music beat times inside the segment, seconds from its start.
        palette: the style sheet's colours, RGB 0..255, most important first (with a ``motif``: the
            motif's palette, its key colour first).
        motif: the place of the recurring motif of this segment's section (every section with the same
            label gets the same one; :class:`mv2desc.mvgen.style.Motif`), or "" without one. With a
            motif the procedural renderer draws the place's shapes and leads with ``palette``.
        keyframe: the first frame to animate, ``(H, W, 3)`` uint8, or None (procedural draws its own).
        last_frame: an optional target last frame (renderers that support transitions, e.g. Wan).
    """

    index: int
    prompt: str
    description: str
    duration_s: float
    fps: float
    width: int
    height: int
    seed: int
    energy: float = 0.5
    negative_prompt: str = ""
    onsets_s: tuple[float, ...] = ()
    beats_s: tuple[float, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = field(default_factory=tuple)
    motif: str = ""
    keyframe: np.ndarray | None = field(default=None, compare=False, repr=False)
    last_frame: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.fps <= 0 or self.width < 8 or self.height < 8:
            raise ValueError(f"clip {self.index}: need duration_s > 0, fps > 0 and a frame of at least 8x8 px")
        if not 0.0 <= self.energy <= 1.0:
            raise ValueError(f"clip {self.index}: energy must be in [0, 1], got {self.energy}")


@runtime_checkable
class ClipRenderer(Protocol):
    """What the pipeline needs from a renderer.

    ``name`` is what ``--renderer`` selects; ``identity()`` is a JSON-able description of everything
    that changes the frames (model id or path, steps, frames, guidance, ...), hashed into the clip
    cache key, so changing any of it re-renders; ``needs_keyframe`` says whether the pipeline must
    make a keyframe first (svd, wan) or the renderer draws its own (procedural).
    """

    name: str
    needs_keyframe: bool

    def identity(self) -> dict: ...

    def render(self, request: ClipRequest) -> np.ndarray:
        """Frames ``(T, H, W, 3)`` uint8 RGB at ``request.fps``, ``request.height`` x ``request.width``."""
        ...


@runtime_checkable
class KeyframeGenerator(Protocol):
    """Text (and optionally a reference image) -> one still, ``(H, W, 3)`` uint8 RGB."""

    name: str

    def identity(self) -> dict: ...

    def generate(self, prompt: str, *, negative_prompt: str, width: int, height: int, seed: int,
                 reference: np.ndarray | None = None, style_prompt: str = "") -> np.ndarray:
        """``prompt``: the shot; ``style_prompt``: the style and character sheet (a model with two text
        encoders, like SDXL, reads it with its second one, so that neither is cut at 77 tokens)."""
        ...


def clip_frames(renderer: ClipRenderer, request: ClipRequest) -> Iterable[np.ndarray]:
    """The frames to encode for ``request``: the renderer's stream ``frames(request)`` (``(H, W, 3)`` uint8
    RGB each, a new array per frame) when it has one, else ``render(request)``'s ``(T, H, W, 3)`` array.

    A stream is not only lighter (a 20 s 1280x720 clip is 1.3 GB as one array) but faster: writing a
    frame into fresh pages of one large array cost 21 ms per 1280x720 frame here (page faults), a
    frame-sized array that the allocator reuses about 1 ms."""
    stream = getattr(renderer, "frames", None)
    return stream(request) if callable(stream) else renderer.render(request)
