"""Song -> per-segment MV descriptions: the library call behind ``mv2desc describe`` and MV generation.

    decode (any format PyAV reads, any length, any channel count; mono = mean of channels)
      -> beats + downbeats (mv2desc.beats, the product's one tracker)
      -> sections (mv2desc.structure: verse, chorus, ... labelled by repetition; Song.structure)
      -> segments on bar lines (mv2desc.describe.segments; a 30 s clip is one segment), every section
         boundary a cut, no segment straddling one
      -> lyrics (mv2desc.lyrics: LRC or plain text) assigned to the segments; cuts optionally snapped
         onto line starts
      -> per segment, the features the captioner was trained on: the same extractor code, configured
         from the FeatureSpec stored in its artifact
      -> batched generation (mv2desc.model.generation, the path ``eval run`` uses too)

Without a captioner, each segment is described by the metadata-style describer from its measured
tempo, loudness and mode (no model), and the result says so.

Each segment's row carries its section (:data:`mv2desc.data.columns.SECTION`: the section's name, e.g.
"chorus", or "section B" when the evidence gave no name; only when the song has two sections or more and
is cut into two segments or more, so that a whole clip reads as a training row), which the prompt's
measured block states, and its lyric lines (:data:`mv2desc.data.columns.LYRICS`, one line per line),
which a captioner's prompt includes when its prompt settings say ``include_lyrics``; the
metadata-style describer draws its lyric motifs from them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mv2desc.audio.feature_config import ClapSettings, FeatureConfig, OpenSmileSettings
from mv2desc.audio.key_estimate import estimate_key
from mv2desc.beats import MusicBeatConfig, MusicBeats, tempo_from_beats
from mv2desc.data.classes import energy_class, tempo_class
from mv2desc.data.columns import CHROMA_MEAN, KEY, LOUDNESS, LYRICS, MODE, N_SEGMENTS, SECTION, SEGMENT_INDEX, TEMPO
from mv2desc.describe.grounding import Correction, ground_text, grounding_summary
from mv2desc.describe.metadata import SongFacts, measured_attributes
from mv2desc.describe.metadata import describe as describe_metadata
from mv2desc.describe.segments import Segment, SegmentConfig, count_bars, segment_song
from mv2desc.errors import MediaError
from mv2desc.lyrics import LyricLine, Lyrics, assign_lines, read_lyrics, snap_cuts
from mv2desc.lyrics.timing import SNAP_MAX_SHIFT_S
from mv2desc.metrics.agreement import text_variety
from mv2desc.song import Song, as_song
from mv2desc.structure import Section, Structure, StructureConfig
from mv2desc.validation import positive

if TYPE_CHECKING:
    from mv2desc.analysis_cache import AnalysisStore

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
        sections: analyse the song's structure (sections labelled by repetition, named verse, chorus,
            ...): segments then never straddle a section boundary and each says its section; false =
            segments on bar lines only, no structure in the result.
        structure: how the sections are found (:class:`mv2desc.structure.StructureConfig`).
        lyrics: a lyrics file: LRC (line and enhanced word timestamps) or plain text (untimed lines,
            spread over the vocal sections and marked approximate); each segment gets the lines it holds.
        snap_to_lyrics: move each cut between two segments onto the nearest start of a timed lyric line
            within ``snap_max_shift_s`` (section boundaries stay where they are); needs timed (LRC) lyrics.
        snap_max_shift_s: farthest a cut moves to reach a line start, in seconds.
        ground_facts: rewrite a captioner's stated tempo, key or mode that contradicts the segment's
            measured value to the measured one (:mod:`mv2desc.describe.grounding`; the model's own text
            is kept in ``model_text``); false = the model's text as generated.
    """

    segments: SegmentConfig = field(default_factory=SegmentConfig)
    beats: MusicBeatConfig = field(default_factory=MusicBeatConfig)
    batch_size: int = 8
    max_new_tokens: int = 128
    device: str = "auto"
    seed: int = 0
    sections: bool = True
    structure: StructureConfig = field(default_factory=StructureConfig)
    lyrics: str | None = None
    snap_to_lyrics: bool = False
    snap_max_shift_s: float = SNAP_MAX_SHIFT_S
    ground_facts: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("batch_size and max_new_tokens must be >= 1")
        positive("snap_max_shift_s", self.snap_max_shift_s)


