"""Names -> diffusion renderers. Importing this module is cheap (no torch, no diffusers): the
renderers import them when they load their models."""

from __future__ import annotations

from mv2desc.mvgen.diffusion.keyframes import SDXLKeyframeConfig, SDXLKeyframes
from mv2desc.mvgen.diffusion.svd import SVDConfig, SVDRenderer
from mv2desc.mvgen.diffusion.wan import WanConfig, WanRenderer
from mv2desc.mvgen.renderers.base import ClipRenderer, KeyframeGenerator

RENDERER_CONFIGS = {"svd": SVDConfig, "wan": WanConfig}
_RENDERERS = {"svd": SVDRenderer, "wan": WanRenderer}


def build_renderer(name: str, cfg: SVDConfig | WanConfig) -> ClipRenderer:
    """The ``name`` renderer ("svd" or "wan") with its config (``RENDERER_CONFIGS[name]``)."""
    if name not in _RENDERERS:
        raise ValueError(f"unknown diffusion renderer {name!r}: choose one of {sorted(_RENDERERS)}")
    if not isinstance(cfg, RENDERER_CONFIGS[name]):
        raise TypeError(f"renderer {name!r} takes a {RENDERER_CONFIGS[name].__name__}, got {type(cfg).__name__}")
    return _RENDERERS[name](cfg)


def build_keyframes(cfg: SDXLKeyframeConfig) -> KeyframeGenerator:
    """The SDXL keyframe generator (base or the few-step preset, by its config)."""
    if not isinstance(cfg, SDXLKeyframeConfig):
        raise TypeError(f"keyframes take an SDXLKeyframeConfig, got {type(cfg).__name__}")
    return SDXLKeyframes(cfg)
