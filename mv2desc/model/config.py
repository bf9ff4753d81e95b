"""Configuration of the captioner (one YAML per preset in configs/model/), validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from mv2desc.data.feature_config import TONAL_DIM
from mv2desc.data.spec import STREAMS  # the streams a dataset row can carry


@dataclass
class BackboneConfig:
    """The Qwen-VL backbone.

    Args:
        name_or_path: hub name or local folder (Qwen/Qwen2.5-VL-7B-Instruct, ...), or
            ``mv2desc-tiny:<family>`` for a tiny random checkpoint built on the spot.
        config_dir: a folder holding the backbone's config.json (shipped in configs/backbones/) so
            that ``mv2desc model summary`` works offline on the meta device.
        random_init: build from the config with random weights (speed/memory measurements).
        dtype: weights dtype: "auto" (bfloat16 on CUDA, float32 on CPU), "bfloat16", "float32".
        attn_implementation: "sdpa" (default) or "flash_attention_2" (falls back to sdpa if unavailable).
        freeze_vision: keep the vision tower frozen (always true for this task; no LoRA there either).
    """

    name_or_path: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    config_dir: str | None = None
    random_init: bool = False
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    attn_implementation: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    freeze_vision: bool = True

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ValueError("backbone.name_or_path must be set")


@dataclass
class AudioEncoderConfig:
    """Feature streams -> a sequence of audio tokens of the LLM's width, each with its time in seconds.

    The widths must match the dataset's :class:`~mv2desc.data.spec.FeatureSpec` (``train fit`` checks);
    the timing (hops, CLAP window) is not configured here: it comes with the data.

    Args:
        streams: which feature streams feed the encoder: lld (openSMILE LLDs), functionals (eGeMAPS
            88), clap (CLAP window + clip embeddings), rhythm (onset envelope, RMS, beats), tonal (chroma +
            tonnetz per frame: key and mode). A stream missing from one sample becomes zeros + mask (same
            graph on every rank).
        dim: width inside the encoder.
        layers: transformer layers over the audio tokens.
        heads: attention heads in the encoder.
        token_hop_s: seconds per frame-level audio token (LLD, rhythm and tonal frames pooled into these bins).
        max_tokens: cap on frame-level tokens per sample (longer clips are truncated).
        lld_dim: openSMILE LLD features per frame.
        functionals_dim: eGeMAPS functionals.
        clap_dim: CLAP embedding width.
        tonal_dim: tonal-stream values per frame (12 chroma + 6 tonnetz).
        dropout: dropout in the encoder.
    """

    streams: list[str] = field(default_factory=lambda: list(STREAMS))
    dim: int = 256
    layers: int = 2
    heads: int = 4
    token_hop_s: float = 0.1
    max_tokens: int = 300
    lld_dim: int = 25
    functionals_dim: int = 88
    clap_dim: int = 512
    tonal_dim: int = TONAL_DIM
    dropout: float = 0.0

    def __post_init__(self) -> None:
        unknown = [s for s in self.streams if s not in STREAMS]
        if unknown or not self.streams:
            raise ValueError(f"audio.streams must be a non-empty subset of {STREAMS}, got {self.streams}")
        if self.dim % self.heads:
            raise ValueError(f"audio.dim ({self.dim}) must be divisible by audio.heads ({self.heads})")
        if self.token_hop_s <= 0 or self.max_tokens < 1:
            raise ValueError("audio.token_hop_s must be > 0 and audio.max_tokens >= 1")


@dataclass
class CrossAttentionConfig:
    """Gated cross-modal attention blocks (Flamingo-style), tanh gates initialised at 0.

    Args:
        every_n_layers: a block before every N-th decoder layer (layer 0, N, 2N, ...).
        heads: attention heads of each block (must divide the LLM width).
        inner_dim: the blocks' inner (bottleneck) width: queries, keys and values are projected to it
            and back (None = the LLM width, the full-width Flamingo block). The real presets use a
            bottleneck so LoRA + audio encoder + cross-attention stay under 3 % of the backbone.
        ffn_mult: hidden width of the gated feed-forward, as a multiple of the block width (inner_dim).
        fusion: "cross" (blocks only), "prefix" (audio tokens prepended, no blocks), or "both".
        prefix_tokens: audio tokens prepended in prefix mode (a learned resampler pools to this many).
        gate_init: initial gate value (0 keeps the backbone's outputs unchanged at step 0).
    """

    every_n_layers: int = 4
    heads: int = 8
    inner_dim: int | None = None
    ffn_mult: float = 2.0
    fusion: Literal["cross", "prefix", "both"] = "cross"
    prefix_tokens: int = 32
    gate_init: float = 0.0

    def __post_init__(self) -> None:
        if self.every_n_layers < 1:
            raise ValueError(f"xattn.every_n_layers must be >= 1, got {self.every_n_layers}")
        if self.prefix_tokens < 1:
            raise ValueError(f"xattn.prefix_tokens must be >= 1, got {self.prefix_tokens}")
        if self.inner_dim is not None and (self.inner_dim < 1 or self.inner_dim % self.heads):
            raise ValueError(f"xattn.inner_dim must be a positive multiple of xattn.heads ({self.heads}), got {self.inner_dim}")


@dataclass
class LoraSettings:
    """LoRA (peft) on the language decoder's linear layers only.

    Args:
        r: rank.
        alpha: scaling numerator (scale = alpha / r).
        dropout: dropout on the LoRA input.
        targets: linear layer names inside each decoder layer (matched by pattern under the decoder).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ValueError(f"lora.r must be >= 1, got {self.r}")
        if not self.targets:
            raise ValueError("lora.targets must name at least one linear layer")


@dataclass
class CaptionerConfig:
    """The whole captioner.

    Args:
        backbone: the Qwen-VL backbone.
        audio: the audio encoder.
        xattn: gated cross-modal attention.
        lora: LoRA on the decoder.
        gradient_checkpointing: non-reentrant checkpointing of the decoder layers.
    """

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    xattn: CrossAttentionConfig = field(default_factory=CrossAttentionConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    gradient_checkpointing: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CaptionerConfig":
        known = {"backbone": BackboneConfig, "audio": AudioEncoderConfig, "xattn": CrossAttentionConfig, "lora": LoraSettings}
        unknown = set(d) - set(known) - {"gradient_checkpointing"}
        if unknown:
            raise ValueError(f"unknown captioner config keys: {sorted(unknown)}")
        kwargs = {}
        for key, klass in known.items():
            sub = dict(d.get(key) or {})
            if key == "audio" and "clap_window_s" in sub:  # artifacts before the FeatureSpec: now a data property
                sub.pop("clap_window_s")
            bad = set(sub) - set(klass.__dataclass_fields__)
            if bad:
                raise ValueError(f"unknown keys in {key}: {sorted(bad)} (known: {sorted(klass.__dataclass_fields__)})")
            kwargs[key] = klass(**sub)
        return cls(**kwargs, gradient_checkpointing=bool(d.get("gradient_checkpointing", True)))

    @classmethod
    def from_yaml(cls, path: str | Path) -> "CaptionerConfig":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_dict(data.get("model", data))
