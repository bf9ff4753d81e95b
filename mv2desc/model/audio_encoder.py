"""Audio encoder: feature streams -> audio tokens of the LLM's width, each stamped with its time.

Token layout per sample: [AUDIO] (learned, always valid) | functionals | CLAP clip | CLAP windows
(time = window centre) | frame tokens (openSMILE LLDs, rhythm curves and tonal frames -- chroma +
tonnetz -- each projected and pooled into ``token_hop_s`` bins and summed, time = bin centre; a stream
whose frames are longer than a bin is held, each bin reading the frame it lies in). Times are in
seconds and enter through a sinusoidal encoding, so the decoder's cross-attention can relate text to
*when* something happens in the music.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mv2desc.model.audio_batch import AudioBatch
from mv2desc.model.config import AudioEncoderConfig

N_TIME_FREQS = 16


def compress(x: torch.Tensor) -> torch.Tensor:
    """sign(x) log(1 + |x|): tames heterogeneous feature scales (Hz, dB, ratios) without dataset stats."""
    return torch.sign(x) * torch.log1p(x.abs())


def time_features(t: torch.Tensor) -> torch.Tensor:
    """(...,) seconds -> (..., 2 * N_TIME_FREQS) sin/cos at periods from 0.2 s to 200 s."""
    periods = torch.logspace(math.log10(0.2), math.log10(200.0), N_TIME_FREQS, device=t.device, dtype=torch.float32)
    angles = 2 * math.pi * t.float()[..., None] / periods
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def pool_to_bins(x: torch.Tensor, mask: torch.Tensor, hop_s: float, bin_s: float, n_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-pool frames (B, T, F) at ``hop_s`` into (B, n_bins, F) bins of ``bin_s``; -> (pooled, bin has data)."""
    b, t, f = x.shape
    centres = (torch.arange(t, device=x.device, dtype=torch.float32) + 0.5) * hop_s
    idx = (centres / bin_s).long().clamp(max=n_bins - 1)  # (T,)
    weight = (mask & (centres < n_bins * bin_s)[None, :]).to(x.dtype)  # (B, T): frames past the last bin are dropped
    sums = torch.zeros(b, n_bins, f, device=x.device, dtype=x.dtype).index_add_(1, idx, x * weight[..., None])
    counts = torch.zeros(b, n_bins, device=x.device, dtype=x.dtype).index_add_(1, idx, weight)  # (B, n_bins)
    return sums / counts.clamp(min=1.0)[..., None], counts > 0


