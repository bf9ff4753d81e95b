"""The ``svd`` renderer: Stable Video Diffusion image-to-video. It takes no text: the keyframe carries
the content and the segment's energy sets ``motion_bucket_id`` (how much the picture moves)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mv2desc.mvgen.diffusion import loading
from mv2desc.mvgen.renderers.base import ClipRequest


@dataclass(frozen=True)
class SVDConfig:
    """SVD-XT as users run it (25 frames at 1024x576, 25 steps, guidance ramp 1 -> 3 across frames,
    fps 7, noise augmentation 0.02). ``motion_buckets``: the ``motion_bucket_id`` for energy 0 and
    energy 1 (SVD's default 127 sits between); quiet segments move less, loud ones more.
    ``decode_chunk_size``: frames the VAE decodes at once (lower = less memory, more flicker).
    ``forward_chunking``: chunk the UNet's feed-forwards (less memory, a little slower).
    Frames come out at ``width`` x ``height`` and are then fitted to the request's size.
    """

    name_or_path: str = "stabilityai/stable-video-diffusion-img2vid-xt"
    num_frames: int = 25
    steps: int = 25
    fps: int = 7
    width: int = 1024
    height: int = 576
    decode_chunk_size: int = 8
    min_guidance: float = 1.0
    max_guidance: float = 3.0
    noise_aug_strength: float = 0.02
    motion_buckets: tuple[int, int] = (60, 200)
    dtype: str = "auto"
    cpu_offload: bool = False
    forward_chunking: bool = False

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ValueError("svd: name_or_path is empty")
        for key in ("num_frames", "steps", "fps", "decode_chunk_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"svd: {key} must be >= 1, got {getattr(self, key)}")
        if self.num_frames < 2:
            raise ValueError(f"svd: num_frames must be >= 2, got {self.num_frames}")
        for side in ("width", "height"):
            if getattr(self, side) < 32 or getattr(self, side) % 8:
                raise ValueError(f"svd: {side} must be a multiple of 8 and >= 32, got {getattr(self, side)}")
        if not 0 <= self.min_guidance <= self.max_guidance:
            raise ValueError(f"svd: need 0 <= min_guidance <= max_guidance, got {self.min_guidance}, {self.max_guidance}")
        if self.noise_aug_strength < 0:
            raise ValueError(f"svd: noise_aug_strength must be >= 0, got {self.noise_aug_strength}")
        lo, hi = self.motion_buckets
        if not 0 <= lo <= hi <= 1023:
            raise ValueError(f"svd: motion_buckets must satisfy 0 <= low <= high <= 1023, got {self.motion_buckets}")
        object.__setattr__(self, "motion_buckets", (int(lo), int(hi)))  # YAML/JSON give lists
        loading.check_dtype(self.dtype)

    def motion_bucket(self, energy: float) -> int:
        """Energy 0..1 -> ``motion_bucket_id``, linear between the two ends (monotonic)."""
        lo, hi = self.motion_buckets
        return int(round(lo + min(max(energy, 0.0), 1.0) * (hi - lo)))


class SVDRenderer:
    """:class:`~mv2desc.mvgen.renderers.base.ClipRenderer` through ``StableVideoDiffusionPipeline``.

    Returns ``cfg.num_frames`` frames (meant to play at ``cfg.fps``; the beat sync retimes them) at the
    request's size. The model loads on first render (or :meth:`load`).
    """

    name = "svd"
    needs_keyframe = True

    def __init__(self, cfg: SVDConfig, *, pipeline: Any = None) -> None:
        """``pipeline``: an already built ``StableVideoDiffusionPipeline`` to use instead of loading
        ``cfg.name_or_path`` (benchmarks with random weights)."""
        self.cfg = cfg
        self.device = loading.pick_device()
        self.dtype = loading.pick_dtype(cfg.dtype, self.device)
        self._given = pipeline
        self._pipe: Any = None

    @property
    def native_fps(self) -> float:
        return float(self.cfg.fps)

    def identity(self) -> dict:
        settings = asdict(self.cfg)
        for key in ("cpu_offload", "forward_chunking"):  # memory only: the frames do not change
            settings.pop(key)
        settings["motion_buckets"] = list(self.cfg.motion_buckets)
        return {"renderer": self.name, **settings, "dtype": loading.dtype_name(self.dtype),
                "diffusers": loading.library_version()}

    def load(self) -> None:
        if self._pipe is None:
            from diffusers import StableVideoDiffusionPipeline

            pipe = self._given
            if pipe is None:
                pipe = loading.load_pipeline(StableVideoDiffusionPipeline, self.cfg.name_or_path, dtype=self.dtype,
                                             config_key="renderer.svd.name_or_path")
            if self.cfg.forward_chunking:
                pipe.unet.enable_forward_chunking()
            self._pipe = loading.place(pipe, self.device, cpu_offload=self.cfg.cpu_offload)

    def render(self, request: ClipRequest) -> np.ndarray:
        if request.keyframe is None:
            raise ValueError(f"clip {request.index}: the svd renderer needs a keyframe")
        self.load()
        cfg = self.cfg
        out = self._pipe(
            image=loading.fit_image(request.keyframe, cfg.width, cfg.height), width=cfg.width, height=cfg.height,
            num_frames=cfg.num_frames, num_inference_steps=cfg.steps, min_guidance_scale=cfg.min_guidance,
            max_guidance_scale=cfg.max_guidance, fps=cfg.fps, motion_bucket_id=cfg.motion_bucket(request.energy),
            noise_aug_strength=cfg.noise_aug_strength, decode_chunk_size=cfg.decode_chunk_size,
            generator=loading.seeded_generator(request.seed), output_type="np",
        )
        frames = loading.to_uint8(out.frames[0])
        return loading.fit_frames(frames, request.width, request.height)
