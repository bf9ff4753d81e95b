"""A song decoded once, with every analysis of it computed on first use and kept.

``mv2desc mv generate`` reads one song through several stages (describe, cues, sync, scores); each
used to decode the file and analyse it on its own. A :class:`Song` is decoded once
(:func:`mv2desc.media.audio.load_audio`, the file's channels at the file's rate) and hands every stage
the same samples and the same analyses:

* ``mono`` ``(n,)`` / ``stereo`` ``(2, n)`` float32 at ``sr`` (the file's rate): mono is the
  equal-weight mean of the file's channels, exactly what ``load_audio(path)`` returns, so beats,
  features and segments are those of a plain mono decode; stereo is the soundtrack for muxing;
* ``mono_at(rate)``: resampled copies, made when first asked for and kept;
* ``beats(cfg)``: :func:`mv2desc.beats.track_beats` with a :class:`~mv2desc.beats.MusicBeatConfig`,
  one result per (resolved) config; equal to :func:`mv2desc.beats.track_file` on the same file, so
  ``mv beats`` and ``mv sync`` report the same beats;
* ``onset_envelope()`` / ``onsets_s()``: one onset envelope and one onset detection
  (:class:`SongAnalysis` settings), used by the cut density of the segmentation and by the cues;
* ``loudness()``: one loudness curve (:class:`Loudness`, per-frame RMS in dB), used by the
  segmentation's section boundaries, the cues' energy and the storyboard's envelope;
* ``structure(beats_cfg, structure_cfg)``: the song's sections (:func:`mv2desc.structure.analyse_structure`
  on ``mono`` and the beats of ``beats_cfg``), one result per pair of configs, so ``describe`` and
  ``mv generate`` (its segments, style motifs, storyboard and timeline) share one analysis;
* ``chroma_views()``: the STFT and constant-Q chroma of the tracker's input, computed once for madmom's
  phase check (in a worker while its networks run); ``constant_q_chroma()``, the structure's chroma, is
  their constant-Q view (computed alone when nothing needed the pair);
* ``fingerprint``: sha256 of the file's bytes (``segments.json`` ties its edits to it).

Per-segment *feature columns* (``rms_db_mean``, chroma, tempo, ...) are not analyses of the song: the
describer extracts them per segment with the dataset's extractor (:mod:`mv2desc.audio.features`) from
``mono``, exactly as a dataset row is made, so a captioner reads the columns it was trained on.

With a store attached (:meth:`Song.use_store`, an :class:`mv2desc.analysis_cache.AnalysisStore`), the
beats, structure, onset envelope, onsets and loudness are also kept on disk under the song's content
hash and their settings, so a rerun on the same file reads them back instead of computing them
(``mv generate`` attaches ``DIR/cache/analysis``).

Further analyses of the whole song join the same way: a method computed on first use from ``mono`` /
``mono_at``, cached under its settings in ``_cache``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mv2desc.beats import MusicBeatConfig, MusicBeats

if TYPE_CHECKING:
    from mv2desc.analysis_cache import AnalysisStore
    from mv2desc.structure import Structure, StructureConfig

T = TypeVar("T")


@dataclass(frozen=True)
class SongAnalysis:
    """Frame settings of the song-level onset and loudness curves (at the file's own rate).

    Args:
        hop_length: samples between frames of the onset envelope and the loudness curve.
        frame_length: samples per loudness (RMS) frame.
    """

    hop_length: int = 512
    frame_length: int = 2048

    def __post_init__(self) -> None:
        if self.hop_length < 1 or self.frame_length < self.hop_length:
            raise ValueError(f"need 1 <= hop_length <= frame_length, got {self.hop_length}, {self.frame_length}")


@dataclass(frozen=True)
class Loudness:
    """Per-frame loudness of the mono song (librosa's RMS over centred frames).

    Attributes:
        times_s: ``(T,)`` frame times (seconds; frame ``k`` at ``k * hop / sr``).
        rms: ``(T,)`` linear RMS of each frame.
        db: ``(T,)`` ``20 log10(max(rms, 1e-5))`` (dBFS; silence is -100 dB).
    """

    times_s: np.ndarray
    rms: np.ndarray
    db: np.ndarray

    def mean_db(self, start_s: float, end_s: float) -> float | None:
        """Mean of ``db`` over the frames in ``[start_s, end_s)``; None when no frame falls inside."""
        inside = self.db[(self.times_s >= start_s) & (self.times_s < end_s)]
        return float(inside.mean()) if inside.size else None

    def level_db(self, start_s: float, end_s: float) -> float:
        """:meth:`mean_db`, or the frame nearest the span's middle when the span holds no frame."""
        mean = self.mean_db(start_s, end_s)
        if mean is not None:
            return mean
        k = int(np.argmin(np.abs(self.times_s - 0.5 * (start_s + end_s))))
        return float(self.db[k])


class Song:
    """One decoded song and its analyses (see the module docstring).

    ``Song(y, sr)``: samples already in memory, ``(n,)`` mono or ``(C, n)`` channels (mono = their
    mean) at ``sr``; :meth:`load`: a file, decoded once. ``path`` names the file the samples came from
    (its fingerprint, and the stereo downmix of a file of more than two channels).
    """

    def __init__(self, y: np.ndarray, sr: int, *, path: str | os.PathLike | None = None, analysis: SongAnalysis | None = None,
                 max_duration_s: float | None = None) -> None:
        from mv2desc.media.audio import to_mono

        y = np.asarray(y, dtype=np.float32)
        self.sr = int(sr)
        self.mono = to_mono(y)  # (n,) float32 at sr
        self.path = Path(path) if path is not None else None
        self.source = os.fspath(path) if path is not None else "<samples>"  # the path as the caller wrote it (reports)
        self.analysis = analysis or SongAnalysis()
        self.max_duration_s = max_duration_s  # the decode's limit (None: the whole file)
        self.n_channels = 1 if y.ndim == 1 else int(y.shape[0])
        self._stereo = y if y.ndim == 2 and y.shape[0] == 2 else None  # (2, n) as decoded
        self._cache: dict[Any, Any] = {}
        self.store: AnalysisStore | None = None

    def use_store(self, store: AnalysisStore | None) -> Song:
        """Keep the song-level analyses in ``store`` too (None: in memory only); returns the Song."""
        self.store = store
        return self

    @classmethod
    def load(cls, path: str | os.PathLike, *, max_duration_s: float | None = None, analysis: SongAnalysis | None = None) -> Song:
        """Decode ``path`` once (any format FFmpeg reads). Raises :class:`~mv2desc.errors.MediaError`
        (``missing_audio``, ``corrupt_audio``, ...) as :func:`~mv2desc.media.audio.load_audio` does."""
        from mv2desc.media.audio import load_audio

        # (C, n) as stored, at the file's rate: the very array load_audio(path) downmixes, so the mono
        # made of it here by the same function (to_mono) is bit-identical to a plain mono decode
        y, sr = load_audio(path, channels=None, max_duration_s=max_duration_s)
        return cls(y, sr, path=path, analysis=analysis, max_duration_s=max_duration_s)

    def __repr__(self) -> str:
        return f"Song({self.source}, {self.duration_s:.2f} s at {self.sr} Hz, {self.n_channels} ch)"

    # -- samples ----------------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self.mono.size / self.sr

    @property
    def name(self) -> str:
        """The file's stem ("song" for samples without a file)."""
        return self.path.stem if self.path is not None else "song"

    @property
    def stereo(self) -> np.ndarray:
        """``(2, n)`` float32 at ``sr``, the soundtrack: a stereo file as decoded, a mono one duplicated.
        A file of more than two channels takes FFmpeg's standard stereo downmix, which is a second
        decode of the file (:func:`~mv2desc.media.audio.load_audio` with ``channels=2``), made once."""
        if self._stereo is not None:
            return self._stereo
        if self.n_channels > 2 and self.path is not None:
            return self._cached("stereo", self._stereo_downmix)
        return self._cached("stereo", lambda: np.repeat(self.mono[None, :], 2, axis=0))

    def _stereo_downmix(self) -> np.ndarray:
        from mv2desc.media.audio import load_audio

        y, _ = load_audio(self.path, channels=2, max_duration_s=self.max_duration_s)
        return y[:, : self.mono.size]

    def mono_at(self, rate: int) -> np.ndarray:
        """``mono`` resampled to ``rate`` (soxr HQ, :func:`~mv2desc.media.audio.resample`), made once."""
        from mv2desc.media.audio import resample

        return self.mono if rate == self.sr else self._cached(("mono_at", int(rate)), lambda: resample(self.mono, self.sr, rate))

    # -- analyses ---------------------------------------------------------------------------------
    def beats(self, cfg: MusicBeatConfig | None = None) -> MusicBeats:
        """Beats and downbeats with ``cfg`` (tracked once per config; "auto" is resolved first, so it
        shares its result with the tracker it names). Equals ``track_file(path, cfg)`` exactly."""
        from mv2desc.beats.tracking import track_prepared, tracker_rate

        cfg = cfg or MusicBeatConfig()
        tracker, rate = tracker_rate(cfg)

        def track() -> MusicBeats:
            x = self._beat_input(rate)
            views = None
            if tracker == "madmom" and cfg.phase_check:
                views = self.chroma_views
                if "chroma_views" not in self._cache:  # computed in a worker while madmom's networks run here
                    from mv2desc.beats.madmom_backend import in_background
                    from mv2desc.beats.refine import chroma_views

                    views = partial(self._cached, "chroma_views", in_background(cfg.threads, chroma_views, x, rate))
            return track_prepared(x, rate, cfg, self.duration_s, views=views)

        return self._cached(self._beats_key(cfg), track, persist="beats")

    def _beat_input(self, rate: int) -> np.ndarray:
        """:func:`~mv2desc.beats.tracking.beat_input` at ``rate``, made once."""
        from mv2desc.beats.tracking import beat_input

        return self._cached(("beat_input", rate), lambda: beat_input(self.mono, self.sr, rate))

    def chroma_views(self) -> list[np.ndarray]:
        """The STFT and constant-Q chroma (``(12, frames)`` at 22.05 kHz, hop 512;
        :func:`mv2desc.beats.refine.chroma_views`) of the madmom tracker's input: what its phase check
        reads, and the structure's chroma, made once (while madmom tracks, in a worker)."""
        from mv2desc.beats.madmom_backend import MADMOM_RATE
        from mv2desc.beats.refine import chroma_views

        return self._cached("chroma_views", lambda: chroma_views(self._beat_input(MADMOM_RATE), MADMOM_RATE))

    def constant_q_chroma(self) -> np.ndarray:
        """The constant-Q view of :meth:`chroma_views` (the structure's chroma): taken from them when they
        were made (madmom's phase check), else computed alone (the same computation on the same input,
        without the STFT view nothing else reads)."""
        from mv2desc.beats.madmom_backend import MADMOM_RATE
        from mv2desc.beats.refine import constant_q_view

        if "chroma_views" in self._cache:
            return self._cache["chroma_views"][1]
        return self._cached("constant_q_chroma", lambda: constant_q_view(self._beat_input(MADMOM_RATE), MADMOM_RATE))

    @staticmethod
    def _beats_key(cfg: MusicBeatConfig) -> tuple:
        """The cache key of a beat config: its fields with "auto" resolved to the tracker it names."""
        from mv2desc.beats.tracking import tracker_rate

        tracker, _ = tracker_rate(cfg)
        return ("beats", tuple(sorted({**asdict(cfg), "tracker": tracker}.items())))

    def structure(self, beats_cfg: MusicBeatConfig | None = None, structure_cfg: StructureConfig | None = None) -> Structure:
        """The song's sections (:func:`mv2desc.structure.analyse_structure`) on the bar lines of
        ``beats(beats_cfg)``: analysed once per (resolved beat config, structure config)."""
        from mv2desc.structure import StructureConfig, analyse_structure

        beats_cfg = beats_cfg or MusicBeatConfig()
        structure_cfg = structure_cfg or StructureConfig()
        key = ("structure", self._beats_key(beats_cfg), tuple(sorted(asdict(structure_cfg).items())))

        def analyse() -> Structure:
            from mv2desc.beats.refine import CHROMA_HOP, CHROMA_RATE

            beats = self.beats(beats_cfg)  # first: tracking may compute the chroma views on the side
            shared = (structure_cfg.sample_rate, structure_cfg.hop_length) == (CHROMA_RATE, CHROMA_HOP)
            return analyse_structure(self.mono, self.sr, beats, structure_cfg, chroma=self.constant_q_chroma() if shared else None)

        return self._cached(key, analyse, persist="structure")

    def onset_envelope(self) -> np.ndarray:
        """``(T,)`` librosa's onset strength of ``mono`` (log-mel flux), frames of ``analysis.hop_length``."""
        def envelope() -> np.ndarray:
            import librosa

            return librosa.onset.onset_strength(y=self.mono, sr=self.sr, hop_length=self.analysis.hop_length)

        return self._cached("onset_envelope", envelope, persist="onset_envelope")

    def onsets_s(self) -> np.ndarray:
        """``(k,)`` onset times (seconds, increasing): librosa's peak picking on :meth:`onset_envelope`."""
        def detect() -> np.ndarray:
            import librosa

            hop = self.analysis.hop_length
            times = librosa.onset.onset_detect(onset_envelope=self.onset_envelope(), sr=self.sr, hop_length=hop, units="time")
            return np.asarray(times, dtype=np.float64)

        return self._cached("onsets_s", detect, persist="onsets")

    def loudness(self) -> Loudness:
        """The song's loudness curve (:class:`Loudness`; ``analysis`` frames)."""
        def measure() -> Loudness:
            import librosa

            hop = self.analysis.hop_length
            rms = librosa.feature.rms(y=self.mono, frame_length=self.analysis.frame_length, hop_length=hop)[0]
            times = librosa.frames_to_time(np.arange(rms.size), sr=self.sr, hop_length=hop)
            return Loudness(np.asarray(times, dtype=np.float64), rms, 20 * np.log10(np.maximum(rms, 1e-5)))

        return self._cached("loudness", measure, persist="loudness")

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the file's bytes, 20 hex digits (of the mono samples for a song without a file)."""
        from mv2desc.fingerprint import bytes_fingerprint, file_fingerprint

        return file_fingerprint(self.path) if self.path is not None else bytes_fingerprint(self.mono.tobytes())

    def content_key(self) -> list[Any]:
        """What identifies the samples and the analysis frames: the content hash, the decode's length
        limit, the rate and :class:`SongAnalysis` (part of every disk-cache key of this Song)."""
        return [self.fingerprint, self.max_duration_s, self.sr, asdict(self.analysis)]

    def _cached(self, key: Any, make: Callable[[], T], persist: str | None = None) -> T:
        """``make()`` once per ``key``; with ``persist`` (a kind) and a store, also on disk."""
        if key not in self._cache:
            if persist is not None and self.store is not None:
                store = self.store
                self._cache[key] = store.get_or_make(persist, store.key(self.content_key(), persist, repr(key)), make)
            else:
                self._cache[key] = make()
        return self._cache[key]


def as_song(song: Song | str | os.PathLike) -> Song:
    """``song`` itself, or the file it names decoded once (:meth:`Song.load`)."""
    return song if isinstance(song, Song) else Song.load(song)
