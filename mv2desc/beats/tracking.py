"""Music beats, downbeats and tempo of a song: the product's one beat-tracking API.

Every beat in the product comes from :func:`track_beats` (samples) or :func:`track_file` (a file,
decoded by :func:`mv2desc.media.audio.load_audio`): ``mv2desc mv beats``, ``mv sync``, ``mv score``,
``describe``'s segmentation and the dataset's beat channel. The input is always downmixed to mono
(mean of the channels) and level-normalised (:func:`mv2desc.media.audio.normalize_level`, RMS -20 dBFS)
first, so the same file gives the same beats whoever asks, whatever its level or channel count.

Which tracker, by default:

* commands that work on one song (``mv beats|sync|score``, ``describe``, ``mv generate``) default to
  ``tracker="auto"``: madmom when the optional extra is installed (beat F 0.87 / downbeat F 0.76 on
  our rendered-MIDI benchmark against 0.56 / 0.15), librosa otherwise;
* the dataset's beat channel (``features.rhythm.tracker``) defaults to ``"librosa"``: licence-clean,
  deterministic whatever is installed, and ~20x cheaper than madmom over 100k clips.

Two trackers (``MusicBeatConfig.tracker``):

* **madmom** (:mod:`mv2desc.beats.madmom_backend`): RNN activations + dynamic Bayesian network, beats
  and downbeats in one pass; the accurate one. An optional extra (``pip install ".[madmom]"``):
  its network weights are CC BY-NC-SA 4.0 (non-commercial). Its grid then gets a second look at its
  phase from the song's harmony (:mod:`mv2desc.beats.refine`, ``MusicBeatConfig.phase_check``): a grid
  half a beat off the chord changes (dense metal) is moved onto them.
* **librosa**: librosa's dynamic-programming beat tracker on an onset envelope at 11.6 ms resolution
  (hop 256 at 22.05 kHz; at librosa's default hop 512 the tempo grid is so coarse that 120 bpm is
  tracked as 117.5 bpm and drifts off the beat within bars) with a log-normal tempo prior. librosa
  has no downbeat tracker; :func:`bar_phase_downbeats` picks the bar length and phase whose beats
  carry the most bass onsets and harmonic change.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mv2desc.beats.config import MusicBeatConfig

log = logging.getLogger(__name__)

# Correction added to each tracker's beat times: minus its mean signed error on click, noise-burst and
# kick tracks at 95, 120 and 140 bpm (exact beats). librosa's onset envelope peaks about 15 ms after
# an onset (hop 256 at 22.05 kHz, 2048-point frames); madmom's 100 frames/s networks about 10 ms early.
LATENCY_S = {"librosa": -0.015, "madmom": 0.010}


@dataclass(frozen=True)
class MusicBeats:
    """Beats of a song.

    Attributes:
        tempo_bpm: global tempo (beats per minute, from the median beat period; 0 without beats).
        beats_s: ``(n,)`` beat times (seconds), increasing.
        downbeats_s: ``(m,)`` downbeat (bar start) times, a subset of ``beats_s``; empty when unknown.
        tracker: which tracker produced them ("madmom" or "librosa").
        duration_s: length of the analysed audio (seconds).
    """

    tempo_bpm: float
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    tracker: str
    duration_s: float

    def window(self, start_s: float, end_s: float, tempo_bpm: float | None = None) -> MusicBeats:
        """The beats in ``[start_s, end_s)``, in seconds from ``start_s``; the tempo from them (or ``tempo_bpm``)."""
        def inside(t: np.ndarray) -> np.ndarray:
            t = np.asarray(t, dtype=np.float64)
            return t[(t >= start_s) & (t < end_s)] - start_s

        beats = inside(self.beats_s)
        tempo = tempo_from_beats(beats) if tempo_bpm is None else float(tempo_bpm)
        return MusicBeats(tempo, beats, inside(self.downbeats_s), self.tracker, max(0.0, end_s - start_s))

    def to_dict(self) -> dict:
        """``{"tempo": ..., "beats": [...], "downbeats": [...], ...}`` (JSON-ready, ms precision)."""
        found = len(self.beats_s) >= 2 and self.tempo_bpm > 0
        return {
            "tempo": round(self.tempo_bpm, 2) if found else None,
            **({} if found else {"tempo_note": f"no tempo: {len(self.beats_s)} beat(s) found (silence or no pulse); "
                                              "a tempo needs two beats or more"}),
            "beats": [round(float(t), 3) for t in self.beats_s],
            "downbeats": [round(float(t), 3) for t in self.downbeats_s],
            "tracker": self.tracker,
            "duration_s": round(self.duration_s, 3),
        }


def tempo_from_beats(beats: np.ndarray) -> float:
    """Tempo (bpm) from the median inter-beat interval; 0.0 with fewer than two beats."""
    if len(beats) < 2:
        return 0.0
    return float(60.0 / np.median(np.diff(beats)))


def resolve_tracker(name: str) -> str:
    """"auto" -> "madmom" when importable, else "librosa"; explicit names are checked."""
    from mv2desc.beats import madmom_backend

    if name == "auto":
        return "madmom" if madmom_backend.available() else "librosa"
    if name == "madmom" and not madmom_backend.available():
        raise ValueError("tracker 'madmom' needs the optional extra: pip install \".[madmom]\" (CC BY-NC-SA weights)")
    return name


WEIGHTS_LICENCE = {"madmom": "CC BY-NC-SA 4.0 (non-commercial)", "librosa": "none (no learned weights; librosa is ISC)"}


def tracker_info() -> dict:
    """Which tracker ``auto`` picks here and the licence of its weights (for ``mv2desc env``)."""
    active = resolve_tracker("auto")
    return {"auto": active, "madmom_installed": active == "madmom", "weights_licence": WEIGHTS_LICENCE[active]}


def _onset_envelope(y: np.ndarray, sr: int, hop: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop, n_mels=128)
    return librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr, hop_length=hop)


def librosa_beats(y: np.ndarray, sr: int, cfg: MusicBeatConfig) -> tuple[np.ndarray, np.ndarray]:
    """Beats (seconds) with librosa, and downbeats by :func:`bar_phase_downbeats`."""
    import librosa

    hop = cfg.hop_length
    onset = _onset_envelope(y, sr, hop)
    # librosa's prior: Gaussian in log2(bpm) around start_bpm (std in octaves), i.e. symmetric in octaves
    tempo = float(
        librosa.feature.tempo(
            onset_envelope=onset, sr=sr, hop_length=hop, start_bpm=cfg.tempo_prior_bpm,
            std_bpm=cfg.tempo_prior_octaves, max_tempo=cfg.max_bpm,
        )[0]
    )
    tempo = float(np.clip(tempo, cfg.min_bpm, cfg.max_bpm))
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=hop, bpm=tempo, units="time")
    beats = np.asarray(beats, dtype=np.float64)
    return beats, bar_phase_downbeats(y, sr, beats, cfg.beats_per_bar, hop)


def bar_phase_downbeats(
    y: np.ndarray, sr: int, beats: np.ndarray, beats_per_bar: tuple[int, ...] = (3, 4), hop: int = 256
) -> np.ndarray:
    """Downbeats among ``beats``: the bar length and phase whose beats stand out most.

    Each beat gets a salience: its bass onset strength (below ~200 Hz, where kicks and bass notes
    are) plus the chroma change from the previous beat (chords tend to change on the bar), both
    z-scored over the song. For every bar length ``m`` in ``beats_per_bar`` and phase ``p < m``,
    the beats ``p, p + m, p + 2m, ...`` are scored by their mean salience minus that of the other
    beats; the best (m, p) wins. A heuristic (librosa has no downbeat tracker): measured by
    ``benchmarks/bench_beats.py``.
    """
    import librosa

    if len(beats) < 2 * max(beats_per_bar):
        return np.zeros(0)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop, n_mels=64, fmax=sr / 2)
    freqs = librosa.mel_frequencies(n_mels=64, fmax=sr / 2)
    bass = librosa.onset.onset_strength(S=librosa.power_to_db(mel[freqs < 200]), sr=sr, hop_length=hop)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, hop_length=hop)
    frames = np.clip(librosa.time_to_frames(beats, sr=sr, hop_length=hop), 0, bass.size - 1)
    # bass onset: strongest frame within +-2 frames of each beat
    bass_at = np.array([bass[max(0, f - 2) : f + 3].max() for f in frames])
    # util.sync's segment 0 is what precedes the first beat: column k + 1 starts at beat k
    sync = librosa.util.sync(chroma, frames, aggregate=np.mean, pad=True)[:, 1 : len(frames) + 1]
    sync = sync / np.maximum(np.linalg.norm(sync, axis=0, keepdims=True), 1e-9)
    change = np.zeros(len(frames))
    change[1:] = 1.0 - np.sum(sync[:, 1:] * sync[:, :-1], axis=0)

    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / (x.std() + 1e-9)

    salience = z(bass_at) + z(change)
    best, best_score = (beats_per_bar[0], 0), -np.inf
    for m in beats_per_bar:
        for p in range(m):
            on = np.zeros(len(beats), dtype=bool)
            on[p::m] = True
            score = salience[on].mean() - salience[~on].mean()
            if score > best_score:
                best, best_score = (m, p), score
    m, p = best
    return beats[p::m]


def tracker_rate(cfg: MusicBeatConfig) -> tuple[str, int]:
    """``(tracker, rate)``: the tracker ``cfg`` resolves to and the sample rate it analyses at."""
    tracker = resolve_tracker(cfg.tracker)
    if tracker == "madmom":
        from mv2desc.beats.madmom_backend import MADMOM_RATE

        return tracker, MADMOM_RATE
    return tracker, cfg.sample_rate


def beat_input(y: np.ndarray, sr: int, rate: int) -> np.ndarray:
    """What a tracker hears: ``y`` (``(n,)`` or ``(C, n)`` at ``sr``) downmixed, level-normalised, then
    resampled to ``rate``: ``(m,)`` float32. One rate's copy serves every config that tracks at it."""
    from mv2desc.media.audio import normalize_level, resample, to_mono

    return resample(normalize_level(to_mono(y)), sr, rate)


