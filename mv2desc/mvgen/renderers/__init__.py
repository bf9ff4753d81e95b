"""Clip renderers: one interface (:class:`~mv2desc.mvgen.renderers.base.ClipRenderer`) and a registry
of names -> factories.

Built in: ``procedural`` (no weights), ``svd`` and ``wan`` (``diffusers``; keyframes by SDXL). A new
renderer is one call, made when your module is imported::

    register_renderer("toy", lambda cfg: ToyRenderer(cfg.seed))

after which ``GenerateConfig(renderer="toy")`` (``--renderer toy``) validates and :func:`build_renderer`
builds it. A factory takes the whole :class:`~mv2desc.mvgen.config.GenerateConfig` and returns a
``ClipRenderer``.

Importing this module loads neither torch nor diffusers: the built-in factories import their modules
when they are called (the diffusion side, ``mv2desc.mvgen.diffusion``, only when svd or wan is built).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mv2desc.mvgen.config import GenerateConfig
    from mv2desc.mvgen.renderers.base import ClipRenderer, KeyframeGenerator

RendererFactory = Callable[["GenerateConfig"], "ClipRenderer"]
BUILTIN_RENDERERS = ("procedural", "svd", "wan")

_FACTORIES: dict[str, RendererFactory] = {}
_GPU: dict[str, bool] = {}


def register_renderer(name: str, factory: RendererFactory, *, replace: bool = False, gpu: bool = False) -> None:
    """Make ``--renderer NAME`` build ``factory(cfg)``. A name already registered is a ``ValueError``
    unless ``replace`` (a built-in renderer cannot be replaced). ``gpu``: with ``--devices N`` each
    worker process gets one visible GPU and is spawned (CUDA does not survive a fork), and no GPU is an
    error; otherwise the workers are forked CPU processes (the renderer registered in this process)."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(f"a renderer name must be a non-empty string without surrounding spaces, got {name!r}")
    if not callable(factory):
        raise TypeError(f"renderer {name!r}: the factory must be callable (GenerateConfig -> ClipRenderer), got {type(factory).__name__}")
    if name in _FACTORIES and (not replace or name in BUILTIN_RENDERERS):
        why = "is built in" if name in BUILTIN_RENDERERS else "is already registered (pass replace=True to replace it)"
        raise ValueError(f"renderer {name!r} {why}")
    _FACTORIES[name] = factory
    _GPU[name] = bool(gpu)


def renderer_uses_gpu(name: str) -> bool:
    """Whether renderer ``name`` was registered with ``gpu=True``."""
    return _GPU.get(name, False)


def unregister_renderer(name: str) -> None:
    """Forget a registered renderer (built-in ones stay); an unknown name is ignored."""
    if name in BUILTIN_RENDERERS:
        raise ValueError(f"renderer {name!r} is built in and cannot be unregistered")
    _FACTORIES.pop(name, None)
    _GPU.pop(name, None)


def renderer_names() -> tuple[str, ...]:
    """Every name ``--renderer`` accepts: the built-in ones first, then the registered ones in order."""
    return tuple(_FACTORIES)


def build_renderer(cfg: GenerateConfig) -> ClipRenderer:
    """The renderer ``cfg.renderer`` names, configured from ``cfg``."""
    from mv2desc.mvgen.renderers.base import ClipRenderer

    factory = _FACTORIES.get(cfg.renderer)
    if factory is None:
        raise ValueError(f"renderer must be one of {', '.join(renderer_names())}; got {cfg.renderer!r}")
    renderer = factory(cfg)
    if not isinstance(renderer, ClipRenderer):
        raise TypeError(f"renderer {cfg.renderer!r}: its factory returned {type(renderer).__name__!r}, which lacks the ClipRenderer "
                        "interface (name, needs_keyframe, identity(), render(request))")
    return renderer


def build_keyframes(cfg: GenerateConfig) -> KeyframeGenerator:
    """The keyframe generator (SDXL) for renderers that need one (``needs_keyframe``)."""
    from mv2desc.mvgen.diffusion import registry

    configs = cfg.diffusion_configs()
    if configs is None:
        raise ValueError(f"renderer {cfg.renderer!r} makes its own frames: it takes no keyframes")
    return registry.build_keyframes(configs[0])


def _procedural(cfg: GenerateConfig) -> ClipRenderer:
    from mv2desc.mvgen.renderers.procedural import ProceduralRenderer

    return ProceduralRenderer(cfg.procedural)


def _diffusion(cfg: GenerateConfig) -> ClipRenderer:
    from mv2desc.mvgen.diffusion import registry

    _, renderer_cfg = cfg.diffusion_configs()
    return registry.build_renderer(cfg.renderer, renderer_cfg)


register_renderer("procedural", _procedural)
register_renderer("svd", _diffusion, gpu=True)
register_renderer("wan", _diffusion, gpu=True)

__all__ = ["BUILTIN_RENDERERS", "RendererFactory", "build_keyframes", "build_renderer", "register_renderer", "renderer_names",
           "renderer_uses_gpu", "unregister_renderer"]