@dataclass
class SegmentDescription:
    """One segment: its span of the song, its description and the attributes measured on it; its
    section (None without structure analysis) and the lyric lines it holds. ``model_text``: the
    captioner's own text when grounding rewrote a contradicted fact in ``description`` (else None), and
    ``corrections`` what it rewrote."""

    start_s: float
    end_s: float
    description: str
    bars: int
    tempo_bpm: float
    key: str
    mode: str
    rms_db_mean: float
    section: Section | None = None
    lyrics: tuple[LyricLine, ...] = ()
    model_text: str | None = None
    corrections: tuple[Correction, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("start_s", "end_s", "description", "bars", "tempo_bpm", "key", "mode", "rms_db_mean",
                                           "model_text")}
        d["corrections"] = [c.to_dict() for c in self.corrections]
        for k in ("start_s", "end_s", "tempo_bpm", "rms_db_mean"):
            d[k] = round(d[k], 3)
        d["section"] = {"label": self.section.label, "name": self.section.name} if self.section is not None else None
        d["lyrics"] = [ln.to_dict() for ln in self.lyrics]
        return d


@dataclass
class SongDescription:
    """The whole result: song-level facts, the describer used, one entry per segment.

    ``energy_class`` and ``tempo_class`` are the song's classes (:mod:`mv2desc.data.classes`: the
    names the describer, the attribute metric and the style sheet share); ``tempo_class`` is None when
    no tempo was measured (no beats; ``tempo_bpm`` 0). ``structure``: the song's sections (None when
    ``sections`` is off); ``lyrics``: the lines read from ``lyrics`` (None without a file).
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
    structure: Structure | None = None
    lyrics: Lyrics | None = None
    # distinct texts, neighbours with identical text and how many of those sound different (measured
    # tempo / energy / mode classes differ): mv2desc.metrics.agreement.text_variety
    variety: dict[str, Any] = field(default_factory=dict)
    # captioner texts whose stated tempo / key / mode contradicted the measurement and were rewritten
    # (mv2desc.describe.grounding.grounding_summary); None for the metadata describer or with grounding off
    grounding: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The command's JSON: plain values; ``structure`` as :meth:`mv2desc.structure.Structure.to_dict`,
        ``lyrics`` as :meth:`mv2desc.lyrics.Lyrics.to_dict` (``timed``; each line ``approximate`` when spread)."""
        skip = ("segments", "structure", "lyrics")
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        for k in ("duration_s", "tempo_bpm", "energy_db"):
            d[k] = round(d[k], 3)
        d["segments"] = [s.to_dict() for s in self.segments]
        d["structure"] = self.structure.to_dict() if self.structure is not None else None
        d["lyrics"] = self.lyrics.to_dict() if self.lyrics is not None else None
        return d


def rhythm_only_features() -> FeatureConfig:
    """What the metadata-style describer needs: tempo, loudness, key and mode (no openSMILE, no CLAP)."""
    return FeatureConfig(opensmile=OpenSmileSettings(enabled=False), clap=ClapSettings(enabled=False))


def segment_tempo(beats: MusicBeats, start_s: float, end_s: float) -> float:
    """A segment's tempo: from the song's beats inside it (the song's tempo with fewer than 4 of them)."""
    inside = beats.beats_s[(beats.beats_s >= start_s) & (beats.beats_s < end_s)]
    return tempo_from_beats(inside) if len(inside) >= 4 else float(beats.tempo_bpm)


def describe_song(
    song: Song | str | os.PathLike,
    captioner: Any = None,
    cfg: DescribeConfig | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    beats: MusicBeats | None = None,
    store: AnalysisStore | None = None,
) -> SongDescription:
    """Describe ``song`` (a :class:`~mv2desc.song.Song`, or a file decoded here once), segment by segment.

    ``captioner``: None (metadata-style describer), an artifact folder / training run folder, or an
    already loaded :class:`~mv2desc.model.captioner.AudioCaptioner` (with ``feature_spec`` set).
    ``progress(stage, done, total)`` reports the feature and generation stages. ``beats``: the song's
    beats when already tracked (the same :func:`~mv2desc.beats.track_file` result; skips tracking;
    otherwise ``song.beats(cfg.beats)``, shared with every other user of the same Song).
    ``store``: a disk cache (default: the Song's own, :meth:`mv2desc.song.Song.use_store`); the result is
    kept there under the song's content hash, ``cfg``, the captioner's content hash and the lyrics
    file's, and a later call with the same inputs returns it without loading the captioner
    (:func:`describe_key`; not with ``beats`` given or a captioner passed as a loaded model).
    Raises :class:`MediaError` for an unreadable or too short file, and
    :class:`~mv2desc.model.artifact.ArtifactError` for an unusable captioner.
    """
    cfg = cfg or DescribeConfig()
    song = as_song(song)  # a path: decoded here, once
    store = store if store is not None else song.store
    key = describe_key(store, song, captioner, cfg) if store is not None and beats is None else None
    if key is None:
        return _describe_song(song, captioner, cfg, progress, beats)
    cached = store.load("describe", key, SongDescription)
    if cached is not None:
        log.info("%s: segments and descriptions from the cache (%s)", song.source, key)
        return replace(cached, song=song.source)
    result = _describe_song(song, captioner, cfg, progress, beats)
    store.store("describe", key, result)
    return result


