"""The audio side of a batch: the dataset's feature streams as padded tensors + masks.

A stream a sample lacks (no CLAP, no openSMILE, ...) is zeros with its mask off: every sample, on
every rank, takes the same forward graph. Column names and timing (hops, CLAP window) come from the
dataset's :class:`~mv2desc.data.spec.FeatureSpec` and travel with the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import torch

from mv2desc.data.columns import BEATS, CHROMA, CLAP_CLIP, CLAP_STARTS, CLAP_WINDOWS, DURATION, FUNCTIONALS, LLD, ONSET, RMS, TONNETZ
from mv2desc.data.feature_config import CHROMA_BINS, TONNETZ_DIM
from mv2desc.data.spec import FeatureSpec
from mv2desc.model.config import AudioEncoderConfig


@dataclass
class AudioBatch:
    duration_s: torch.Tensor  # (B,) seconds
    lld: torch.Tensor  # (B, T_l, lld_dim) openSMILE LLD frames
    lld_mask: torch.Tensor  # (B, T_l) bool
    rhythm: torch.Tensor  # (B, T_r, 3) onset strength, RMS, beat indicator
    rhythm_mask: torch.Tensor  # (B, T_r) bool
    tonal: torch.Tensor  # (B, T_t, tonal_dim) chroma (12) then tonnetz (6) per frame
    tonal_mask: torch.Tensor  # (B, T_t) bool
    clap: torch.Tensor  # (B, W, clap_dim) CLAP window embeddings
    clap_starts: torch.Tensor  # (B, W) seconds
    clap_mask: torch.Tensor  # (B, W) bool
    functionals: torch.Tensor  # (B, functionals_dim)
    functionals_mask: torch.Tensor  # (B,) bool
    clap_clip: torch.Tensor  # (B, clap_dim)
    clap_clip_mask: torch.Tensor  # (B,) bool
    # timing of the rows (their FeatureSpec's): no defaults, a batch always says what its frames mean
    lld_hop_s: float
    rhythm_hop_s: float
    tonal_hop_s: float
    clap_window_s: float

    @property
    def batch_size(self) -> int:
        return int(self.duration_s.shape[0])

    def to(self, device: torch.device | str) -> "AudioBatch":
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        return AudioBatch(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kw.items()})

    def select(self, index: torch.Tensor | list[int]) -> "AudioBatch":
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        return AudioBatch(**{k: v[index] if isinstance(v, torch.Tensor) else v for k, v in kw.items()})


def _pad(seqs: list[torch.Tensor], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """list of (T_i, width) -> (B, T_max, width) zeros-padded, (B, T_max) mask; T_max >= 1."""
    t_max = max([1] + [s.shape[0] for s in seqs])
    out = torch.zeros(len(seqs), t_max, width)
    mask = torch.zeros(len(seqs), t_max, dtype=torch.bool)
    for i, s in enumerate(seqs):
        if s.numel():
            out[i, : s.shape[0]] = s
            mask[i, : s.shape[0]] = True
    return out, mask


def _list(value: Any) -> Any:
    """A column value as a sequence: ``None`` -> ``[]``; numpy arrays (``describe``'s rows) stay arrays,
    copied when read-only (torch warns on, and must not share, memory it cannot write)."""
    if value is None:
        return []
    if getattr(value, "flags", None) is not None and not value.flags.writeable:
        return value.copy()
    return value


def _as_2d(value: Any, width: int) -> torch.Tensor:
    t = torch.as_tensor(_list(value), dtype=torch.float32)
    if t.numel() == 0:
        return torch.zeros(0, width)
    t = t.reshape(-1, t.shape[-1]) if t.ndim > 1 else t.reshape(-1, 1)
    if t.shape[1] != width:
        raise ValueError(f"expected {width} features per frame, got {t.shape[1]}")
    return t


def _tonal(row: dict[str, Any], width: int) -> torch.Tensor:
    """(T, width): a row's chroma frames (12) beside its tonnetz frames (6), the frames both have."""
    chroma, tonnetz = _as_2d(row.get(CHROMA), CHROMA_BINS), _as_2d(row.get(TONNETZ), TONNETZ_DIM)
    n = min(chroma.shape[0], tonnetz.shape[0])
    if not n:
        return torch.zeros(0, width)
    if width != CHROMA_BINS + TONNETZ_DIM:
        raise ValueError(f"expected {width} tonal features per frame, the rows have {CHROMA_BINS} chroma + {TONNETZ_DIM} tonnetz")
    return torch.cat([chroma[:n], tonnetz[:n]], dim=1)


def require_spec(spec: Any, who: str) -> FeatureSpec:
    """``spec`` when it is a :class:`FeatureSpec`; otherwise a ``TypeError`` that says where the rows' spec
    comes from (no default: rows read with another spec's hops would be silently misread)."""
    if not isinstance(spec, FeatureSpec):
        raise TypeError(
            f"{who} needs the FeatureSpec of the rows (the dataset's manifest.json: FeatureSpec.from_manifest, or the "
            f"captioner's feature_spec), got {type(spec).__name__}: there is no default spec"
        )
    return spec


def collate_audio(rows: Sequence[dict[str, Any]], cfg: AudioEncoderConfig, spec: FeatureSpec) -> AudioBatch:
    """Dataset rows (columns as written by ``mv2desc data build``, or by ``describe`` per segment)
    -> :class:`AudioBatch`, with the hops and CLAP window of the rows' ``spec`` (required)."""
    spec = require_spec(spec, "collate_audio")
    rhythm_hop_s = spec.rhythm_hop_s
    lld, rhythm, tonal, clap, starts, func, func_m, clip, clip_m, dur = [], [], [], [], [], [], [], [], [], []
    for r in rows:
        dur.append(float(r.get(DURATION) or 0.0))
        lld.append(_as_2d(r.get(LLD), cfg.lld_dim))
        onset = torch.as_tensor(_list(r.get(ONSET)), dtype=torch.float32)
        rms = torch.as_tensor(_list(r.get(RMS)), dtype=torch.float32)
        n = min(onset.numel(), rms.numel())
        beats = torch.zeros(n)
        for b in _list(r.get(BEATS)):
            k = int(round(float(b) / rhythm_hop_s))
            if 0 <= k < n:
                beats[k] = 1.0
        rhythm.append(torch.stack([onset[:n], rms[:n], beats], dim=1) if n else torch.zeros(0, 3))
        tonal.append(_tonal(r, cfg.tonal_dim))
        clap.append(_as_2d(r.get(CLAP_WINDOWS), cfg.clap_dim))
        s = torch.as_tensor(_list(r.get(CLAP_STARTS)), dtype=torch.float32)
        starts.append(s.reshape(-1, 1))
        f = _list(r.get(FUNCTIONALS))
        func.append(torch.as_tensor(f, dtype=torch.float32) if len(f) else torch.zeros(cfg.functionals_dim))
        func_m.append(len(f) > 0)
        c = _list(r.get(CLAP_CLIP))
        clip.append(torch.as_tensor(c, dtype=torch.float32) if len(c) else torch.zeros(cfg.clap_dim))
        clip_m.append(len(c) > 0)
    lld_t, lld_m = _pad(lld, cfg.lld_dim)
    rhy_t, rhy_m = _pad(rhythm, 3)
    ton_t, ton_m = _pad(tonal, cfg.tonal_dim)
    clap_t, clap_m = _pad(clap, cfg.clap_dim)
    starts_t, _ = _pad(starts, 1)
    return AudioBatch(
        duration_s=torch.tensor(dur),
        lld=lld_t, lld_mask=lld_m, rhythm=rhy_t, rhythm_mask=rhy_m, tonal=ton_t, tonal_mask=ton_m,
        clap=clap_t, clap_starts=starts_t[..., 0], clap_mask=clap_m,
        functionals=torch.stack(func), functionals_mask=torch.tensor(func_m),
        clap_clip=torch.stack(clip), clap_clip_mask=torch.tensor(clip_m),
        lld_hop_s=spec.lld_hop_s, rhythm_hop_s=rhythm_hop_s, tonal_hop_s=spec.tonal_hop_s, clap_window_s=spec.clap_window_s,
    )


def empty_audio(batch_size: int, cfg: AudioEncoderConfig, spec: FeatureSpec | None = None) -> AudioBatch:
    """A batch with no audio at all (every stream masked, so no frame is read with the timing; it is
    ``spec``'s when given, else ``FeatureSpec()``'s)."""
    return collate_audio([{} for _ in range(batch_size)], cfg, FeatureSpec() if spec is None else spec)
