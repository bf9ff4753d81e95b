"""The configs of the ``infer`` commands (``mv beats|sync|score``, ``describe``, ``demo``), read by
:func:`mv2desc.app.parse_config`.

Each is the command's own inputs and outputs (paths, worker counts) plus the library's config
dataclasses, whose defaults and validation live there: the beat tracker is ``beats``
(:class:`~mv2desc.beats.MusicBeatConfig`, ``--beats.tracker librosa``) in every command; the sync
engine's sections are ``visual``, ``match``, ``render`` and ``metrics``
(:mod:`mv2desc.sync.config`). A YAML with the same keys works as ``--config``; ``--print_config``
prints the resolved one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mv2desc.beats import MusicBeatConfig
from mv2desc.describe.song import DescribeConfig
from mv2desc.sync.config import MatchConfig, MetricConfig, RenderConfig, SyncConfig, VisualBeatConfig
from mv2desc.validation import at_least, positive

MP4_SUFFIXES = (".mp4", ".m4v", ".mov")


def given(name: str, value: str | None) -> None:
    """A required path is not empty (``--song ""``)."""
    if not value:
        raise ValueError(f"{name} is required (got an empty path)")


@dataclass
class BeatsCommand:
    """Tempo, beats and downbeats of a song, as JSON on stdout.

    Args:
        song: the song (any format FFmpeg decodes; a video's soundtrack works too); also the first bare word.
        out: also write the JSON here (atomically).
        beats: the beat tracker.
    """

    song: str
    out: str | None = None
    beats: MusicBeatConfig = field(default_factory=MusicBeatConfig)

    def __post_init__(self) -> None:
        given("song", self.song)


@dataclass
class SyncCommand:
    """Lay clips (in order) over a song, beat-synchronised (monotonic warps, cuts on downbeats), muxed with
    the song, as long as the song (clips too short are reused in order, with a warning). Prints the
    metrics measured on the written MP4 (the plan's own figures as metrics_planned); --report gets the
    full report.

    Args:
        video: the clips, in order (``--video a.mp4 --video b.mp4``, or ``--video a.mp4 b.mp4``).
        audio: the song.
        out: the output MP4 (.mp4, .m4v or .mov).
        report: also write the full JSON report here (beats, matching, stretch ratios, metrics).
        workers: processes for the clips' optical flow.
        beats: the music beat tracker.
        visual: visual beats of the clips (optical flow).
        match: matching visual beats to music beats, and the stretch allowed.
        render: the output video.
        metrics: the sync metrics measured on the output.
    """

    video: list[str]
    audio: str
    out: str
    report: str | None = None
    workers: int = 2
    beats: MusicBeatConfig = field(default_factory=MusicBeatConfig)
    visual: VisualBeatConfig = field(default_factory=VisualBeatConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    metrics: MetricConfig = field(default_factory=MetricConfig)

    def __post_init__(self) -> None:
        if not self.video or not all(self.video):
            raise ValueError("video: give at least one clip (--video CLIP.mp4, repeated for several)")
        given("audio", self.audio)
        given("out", self.out)
        if Path(self.out).suffix.lower() not in MP4_SUFFIXES:
            raise ValueError(f"out must be an .mp4 (or .m4v/.mov) file, got {self.out}")
        at_least("workers", self.workers, 1)

    def sync_config(self) -> SyncConfig:
        """The engine's settings."""
        return SyncConfig(music=self.beats, visual=self.visual, match=self.match, render=self.render, metrics=self.metrics)


@dataclass
class ScoreCommand:
    """BAS (both conventions), BCS and BHS of a video with sound, as JSON on stdout.

    Args:
        video: the video.
        audio: score against this song instead of the video's own soundtrack.
        out: also write the JSON here (atomically).
        beats: the music beat tracker.
        visual: visual beats of the video (optical flow).
        metrics: BAS width and BCS/BHS bins.
    """

    video: str
    audio: str | None = None
    out: str | None = None
    beats: MusicBeatConfig = field(default_factory=MusicBeatConfig)
    visual: VisualBeatConfig = field(default_factory=VisualBeatConfig)
    metrics: MetricConfig = field(default_factory=MetricConfig)

    def __post_init__(self) -> None:
        given("video", self.video)


@dataclass(kw_only=True)
class DescribeCommand(DescribeConfig):
    """Per-segment music-video descriptions of a song, as JSON on stdout: the song-level facts (tempo,
    key/mode, energy, beat tracker), which describer wrote the text, and one entry per segment covering
    the song end to end. The describer's settings are :class:`mv2desc.describe.song.DescribeConfig`'s.

    Args:
        song: the song: any format FFmpeg decodes (MP3, WAV, FLAC, OGG, a video's soundtrack), any
            length; also the first bare word.
        captioner: a captioner artifact or training run folder; none = the metadata-style describer
            writes from the measured attributes.
        out: also write the JSON here (atomically; an existing file is kept unless ``overwrite``).
        overwrite: replace an existing ``out`` file.
        show_structure: also print the song's sections as a short table on stderr (``--structure``
            alone means this; the JSON holds them either way, under ``structure``).
        cache_dir: keep the song's analyses (beats, structure, loudness) and the descriptions in this
            folder, under the audio's content hash and the settings, and reuse them when the same file
            is described again with the same settings and captioner; "auto" = ``$MV2DESC_CACHE/analysis``
            (``~/.cache/mv2desc/analysis``); empty = no cache.
    """

    song: str
    captioner: str | None = None
    out: str | None = None
    overwrite: bool = False
    show_structure: bool = False
    cache_dir: str = ""

    def __post_init__(self) -> None:
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:  # DescribeConfig's own checks
            parent()
        given("song", self.song)

    def describe_config(self) -> DescribeConfig:
        """The library's settings alone (without the command's paths and display options)."""
        from dataclasses import fields

        return DescribeConfig(**{f.name: getattr(self, f.name) for f in fields(DescribeConfig)})


@dataclass
class DemoCommand:
    """The whole product end to end on embedded defaults (no weights, no downloads).

    Args:
        out: output folder: new, empty, or an earlier demo's (a rerun reuses its example and song).
        n_tracks: synthetic tracks in the Music4All example.
        num_proc: worker processes for the dataset build.
        train_steps: fine-tuning steps of the demo captioner on the demo data.
        song_s: length (seconds) of the synthetic song the music video is made for.
    """

    out: str = "runs/demo"
    n_tracks: int = 24
    num_proc: int = 2
    train_steps: int = 20
    song_s: float = 60.0

    def __post_init__(self) -> None:
        given("out", self.out)
        at_least("n_tracks", self.n_tracks, 1)
        at_least("num_proc", self.num_proc, 1)
        at_least("train_steps", self.train_steps, 1)
        positive("song_s", self.song_s)