def describe_key(store: AnalysisStore, song: Song, captioner: Any, cfg: DescribeConfig) -> str | None:
    """The cache key of ``describe_song(song, captioner, cfg)``: the song's content, every setting, the
    captioner's files and the lyrics file's bytes (None for a captioner given as a loaded model)."""
    from mv2desc.analysis_cache import folder_fingerprint

    if captioner is not None and not isinstance(captioner, (str, os.PathLike)):
        return None
    if cfg.lyrics and not os.path.isfile(cfg.lyrics):  # read_lyrics says what is wrong with it
        return None
    return store.key(song.content_key(), "describe", asdict(cfg),
                     folder_fingerprint(captioner) if captioner is not None else None,
                     folder_fingerprint(cfg.lyrics) if cfg.lyrics else None)


def _describe_song(song: Song, captioner: Any, cfg: DescribeConfig, progress: Callable[[str, int, int], None] | None,
                   beats: MusicBeats | None) -> SongDescription:
    """:func:`describe_song` without the cache."""
    from mv2desc.audio.features import AcousticFeatureExtractor

    model, prompt_settings, source = _load_captioner(captioner, cfg.device) if captioner is not None else (None, None, None)
    grounding, corrections, model_texts = None, None, None
    spec = model.feature_spec if model is not None else None
    features = spec.feature_config() if spec is not None else rhythm_only_features()

    y, sr = song.mono, song.sr  # (n,) mono at the file's rate
    path = song.source
    duration = song.duration_s
    if duration < features.min_duration_s:
        raise MediaError("too_short", f"{duration:.2f} s of audio < {features.min_duration_s} s in {path}")
    lyrics = read_lyrics(cfg.lyrics, duration_s=duration) if cfg.lyrics else None  # a malformed file fails here, before any analysis
    given_beats = beats is not None
    beats = beats if given_beats else song.beats(cfg.beats)
    structure = None
    if cfg.sections:
        if given_beats:  # the caller's beats: analysed on them (not the Song's cached tracker result)
            from mv2desc.structure import analyse_structure

            structure = analyse_structure(song.mono, song.sr, beats, cfg.structure)
        else:
            structure = song.structure(cfg.beats, cfg.structure)
    if lyrics is not None and not lyrics.timed and structure is not None:  # untimed lines go into the vocal sections
        lyrics = read_lyrics(cfg.lyrics, duration_s=duration, spans=structure.vocal_spans())
    seg_cfg = cfg.segments
    if seg_cfg.max_s > features.max_duration_s:  # the features of one row cover at most this
        seg_cfg = SegmentConfig(**{**asdict(seg_cfg), "max_s": features.max_duration_s,
                                   "single_max_s": min(seg_cfg.single_max_s, features.max_duration_s)})
    segments = segment_song(duration, beats, seg_cfg, audio=song, sections=structure.sections if structure is not None else None)
    if cfg.snap_to_lyrics and lyrics is not None and lyrics.timed:
        segments = snap_segments(segments, lyrics, beats, seg_cfg, duration, structure, cfg.snap_max_shift_s)
    seg_sections = [section_of(structure, seg) for seg in segments] if structure is not None else [None] * len(segments)
    seg_lines = assign_lines(lyrics.lines, segments) if lyrics is not None else [[] for _ in segments]
    log.info("%s: %.1f s, %d beats (%s), %d segments%s", path, duration, len(beats.beats_s), beats.tracker, len(segments),
             f", sections {''.join(structure.labels)}" if structure is not None else "")

    extractor = AcousticFeatureExtractor(features)
    rows: list[dict[str, Any]] = []
    for k, seg in enumerate(segments):
        part = y[int(round(seg.start_s * sr)) : int(round(seg.end_s * sr))]
        # a captioner reads the beat channel as in training (the segment tracked with the dataset's tracker);
        # the metadata describer reads no beats, and the tempo is the song's (below): the song's beats, not tracked again
        known = None if model is not None else beats.window(seg.start_s, seg.end_s, segment_tempo(beats, seg.start_s, seg.end_s))
        rows.append({"duration_s": part.size / sr, **extractor.extract(part, sr, beats=known)})  # the dataset's columns
        if progress:
            progress("features", k + 1, len(segments))
    # every row holds the dataset's columns of its segment (loudness, onset rate, ... measured on the segment
    # exactly as on a training clip), then the song-level facts: the segment's tempo from the song's beats
    # (tracked on the whole song: no octave slips on a 20 s excerpt; a whole clip tracked with the dataset's
    # tracker gets exactly the dataset's tempo), the song's key (a key estimated on 20 s of a segment is
    # noisier; a whole clip gets its own, as in training) and its place in the song. The captioner's measured
    # block, the metadata describer and the report all read these same values.
    weights = np.array([s.duration_s for s in segments])
    chroma = np.average(np.stack([np.asarray(r[CHROMA_MEAN], dtype=np.float64) for r in rows]), axis=0, weights=weights)
    tonic, mode, _ = estimate_key(chroma)
    for k, r in enumerate(rows):
        r.update({TEMPO: segment_tempo(beats, segments[k].start_s, segments[k].end_s), KEY: tonic, MODE: mode,
                  SEGMENT_INDEX: k, N_SEGMENTS: len(rows)})
        if seg_sections[k] is not None and len(structure.sections) > 1 and len(rows) > 1:  # a whole clip: as in training
            r[SECTION] = section_text(seg_sections[k])
        if seg_lines[k]:
            r[LYRICS] = "\n".join(ln.text for ln in seg_lines[k])

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
        if cfg.ground_facts:
            model_texts = texts
            grounded = [ground_text(t, {"tempo_bpm": r[TEMPO], "key": r[KEY], "mode": r[MODE]}) for t, r in zip(texts, rows)]
            texts, corrections = [g[0] for g in grounded], [g[1] for g in grounded]
            grounding = grounding_summary(corrections)
            if grounding["corrected_segments"]:
                note += (f"; {grounding['corrected_segments']} of {len(texts)} texts stated a tempo, key or mode that contradicted "
                         "the measurement and were corrected (model_text keeps the model's own)")
    else:
        # each segment its own phrasing variant (stable per song and position): a video whose segments
        # sound alike still gets varied scenes, cameras and palettes within what the audio allows
        texts = [
            describe_metadata(SongFacts(id=f"{song.name}#{k}"), measured_attributes(r), r.get(LYRICS), seed=cfg.seed,
                              include_identity=False)
            for k, r in enumerate(rows)
        ]
        describer, note = "metadata", METADATA_NOTE

    energy_db = float(np.average([float(r["rms_db_mean"]) for r in rows], weights=weights))
    return SongDescription(
        song=str(path), duration_s=duration, tempo_bpm=float(beats.tempo_bpm), key=tonic, mode=mode, energy_db=energy_db,
        energy_class=energy_class(energy_db), tempo_class=tempo_class(float(beats.tempo_bpm)), beat_tracker=beats.tracker,
        n_beats=len(beats.beats_s), n_downbeats=len(beats.downbeats_s), describer=describer,
        captioner=source, note=note, variety=text_variety(texts, rows), grounding=grounding,
        segments=[
            SegmentDescription(s.start_s, s.end_s, t, s.bars, float(r[TEMPO]), str(r[KEY]), str(r[MODE]), float(r[LOUDNESS]),
                               section=sec, lyrics=tuple(lines),
                               model_text=model_texts[k] if corrections and corrections[k] else None,
                               corrections=tuple(corrections[k]) if corrections else ())
            for k, (s, t, r, sec, lines) in enumerate(zip(segments, texts, rows, seg_sections, seg_lines))
        ],
        structure=structure, lyrics=lyrics,
    )


