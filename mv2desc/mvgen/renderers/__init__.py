"""Clip renderers: one interface (:class:`~mv2desc.mvgen.renderers.base.ClipRenderer`), three
implementations (``procedural`` with no weights, ``svd`` and ``wan`` through ``diffusers``).

:func:`build_renderer` and :func:`build_keyframes` pick by name; the diffusion side
(``mv2desc.mvgen.diffusion``) is imported only when svd or wan is selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mv2desc.errors import UserError

if TYPE_CHECKING:
    from mv2desc.mvgen.config import GenerateConfig
    from mv2desc.mvgen.renderers.base import ClipRenderer, KeyframeGenerator


def _diffusion(cfg: GenerateConfig):
    built = cfg.diffusion_configs()
    if built is None:
        raise UserError(f"renderer '{cfg.renderer}' needs mv2desc.mvgen.diffusion, which this install lacks; use --renderer procedural")
    from mv2desc.mvgen.diffusion import registry

    return registry, built


def build_renderer(cfg: GenerateConfig) -> ClipRenderer:
    """The renderer ``cfg.renderer`` names, configured from ``cfg``."""
    if cfg.renderer == "procedural":
        from mv2desc.mvgen.renderers.procedural import ProceduralRenderer

        return ProceduralRenderer(cfg.procedural)
    registry, (_, renderer_cfg) = _diffusion(cfg)
    return registry.build_renderer(cfg.renderer, renderer_cfg)


def build_keyframes(cfg: GenerateConfig) -> KeyframeGenerator:
    """The keyframe generator (SDXL) for renderers that need one."""
    registry, (keyframe_cfg, _) = _diffusion(cfg)
    return registry.build_keyframes(keyframe_cfg)
