"""Loading the Qwen-VL backbone through the transformers Auto classes (by name, folder, or config)."""

from __future__ import annotations

import logging
import re

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForImageTextToText, PreTrainedModel

from mv2desc.devices import resolve_dtype
from mv2desc.errors import UserError
from mv2desc.model.config import BackboneConfig
from mv2desc.paths import resolve_repo_path
from mv2desc.qwen_vl.tiny import resolve_tiny

log = logging.getLogger(__name__)
SUPPORTED_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


def backbone_path(cfg: BackboneConfig) -> str:
    """The folder or hub name to load: ``mv2desc-tiny:...`` is built on the spot; a path relative to the
    repository (``assets/tiny-mv-lm``) works from any directory."""
    name = resolve_tiny(cfg.name_or_path)
    local = resolve_repo_path(name)
    return str(local) if local.exists() else name


def load_backbone_config(cfg: BackboneConfig):
    config = AutoConfig.from_pretrained(resolve_repo_path(cfg.config_dir) if cfg.config_dir else backbone_path(cfg))
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(f"backbone model_type {config.model_type!r} is not one of {SUPPORTED_MODEL_TYPES}")
    return config


def _attn_impl(requested: str) -> str:
    if requested == "flash_attention_2":
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            log.warning("flash_attention_2 requested but flash-attn is not installed: using sdpa")
            return "sdpa"
    return requested


def load_backbone(cfg: BackboneConfig, *, device: torch.device | None = None, meta: bool = False) -> PreTrainedModel:
    """The backbone in eval mode. ``meta=True``: shapes only (no memory, no weights needed)."""
    device = device or torch.device("cpu")
    dtype = resolve_dtype(cfg.dtype, device)
    attn = _attn_impl(cfg.attn_implementation)
    if meta or cfg.random_init:
        config = load_backbone_config(cfg)
        config._attn_implementation = attn
        if meta:
            with torch.device("meta"):
                model = AutoModelForImageTextToText.from_config(config, dtype=dtype)
        else:
            model = AutoModelForImageTextToText.from_config(config, dtype=dtype)
    else:
        path = backbone_path(cfg)
        try:
            model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, attn_implementation=attn)
        except OSError as exc:  # not a local folder and not in the hub cache (we run offline)
            raise UserError(
                f"backbone {path!r} is not available locally ({' '.join(str(exc).split())[:160]}): download it on a machine "
                "with network (huggingface-cli download NAME) and set backbone.name_or_path to that folder"
            ) from exc
    if not meta:
        model.to(device)
    return model.eval()


def module_name(root: nn.Module, target: nn.Module) -> str:
    """The qualified name of ``target`` inside ``root`` (found by identity, not by guessing names)."""
    for name, module in root.named_modules():
        if module is target:
            return name
    raise ValueError("module not found inside the model")


def decoder_of(model: PreTrainedModel) -> nn.Module:
    """The language decoder (has ``.layers``), through the public accessor."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = base.get_decoder()
    if not hasattr(decoder, "layers"):
        raise ValueError(f"{type(base).__name__}.get_decoder() returned {type(decoder).__name__} without .layers")
    return decoder


def vision_of(model: PreTrainedModel) -> nn.Module | None:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", base)
    return getattr(inner, "visual", None)


def lora_target_regex(model: PreTrainedModel, targets: list[str]) -> str:
    """A full-match pattern for ``targets`` inside the decoder's layers only (never the vision tower,
    whose blocks reuse names like gate_proj)."""
    prefix = module_name(model, decoder_of(model))
    names = "|".join(re.escape(t) for t in targets)
    return rf"^{re.escape(prefix)}\.layers\.\d+\.(?:[A-Za-z_]+\.)?(?:{names})$"
