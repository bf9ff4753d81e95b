"""Rhythm, harmony and energy: tempo, beats, onset envelope and rate, chroma + tonnetz + key, RMS and its slope (librosa).

One STFT feeds the onset envelope (via a log-mel spectrogram), RMS and chroma. Tempo and beats come
from the product's one beat tracker (:func:`mv2desc.beats.track_beats`, ``settings.tracker``), so the
dataset's beat channel and the beats of ``mv2desc mv beats`` / ``describe`` are the same algorithm.
The tonal stream is chroma mean-pooled over ``CHROMA_POOL`` frames plus the tonnetz of those frames;
``onset_rate`` counts librosa's onset detection on the onset envelope (the settings of
:meth:`mv2desc.song.Song.onsets_s`), ``rms_db_slope`` fits a line through the frame RMS level in dB.
"""

from __future__ import annotations

import numpy as np

from mv2desc.audio.key_estimate import estimate_key
from mv2desc.beats import MusicBeatConfig, MusicBeats, track_beats
from mv2desc.data import columns as c
from mv2desc.data.feature_config import CHROMA_POOL, RhythmSettings

ONSET_COLUMN, RMS_COLUMN, BEATS_COLUMN = c.ONSET, c.RMS, c.BEATS

N_FFT = 2048
RMS_FLOOR = 1e-5  # -100 dBFS: the level of digital silence in rms_db_mean and rms_db_slope


def onset_rate(onset_env: np.ndarray, sr: int, hop_length: int, duration_s: float) -> float:
    """Onsets per second over ``duration_s``: librosa's peak picking on ``onset_env`` (its default
    settings, as :meth:`mv2desc.song.Song.onsets_s`); 0.0 for an empty clip."""
    import librosa

    if duration_s <= 0 or onset_env.size == 0:
        return 0.0
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=hop_length, units="frames")
    return float(len(onsets) / duration_s)


def rms_db_slope(rms_db: np.ndarray, hop_s: float) -> float:
    """dB per second: the slope of the least-squares line through ``rms_db`` (frames ``hop_s`` apart).
    0.0 for fewer than two frames or a constant level (silence)."""
    y = np.asarray(rms_db, dtype=np.float64)
    if y.size < 2 or np.ptp(y) == 0:
        return 0.0
    t = np.arange(y.size, dtype=np.float64) * hop_s
    t -= t.mean()
    return float(np.dot(t, y - y.mean()) / np.dot(t, t))


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
            "chroma_hop_s": self.settings.tonal_hop_s,
            "n_fft": N_FFT,
            "beat_tracker": self.tracker,
            "key_method": "Krumhansl-Kessler profile correlation on mean chroma_stft",
        }

    def __call__(self, y: np.ndarray, beats: MusicBeats | None = None) -> dict[str, np.ndarray | float | str]:
        """``y``: (n,) float32 at ``settings.sample_rate``. ``beats``: the clip's beats when they are known
        already (seconds from its start; e.g. the song's, tracked once on the whole song): the tempo and
        beat columns are then theirs, and the clip is not tracked again."""
        import librosa

        sr, hop = self.settings.sample_rate, self.settings.hop_length
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop))  # (1 + n_fft/2, T)
        power = S**2
        mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
        onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr)  # (T,)
        beats = beats if beats is not None else track_beats(y, sr, self.beat_config)
        rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]  # (T,)
        chroma = librosa.feature.chroma_stft(S=power, sr=sr)  # (12, T)
        chroma_mean = chroma.mean(axis=1)
        tonic, mode, confidence = estimate_key(chroma_mean)
        t = chroma.shape[1] // CHROMA_POOL  # a clip shorter than one pool: one frame of all its chroma
        chroma_pooled = chroma[:, : t * CHROMA_POOL].reshape(12, t, CHROMA_POOL).mean(axis=2).T if t else chroma.mean(axis=1)[None]
        tonnetz = librosa.feature.tonnetz(chroma=chroma_pooled.T)  # (6, T / 8)
        rms_db = 20 * np.log10(np.maximum(rms, RMS_FLOOR))
        return {
            c.TEMPO: float(beats.tempo_bpm),
            BEATS_COLUMN: np.asarray(beats.beats_s, dtype=np.float32),
            ONSET_COLUMN: onset_env.astype(np.float32),
            RMS_COLUMN: rms.astype(np.float32),
            c.LOUDNESS: float(rms_db.mean()),
            c.CHROMA: chroma_pooled.astype(np.float32),  # (T / 8, 12)
            c.TONNETZ: tonnetz.T.astype(np.float32),  # (T / 8, 6)
            c.CHROMA_MEAN: chroma_mean.astype(np.float32),
            c.KEY: tonic,
            c.MODE: mode,
            c.KEY_CONFIDENCE: float(confidence),
            c.ONSET_RATE: onset_rate(onset_env, sr, hop, y.size / sr),
            c.RMS_DB_SLOPE: rms_db_slope(rms_db, self.frame_hop_s),
        }
