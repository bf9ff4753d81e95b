"""Attaching the gated cross-attention blocks to the decoder without touching its code or keys.

A forward pre-hook on decoder layer i runs block i on the layer's input hidden states. The audio
context (keys/values per block, audio mask) lives on an :class:`AudioContext` owned by the
captioner, set for one forward / generate call; nothing is stored on the layers themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from mv2desc.model.gated_xattn import GatedCrossAttentionBlock


@dataclass
class AudioContext:
    kv: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # layer -> (B, h, N, d/h) x2
    mask: torch.Tensor | None = None  # (B, N) bool
    prefix: torch.Tensor | None = None  # (B, K, H) prefix-fusion tokens


class ContextSlot:
    """Holds the current :class:`AudioContext` (None = run the decoder untouched)."""

    def __init__(self) -> None:
        self.current: AudioContext | None = None


def attach_blocks(layers: nn.ModuleList, blocks: nn.ModuleDict, slot: ContextSlot) -> list[Any]:
    """Register one pre-hook per block (``blocks`` keyed by layer index as str); returns the handles."""
    handles = []
    for key, block in blocks.items():
        idx = int(key)
        if not 0 <= idx < len(layers):
            raise ValueError(f"cross-attention block for layer {idx}, but the decoder has {len(layers)} layers")
        handles.append(layers[idx].register_forward_pre_hook(BlockHook(idx, block, slot), with_kwargs=True))
    return handles


class BlockHook:
    """Runs block ``idx`` on the decoder layer's input. A plain object (not a closure), so that
    ``copy.deepcopy`` and pickling (spawned DDP workers) carry the hook over to the copied model."""

    def __init__(self, idx: int, block: GatedCrossAttentionBlock, slot: ContextSlot) -> None:
        self.idx = idx
        self.block = block
        self.slot = slot

    def __call__(self, module: nn.Module, args: tuple, kwargs: dict):
        ctx = self.slot.current
        if ctx is None or self.idx not in ctx.kv:
            return None
        kv = ctx.kv[self.idx]
        x = args[0] if args else kwargs["hidden_states"]
        if getattr(module, "gradient_checkpointing", False) and module.training and torch.is_grad_enabled():
            # the layer checkpoints its own forward; the block (run here, before it) is checkpointed too,
            # so its activations are recomputed in backward instead of kept (non-reentrant: the K/V and the
            # mask are arguments, the slot is not read again)
            y = checkpoint(self.block, x, kv, ctx.mask, use_reentrant=False)
        else:
            y = self.block(x, kv, ctx.mask)
        if args:
            return (y, *args[1:]), kwargs
        kwargs = dict(kwargs)
        kwargs["hidden_states"] = y
        return args, kwargs
