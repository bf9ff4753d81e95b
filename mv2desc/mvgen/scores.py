"""Scores of the generated video besides beat sync (which the sync engine measures on ``mv.mp4``).

* **palette consistency** (any renderer; the procedural renderer's consistency figure): each segment's
  colour histogram (HSV, 16 hue x 4 saturation x 4 value bins, over frames sampled from ``mv.mp4``),
  normalised to sum 1; the score is the mean histogram intersection ``sum(min(p, q))`` over all pairs
  of segments, in [0, 1] (1 = identical colour distributions; a single segment scores 1).
* **CLIPSIM** (with a CLIP model): 100 x mean cosine between the CLIP image embedding of a segment's
  frames and the CLIP text embedding of that segment's own shot text, cut at a word so that it fits the
  text encoder (77 tokens, counted with the model's tokenizer: the style sheet alone is longer, and a
  prompt that starts with it would score every segment against the same truncated prefix); per
  segment and their mean. ``clipsim_style``: the same against the style sheet's text.
* **cross-scene consistency** (with a CLIP model): mean cosine between the image embeddings of the
  segments' keyframes (thumbnails for renderers without keyframes), over all pairs.
"""

from __future__ import annotations

import itertools
import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)


def colour_histogram(frames: list[np.ndarray]) -> np.ndarray:
    """Normalised HSV histogram (16 x 4 x 4 bins) of RGB ``frames`` together."""
    hist = np.zeros((16, 4, 4), dtype=np.float64)
    for f in frames:
        hsv = cv2.cvtColor(f, cv2.COLOR_RGB2HSV)
        hist += cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
    total = hist.sum()
    return hist.ravel() / total if total else hist.ravel()


def palette_consistency(frames_by_segment: list[list[np.ndarray]]) -> float:
    """Mean pairwise histogram intersection of the segments' colour histograms, in [0, 1]."""
    hists = [colour_histogram(f) for f in frames_by_segment if f]
    if len(hists) < 2:
        return 1.0
    return float(np.mean([np.minimum(p, q).sum() for p, q in itertools.combinations(hists, 2)]))


def _embedding(out) -> "object":
    return out if hasattr(out, "norm") else getattr(out, "pooler_output", out[0])


def fit_text(tokenizer, text: str, max_tokens: int) -> str:
    """The longest word prefix of ``text`` whose tokens (special tokens included) fit ``max_tokens``."""
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:  # binary search on the number of words kept
        mid = (lo + hi + 1) // 2
        if len(tokenizer(" ".join(words[:mid]))["input_ids"]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def clip_scores(model_dir: str, frames_by_segment: list[list[np.ndarray]], texts: list[str], keyframes: list[np.ndarray],
                device: str = "auto", style_text: str | None = None) -> dict:
    """CLIP scores with the model at ``model_dir``: ``clipsim`` (frames vs their own segment's text),
    ``per_segment``, ``texts`` (the texts as scored, fitted to the encoder), ``clipsim_style`` (frames vs
    ``style_text``), ``cross_scene_consistency`` and ``clip_model``."""
    import torch
    from transformers import AutoProcessor, CLIPModel

    from mv2desc.devices import resolve_device

    dev = resolve_device(device)
    model = CLIPModel.from_pretrained(model_dir).to(dev).eval()
    processor = AutoProcessor.from_pretrained(model_dir)

    def images(imgs: list[np.ndarray]) -> torch.Tensor:
        batch = processor(images=imgs, return_tensors="pt")["pixel_values"].to(dev)
        e = _embedding(model.get_image_features(pixel_values=batch))
        return torch.nn.functional.normalize(e.float(), dim=-1)

    limit = int(model.config.text_config.max_position_embeddings)
    fitted = [fit_text(processor.tokenizer, t, limit) for t in texts]

    def text(t: str) -> torch.Tensor:
        tok = processor(text=[t], return_tensors="pt", padding=True, truncation=True)
        e = _embedding(model.get_text_features(**{k: v.to(dev) for k, v in tok.items() if k in ("input_ids", "attention_mask")}))
        return torch.nn.functional.normalize(e.float(), dim=-1)

    with torch.no_grad():
        per_segment: list[float | None] = []
        style: list[float] = []
        s_emb = text(fit_text(processor.tokenizer, style_text, limit)) if style_text else None
        for frames, t in zip(frames_by_segment, fitted):
            if not frames:
                per_segment.append(None)
                continue
            img = images(frames)
            per_segment.append(round(100 * float((img @ text(t).T).mean()), 3))
            if s_emb is not None:
                style.append(float((img @ s_emb.T).mean()))
        k = images(keyframes) if len(keyframes) >= 2 else None
        cross = None if k is None else float(np.mean([float(k[i] @ k[j]) for i, j in itertools.combinations(range(len(keyframes)), 2)]))
    sims = [x for x in per_segment if x is not None]
    return {"clipsim": round(float(np.mean(sims)), 3) if sims else None, "per_segment": per_segment, "texts": fitted,
            "clipsim_style": round(100 * float(np.mean(style)), 3) if style else None,
            "cross_scene_consistency": None if cross is None else round(cross, 4), "clip_model": model_dir}
