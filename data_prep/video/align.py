"""Locate a short audio clip inside a music video's soundtrack.

Both signals are turned into the same feature sequence (librosa onset-strength envelope, or
chroma), and the clip's sequence is slid along the video's by normalised cross-correlation (Pearson
correlation at every lag, numerator by FFT, window statistics by cumulative sums). The best lag,
refined to sub-frame precision by a parabola through the peak, is the clip's start time in the video.

The search is piecewise (issue 11b): the clip is split into a few sub-windows, each is located on its
own, and the most consistent chain of locations is kept (neighbouring parts may differ by a small edit,
never by tens of seconds). A video edited inside the clip's window then maps each part to its own frames
or is rejected; it is never aligned as a whole to the wrong place (e.g. a repeated chorus).

Frames where the clip is digitally silent (below ``SILENCE_RMS``) hold no signal: they are left out of
every correlation (a masked correlation), and a part that is mostly silence does not vote on the offset;
it takes the offset of its neighbours (issue 17, item 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import fftconvolve

from data_prep.video import errors as E
from data_prep.video.errors import VideoDescriptionError
from mv2desc.errors import MediaError
from mv2desc.media.audio import load_audio, resample

N_FFT = 2048
SILENCE_RMS = 1e-4  # -80 dBFS frame RMS: digital silence or dither, nothing to align on

_DECODE_REASONS = {
    "missing_audio": E.VIDEO_MISSING,
    "empty_audio": E.VIDEO_UNREADABLE,
    "corrupt_audio": E.VIDEO_UNREADABLE,
    "no_audio_stream": E.VIDEO_NO_AUDIO,
}


class AlignedPart(NamedTuple):
    """One sub-window of the clip and where it sits in the video.

    Clip time ``t`` in ``[clip_start_s, clip_end_s)`` is at video time ``t + offset_s``; ``score`` is the
    part's correlation there (-1..1).
    """

    clip_start_s: float
    clip_end_s: float
    offset_s: float
    score: float


@dataclass(frozen=True)
class Alignment:
    """Where the clip starts in the video (seconds) and how well it matches there (-1..1).

    Unpacks as ``offset_s, score = alignment`` (the two figures the caller judges). ``parts`` maps
    every sub-window of the clip to its own offset (piecewise: differing offsets mean the video is an
    edit with material removed or inserted inside the clip); ``agreement`` (0..1) is the smallest ratio,
    over the parts, of the part's score on the chosen consistent chain to its best score anywhere in the
    video (1 = every part's own best match agrees with the others). ``piecewise`` is True when the part
    offsets differ (by more than two feature frames).
    """

    offset_s: float
    score: float
    parts: tuple[AlignedPart, ...] = ()
    agreement: float = 1.0
    piecewise: bool = False

    def __iter__(self) -> Iterator[float]:
        return iter((self.offset_s, self.score))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> float:
        return (self.offset_s, self.score)[i]

    @property
    def end_offset_s(self) -> float:
        """Offset of the clip's last part (equals ``offset_s`` unless the video is an edit)."""
        return self.parts[-1].offset_s if self.parts else self.offset_s

    def summary(self) -> str:
        """One line for logs and error details: per-part offsets and scores, and the agreement."""
        ps = ", ".join(f"[{p.clip_start_s:.1f}-{p.clip_end_s:.1f}s]@{p.offset_s:+.2f}s/{p.score:.2f}" for p in self.parts)
        return f"parts {ps}; agreement {self.agreement:.2f}"


def alignment_features(y: np.ndarray, sr: int, feature: str, hop_length: int) -> np.ndarray:
    """Feature sequence of a mono waveform: (D, T) with D = 1 (onset) or 12 (chroma), frame t at t * hop / sr."""
    import librosa

    if feature == "onset":
        env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop_length, n_fft=N_FFT)  # (T,)
        return env[None, :].astype(np.float64)
    if feature == "chroma":
        return librosa.feature.chroma_stft(y=y, sr=sr, hop_length=hop_length, n_fft=N_FFT).astype(np.float64)
    raise ValueError(f"unknown alignment feature {feature!r} (expected 'onset' or 'chroma')")


def active_frames(y: np.ndarray, hop_length: int) -> np.ndarray:
    """(T,) bool, frame t (at t * hop) holds signal: its RMS over ``N_FFT`` samples is above ``SILENCE_RMS``."""
    import librosa

    return librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=hop_length)[0] > SILENCE_RMS


