"""Gated cross-modal attention (the Flamingo block): text queries attend to audio keys/values.

    x = x + tanh(g_attn) * CrossAttn(LN(x), audio)
    x = x + tanh(g_ffw)  * FFW(LN(x))

With an inner (bottleneck) width ``inner`` < the LLM width ``dim``, queries, keys and values are
projected to ``inner`` and the output back to ``dim``, and the feed-forward's hidden width is
``inner * ffn_mult``: the parameters fall from ``(4 + 2 ffn_mult) dim^2`` to ``(4 + 2 ffn_mult) dim inner``
(a 7B preset: 540 M -> 154 M for 7 blocks) and the identity at gate 0 is unchanged.

Gates start at 0, so at step 0 the decoder computes exactly what the pretrained backbone computes.
Keys/values depend only on the audio: :meth:`project_kv` runs once per forward or ``generate()``
call and every decoding step reuses the result.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def expand_to_batch(tensors: tuple[torch.Tensor, ...], batch: int) -> tuple[torch.Tensor, ...]:
    """Repeat per-sample audio tensors (B, ...) for a text batch of ``batch`` = B * r rows (beams and
    ``num_return_sequences`` expand each sample into r consecutive rows). Anything else is an error,
    never a silent mismatch."""
    b = tensors[0].shape[0]
    if b == batch:
        return tensors
    if batch < b or batch % b:
        raise ValueError(f"text batch of {batch} rows does not expand an audio batch of {b} samples")
    return tuple(t.repeat_interleave(batch // b, dim=0) for t in tensors)


class GatedCrossAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ffn_mult: float = 2.0, gate_init: float = 0.0, inner: int | None = None) -> None:
        super().__init__()
        inner = dim if inner is None else inner
        if inner % heads:
            raise ValueError(f"cross-attention heads ({heads}) must divide the block width ({inner})")
        self.heads = heads
        self.norm_attn = nn.LayerNorm(dim)
        self.q_proj = nn.Linear(dim, inner, bias=False)
        self.k_proj = nn.Linear(dim, inner, bias=False)
        self.v_proj = nn.Linear(dim, inner, bias=False)
        self.o_proj = nn.Linear(inner, dim, bias=False)
        # gates are (1,), not 0-dim: FSDP refuses scalar parameters
        self.attn_gate = nn.Parameter(torch.full((1,), float(gate_init)))
        hidden = int(inner * ffn_mult)
        self.norm_ffw = nn.LayerNorm(dim)
        self.ffw = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.ffw_gate = nn.Parameter(torch.full((1,), float(gate_init)))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # (B, h, n, d/h)

    def project_kv(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio (B, N, dim) -> keys, values (B, h, N, inner/h)."""
        audio = audio.to(self.k_proj.weight.dtype)
        return self._split(self.k_proj(audio)), self._split(self.v_proj(audio))

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], audio_mask: torch.Tensor) -> torch.Tensor:
        """x (B, L, dim) text hidden states; audio_mask (B, N) bool -> (B, L, dim)."""
        k, v = kv
        k, v, audio_mask = expand_to_batch((k, v, audio_mask), x.shape[0])
        h = x.to(self.q_proj.weight.dtype)
        q = self._split(self.q_proj(self.norm_attn(h)))  # (B, h, L, inner/h)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=audio_mask[:, None, None, :])  # (B, h, L, inner/h)
        attn = attn.transpose(1, 2).reshape(h.shape[0], h.shape[1], -1)  # (B, L, inner)
        h = h + torch.tanh(self.attn_gate) * self.o_proj(attn)
        h = h + torch.tanh(self.ffw_gate) * self.ffw(self.norm_ffw(h))
        return x + (h - x.to(h.dtype)).to(x.dtype) if h.dtype != x.dtype else h
