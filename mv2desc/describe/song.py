"""Song -> per-segment MV descriptions: the library call behind ``mv2desc describe`` and MV generation.

    decode (any format PyAV reads, any length, any channel count; mono = mean of channels)
      -> beats + downbeats (mv2desc.beats, the product's one tracker)
      -> segments on bar lines (mv2desc.describe.segments; a 30 s clip is one segment)
      -> per segment, the features the captioner was trained on: the same extractor code, configured
         from the FeatureSpec stored in its artifact
      -> batched generation (mv2desc.model.generation, the path ``eval run`` uses too)

Without a captioner, each segment is described by the metadata-style describer from its measured
tempo, loudness and mode (no model), and the result says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mv2desc.audio.feature_config import ClapSettings, FeatureConfig, OpenSmileSettings
from mv2desc.audio.key_estimate import estimate_key
from mv2desc.beats import MusicBeatConfig, MusicBeats, tempo_from_beats
from mv2desc.describe.classes import energy_class, tempo_class
from mv2desc.describe.metadata import SongFacts, measured_attributes
from mv2desc.describe.metadata import describe as describe_metadata
from mv2desc.describe.segments import SegmentConfig, segment_song
from mv2desc.errors import MediaError
from mv2desc.song import Song, as_song

log = logging.getLogger(__name__)

METADATA_NOTE = (
    "no captioner given: each segment was written by the metadata-style describer from its measured "
    "tempo, loudness and mode (a template, not a model); pass --captioner DIR for model descriptions"
)


@dataclass
class DescribeConfig:
    """Settings of song -> descriptions.

    Args:
        segments: how the song is cut.
        beats: the beat tracker ("auto": madmom when installed, else librosa).
        batch_size: segments per generation batch.
        max_new_tokens: longest description, in tokens.
        device: "auto", "cpu", "cuda", ...
        seed: phrasing variant of the metadata-style describer.
    """

    segments: SegmentConfig = field(default_factory=SegmentConfig)
    beats: MusicBeatConfig = field(default_factory=MusicBeatConfig)
    batch_size: int = 8
    max_new_tokens: int = 128
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("batch_size and max_new_tokens must be >= 1")


@dataclass
class SegmentDescription:
    """One segment: its span of the song, its description and the attributes measured on it."""

    start_s: float
    end_s: float
    description: str
    bars: int
    tempo_bpm: float
    key: str
    mode: str
    rms_db_mean: float


@dataclass
class SongDescription:
    """The whole result: song-level facts, the describer used, one entry per segment.

    ``energy_class`` and ``tempo_class`` are the song's classes (:mod:`mv2desc.describe.classes`: the
    names the describer, the attribute metric and the style sheet share); ``tempo_class`` is None when
    no tempo was measured (no beats; ``tempo_bpm`` 0).
    """

    song: str
    duration_s: float
    tempo_bpm: float
    key: str
    mode: str
    energy_db: float
    energy_class: str
    tempo_class: str | None
    beat_tracker: str
    n_beats: int
    n_downbeats: int
    describer: str  # "captioner" | "metadata"
    captioner: str | None
    note: str
    segments: list[SegmentDescription]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("duration_s", "tempo_bpm", "energy_db"):
            d[k] = round(d[k], 3)
        for s in d["segments"]:
            for k in ("start_s", "end_s", "tempo_bpm", "rms_db_mean"):
                s[k] = round(s[k], 3)
        return d


def rhythm_only_features() -> FeatureConfig:
    """What the metadata-style describer needs: tempo, loudness, key and mode (no openSMILE, no CLAP)."""
    return FeatureConfig(opensmile=OpenSmileSettings(enabled=False), clap=ClapSettings(enabled=False))


def describe_song(
    song: Song | str | os.PathLike,
    captioner: Any = None,
    cfg: DescribeConfig | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    beats: MusicBeats | None = None,
) -> SongDescription:
    """Describe ``song`` (a :class:`~mv2desc.song.Song`, or a file decoded here once), segment by segment.

    ``captioner``: None (metadata-style describer), an artifact folder / training run folder, or an
    already loaded :class:`~mv2desc.model.captioner.AudioCaptioner` (with ``feature_spec`` set).
    ``progress(stage, done, total)`` reports the feature and generation stages. ``beats``: the song's
    beats when already tracked (the same :func:`~mv2desc.beats.track_file` result; skips tracking;
    otherwise ``song.beats(cfg.beats)``, shared with every other user of the same Song).
    Raises :class:`MediaError` for an unreadable or too short file, and
    :class:`~mv2desc.model.artifact.ArtifactError` for an unusable captioner.
    """
    from mv2desc.audio.features import AcousticFeatureExtractor

    cfg = cfg or DescribeConfig()
    model, prompt_settings, source = _load_captioner(captioner, cfg.device) if captioner is not None else (None, None, None)
    spec = model.feature_spec if model is not None else None
    features = spec.feature_config() if spec is not None else rhythm_only_features()

    song = as_song(song)  # a path: decoded here, once
    y, sr = song.mono, song.sr  # (n,) mono at the file's rate
    path = song.source
    duration = song.duration_s
    if duration < features.min_duration_s:
        raise MediaError("too_short", f"{duration:.2f} s of audio < {features.min_duration_s} s in {path}")
    beats = beats if beats is not None else song.beats(cfg.beats)
    seg_cfg = cfg.segments
    if seg_cfg.max_s > features.max_duration_s:  # the features of one row cover at most this
        seg_cfg = SegmentConfig(**{**asdict(seg_cfg), "max_s": features.max_duration_s,
                                   "single_max_s": min(seg_cfg.single_max_s, features.max_duration_s)})
    segments = segment_song(duration, beats, seg_cfg, audio=song)
    log.info("%s: %.1f s, %d beats (%s), %d segments", path, duration, len(beats.beats_s), beats.tracker, len(segments))

    # each segment's tempo from the song's beats (the best tracker available), used in the report and
    # by the metadata-style describer; the captioner reads the rows exactly as in training
    seg_tempo = []
    for seg in segments:
        inside = beats.beats_s[(beats.beats_s >= seg.start_s) & (beats.beats_s < seg.end_s)]
        seg_tempo.append(tempo_from_beats(inside) if len(inside) >= 4 else float(beats.tempo_bpm))
    extractor = AcousticFeatureExtractor(features)
    rows: list[dict[str, Any]] = []
    for k, seg in enumerate(segments):
        part = y[int(round(seg.start_s * sr)) : int(round(seg.end_s * sr))]
        rows.append({"duration_s": part.size / sr, **extractor.extract(part, sr)})  # the dataset's columns
        if progress:
            progress("features", k + 1, len(segments))

    if model is not None:
        from mv2desc.model.generation import PromptConfig, generate_descriptions

        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress:
                progress("descriptions", done[0], len(rows))

        texts = generate_descriptions(
            model, rows, PromptConfig.from_dict(prompt_settings), spec, batch_size=cfg.batch_size,
            max_new_tokens=cfg.max_new_tokens, device=next(model.parameters()).device, progress=step,
        )
        describer, note = "captioner", f"descriptions generated by the captioner at {source}"
    else:
        # each segment its own phrasing variant (stable per song and position): a video whose segments
        # sound alike still gets varied scenes, cameras and palettes within what the audio allows
        texts = [
            describe_metadata(SongFacts(id=f"{song.name}#{k}"), {**measured_attributes(r), "tempo_bpm": bpm}, None, seed=cfg.seed,
                              include_identity=False)
            for k, (r, bpm) in enumerate(zip(rows, seg_tempo))
        ]
        describer, note = "metadata", METADATA_NOTE

    weights = np.array([s.duration_s for s in segments])
    chroma = np.average(np.stack([np.asarray(r["chroma_mean"], dtype=np.float64) for r in rows]), axis=0, weights=weights)
    tonic, mode, _ = estimate_key(chroma)
    energy_db = float(np.average([float(r["rms_db_mean"]) for r in rows], weights=weights))
    return SongDescription(
        song=str(path), duration_s=duration, tempo_bpm=float(beats.tempo_bpm), key=tonic, mode=mode, energy_db=energy_db,
        energy_class=energy_class(energy_db), tempo_class=tempo_class(float(beats.tempo_bpm)), beat_tracker=beats.tracker,
        n_beats=len(beats.beats_s), n_downbeats=len(beats.downbeats_s), describer=describer,
        captioner=source, note=note,
        segments=[
            SegmentDescription(s.start_s, s.end_s, t, s.bars, bpm, str(r["key"]), str(r["mode"]), float(r["rms_db_mean"]))
            for s, t, r, bpm in zip(segments, texts, rows, seg_tempo)
        ],
    )


def _load_captioner(captioner: Any, device: str):
    """-> (model, prompt settings, where it came from)."""
    from mv2desc.devices import resolve_device
    from mv2desc.model import artifact

    if isinstance(captioner, (str, os.PathLike)):
        art = artifact.resolve(captioner)
        meta = artifact.read_meta(art)
        model = artifact.load(art, device=resolve_device(device))
        source, prompts = str(art), meta.get("extra", {}).get("data")
    else:
        model, source, prompts = captioner, type(captioner).__name__, getattr(captioner, "prompt_settings", None)
    if model.feature_spec is None:
        raise artifact.ArtifactError(
            f"{source} records no feature spec (made before it existed): re-export it, or retrain, with this version"
        )
    return model, prompts, source