def normalized_xcorr(signal: np.ndarray, template: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of ``template`` (D, M) with every length-M window of ``signal`` (D, N).

    Returns (N - M + 1,) scores in [-1, 1]; windows with no variance score 0. Each feature row has
    its own mean removed (per window), and the rows are pooled in one correlation. ``mask`` (M,) bool
    keeps only those template frames (and the window frames facing them) in the correlation; with
    no frame kept every score is 0.
    """
    d, m = template.shape
    if signal.shape[0] != d or signal.shape[1] < m:
        raise ValueError(f"signal {signal.shape} cannot hold template {template.shape}")
    if mask is not None and not np.all(mask):
        w = np.asarray(mask, dtype=np.float64).reshape(-1)
        n_w = float(w.sum())
        if n_w == 0:
            return np.zeros(signal.shape[1] - m + 1)
        t0 = (template - (template * w).sum(axis=1, keepdims=True) / n_w) * w
        s1 = fftconvolve(signal, w[None, ::-1], mode="valid", axes=1)  # (D, N - M + 1) masked window sums
        s2 = fftconvolve(signal**2, w[None, ::-1], mode="valid", axes=1)
    else:
        n_w = float(m)
        t0 = template - template.mean(axis=1, keepdims=True)  # (D, M)
        c1 = np.concatenate([np.zeros((d, 1)), np.cumsum(signal, axis=1)], axis=1)  # (D, N + 1)
        c2 = np.concatenate([np.zeros((d, 1)), np.cumsum(signal**2, axis=1)], axis=1)
        s1 = c1[:, m:] - c1[:, :-m]  # (D, N - M + 1) window sums
        s2 = c2[:, m:] - c2[:, :-m]
    t_energy = float((t0**2).sum())
    num = fftconvolve(signal, t0[:, ::-1], mode="valid", axes=1).sum(axis=0)  # (N - M + 1,)
    w_energy = np.maximum((s2 - s1**2 / n_w).sum(axis=0), 0.0)  # (N - M + 1,) window variance * n_w
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
    parts: int = 4,
    min_part_s: float = 6.0,
    max_edit_s: float = 6.0,
    min_part_score: float = 0.5,
) -> Alignment:
    """Find where ``clip_audio`` = (y (n,), sr) starts in the soundtrack of ``video_path``.

    The clip is split into up to ``parts`` sub-windows of at least ``min_part_s`` seconds, each is
    located on its own, and the most consistent chain of locations is kept (see
    :func:`align_feature_sequences`): each part may sit up to ``max_edit_s`` from its neighbour (a video
    edit that removed or inserted that much inside the clip), never further.

    Returns :class:`Alignment` (unpacks as ``offset_s, score``); does not judge the score (the caller
    compares it with its threshold). Raises :class:`VideoDescriptionError` with reason ``clip_empty``,
    ``video_missing``, ``video_unreadable``, ``video_no_audio``, ``video_too_short``, or
    ``video_align_failed`` when the parts disagree (a part matches clearly better somewhere far from
    where the others put it).
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
    sound = np.zeros(clip_f.shape[1], dtype=bool)
    act = active_frames(clip_y, hop_length)[: sound.size]
    sound[: act.size] = act
    # The clip's first and last frames see its artificial edges (centred STFT padding), which the
    # video has not got at that point: leave them out of the template.
    edge = max(1, N_FFT // (2 * hop_length))
    template = clip_f[:, edge:-edge] if clip_f.shape[1] > 4 * edge else clip_f
    lead = edge if template is not clip_f else 0
    active = sound[lead : lead + template.shape[1]]
    heard = template[:, active]
    if not heard.size or not np.any(heard - heard.mean(axis=1, keepdims=True)):
        raise VideoDescriptionError(E.CLIP_EMPTY, f"the clip has no {feature} variation to align")
    if video_f.shape[1] < template.shape[1]:
        raise VideoDescriptionError(E.VIDEO_TOO_SHORT, "video soundtrack is shorter than the clip")
    frame_s = hop_length / sample_rate
    return align_feature_sequences(
        video_f,
        template,
        lead=lead,
        frame_s=frame_s,
        clip_s=clip_y.size / sample_rate,
        parts=parts,
        min_part_frames=max(2, int(round(min_part_s / frame_s))),
        max_edit_frames=max(0, int(round(max_edit_s / frame_s))),
        min_part_score=min_part_score,
        active=active,
    )


_DISAGREE_MARGIN = 0.1  # a part "prefers" a far-away place when it scores this much better there


def align_feature_sequences(
    video_f: np.ndarray,
    template: np.ndarray,
    *,
    lead: int,
    frame_s: float,
    clip_s: float,
    parts: int,
    min_part_frames: int,
    max_edit_frames: int,
    min_part_score: float,
    active: np.ndarray | None = None,
) -> Alignment:
    """Piecewise alignment of ``template`` (D, M) (clip frames ``lead`` .. ``lead + M``) in ``video_f`` (D, N).

    ``active`` (M,) bool marks the template frames that hold signal (default: all); the others are
    left out of every correlation.

    1. Split the template into K = min(parts, M // min_part_frames) (at least 1) equal parts and
       correlate each with the whole video; a part at video frame L implies a clip start L - a_p.
       A part votes when at least half its frames hold signal (when none does, every part with any
       signal votes); a part that does not vote follows its previous voting neighbour (else the next).
    2. Choose one implied start per voting part maximising the sum of the parts' scores (weighted by
       their frames with signal) under the constraint that neighbouring voters' starts differ by at most
       ``max_edit_frames`` (dynamic programming with a sliding maximum; a coarse DTW).
    3. All starts within 2 frames: one contiguous match; the offset and score come from the whole
       template near there (as precise as a single-window search). Otherwise the video is an edit:
       each part keeps its own offset and the score is the parts' length-weighted mean.
    4. Reject (``video_align_failed``) when a part scores ``min_part_score`` or more somewhere
       further than ``max_edit_frames`` from its place in the chain and that beats its chain score
       by more than 0.1: the parts disagree on where the clip is. A piecewise (edit) result is also
       rejected when its part offsets span more than ``max_edit_frames`` in all, or a part scores below
       ``min_part_score`` on the chain (only a clean match on every part justifies an edit).
    """
    _, m = template.shape
    n = video_f.shape[1]
    k_parts = int(max(1, min(parts, m // max(1, min_part_frames))))
    bounds = np.linspace(0, m, k_parts + 1).round().astype(int)
    r = n + m  # implied-start index i <-> start frame i - m (a later part may imply a start before 0)
    heard = np.ones(m, dtype=bool) if active is None else np.asarray(active, dtype=bool).reshape(-1)
    lanes, xcs, weights, enough = [], [], [], []
    for p in range(k_parts):
        a, b = int(bounds[p]), int(bounds[p + 1])
        part, mask = template[:, a:b], heard[a:b]
        xc = normalized_xcorr(video_f, part, mask)  # (n - (b - a) + 1,), index = video frame of the part
        lane = np.full(r, -1.0)
        lane[m - a : m - a + xc.size] = xc
        sound = part[:, mask]
        informative = bool(sound.size) and bool(np.any(sound - sound.mean(axis=1, keepdims=True)))
        lanes.append(lane)
        xcs.append(xc)
        weights.append(int(mask.sum()) / m if informative else 0.0)
        enough.append(informative and 2 * int(mask.sum()) >= b - a)
    voters = [p for p in range(k_parts) if enough[p]] or [p for p in range(k_parts) if weights[p] > 0]
    if not voters:
        raise VideoDescriptionError(E.CLIP_EMPTY, "no part of the clip holds a signal to align")
    w = np.asarray([weights[p] if p in voters else 0.0 for p in range(k_parts)])
    # Viterbi over the voting parts: acc[j][i] = best weighted score of voters 0..j with voter j at implied start i.
    acc = [w[voters[0]] * lanes[voters[0]]]
    size = 2 * max_edit_frames + 1
    for p in voters[1:]:
        prev = maximum_filter1d(acc[-1], size=size, mode="constant", cval=-1e9)
        acc.append(w[p] * lanes[p] + prev)
    at = [0] * len(voters)
    at[-1] = int(np.argmax(acc[-1]))
    for j in range(len(voters) - 2, -1, -1):
        lo, hi = max(0, at[j + 1] - max_edit_frames), min(r, at[j + 1] + max_edit_frames + 1)
        at[j] = lo + int(np.argmax(acc[j][lo:hi]))
    # a part that does not vote sits where its previous voter (else its next) puts the clip
    leader = [max((v for v in voters if v <= p), default=voters[0]) for p in range(k_parts)]
    chain = [at[voters.index(leader[p])] for p in range(k_parts)]
    chain_scores = np.array([lanes[p][chain[p]] for p in range(k_parts)])
    free_at = [int(np.argmax(lane)) for lane in lanes]
    free_scores = np.array([lanes[p][free_at[p]] for p in range(k_parts)])

    ratios = [float(np.clip(chain_scores[p] / free_scores[p], 0.0, 1.0)) for p in range(k_parts) if w[p] > 0 and free_scores[p] > 0]
    agreement = round(min(ratios), 4) if ratios else 0.0

    def part_offset(p: int) -> float:
        a = int(bounds[leader[p]])
        frame = _parabolic_peak(xcs[leader[p]], chain[p] - m + a) - a - lead
        return frame * frame_s

    def clip_time(frame: int) -> float:
        return min(clip_s, (frame + lead) * frame_s)

    edges = [0.0] + [clip_time(int(bb)) for bb in bounds[1:-1]] + [clip_s]
    contiguous = max(abs(c - chain[0]) for c in chain) <= 2
    if contiguous:
        full = normalized_xcorr(video_f, template, heard)  # (n - m + 1,)
        c0 = int(round(np.median(chain))) - m
        lo, hi = max(0, c0 - 3), min(full.size, c0 + 4)
        if lo >= hi:  # the chain lies off the video's end (cannot happen with a full-length template)
            lo, hi = 0, full.size
        k = lo + int(np.argmax(full[lo:hi]))
        offset_s = round(max(0.0, (_parabolic_peak(full, k) - lead) * frame_s), 4)
        score = float(full[k])
        offsets = [offset_s] * k_parts
    else:
        offsets = [round(part_offset(p), 4) for p in range(k_parts)]
        offset_s = max(0.0, offsets[0])
        score = float((w * chain_scores).sum() / max(w.sum(), 1e-12))
    aligned = tuple(
        AlignedPart(round(edges[p], 3), round(edges[p + 1], 3), offsets[p], round(float(chain_scores[p]), 4)) for p in range(k_parts)
    )
    result = Alignment(offset_s=offset_s, score=score, parts=aligned, agreement=agreement, piecewise=not contiguous)
    for p in range(k_parts):
        far = abs(free_at[p] - chain[p]) > max_edit_frames
        if w[p] > 0 and far and free_scores[p] >= min_part_score and free_scores[p] - chain_scores[p] > _DISAGREE_MARGIN:
            raise VideoDescriptionError(
                E.VIDEO_ALIGN_FAILED,
                f"clip parts disagree: part {p + 1}/{k_parts} ({edges[p]:.1f}-{edges[p + 1]:.1f}s of the clip) "
                f"puts the clip at {(free_at[p] - m - lead) * frame_s:.2f}s (score {free_scores[p]:.3f}) but only "
                f"{chain_scores[p]:.3f} within {max_edit_frames * frame_s:.1f}s of the other parts; " + result.summary(),
            )
    if not contiguous:
        span = (max(chain) - min(chain)) * frame_s
        weak = [p for p in range(k_parts) if w[p] > 0 and chain_scores[p] < min_part_score]
        if weak and len(weak) == int((w > 0).sum()):
            raise VideoDescriptionError(
                E.VIDEO_ALIGN_FAILED,
                f"no part of the clip matches the video well (every part scores below {min_part_score}); " + result.summary(),
            )
        if span > max_edit_frames * frame_s + 1e-9:
            raise VideoDescriptionError(
                E.VIDEO_ALIGN_FAILED,
                f"clip parts disagree: their offsets span {span:.2f}s, more than an edit of "
                f"{max_edit_frames * frame_s:.1f}s; " + result.summary(),
            )
        if weak:
            raise VideoDescriptionError(
                E.VIDEO_ALIGN_FAILED,
                f"clip parts disagree: the video looks edited inside the clip but part(s) "
                f"{', '.join(str(p + 1) for p in weak)}/{k_parts} score below {min_part_score} where the "
                f"others put them; " + result.summary(),
            )
    return result
