"""Clip renderers: one interface (:class:`~mv2desc.mvgen.renderers.base.ClipRenderer`), three
implementations (``procedural`` with no weights, ``svd`` and ``wan`` through ``diffusers``).

:func:`build_renderer` and :func:`build_keyframes` pick by name; the diffusion side
(``mv2desc.mvgen.diffusion``) is imported only when svd or wan is selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mv2desc.mvgen.config import GenerateConfig
    from mv2desc.mvgen.renderers.base import ClipRenderer, KeyframeGenerator


def build_renderer(cfg: GenerateConfig) -> ClipRenderer:
    """The renderer ``cfg.renderer`` names, configured from ``cfg``."""
    if cfg.renderer == "procedural":
        from mv2desc.mvgen.renderers.procedural import ProceduralRenderer

        return ProceduralRenderer(cfg.procedural)
    from mv2desc.mvgen.diffusion import registry

    _, renderer_cfg = cfg.diffusion_configs()
    return registry.build_renderer(cfg.renderer, renderer_cfg)


def build_keyframes(cfg: GenerateConfig) -> KeyframeGenerator:
    """The keyframe generator (SDXL) for renderers that need one."""
    from mv2desc.mvgen.diffusion import registry

    keyframe_cfg, _ = cfg.diffusion_configs()
    return registry.build_keyframes(keyframe_cfg)
