"""The captioner: Qwen-VL backbone + audio encoder + gated cross-attention blocks (+ LoRA).

The backbone is wrapped, never edited: blocks attach through forward pre-hooks on decoder layers
reached with ``get_decoder()``, so the backbone's own state-dict keys are unchanged and a plain
backbone checkpoint (or a LoRA adapter for it) stays interchangeable with the upstream one.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from mv2desc.data.spec import FeatureSpec
from mv2desc.model.audio_batch import AudioBatch, empty_audio
from mv2desc.model.audio_encoder import AudioEncoder
from mv2desc.model.backbone import decoder_of, lora_target_regex, vision_of
from mv2desc.model.config import CaptionerConfig
from mv2desc.model.fusion_hooks import AudioContext, ContextSlot, attach_blocks
from mv2desc.model.gated_xattn import GatedCrossAttentionBlock, expand_to_batch

log = logging.getLogger(__name__)
PREFIX_TOKEN = "<|vision_pad|>"  # placeholder of the audio prefix (a Qwen special token the backbone never sees otherwise)


class AudioResampler(nn.Module):
    """Learned queries pool a variable number of audio tokens into ``n`` prefix tokens (prefix fusion)."""

    def __init__(self, dim: int, n: int, heads: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(n, dim) * 0.02)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """tokens (B, N, dim), mask (B, N) -> (B, n, dim)."""
        q = self.queries.expand(tokens.shape[0], -1, -1)
        out, _ = self.attn(q, tokens, tokens, key_padding_mask=~mask, need_weights=False)
        return self.norm(out + q)


class AudioCaptioner(nn.Module):
    def __init__(self, config: CaptionerConfig, backbone: PreTrainedModel, processor: Any = None) -> None:
        super().__init__()
        self.config = config
        self.backbone = backbone
        self.processor = processor
        self.feature_spec: FeatureSpec | None = None  # the features it was trained on (set by artifact.load)
        self.merged_backbone = False  # loaded from a merged artifact (artifact.save then writes the backbone whole)
        text_cfg = backbone.config.get_text_config()
        hidden = int(text_cfg.hidden_size)
        fusion = config.xattn.fusion
        self.audio_encoder = AudioEncoder(config.audio, hidden)
        layers = decoder_of(backbone).layers
        idxs = range(0, len(layers), config.xattn.every_n_layers) if fusion in ("cross", "both") else []
        self.xattn = nn.ModuleDict(
            {
                str(i): GatedCrossAttentionBlock(hidden, config.xattn.heads, config.xattn.ffn_mult, config.xattn.gate_init, config.xattn.inner_dim)
                for i in idxs
            }
        )
        self.resampler = AudioResampler(hidden, config.xattn.prefix_tokens, config.xattn.heads) if fusion in ("prefix", "both") else None
        self._slot = ContextSlot()
        self._handles = attach_blocks(layers, self.xattn, self._slot)
        self.prefix_token_id: int | None = None
        if self.resampler is not None:
            self._handles.append(backbone.get_input_embeddings().register_forward_hook(self._insert_prefix))
            tok = getattr(processor, "tokenizer", processor)
            if tok is None or tok.convert_tokens_to_ids(PREFIX_TOKEN) in (None, tok.unk_token_id):
                raise ValueError(f"prefix fusion needs the tokenizer's {PREFIX_TOKEN} token")
            self.prefix_token_id = int(tok.convert_tokens_to_ids(PREFIX_TOKEN))

    # -- structure ------------------------------------------------------------------------------
    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    def audio_modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"audio_encoder": self.audio_encoder, "xattn": self.xattn}
        if self.resampler is not None:
            mods["resampler"] = self.resampler
        return mods

    def audio_state_dict(self) -> dict[str, torch.Tensor]:
        return {f"{name}.{k}": v for name, m in self.audio_modules().items() for k, v in m.state_dict().items()}

    def load_audio_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Strict: a missing or unexpected key is an error, never a silently re-initialised module."""
        expected = set(self.audio_state_dict())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise KeyError(f"audio modules do not match the artifact: missing {missing[:8]}, unexpected {unexpected[:8]}")
        own = self.audio_state_dict()
        # artifacts written before the gates became (1,) tensors hold 0-dim gates: same values
        state = {k: v.reshape(own[k].shape) if v.ndim == 0 and own[k].shape == (1,) else v for k, v in state.items()}
        for name, m in self.audio_modules().items():
            m.load_state_dict({k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")}, strict=True)

    def apply_lora(self) -> int:
        """Wrap the decoder's linear layers with LoRA (peft); returns the number of wrapped modules."""
        from peft import LoraConfig, get_peft_model

        lc = self.config.lora
        pattern = lora_target_regex(self.backbone, lc.targets)
        self.backbone = get_peft_model(
            self.backbone, LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=pattern, bias="none")
        )
        return count_lora_modules(self.backbone)

    def set_trainable(self, backbone: str = "lora") -> dict[str, int]:
        """Freeze everything, check nothing is trainable, then unfreeze by name: the audio modules, and
        in the backbone LoRA (``"lora"``), the whole language model (``"full"``), or nothing (``"new_modules"``).
        The vision tower stays frozen in every mode."""
        if backbone not in ("lora", "full", "new_modules"):
            raise ValueError(f"backbone trainability must be lora, full or new_modules, got {backbone!r}")
        for p in self.parameters():
            p.requires_grad_(False)
        assert sum(p.numel() for p in self.parameters() if p.requires_grad) == 0
        vision_ids = {id(p) for p in vision_of(self.backbone).parameters()} if vision_of(self.backbone) is not None else set()
        for name, p in self.backbone.named_parameters():
            if (backbone == "lora" and "lora_" in name) or (backbone == "full" and id(p) not in vision_ids):
                p.requires_grad_(True)
        for m in self.audio_modules().values():
            for p in m.parameters():
                p.requires_grad_(True)
        vision = vision_of(self.backbone)
        if vision is not None and any(p.requires_grad for p in vision.parameters()):
            raise AssertionError("the vision tower must stay frozen")
        counts = self.parameter_counts()
        log.info("trainable parameters: %s", {k: v for k, v in counts.items() if k.endswith("trainable")})
        return counts

    def parameter_counts(self) -> dict[str, int]:
        def n(params, trainable_only=False):
            return sum(p.numel() for p in params if p.requires_grad or not trainable_only)

        lora = [p for name, p in self.backbone.named_parameters() if "lora_" in name]
        backbone = [p for name, p in self.backbone.named_parameters() if "lora_" not in name]
        vision = vision_of(self.backbone)
        out = {
            "backbone": n(backbone),
            "backbone_vision": n(vision.parameters()) if vision is not None else 0,
            "lora": n(lora),
            "audio_encoder": n(self.audio_encoder.parameters()),
            "cross_attention": n(self.xattn.parameters()) + (n(self.resampler.parameters()) if self.resampler is not None else 0),
        }
        out["total"] = sum(v for k, v in out.items() if k != "backbone_vision")
        out["backbone_trainable"] = n(backbone, True)
        out["lora_trainable"] = n(lora, True)
        out["audio_encoder_trainable"] = n(self.audio_encoder.parameters(), True)
        out["cross_attention_trainable"] = n(self.xattn.parameters(), True) + (
            n(self.resampler.parameters(), True) if self.resampler is not None else 0
        )
        out["trainable"] = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return out

    def optimizer_groups(
        self, lr: float, new_modules_lr: float | None = None, weight_decay: float = 0.0, gates_lr: float | None = None
    ) -> list[dict]:
        """Parameter groups: LoRA at ``lr``; audio encoder + cross-attention at ``new_modules_lr`` (default
        ``lr``); the tanh gates at ``gates_lr`` (default: ``new_modules_lr``). Gates and norms get no weight decay.

        Why gates have their own rate: at gate 0 the cross-attention's own weights get no gradient (its
        output is multiplied by tanh(0) = 0), so nothing learns from the audio until the gates move, and
        Adam moves a gate by about its learning rate per step: at 1e-4 a gate needs ~1,000 steps to reach
        0.1. A larger gate rate opens the path early while the backbone's output still starts unchanged.
        """
        audio_ids = {id(p) for m in self.audio_modules().values() for p in m.parameters()}
        groups: dict[str, list[torch.nn.Parameter]] = {"lora": [], "new": [], "new_no_decay": [], "gates": []}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if id(p) not in audio_ids:
                groups["lora"].append(p)
            elif name.endswith("_gate"):
                groups["gates"].append(p)
            elif p.ndim < 2:  # biases, norms
                groups["new_no_decay"].append(p)
            else:
                groups["new"].append(p)
        new_lr = lr if new_modules_lr is None else new_modules_lr
        return [
            {"name": "lora", "params": groups["lora"], "lr": lr, "weight_decay": weight_decay},
            {"name": "new_modules", "params": groups["new"], "lr": new_lr, "weight_decay": weight_decay},
            {"name": "new_modules_no_decay", "params": groups["new_no_decay"], "lr": new_lr, "weight_decay": 0.0},
            {"name": "gates", "params": groups["gates"], "lr": new_lr if gates_lr is None else gates_lr, "weight_decay": 0.0},
        ]

    def enable_gradient_checkpointing(self) -> None:
        base = self.backbone.get_base_model() if hasattr(self.backbone, "get_base_model") else self.backbone
        base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})

    # -- audio context ----------------------------------------------------------------------------
    def _context(self, audio: AudioBatch | None, batch_size: int) -> AudioContext:
        audio = audio if audio is not None else empty_audio(batch_size, self.config.audio)
        if audio.batch_size != batch_size:
            raise ValueError(f"audio batch has {audio.batch_size} samples, text batch has {batch_size}")
        tokens, mask, _ = self.audio_encoder(audio.to(self.audio_encoder.start.device))  # (B, N, H), (B, N)
        ctx = AudioContext(kv={int(i): blk.project_kv(tokens) for i, blk in self.xattn.items()}, mask=mask)
        if self.resampler is not None:
            ctx.prefix = self.resampler(tokens, mask)  # (B, K, H)
        return ctx

    def _insert_prefix(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        ctx = self._slot.current
        prefix = getattr(ctx, "prefix", None)
        if prefix is None or not args:
            return None
        ids = args[0]  # (B, L)
        where = ids == self.prefix_token_id
        if not where.any():
            return None  # decoding steps after the prompt
        k = prefix.shape[1]
        counts = where.sum(dim=1)
        if not bool((counts == k).all()):
            raise ValueError(f"each prompt needs exactly {k} {PREFIX_TOKEN} tokens (prefix fusion); got {counts.tolist()}")
        (prefix,) = expand_to_batch((prefix,), ids.shape[0])  # beams / num_return_sequences: (B * r, K, H)
        out = output.clone()
        out[where] = prefix.reshape(-1, prefix.shape[-1]).to(out.dtype)
        return out

    # -- forward / generate ---------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, audio: AudioBatch | None = None, labels: torch.Tensor | None = None, **kwargs: Any):
        """input_ids (B, L), attention_mask (B, L), labels (B, L) with -100 off the targets."""
        self._slot.current = self._context(audio, input_ids.shape[0])
        # Cleared on the way out, whatever happens: the blocks run in the layers' forward *pre*-hooks,
        # outside transformers' checkpointed ``forward`` (their own checkpoint takes the context as
        # arguments, fusion_hooks.BlockHook), so backward never reads the slot, and a later plain
        # ``backbone(...)`` call can never attend to this batch's audio.
        try:
            return self.backbone(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)
        finally:
            self._slot.current = None

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, audio: AudioBatch | None = None, **kwargs: Any) -> torch.Tensor:
        """Greedy by default. Audio keys/values are computed once here and reused at every step."""
        self._slot.current = self._context(audio, input_ids.shape[0])
        try:
            kwargs.setdefault("do_sample", False)
            return self.backbone.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        finally:
            self._slot.current = None

    def gates(self) -> dict[str, float]:
        return {f"{i}.{g}": float(getattr(b, g).detach()) for i, b in self.xattn.items() for g in ("attn_gate", "ffw_gate")}


def count_lora_modules(model: nn.Module) -> int:
    from peft.tuners.lora import LoraLayer

    return sum(1 for m in model.modules() if isinstance(m, LoraLayer))
