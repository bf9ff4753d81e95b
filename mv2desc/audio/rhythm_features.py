"""Rhythm, harmony and energy: tempo, beats, onset envelope, chroma + key, RMS (librosa).

One STFT feeds the onset envelope (via a log-mel spectrogram), RMS and chroma. Tempo and beats come
from the product's one beat tracker (:func:`mv2desc.beats.track_beats`, ``settings.tracker``), so the
dataset's beat channel and the beats of ``mv2desc mv beats`` / ``describe`` are the same algorithm.
"""

from __future__ import annotations

import numpy as np

from mv2desc.audio.key_estimate import estimate_key
from mv2desc.beats import MusicBeatConfig, track_beats
from mv2desc.data import columns as c
from mv2desc.data.feature_config import RhythmSettings

ONSET_COLUMN, RMS_COLUMN, BEATS_COLUMN = c.ONSET, c.RMS, c.BEATS

N_FFT = 2048
CHROMA_POOL = 8  # store chroma every 8 frames (~186 ms at 22.05 kHz / hop 512)


class RhythmExtractor:
    name = "librosa"

    def __init__(self, settings: RhythmSettings) -> None:
        import librosa

        from mv2desc.beats.tracking import resolve_tracker

        self.settings = settings
        self.version = librosa.__version__
        self.tracker = resolve_tracker(settings.tracker)
        self.beat_config = MusicBeatConfig(tracker=self.tracker, sample_rate=settings.sample_rate, tempo_prior_bpm=settings.start_bpm, threads=1)

    @property
    def frame_hop_s(self) -> float:
        return self.settings.frame_hop_s

    def info(self) -> dict:
        return {
            "extractor": self.name,
            "package": "librosa",
            "version": self.version,
            "sample_rate": self.settings.sample_rate,
            "hop_length": self.settings.hop_length,
            "frame_hop_s": self.frame_hop_s,
            "chroma_hop_s": self.frame_hop_s * CHROMA_POOL,
            "n_fft": N_FFT,
            "beat_tracker": self.tracker,
            "key_method": "Krumhansl-Kessler profile correlation on mean chroma_stft",
        }

    def __call__(self, y: np.ndarray) -> dict[str, np.ndarray | float | str]:
        """``y``: (n,) float32 at ``settings.sample_rate``."""
        import librosa

        sr, hop = self.settings.sample_rate, self.settings.hop_length
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop))  # (1 + n_fft/2, T)
        power = S**2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
        onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr)  # (T,)
        beats = track_beats(y, sr, self.beat_config)
        rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]  # (T,)
        chroma = librosa.feature.chroma_stft(S=power, sr=sr)  # (12, T)
        chroma_mean = chroma.mean(axis=1)
        tonic, mode, confidence = estimate_key(chroma_mean)
        t = chroma.shape[1] // CHROMA_POOL
        chroma_pooled = chroma[:, : t * CHROMA_POOL].reshape(12, t, CHROMA_POOL).mean(axis=2).T if t else chroma.T
        rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
        return {
            c.TEMPO: float(beats.tempo_bpm),
            BEATS_COLUMN: np.asarray(beats.beats_s, dtype=np.float32),
            ONSET_COLUMN: onset_env.astype(np.float32),
            RMS_COLUMN: rms.astype(np.float32),
            c.LOUDNESS: float(rms_db.mean()),
            c.CHROMA: chroma_pooled.astype(np.float32),  # (T / 8, 12)
            c.CHROMA_MEAN: chroma_mean.astype(np.float32),
            c.KEY: tonic,
            c.MODE: mode,
            c.KEY_CONFIDENCE: float(confidence),
        }
