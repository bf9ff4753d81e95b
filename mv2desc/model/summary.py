"""``mv2desc model summary``: parameter counts per part and a bf16 training-memory estimate, computed
on the meta device (no weights, no download; the backbone's config.json ships in configs/backbones/)."""

from __future__ import annotations

from dataclasses import dataclass

from mv2desc.model.config import CaptionerConfig

GIB = 1024**3


@dataclass
class MemoryEstimate:
    """Bytes of a bf16 LoRA training step (AdamW, fp32 master copies of the trainable weights).

    ``trainable_states`` is split per part in ``states_by_part`` (what each part's weights, gradients
    and optimizer moments cost); ``xattn_activations`` are the cross-attention blocks' activations and
    ``audio_kv`` their keys/values (computed once per step).
    """

    frozen_weights: float
    trainable_states: float
    activations: float
    xattn_activations: float
    audio_kv: float
    logits: float
    states_by_part: dict[str, float]

    @property
    def total(self) -> float:
        return self.frozen_weights + self.trainable_states + self.activations + self.xattn_activations + self.audio_kv + self.logits

    def as_gib(self) -> dict:
        d: dict = {k: round(v / GIB, 2) for k, v in self.__dict__.items() if k != "states_by_part"}
        d["trainable_states_by_part"] = {k: round(v / GIB, 2) for k, v in self.states_by_part.items()}
        d["total"] = round(self.total / GIB, 2)
        return d


PARTS = ("lora", "backbone", "audio_encoder", "cross_attention")


def estimate_memory(
    counts: dict[str, int], text_cfg, *, batch: int, seq_len: int, audio_tokens: int, checkpointing: bool,
    xattn_blocks: int = 0, xattn_inner: int | None = None, xattn_ffn_mult: float = 2.0,
) -> MemoryEstimate:
    """A first-order estimate (Korthikanti et al. 2022 activation counts; SDPA, so no s^2 attention term).

    Decoder layers: with checkpointing only each layer's input is kept, plus one layer recomputed at a
    time. Cross-attention blocks (``xattn_blocks`` of width ``xattn_inner``): they run inside their own
    checkpoint too (fusion_hooks), so the same rule applies; without checkpointing every block keeps
    its layer norms, projections and feed-forward activations.
    """
    h, layers, vocab = text_cfg.hidden_size, text_cfg.num_hidden_layers, text_cfg.vocab_size
    trainable = counts["trainable"]
    frozen = counts["total"] + counts.get("backbone_vision", 0) - trainable
    frozen_weights = 2.0 * frozen  # bf16
    # bf16 weight + fp32 master + fp32 grad + 2 fp32 Adam moments (rounded up to 16 bytes a parameter)
    states_by_part = {part: 16.0 * counts.get(f"{part}_trainable", 0) for part in PARTS}
    trainable_states = 16.0 * trainable
    tokens = batch * seq_len
    per_layer_full = 34.0 * tokens * h  # 16-bit activations of one decoder layer
    if checkpointing:
        activations = layers * 2.0 * tokens * h + per_layer_full  # saved layer inputs + one layer recomputed
    else:
        activations = layers * per_layer_full
    inner = xattn_inner or h
    # one block, 16-bit: 3 LN/residual tensors of width h, q and attention output of width inner,
    # feed-forward hidden before/after GELU of width inner * ffn_mult, o_proj/ffn outputs of width h
    per_block_full = 2.0 * tokens * (5 * h + 2 * inner + 2 * inner * xattn_ffn_mult)
    if checkpointing:
        xattn_activations = xattn_blocks * 2.0 * tokens * h + (per_block_full if xattn_blocks else 0.0)
    else:
        xattn_activations = xattn_blocks * per_block_full
    audio_kv = xattn_blocks * 8.0 * batch * audio_tokens * inner  # K and V, bf16, and their gradients
    logits = 10.0 * tokens * vocab  # bf16 logits, fp32 upcast for the loss and its gradient
    return MemoryEstimate(frozen_weights, trainable_states, activations, xattn_activations, audio_kv, logits, states_by_part)


def summarize(config: CaptionerConfig, *, batch: int = 4, seq_len: int = 1024, audio_tokens: int = 300) -> dict:
    from mv2desc.model.builder import build_captioner

    model = build_captioner(config, meta=True, with_processor=False)
    counts = model.parameter_counts()
    counts["xattn_blocks"] = len(model.xattn)
    text_cfg = model.backbone.config.get_text_config()
    mem = estimate_memory(
        counts, text_cfg, batch=batch, seq_len=seq_len, audio_tokens=audio_tokens, checkpointing=config.gradient_checkpointing,
        xattn_blocks=len(model.xattn), xattn_inner=config.xattn.inner_dim, xattn_ffn_mult=config.xattn.ffn_mult,
    )
    from mv2desc.model.captioner import count_lora_modules

    return {
        "backbone": config.backbone.name_or_path,
        "model_type": model.backbone.config.model_type,
        "text": {"hidden_size": text_cfg.hidden_size, "layers": text_cfg.num_hidden_layers, "vocab_size": text_cfg.vocab_size},
        "parameters": {k: v for k, v in counts.items() if k != "xattn_blocks"},
        "lora_modules": count_lora_modules(model.backbone),
        "cross_attention_blocks": counts["xattn_blocks"],
        "cross_attention_inner_dim": config.xattn.inner_dim or text_cfg.hidden_size,
        "trainable_share": round(counts["trainable"] / counts["total"], 4),
        "fusion": config.xattn.fusion,
        "memory_estimate_gib": {
            "assumptions": f"bf16, AdamW, batch {batch} x {seq_len} tokens, {audio_tokens} audio tokens, gradient checkpointing "
            + ("on" if config.gradient_checkpointing else "off"),
            **mem.as_gib(),
        },
    }
