"""Clips drawn on demand: a renderer that draws its own motion (the procedural one) gives the assembly
its frames and its motion stops directly, so no clip file is written, decoded or analysed.

The assembly plans the sync on the renderer's declared stops (:func:`mv2desc.sync.visual_beats.declared_visual_beats`;
they agree with what the optical-flow detector finds in the drawn clip, tested) and draws each
segment's frames straight into its output chunk, in the worker that encodes the chunk. What the run
reports is still measured on the written ``mv.mp4``. The segment chunks (``cache/analysis/chunks/``)
are then the clips of the editable timeline: each one is its segment as shown.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from mv2desc.media.video import VideoInfo
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest, clip_frames
from mv2desc.sync.visual_beats import VisualBeats, declared_visual_beats


def draws_on_demand(renderer: ClipRenderer) -> bool:
    """Whether ``renderer`` can draw a clip's frames as a stream and declare its motion stops."""
    return callable(getattr(renderer, "frames", None)) and callable(getattr(renderer, "motion_stops", None))


@dataclass(frozen=True)
class DrawnClip:
    """One segment's clip as its renderer will draw it: ``key`` (the clip's cache key: the renderer's
    identity and the request) stands for the file's content hash in every cache key downstream."""

    key: str
    renderer: ClipRenderer
    request: ClipRequest

    @property
    def n_frames(self) -> int:
        return max(1, round(self.request.duration_s * self.request.fps))

    def info(self, path: Path) -> VideoInfo:
        """The clip's facts, ``path`` standing for the file it never has (its segment chunk)."""
        r = self.request
        return VideoInfo(path=Path(path), fps=float(r.fps), n_frames=self.n_frames, width=r.width, height=r.height, has_audio=False)

    def beats(self) -> VisualBeats:
        times, strengths = self.renderer.motion_stops(self.request)
        return declared_visual_beats(times, self.request.fps, self.n_frames, strengths)

    def frames(self):
        """A picklable callable returning the frames in order (the chunk workers call it)."""
        return functools.partial(clip_frames, self.renderer, self.request)


__all__ = ["DrawnClip", "draws_on_demand"]