def track_prepared(x: np.ndarray, rate: int, cfg: MusicBeatConfig, duration_s: float,
                   views: Callable[[], list[np.ndarray]] | None = None) -> MusicBeats:
    """Beats of :func:`beat_input`'s output ``x`` at ``rate`` (the rate of ``tracker_rate(cfg)``);
    ``duration_s``: the length of the audio it was made from. ``views``: returns the phase check's
    :func:`~mv2desc.beats.refine.chroma_views` of ``x`` (by default computed in a worker while madmom's
    networks run)."""
    tracker, expected = tracker_rate(cfg)
    if rate != expected:
        raise ValueError(f"the {tracker} tracker of this config analyses at {expected} Hz, got audio at {rate} Hz")
    if tracker == "madmom":
        from mv2desc.beats.madmom_backend import in_background, madmom_beats
        from mv2desc.beats.refine import chroma_views, refine_phase

        # the phase check's chroma needs no beats: it is computed in a worker while madmom's networks run here
        if cfg.phase_check and views is None:
            views = in_background(cfg.threads, chroma_views, x, rate)
        beats, downbeats = madmom_beats(
            x,
            threads=cfg.threads,
            networks=cfg.networks,
            beats_per_bar=cfg.beats_per_bar,
            min_bpm=cfg.min_bpm,
            max_bpm=cfg.max_bpm,
        )
        if cfg.phase_check:
            beats, downbeats, evidence = refine_phase(x, rate, beats, downbeats, cfg.beats_per_bar, cfg.phase_ratio, views=views())
            log.debug("phase evidence %.2f (threshold %.2f)", evidence, cfg.phase_ratio)
    else:
        beats, downbeats = librosa_beats(x, rate, cfg)
    offset = LATENCY_S[tracker] if cfg.offset_s is None else cfg.offset_s
    beats = np.asarray(beats, dtype=np.float64) + offset
    downbeats = np.asarray(downbeats, dtype=np.float64) + offset
    return MusicBeats(tempo_from_beats(beats), beats[beats >= 0], downbeats[downbeats >= 0], tracker, duration_s)


