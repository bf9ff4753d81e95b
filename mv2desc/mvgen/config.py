"""Settings of ``mv2desc mv generate`` (validated on construction; presets in ``configs/infer/``).

One dataclass tree, loaded like every other command's config (:func:`mv2desc.app.parse_config`:
``--config YAML`` + ``--section.key value`` flags, a "did you mean" on typos). The run's own inputs
(song, output folder, captioner, renderer, theme, seed, devices, redo) are fields too, so a preset can
pin any of them and a flag overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mv2desc.describe.segments import SegmentConfig
from mv2desc.lyrics.timing import SNAP_MAX_SHIFT_S
from mv2desc.mvgen.renderers import BUILTIN_RENDERERS, renderer_names  # the registry: no torch, no diffusers
from mv2desc.structure.config import StructureConfig
from mv2desc.sync.config import MatchConfig, MetricConfig, RenderConfig, SyncConfig, VisualBeatConfig
from mv2desc.validation import at_least, one_of, positive

RENDERERS = BUILTIN_RENDERERS  # the built-in ones; every accepted name: renderer_names() (built-in + registered)
TIMELINE_PATHS = ("relative", "absolute")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def _mv_segments() -> SegmentConfig:
    # an MV cuts far more often than a captioner reads: 2-8 bars, following the music's density
    return SegmentConfig(single_max_s=6.0, target_bars=4, min_bars=2, max_bars=8, max_s=20.0, follow_music=1.0)


def _mv_sync() -> SyncConfig:
    # "auto": flow frames for clips below the video's rate (SVD, Wan), blend otherwise (procedural).
    # "ultrafast": the output encode was the largest stage of a procedural MV (11.5 vs 2.5 ms per 1280x720
    # frame against "veryfast", files about 1.8x larger); the diffusion presets set "veryfast".
    return SyncConfig(render=RenderConfig(fps=24.0, resample="auto", preset="ultrafast"))


@dataclass
class VideoConfig:
    """Frames of the clips and of the music video.

    Args:
        width: frame width in pixels (even).
        height: frame height in pixels (even).
        fps: frames per second of the clips and of ``mv.mp4``.
        crf: H.264 quality of the cached clips (lower = better, larger).
        clip_preset: x264 preset of the cached clips: intermediates that the assembly decodes once, so
            the fastest ("ultrafast": about 2.5x less encoding time than "veryfast" at 1280x720, files
            about 3.5x larger) is the default; ``sync.render.preset`` sets the output's.
    """

    width: int = 1280
    height: int = 720
    fps: float = 24.0
    crf: int = 18
    clip_preset: str = "ultrafast"

    def __post_init__(self) -> None:
        at_least("width", self.width, 16)
        at_least("height", self.height, 16)
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (H.264 4:2:0), got {self.width}x{self.height}")
        positive("fps", self.fps)
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {self.crf}")
        one_of("clip_preset", self.clip_preset, X264_PRESETS)


@dataclass
class ProceduralConfig:
    """The ``procedural`` renderer (no weights): motion graphics from words and audio.

    Args:
        shapes: how many shapes at energy 0.5 (scaled by the segment's energy).
        stop_every: beats between two motion stops at medium pace (calm words double it, fast words halve it).
        travel: distance moved between two stops, as a fraction of the frame width, at energy 1.
        texture: amplitude of the background's moving texture (0 = flat gradient), 0..1.
    """

    shapes: int = 14
    stop_every: int = 1
    travel: float = 0.18
    texture: float = 0.35

    def __post_init__(self) -> None:
        at_least("shapes", self.shapes, 1)
        at_least("stop_every", self.stop_every, 1)
        positive("travel", self.travel)
        if not 0.0 <= self.texture <= 1.0:
            raise ValueError(f"texture must be in [0, 1], got {self.texture}")


@dataclass
class ScoreConfig:
    """Scores written to the report and the storyboard.

    Args:
        clip_model: a CLIP model folder (``transformers`` CLIPModel + tokenizer); when set, CLIPSIM and
            cross-scene consistency are computed; empty = skipped (the report says so).
        frames_per_segment: frames sampled from each segment of ``mv.mp4`` for CLIPSIM and palette consistency.
        device: device for the CLIP model ("auto", "cpu", "cuda", ...).
    """

    clip_model: str = ""
    frames_per_segment: int = 3
    device: str = "auto"

    def __post_init__(self) -> None:
        at_least("frames_per_segment", self.frames_per_segment, 1)


@dataclass
class GenerateConfig:
    """Song -> music video: segments, descriptions, style sheet, clips, beat-synchronised MP4.

    Args:
        song: the song (any format FFmpeg decodes).
        out: output folder (created; refused when it holds files this command did not make).
        captioner: a captioner artifact or training run folder; empty = the metadata-style describer.
        renderer: "procedural" (no weights), "svd" or "wan" (diffusers; keyframes by SDXL), or a name
            registered with :func:`mv2desc.mvgen.renderers.register_renderer`.
        theme: free text steering the style sheet (e.g. "neon city at night, two dancers").
        seed: run seed (each clip's seed derives from it and the segment index).
        devices: clips rendered in parallel: one process per GPU (procedural: per CPU worker); 0 (the
            default) = one process for a GPU renderer, ``workers`` processes for a CPU renderer (procedural).
        redo: re-render this segment (0-based) even when cached, then re-assemble; -1 = none.
        chain: svd/wan: each keyframe is made from the previous clip's last frame (img2img at
            ``keyframes.chain_strength``) so that scenes flow into each other; clips then render one
            after the other (``devices`` does not parallelise them).
        negative_prompt: what image/video prompts avoid (diffusion renderers).
        segments: how the song is cut (bars on downbeats; density follows the music).
        sections: analyse the song's structure: segments never straddle a section, and repeated sections
            (every chorus) share a recurring motif (place, characters, palette) in prompts and clips.
        structure: how the sections are found (:class:`mv2desc.structure.StructureConfig`).
        lyrics: a lyrics file, LRC (timed lines, enhanced word stamps) or plain text (spread over the
            vocal sections, approximate): each segment's prompt gets its lines as context, the storyboard
            and timeline show them, and ``mv.srt`` is written next to ``mv.mp4``.
        snap_to_lyrics: move each cut between segments onto the nearest start of a timed (LRC) lyric line
            within ``snap_max_shift_s`` (section boundaries stay).
        snap_max_shift_s: farthest a cut moves to reach a line start, in seconds.
        subtitles: also mux the lyric lines into ``mv.mp4`` as a ``mov_text`` subtitle track (players
            show it when subtitles are switched on; needs ``lyrics``).
        video: frame size, rate and clip quality.
        procedural: the procedural renderer's settings.
        keyframes: options of the SDXL keyframe generator (``SDXLKeyframeConfig`` fields; svd/wan only).
        diffusion: options of the svd/wan renderer (``SVDConfig`` / ``WanConfig`` fields).
        fill: how a clip shorter than its segment fills it, after stretching up to
            ``sync.match.fill_stretch``: "pingpong" (forward, backward, ...) or "loop"; a segment only
            ever shows its own clip.
        timeline_paths: how ``timeline.otio`` points at the clips and the song: "relative" to the
            output folder (a copied folder still opens in an editor) or "absolute".
        sync: the beat-sync engine that assembles the clips (``mv2desc mv sync``'s settings).
        scores: CLIP scores and frame sampling.
        workers: CPU worker processes: the clips' optical flow and the output's chunks during assembly, and
            the procedural renderer's clips (with ``devices`` 0).
        direct: a renderer that draws its own motion (procedural) draws each segment straight into its
            chunk of ``mv.mp4`` during assembly, planned on the motion stops it declares: no clip file
            is encoded, decoded or analysed (:mod:`mv2desc.mvgen.drawn`), and the timeline's clips are
            the segment chunks, each its segment as shown. False: clip files in ``cache/clips/``, as
            with the diffusion renderers (the raw, unsynchronised clips for an editor).
    """

    song: str = ""
    out: str = ""
    captioner: str = ""
    renderer: str = "procedural"
    theme: str = ""
    seed: int = 0
    devices: int = 0
    redo: int = -1
    chain: bool = False
    negative_prompt: str = "blurry, low quality, distorted face, extra limbs, text, watermark"
    segments: SegmentConfig = field(default_factory=_mv_segments)
    sections: bool = True
    structure: StructureConfig = field(default_factory=StructureConfig)
    lyrics: str = ""
    snap_to_lyrics: bool = False
    snap_max_shift_s: float = SNAP_MAX_SHIFT_S
    subtitles: bool = False
    video: VideoConfig = field(default_factory=VideoConfig)
    procedural: ProceduralConfig = field(default_factory=ProceduralConfig)
    keyframes: dict[str, Any] = field(default_factory=dict)
    diffusion: dict[str, Any] = field(default_factory=dict)
    fill: str = "pingpong"
    timeline_paths: str = "relative"
    sync: SyncConfig = field(default_factory=_mv_sync)
    scores: ScoreConfig = field(default_factory=ScoreConfig)
    workers: int = 2
    direct: bool = True

    def render_processes(self) -> int:
        """How many processes render the clips: ``devices``, or with 0 one for a GPU renderer and
        ``workers`` for a CPU one."""
        from mv2desc.mvgen.renderers import renderer_uses_gpu

        if self.devices:
            return self.devices
        return 1 if renderer_uses_gpu(self.renderer) else self.workers

    def __post_init__(self) -> None:
        from mv2desc.sync.fill import FILL_MODES

        _check_renderer(self.renderer)
        one_of("fill", self.fill, FILL_MODES)
        one_of("timeline_paths", self.timeline_paths, TIMELINE_PATHS)
        at_least("devices", self.devices, 0)
        at_least("workers", self.workers, 1)
        at_least("redo", self.redo, -1)
        positive("snap_max_shift_s", self.snap_max_shift_s)
        for flag in ("subtitles", "snap_to_lyrics"):
            if getattr(self, flag) and not self.lyrics:
                raise ValueError(f"{flag} needs a lyrics file (--lyrics FILE.lrc)")
        if self.sync.render.fps and abs(self.sync.render.fps - self.video.fps) > 1e-9:
            raise ValueError(f"sync.render.fps ({self.sync.render.fps}) must equal video.fps ({self.video.fps}) or be 0")
        if self.renderer != "procedural":
            self.diffusion_configs()  # typos in keyframes/diffusion options fail here, before any work

    def diffusion_configs(self) -> tuple[Any, Any] | None:
        """(keyframe config, renderer config) built from ``keyframes`` / ``diffusion``; None for the
        procedural renderer. A registered renderer other than svd/wan gets the keyframe config (used when
        it ``needs_keyframe``) and None for the renderer config (its factory reads this config itself).
        An unknown option is a ``ValueError`` with the closest known one."""
        if self.renderer == "procedural":
            return None
        from mv2desc.mvgen.diffusion.keyframes import SDXLKeyframeConfig  # dataclasses only: diffusers is not imported
        from mv2desc.mvgen.diffusion.registry import RENDERER_CONFIGS

        renderer_cls = RENDERER_CONFIGS.get(self.renderer)
        return (_build("keyframes", SDXLKeyframeConfig, self.keyframes),
                _build("diffusion", renderer_cls, self.diffusion) if renderer_cls is not None else None)


def _check_renderer(name: str) -> None:
    """``name`` is a built-in or registered renderer; else a ValueError listing them, with the closest one."""
    import difflib

    known = renderer_names()
    try:
        one_of("renderer", name, known)
    except ValueError as exc:
        close = difflib.get_close_matches(str(name), known, n=1)
        raise ValueError(f"{exc}{f' (did you mean {close[0]!r}?)' if close else ''}") from None


def _build(section: str, cls: type, options: dict[str, Any]) -> Any:
    """``cls(**options)``; an unknown key is a ValueError naming the closest field."""
    import difflib

    known = list(cls.__dataclass_fields__)
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {section}.{close[0]}?)" if close else ""
            raise ValueError(f"{section}.{key} is not a {cls.__name__} option{hint}; known: {', '.join(known)}")
    return cls(**options)


__all__ = [
    "GenerateConfig", "MatchConfig", "MetricConfig", "ProceduralConfig", "RenderConfig", "ScoreConfig", "SegmentConfig",
    "SyncConfig", "VideoConfig", "VisualBeatConfig",
]
