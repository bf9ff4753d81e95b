"""The ``wan`` renderer: Wan 2.x image-to-video in diffusers (prompt + keyframe, optional last frame).
Apache-2.0 weights; a few-step distilled LoRA (:meth:`WanConfig.distilled`) is the fast preset."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mv2desc.errors import UserError
from mv2desc.mvgen.diffusion import loading
from mv2desc.mvgen.renderers.base import ClipRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WanConfig:
    """Wan 2.1 I2V 480p as its authors run it: 81 frames (about 5 s at 16 fps), 832x480, 40 steps,
    guidance 5. ``num_frames`` must be 4k+1 (the VAE packs 4 frames per latent after the first).
    ``lora``: a local LoRA folder or ``.safetensors`` file, fused into the transformer at ``lora_scale``
    (a step-distilled LoRA runs in 4 steps without guidance: see :meth:`distilled`).
    ``cpu_offload``: on CUDA, keep sub-models on the CPU between uses (the 14B model on a 40-80 GB card).
    The VAE and image encoder stay in float32 (the Wan authors' advice for decoding quality).
    """

    name_or_path: str = "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
    num_frames: int = 81
    steps: int = 40
    guidance: float = 5.0
    fps: int = 16
    width: int = 832
    height: int = 480
    lora: str | None = None
    lora_scale: float = 1.0
    dtype: str = "auto"
    cpu_offload: bool = False

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ValueError("wan: name_or_path is empty")
        if self.num_frames < 5 or (self.num_frames - 1) % 4:
            raise ValueError(f"wan: num_frames must be 4k+1 and >= 5 (e.g. 49, 81), got {self.num_frames}")
        for key in ("steps", "fps"):
            if getattr(self, key) < 1:
                raise ValueError(f"wan: {key} must be >= 1, got {getattr(self, key)}")
        if self.guidance < 0:
            raise ValueError(f"wan: guidance must be >= 0, got {self.guidance}")
        for side in ("width", "height"):
            if getattr(self, side) < 16 or getattr(self, side) % 16:
                raise ValueError(f"wan: {side} must be a multiple of 16, got {getattr(self, side)}")
        if self.lora is not None and not self.lora:
            raise ValueError("wan: lora is an empty string (use null for none)")
        if self.lora_scale <= 0:
            raise ValueError(f"wan: lora_scale must be > 0, got {self.lora_scale}")
        loading.check_dtype(self.dtype)

    @classmethod
    def distilled(cls, lora: str, **overrides: Any) -> WanConfig:
        """The fast preset: a step-distilled LoRA, 4 steps, guidance 1 (no classifier-free guidance:
        half the transformer passes). Distillation can slow the motion."""
        return cls(**{"lora": lora, "steps": 4, "guidance": 1.0, **overrides})


class WanRenderer:
    """:class:`~mv2desc.mvgen.renderers.base.ClipRenderer` through ``diffusers.WanImageToVideoPipeline``.

    ``request.last_frame`` is passed as ``last_image`` where the model uses one: Wan 2.2 I2V (no image
    encoder; conditioned through the latents) and first-last-frame models (FLF2V, which require it).
    Wan 2.1 I2V ignores it (with a warning): its image embedding takes one image.
    Returns ``cfg.num_frames`` frames (meant to play at ``cfg.fps``) at the request's size.
    """

    name = "wan"
    needs_keyframe = True

    def __init__(self, cfg: WanConfig, *, pipeline: Any = None) -> None:
        """``pipeline``: an already built ``WanImageToVideoPipeline`` to use instead of loading
        ``cfg.name_or_path`` (benchmarks with random weights)."""
        self.cfg = cfg
        self.device = loading.pick_device()
        self.dtype = loading.pick_dtype(cfg.dtype, self.device)
        self._given = pipeline
        self._pipe: Any = None
        self._warned_last_frame = False

    @property
    def native_fps(self) -> float:
        return float(self.cfg.fps)

    def identity(self) -> dict:
        settings = asdict(self.cfg)
        settings.pop("cpu_offload")  # memory placement does not change the frames
        return {"renderer": self.name, **settings, "dtype": loading.dtype_name(self.dtype), "vae_dtype": "float32",
                "diffusers": loading.library_version()}

    def load(self) -> None:
        if self._pipe is None:
            import torch
            from diffusers import WanImageToVideoPipeline

            dtypes = {"default": self.dtype, "vae": torch.float32, "image_encoder": torch.float32}
            pipe = self._given
            if pipe is None:
                pipe = loading.load_pipeline(WanImageToVideoPipeline, self.cfg.name_or_path, dtype=dtypes,
                                             config_key="renderer.wan.name_or_path")
            if self.cfg.lora:
                _fuse_lora(pipe, self.cfg.lora, self.cfg.lora_scale)
            self._pipe = loading.place(pipe, self.device, cpu_offload=self.cfg.cpu_offload)

    @property
    def last_frame_mode(self) -> str:
        """``"optional"``, ``"required"`` (first-last-frame models) or ``"unsupported"`` (loads the model)."""
        self.load()
        pipe = self._pipe
        tcfg = (pipe.transformer or pipe.transformer_2).config
        if pipe.config.expand_timesteps:  # Wan 2.2 TI2V-5B: conditions on the first frame only
            return "unsupported"
        if tcfg.image_dim is None:
            return "optional"
        return "required" if tcfg.get("pos_embed_seq_len") is not None else "unsupported"

    def render(self, request: ClipRequest) -> np.ndarray:
        if request.keyframe is None:
            raise ValueError(f"clip {request.index}: the wan renderer needs a keyframe")
        cfg = self.cfg
        last = self._last_image(request)
        out = self._pipe(
            image=loading.fit_image(request.keyframe, cfg.width, cfg.height), prompt=request.prompt,
            negative_prompt=request.negative_prompt or None, height=cfg.height, width=cfg.width,
            num_frames=cfg.num_frames, num_inference_steps=cfg.steps, guidance_scale=cfg.guidance,
            generator=loading.seeded_generator(request.seed), output_type="np", **({"last_image": last} if last is not None else {}),
        )
        frames = loading.to_uint8(out.frames[0])
        return loading.fit_frames(frames, request.width, request.height)

    def _last_image(self, request: ClipRequest) -> Any:
        mode = self.last_frame_mode
        if mode == "required" and request.last_frame is None:
            raise UserError(f"{self.cfg.name_or_path!r} is a first-last-frame model: every clip needs a last frame")
        if request.last_frame is None:
            return None
        if mode == "unsupported":
            if not self._warned_last_frame:
                log.warning("%s takes no last frame: the clips' last frames are ignored", self.cfg.name_or_path)
                self._warned_last_frame = True
            return None
        return loading.fit_image(request.last_frame, self.cfg.width, self.cfg.height)


def _fuse_lora(pipe: Any, lora: str, scale: float) -> None:
    """Load the LoRA, fuse it into the weights at ``scale`` and drop the adapter modules (no per-step
    LoRA matmuls: a fused distilled LoRA costs nothing at run time)."""
    path = loading.model_source(lora)
    p = Path(path)
    if (path.startswith(("/", ".", "~")) or p.suffix == ".safetensors") and not p.exists():
        raise UserError(f"wan LoRA {lora!r} does not exist: set renderer.wan.lora to a local LoRA folder or .safetensors file")
    kwargs = {"weight_name": p.name} if p.is_file() else {}
    try:
        pipe.load_lora_weights(str(p.parent) if p.is_file() else path, adapter_name="mv2desc", **kwargs)
    except (OSError, ValueError) as exc:
        raise UserError(f"wan LoRA {lora!r} cannot be loaded ({' '.join(str(exc).split())[:200]}): set renderer.wan.lora to "
                        "a local LoRA folder or .safetensors file") from exc
    pipe.fuse_lora(lora_scale=scale)
    pipe.unload_lora_weights()