def track_beats(y: np.ndarray, sr: int, cfg: MusicBeatConfig | None = None) -> MusicBeats:
    """Beats of float32 ``y`` (``(n,)`` or ``(C, n)``) at ``sr`` with the configured tracker.

    ``y`` is downmixed (mean of channels), level-normalised and resampled to the tracker's rate here
    (:func:`beat_input`), so callers pass what they decoded. :class:`mv2desc.song.Song` runs the same
    two steps with its :func:`beat_input` copies cached, so its beats equal this call's exactly.
    """
    cfg = cfg or MusicBeatConfig()
    _, rate = tracker_rate(cfg)
    n = y.shape[-1]
    return track_prepared(beat_input(y, sr, rate), rate, cfg, n / sr)


def track_file(path: str | os.PathLike, cfg: MusicBeatConfig | None = None, *, max_duration_s: float | None = None) -> MusicBeats:
    """Decode ``path`` (any format FFmpeg reads, video soundtracks included) and track its beats.

    The decode is :func:`mv2desc.media.audio.load_audio` at the file's own rate, mono; everything
    else is :func:`track_beats`, so this equals ``track_beats(*load_audio(path))`` exactly.
    """
    from mv2desc.media.audio import load_audio

    y, sr = load_audio(path, max_duration_s=max_duration_s)
    return track_beats(y, sr, cfg)