def hold_to_bins(x: torch.Tensor, mask: torch.Tensor, hop_s: float, bin_s: float, n_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (B, T, F) at ``hop_s`` longer than a bin: each of the (B, n_bins, F) bins of ``bin_s`` reads the
    frame its centre lies in; -> (held, bin has data)."""
    t = x.shape[1]
    centres = (torch.arange(n_bins, device=x.device, dtype=torch.float32) + 0.5) * bin_s
    k = (centres / hop_s).long()  # (n_bins,)
    inside = k < t
    k = k.clamp(max=t - 1)
    has = mask[:, k] & inside[None, :]  # (B, n_bins)
    return x[:, k] * has[..., None].to(x.dtype), has


def frames_to_bins(x: torch.Tensor, mask: torch.Tensor, hop_s: float, bin_s: float, n_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`pool_to_bins` for frames no longer than a bin, :func:`hold_to_bins` for longer ones (no bin left empty)."""
    return (pool_to_bins if hop_s <= bin_s else hold_to_bins)(x, mask, hop_s, bin_s, n_bins)


class AudioEncoder(nn.Module):
    def __init__(self, cfg: AudioEncoderConfig, out_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.start = nn.Parameter(torch.randn(d) * 0.02)
        proj = {}
        if "lld" in cfg.streams:
            proj["lld"] = nn.Linear(cfg.lld_dim, d)
        if "rhythm" in cfg.streams:
            proj["rhythm"] = nn.Linear(3, d)
        if "tonal" in cfg.streams:
            # zero-initialised: frame streams are summed into one token, and chroma changes with every chord; from
            # zero the tonal stream enters the tokens only as training finds it useful (with a random projection,
            # the audio-only ablation stopped separating true from deranged audio: 0.583 vs 0.542, chance 0.597)
            proj["tonal"] = nn.Linear(cfg.tonal_dim, d)
            nn.init.zeros_(proj["tonal"].weight)
            nn.init.zeros_(proj["tonal"].bias)
        if "functionals" in cfg.streams:
            proj["functionals"] = nn.Linear(cfg.functionals_dim, d)
        if "clap" in cfg.streams:
            proj["clap"] = nn.Linear(cfg.clap_dim, d)
            proj["clap_clip"] = nn.Linear(cfg.clap_dim, d)
        self.proj = nn.ModuleDict(proj)
        self.type_embed = nn.Embedding(5, d)  # 0 start, 1 functionals, 2 clip, 3 clap window, 4 frame
        self.time_proj = nn.Linear(2 * N_TIME_FREQS, d)
        layer = nn.TransformerEncoderLayer(d, cfg.heads, 4 * d, cfg.dropout, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, out_dim))

    def n_frame_tokens(self, audio: AudioBatch) -> int:
        longest = float(audio.duration_s.max()) if audio.batch_size else 0.0
        return max(1, min(self.cfg.max_tokens, math.ceil(longest / self.cfg.token_hop_s)))

    def forward(self, audio: AudioBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> tokens (B, N, out_dim), mask (B, N) bool, times (B, N) seconds."""
        cfg, dev = self.cfg, self.start.device
        dtype = self.start.dtype
        b = audio.batch_size
        dur = audio.duration_s.to(dev, torch.float32)  # (B,)
        parts, masks, times, types = [], [], [], []

        def add(tok: torch.Tensor, mask: torch.Tensor, t: torch.Tensor, kind: int) -> None:
            parts.append(tok)
            masks.append(mask)
            times.append(t)
            types.append(torch.full(mask.shape, kind, device=dev, dtype=torch.long))

        add(self.start.expand(b, 1, -1), torch.ones(b, 1, dtype=torch.bool, device=dev), torch.zeros(b, 1, device=dev), 0)
        centre = (dur / 2)[:, None]  # (B, 1)
        if "functionals" in self.proj:
            tok = self.proj["functionals"](compress(audio.functionals.to(dev, dtype)))[:, None]  # (B, 1, d)
            add(tok, audio.functionals_mask.to(dev)[:, None], centre, 1)
        if "clap" in self.proj:
            add(self.proj["clap_clip"](audio.clap_clip.to(dev, dtype))[:, None], audio.clap_clip_mask.to(dev)[:, None], centre, 2)
            half = audio.clap_window_s / 2  # the dataset's window (FeatureSpec), carried by the batch
            win_t = audio.clap_starts.to(dev) + half  # (B, W)
            win_t = torch.minimum(win_t, torch.maximum(dur[:, None] - half, dur[:, None] / 2))
            add(self.proj["clap"](audio.clap.to(dev, dtype)), audio.clap_mask.to(dev), win_t, 3)
        n_bins = self.n_frame_tokens(audio)
        bin_t = (torch.arange(n_bins, device=dev, dtype=torch.float32) + 0.5) * cfg.token_hop_s  # (n_bins,)
        frame = torch.zeros(b, n_bins, cfg.dim, device=dev, dtype=dtype)
        frame_mask = torch.zeros(b, n_bins, dtype=torch.bool, device=dev)
        frame_streams = (("lld", audio.lld, audio.lld_mask, audio.lld_hop_s), ("rhythm", audio.rhythm, audio.rhythm_mask, audio.rhythm_hop_s),
                         ("tonal", audio.tonal, audio.tonal_mask, audio.tonal_hop_s))
        for name, x, m, hop in frame_streams:
            if name in self.proj:
                pooled, has = frames_to_bins(compress(x.to(dev, dtype)), m.to(dev), hop, cfg.token_hop_s, n_bins)  # (B, n_bins, F)
                frame = frame + self.proj[name](pooled) * has[..., None]
                frame_mask |= has
        frame_mask &= bin_t[None, :] < dur[:, None]
        add(frame, frame_mask, bin_t.expand(b, -1), 4)

        x = torch.cat(parts, dim=1)  # (B, N, d)
        mask = torch.cat(masks, dim=1)  # (B, N)
        t = torch.cat(times, dim=1)  # (B, N)
        x = x + self.type_embed(torch.cat(types, dim=1)) + self.time_proj(time_features(t).to(dtype))
        x = self.encoder(x, src_key_padding_mask=~mask)  # [AUDIO] is always valid: no all-masked row
        x = self.out(x)  # (B, N, out_dim)
        return x * mask[..., None].to(x.dtype), mask, t
