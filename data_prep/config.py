"""The dataset-build configuration (one YAML in configs/data/, overridable on the command line)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from data_prep.splits import SplitConfig
from data_prep.video.config import VideoDescriptionConfig
from mv2desc.audio.feature_config import FeatureConfig
from mv2desc.fingerprint import fingerprint


@dataclass
class DescriptionConfig:
    """Where the MV descriptions come from.

    Args:
        source: "metadata" (metadata, tags, lyrics and measured attributes; no video, no model) or
            "video" (the track's music video: alignment, shots, Qwen-VL captions, LLM fusion).
        fallback_to_metadata: with source=video, describe ids without a usable video from metadata
            (the row records source=metadata) instead of skipping them.
        include_lyrics: let lyric motifs into the metadata description.
        include_identity: name the song and the artist in the metadata description (off for
            experiments where only what the audio can tell should be in the target).
        seed: seed of the phrasing variants of the metadata description.
        video: settings of the video source.
    """

    source: Literal["metadata", "video"] = "metadata"
    fallback_to_metadata: bool = True
    include_lyrics: bool = True
    include_identity: bool = True
    seed: int = 0
    video: VideoDescriptionConfig = field(default_factory=VideoDescriptionConfig)

    def fingerprint(self) -> str:
        from mv2desc.describe.metadata import VERSION

        d = asdict(self)
        d.pop("video")
        d["metadata_describer_version"] = VERSION  # a wording change must not reuse cached descriptions
        if self.source == "video":
            from data_prep.video.describe import fingerprint_payload

            d["video"] = fingerprint_payload(self.video)  # settings + the prompts file's hash
        return fingerprint(d)


@dataclass
class BuildConfig:
    """Build an artist-disjoint MV-description dataset from a Music4All root.

    Args:
        root: the Music4All root (id_information.csv, audios/, lyrics/, ...).
        out: output folder: dataset/ (datasets.save_to_disk), parquet/, manifest.json, report.json, cache/.
        videos: optional folder of <id>.mp4 music videos, or a TSV/CSV table with columns id, path.
        num_proc: worker processes.
        num_shards: split the ids into this many shards (one per machine or SLURM array task).
        shard_index: which shard this process builds (0-based).
        limit: only the first N ids (sorted) of the catalog; for quick tries.
        parquet_rows_per_file: rows per Parquet file of the final dataset.
        features: acoustic features.
        description: MV descriptions.
        splits: artist-disjoint split ratios and seed.
    """

    root: str
    out: str
    videos: str | None = None
    num_proc: int = 1
    num_shards: int = 1
    shard_index: int = 0
    limit: int | None = None
    parquet_rows_per_file: int = 2000
    features: FeatureConfig = field(default_factory=FeatureConfig)
    description: DescriptionConfig = field(default_factory=DescriptionConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)

    def __post_init__(self) -> None:
        if self.num_proc < 1:
            raise ValueError(f"num_proc must be >= 1, got {self.num_proc}")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise ValueError(f"need 0 <= shard_index < num_shards, got shard_index={self.shard_index}, num_shards={self.num_shards}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.parquet_rows_per_file < 1:
            raise ValueError(f"parquet_rows_per_file must be >= 1, got {self.parquet_rows_per_file}")

    def content_fingerprint(self) -> str:
        """What the rows depend on (not where or how fast they are computed): shards must agree on it."""
        return fingerprint(
            {
                "features": self.features.fingerprint(),
                "description": self.description.fingerprint(),
                "splits": asdict(self.splits),
                "limit": self.limit,
                "num_shards": self.num_shards,
            }
        )
