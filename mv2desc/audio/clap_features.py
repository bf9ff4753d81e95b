"""CLAP audio embeddings over sliding windows and for the whole clip (transformers' ClapModel).

Why transformers and not ``laion-clap``: laion-clap pins numpy<2 (breaking pyarrow 26), imports
torchvision, and fetches RoBERTa from the hub when constructed; ClapModel loads the same LAION HTSAT
checkpoints (``laion/clap-htsat-unfused``) with none of that, and builds offline from a config.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from mv2desc.data.columns import CLAP_CLIP as CLIP_COLUMN
from mv2desc.data.columns import CLAP_STARTS as STARTS_COLUMN
from mv2desc.data.columns import CLAP_WINDOWS as WINDOWS_COLUMN
from mv2desc.data.feature_config import ClapSettings, checkpoint_fingerprint, checkpoint_source
from mv2desc.devices import resolve_device

__all__ = ["ClapExtractor", "checkpoint_fingerprint", "checkpoint_source", "window_starts"]


def window_starts(duration_s: float, window_s: float, hop_s: float) -> list[float]:
    """Window starts covering ``[0, duration_s]``; the last window is aligned to the end of the clip."""
    if duration_s <= window_s:
        return [0.0]
    starts = []
    t = 0.0
    while t + window_s <= duration_s + 1e-9:
        starts.append(round(t, 6))
        t += hop_s
    if starts[-1] + window_s < duration_s - 1e-6:
        starts.append(round(duration_s - window_s, 6))
    return starts


class ClapExtractor:
    name = "clap"

    def __init__(self, settings: ClapSettings) -> None:
        from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

        self.settings = settings
        self.device = resolve_device(settings.device)
        source = checkpoint_source(settings.name_or_path)
        self.processor = ClapFeatureExtractor.from_pretrained(source)
        if settings.random_init:
            config = ClapConfig.from_pretrained(source)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(settings.seed)
                model = ClapModel(config)
        else:
            model = ClapModel.from_pretrained(source)
        self.model = model.eval().to(self.device)
        self.sample_rate = int(self.processor.sampling_rate)
        self.dim = int(self.model.config.projection_dim)
        self.fusion = bool(self.model.config.audio_config.enable_fusion)

    @cached_property
    def weights_fingerprint(self) -> str:
        """:func:`checkpoint_fingerprint` of the loaded checkpoint (computed once, when a spec asks)."""
        return checkpoint_fingerprint(self.settings) or ""

    def info(self) -> dict:
        import transformers

        return {
            "extractor": self.name,
            "package": "transformers.ClapModel",
            "version": transformers.__version__,
            "model": self.settings.name_or_path,
            "random_init": self.settings.random_init,
            "sample_rate": self.sample_rate,
            "dim": self.dim,
            "window_s": self.settings.window_s,
            "hop_s": self.settings.hop_s,
            "clip_embedding": "L2-normalised mean of the window embeddings",
        }

    @torch.inference_mode()
    def __call__(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """``y``: (n,) float32 at ``self.sample_rate`` -> windows (W, D), window starts (W,), clip (D,)."""
        sr = self.sample_rate
        duration = y.size / sr
        starts = window_starts(duration, self.settings.window_s, self.settings.hop_s)
        win = int(round(self.settings.window_s * sr))
        segments = [y[int(round(s * sr)) : int(round(s * sr)) + win] for s in starts]
        embeddings = []
        bs = self.settings.batch_size
        for i in range(0, len(segments), bs):
            inputs = self.processor(
                segments[i : i + bs],
                sampling_rate=sr,
                return_tensors="pt",
                truncation="fusion" if self.fusion else "rand_trunc",
                padding="repeatpad",
            )
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            out = self.model.get_audio_features(**inputs)
            emb = out.pooler_output if hasattr(out, "pooler_output") else out  # (B, D), L2-normalised
            embeddings.append(emb.float().cpu().numpy())
        windows = np.concatenate(embeddings, axis=0).astype(np.float32)  # (W, D)
        clip = windows.mean(axis=0)
        clip = clip / max(float(np.linalg.norm(clip)), 1e-8)
        return {
            WINDOWS_COLUMN: windows,
            STARTS_COLUMN: np.asarray(starts, dtype=np.float32),
            CLIP_COLUMN: clip.astype(np.float32),
        }