def section_of(structure: Structure, segment: Segment) -> Section:
    """The section a segment belongs to: the one holding most of it (segments cut with the sections lie
    inside one; a song that is one segment may hold several)."""
    overlap = [min(s.end_s, segment.end_s) - max(s.start_s, segment.start_s) for s in structure.sections]
    return structure.sections[int(np.argmax(overlap))]


def section_text(section: Section) -> str:
    """What a row's :data:`~mv2desc.data.columns.SECTION` says: the section's name ("chorus"), or
    "section B" when the evidence gave it no name."""
    return f"section {section.label}" if section.name == "section" else section.name


def snap_segments(segments: list[Segment], lyrics: Lyrics, beats: MusicBeats, cfg: SegmentConfig, duration_s: float,
                  structure: Structure | None, max_shift_s: float) -> list[Segment]:
    """The segments with each inner cut moved onto the nearest lyric-line start within ``max_shift_s``
    (:func:`mv2desc.lyrics.snap_cuts`): section boundaries stay, cuts keep their order, and no segment
    gets shorter than one beat (half a second without beats)."""
    if len(segments) < 2:
        return segments
    cuts = [s.end_s for s in segments[:-1]]
    # the cuts that are section boundaries (each boundary's nearest cut: the segments were cut on them)
    keep = [min(cuts, key=lambda c, b=b: abs(c - b)) for b in structure.boundaries_s] if structure is not None else []
    period = float(np.median(np.diff(beats.beats_s))) if len(beats.beats_s) >= 2 else 0.5
    moved = snap_cuts(cuts, lyrics.line_starts, max_shift_s, keep=keep, min_gap_s=max(period, 0.5))
    edges = [0.0, *(float(t) for t in moved), float(duration_s)]
    return [Segment(a, b, count_bars(beats, duration_s, cfg, a, b)) for a, b in zip(edges[:-1], edges[1:])]


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
