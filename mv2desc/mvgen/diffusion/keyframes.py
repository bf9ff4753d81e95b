"""Keyframes by SDXL text-to-image; with a reference image (the previous clip's last frame), by SDXL
img2img sharing the same weights, so consecutive segments keep their look."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mv2desc.mvgen.diffusion import loading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SDXLKeyframeConfig:
    """SDXL settings. Defaults are SDXL base as its authors run it (30 steps, guidance 5);
    :meth:`turbo` is the few-step preset.

    ``width``/``height``: the size SDXL draws at (it is trained around one megapixel); None draws at the
    size the caller asks for. The still is then centre-cropped and resized to the asked size.
    ``chain_strength``: how much img2img may change the reference (0 keeps it, 1 ignores it).
    ``cpu_offload``: on CUDA, keep sub-models on the CPU between uses (less GPU memory, slower).
    """

    name_or_path: str = "stabilityai/stable-diffusion-xl-base-1.0"
    steps: int = 30
    guidance: float = 5.0
    width: int | None = None
    height: int | None = None
    dtype: str = "auto"
    chain_strength: float = 0.6
    cpu_offload: bool = False

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ValueError("keyframes: name_or_path is empty")
        if self.steps < 1:
            raise ValueError(f"keyframes: steps must be >= 1, got {self.steps}")
        if self.guidance < 0:
            raise ValueError(f"keyframes: guidance must be >= 0, got {self.guidance}")
        for side in ("width", "height"):
            v = getattr(self, side)
            if v is not None and (v < 64 or v % 8):
                raise ValueError(f"keyframes: {side} must be a multiple of 8 and >= 64 (or None), got {v}")
        if (self.width is None) != (self.height is None):
            raise ValueError("keyframes: set both width and height, or neither")
        if not 0.0 < self.chain_strength <= 1.0:
            raise ValueError(f"keyframes: chain_strength must be in (0, 1], got {self.chain_strength}")
        if int(self.steps * self.chain_strength) < 1:  # img2img runs int(steps * strength) steps
            raise ValueError(f"keyframes: steps x chain_strength = {self.steps * self.chain_strength:g} leaves img2img no step")
        loading.check_dtype(self.dtype)

    @classmethod
    def turbo(cls, **overrides: Any) -> SDXLKeyframeConfig:
        """SDXL-Turbo: 4 steps, no classifier-free guidance (it was distilled without), 512 px native."""
        values = {"name_or_path": "stabilityai/sdxl-turbo", "steps": 4, "guidance": 0.0, "width": 512, "height": 512,
                  "chain_strength": 0.5}
        return cls(**{**values, **overrides})


class SDXLKeyframes:
    """:class:`~mv2desc.mvgen.renderers.base.KeyframeGenerator` through ``StableDiffusionXLPipeline``.

    The model loads on first use (or :meth:`load`), so a fully cached run never loads weights.
    """

    name = "sdxl"

    def __init__(self, cfg: SDXLKeyframeConfig, *, pipeline: Any = None) -> None:
        """``pipeline``: an already built ``StableDiffusionXLPipeline`` to use instead of loading
        ``cfg.name_or_path`` (benchmarks with random weights; sharing one model between generators)."""
        self.cfg = cfg
        self.device = loading.pick_device()
        self.dtype = loading.pick_dtype(cfg.dtype, self.device)
        self._given = pipeline
        self._pipe: Any = None
        self._img2img: Any = None
        self._active: Any = None  # the pipeline the offload hooks were last set up for

    def identity(self) -> dict:
        settings = asdict(self.cfg)
        settings.pop("cpu_offload")  # memory placement does not change the image
        return {"generator": self.name, **settings, "dtype": loading.dtype_name(self.dtype),
                "diffusers": loading.library_version()}

    def load(self) -> None:
        """Load the weights now (fail early on a missing model)."""
        if self._pipe is None:
            from diffusers import StableDiffusionXLPipeline

            pipe = self._given
            if pipe is None:
                pipe = loading.load_pipeline(StableDiffusionXLPipeline, self.cfg.name_or_path, dtype=self.dtype,
                                             config_key="keyframes.name_or_path")
            self._pipe = self._active = loading.place(pipe, self.device, cpu_offload=self.cfg.cpu_offload)

    def _img2img_pipe(self) -> Any:
        """The img2img pipeline over the same modules (``from_pipe`` shares them: no second copy)."""
        if self._img2img is None:
            from diffusers import StableDiffusionXLImg2ImgPipeline

            self.load()
            # from_pipe casts the shared modules to its dtype (float32 when none is given): pass ours
            self._img2img = StableDiffusionXLImg2ImgPipeline.from_pipe(self._pipe, dtype=self.dtype)
            self._img2img.set_progress_bar_config(disable=True)
        return self._switch_to(self._img2img)

    def _switch_to(self, pipe: Any) -> Any:
        """With CPU offload, the offload hooks chain one pipeline's modules: re-chain them for the
        pipeline about to run (both share the modules; installing hooks moves no weights)."""
        if self.cfg.cpu_offload and self.device.type == "cuda" and pipe is not self._active:
            pipe.enable_model_cpu_offload(device=self.device)
        self._active = pipe
        return pipe

    def generate(self, prompt: str, *, negative_prompt: str, width: int, height: int, seed: int,
                 reference: np.ndarray | None = None, style_prompt: str = "") -> np.ndarray:
        """One still ``(height, width, 3)`` uint8; ``reference`` (uint8 RGB) conditions it through img2img.
        ``style_prompt`` goes to SDXL's second text encoder (``prompt_2``), the shot to the first: each
        reads at most 77 tokens, so the shot is not cut away by a long style sheet."""
        self.load()
        draw_w, draw_h = (self.cfg.width, self.cfg.height) if self.cfg.width else (_mult8(width), _mult8(height))
        common = {"prompt": prompt, "prompt_2": style_prompt or None, "negative_prompt": negative_prompt or None, "num_inference_steps": self.cfg.steps,
                  "guidance_scale": self.cfg.guidance, "generator": loading.seeded_generator(seed), "output_type": "np"}
        if reference is None:
            out = self._switch_to(self._pipe)(width=draw_w, height=draw_h, **common)
        else:
            image = loading.fit_image(reference, draw_w, draw_h)
            out = self._img2img_pipe()(image=image, strength=self.cfg.chain_strength, **common)
        still = loading.to_uint8(out.images[0])
        return np.asarray(loading.fit_image(still, width, height))


def _mult8(n: int) -> int:
    return max(64, int(round(n / 8)) * 8)
