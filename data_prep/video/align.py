"""Locate a short audio clip inside a music video's soundtrack.

Both signals are turned into the same feature sequence (librosa onset-strength envelope, or
chroma), and the clip's sequence is slid along the video's by normalised cross-correlation (Pearson
correlation at every lag, numerator by FFT, window statistics by cumulative sums). The best lag,
refined to sub-frame precision by a parabola through the peak, is the clip's start time in the video.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.signal import fftconvolve

from data_prep.video import errors as E
from data_prep.video.errors import VideoDescriptionError
from mv2desc.errors import MediaError
from mv2desc.media.audio import load_audio, resample

N_FFT = 2048

_DECODE_REASONS = {
    "missing_audio": E.VIDEO_MISSING,
    "empty_audio": E.VIDEO_UNREADABLE,
    "corrupt_audio": E.VIDEO_UNREADABLE,
    "no_audio_stream": E.VIDEO_NO_AUDIO,
}


class Alignment(NamedTuple):
    """Where the clip starts in the video (seconds) and how well it matches there (-1..1)."""

    offset_s: float
    score: float


def alignment_features(y: np.ndarray, sr: int, feature: str, hop_length: int) -> np.ndarray:
    """Feature sequence of a mono waveform: (D, T) with D = 1 (onset) or 12 (chroma), frame t at t * hop / sr."""
    import librosa

    if feature == "onset":
        env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length, n_fft=N_FFT)  # (T,)
        return env[None, :].astype(np.float64)
    if feature == "chroma":
        return librosa.feature.chroma_stft(y=y, sr=sr, hop_length=hop_length, n_fft=N_FFT).astype(np.float64)
    raise ValueError(f"unknown alignment feature {feature!r} (expected 'onset' or 'chroma')")


def normalized_xcorr(signal: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``template`` (D, M) with every length-M window of ``signal`` (D, N).

    Returns (N - M + 1,) scores in [-1, 1]; windows with no variance score 0. Each feature row has
    its own mean removed (per window), and the rows are pooled in one correlation.
    """
    d, m = template.shape
    if signal.shape[0] != d or signal.shape[1] < m:
        raise ValueError(f"signal {signal.shape} cannot hold template {template.shape}")
    t0 = template - template.mean(axis=1, keepdims=True)  # (D, M)
    t_energy = float((t0**2).sum())
    num = fftconvolve(signal, t0[:, ::-1], mode="valid", axes=1).sum(axis=0)  # (N - M + 1,)
    c1 = np.concatenate([np.zeros((d, 1)), np.cumsum(signal, axis=1)], axis=1)  # (D, N + 1)
    c2 = np.concatenate([np.zeros((d, 1)), np.cumsum(signal**2, axis=1)], axis=1)
    s1 = c1[:, m:] - c1[:, :-m]  # (D, N - M + 1) window sums
    s2 = c2[:, m:] - c2[:, :-m]
    w_energy = np.maximum((s2 - s1**2 / m).sum(axis=0), 0.0)  # (N - M + 1,) window variance * M
    den = np.sqrt(w_energy * t_energy)
    ok = den > 1e-9 * max(float(den.max(initial=0.0)), 1e-30)
    out = np.zeros_like(num)
    out[ok] = num[ok] / den[ok]
    return np.clip(out, -1.0, 1.0)


def _parabolic_peak(scores: np.ndarray, k: int) -> float:
    """Sub-sample position of the maximum at index ``k`` (vertex of the parabola through k-1, k, k+1)."""
    if k <= 0 or k >= scores.size - 1:
        return float(k)
    a, b, c = scores[k - 1], scores[k], scores[k + 1]
    den = a - 2 * b + c
    if den >= 0:  # not a strict local maximum: no refinement
        return float(k)
    return float(k) + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def load_video_soundtrack(video_path: Path, sample_rate: int) -> np.ndarray:
    """Decode the video's first audio stream to mono float32 (n,); errors as :class:`VideoDescriptionError`."""
    try:
        y, _ = load_audio(video_path, sample_rate)
    except MediaError as exc:
        raise VideoDescriptionError(_DECODE_REASONS.get(exc.reason, E.VIDEO_UNREADABLE), exc.detail) from exc
    return y


def locate_clip(
    clip_audio: tuple[np.ndarray, int],
    video_path: Path,
    *,
    feature: str = "onset",
    sample_rate: int = 22050,
    hop_length: int = 256,
) -> Alignment:
    """Find where ``clip_audio`` = (y (n,), sr) starts in the soundtrack of ``video_path``.

    Returns ``Alignment(offset_s, score)``; does not judge the score (the caller compares it with its
    threshold). Raises :class:`VideoDescriptionError` with reason ``clip_empty``, ``video_missing``,
    ``video_unreadable``, ``video_no_audio`` or ``video_too_short``.
    """
    clip_y, clip_sr = clip_audio
    clip_y = np.asarray(clip_y, dtype=np.float32).reshape(-1)
    if clip_y.size == 0 or not np.any(clip_y):
        raise VideoDescriptionError(E.CLIP_EMPTY, "the clip waveform is empty or silent")
    clip_y = resample(clip_y, int(clip_sr), sample_rate)
    video_y = load_video_soundtrack(Path(video_path), sample_rate)
    if video_y.size < clip_y.size:
        raise VideoDescriptionError(
            E.VIDEO_TOO_SHORT,
            f"video soundtrack {video_y.size / sample_rate:.2f}s is shorter than the clip {clip_y.size / sample_rate:.2f}s",
        )
    clip_f = alignment_features(clip_y, sample_rate, feature, hop_length)  # (D, M)
    video_f = alignment_features(video_y, sample_rate, feature, hop_length)  # (D, N)
    # The clip's first and last frames see its artificial edges (centred STFT padding), which the
    # video has not got at that point: leave them out of the template.
    edge = max(1, N_FFT // (2 * hop_length))
    template = clip_f[:, edge:-edge] if clip_f.shape[1] > 4 * edge else clip_f
    lead = edge if template is not clip_f else 0
    if not np.any(template - template.mean(axis=1, keepdims=True)):
        raise VideoDescriptionError(E.CLIP_EMPTY, f"the clip has no {feature} variation to align")
    if video_f.shape[1] < template.shape[1]:
        raise VideoDescriptionError(E.VIDEO_TOO_SHORT, "video soundtrack is shorter than the clip")
    scores = normalized_xcorr(video_f, template)  # (N - M + 1,)
    k = int(np.argmax(scores))
    frame = _parabolic_peak(scores, k) - lead
    offset_s = max(0.0, frame * hop_length / sample_rate)
    return Alignment(offset_s=round(offset_s, 4), score=float(scores[k]))
