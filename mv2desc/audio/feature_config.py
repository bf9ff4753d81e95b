"""Configuration of the acoustic feature extractors (validated on construction)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mv2desc.fingerprint import fingerprint

# Bumped when the shared decode (mv2desc.media.audio: downmix, resampling) changes what the extractors
# see, so cached features computed by an older decode are not reused.
DECODE_VERSION = 2  # 2: mono = mean of the channels (was FFmpeg's 0.707 matrix)


def extractor_versions() -> dict[str, str | None]:
    """Versions of the packages that compute the features (part of every cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in ("librosa", "opensmile", "transformers", "av", "soxr"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class OpenSmileSettings:
    """openSMILE eGeMAPS settings.

    Args:
        enabled: compute eGeMAPSv02 functionals (88 values) and low-level descriptors (25 per frame).
        sample_rate: openSMILE input rate; 16 kHz costs a third of 44.1 kHz and keeps every eGeMAPS band.
        lld_pool: mean-pool this many 10 ms LLD frames into one stored frame (5 -> 50 ms, 20 frames/s).
    """

    enabled: bool = True
    sample_rate: int = 16000
    lld_pool: int = 5

    def __post_init__(self) -> None:
        if self.sample_rate < 8000:
            raise ValueError(f"opensmile.sample_rate must be >= 8000, got {self.sample_rate}")
        if self.lld_pool < 1:
            raise ValueError(f"opensmile.lld_pool must be >= 1, got {self.lld_pool}")


@dataclass
class ClapSettings:
    """CLAP audio embeddings (transformers' ClapModel).

    Args:
        enabled: compute CLAP embeddings.
        name_or_path: a local directory or hub name of a ClapModel checkpoint (e.g. laion/clap-htsat-unfused),
            or, with ``random_init``, a directory holding only ``config.json`` + ``preprocessor_config.json``.
        random_init: build the model from its config with random weights (tests, demo, speed benchmarks).
        seed: seed of the random initialisation.
        window_s: sliding-window length in seconds (CLAP is trained on 10 s).
        hop_s: hop between windows in seconds.
        batch_size: windows per forward pass.
        device: torch device for CLAP ("cpu", "cuda", "auto").
    """

    enabled: bool = True
    name_or_path: str = "laion/clap-htsat-unfused"
    random_init: bool = False
    seed: int = 0
    window_s: float = 10.0
    hop_s: float = 5.0
    batch_size: int = 8
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.hop_s <= 0:
            raise ValueError(f"clap.window_s and clap.hop_s must be > 0, got {self.window_s}, {self.hop_s}")
        if self.batch_size < 1:
            raise ValueError(f"clap.batch_size must be >= 1, got {self.batch_size}")


@dataclass
class RhythmSettings:
    """librosa rhythm, harmony and energy features.

    Args:
        sample_rate: analysis rate.
        hop_length: samples between frames of the onset envelope, RMS and chroma curves.
        start_bpm: tempo prior centre for the beat tracker.
        tracker: beat tracker of the beat channel and tempo (mv2desc.beats): "librosa" (default:
            licence-clean, deterministic whatever is installed, cheap at 100k clips), "madmom" or "auto".
    """

    sample_rate: int = 22050
    hop_length: int = 512
    start_bpm: float = 120.0
    tracker: str = "librosa"

    def __post_init__(self) -> None:
        if self.hop_length < 32:
            raise ValueError(f"rhythm.hop_length must be >= 32, got {self.hop_length}")
        if self.tracker not in ("librosa", "madmom", "auto"):
            raise ValueError(f"rhythm.tracker must be librosa, madmom or auto, got {self.tracker!r}")


@dataclass
class FeatureConfig:
    """All acoustic features of one clip.

    Args:
        max_duration_s: analyse at most this many seconds from the start of each clip (Music4All: 30 s).
        min_duration_s: clips shorter than this are skipped (reason ``too_short``).
        threads_per_worker: threads each worker process may use (torch intra-op, BLAS, OpenMP); 1 scales
            best: parallelism comes from num_proc worker processes.
        opensmile: openSMILE settings.
        clap: CLAP settings.
        rhythm: librosa settings.
    """

    max_duration_s: float = 30.0
    min_duration_s: float = 2.0
    threads_per_worker: int = 1
    opensmile: OpenSmileSettings = field(default_factory=OpenSmileSettings)
    clap: ClapSettings = field(default_factory=ClapSettings)
    rhythm: RhythmSettings = field(default_factory=RhythmSettings)

    def __post_init__(self) -> None:
        if self.threads_per_worker < 1:
            raise ValueError(f"threads_per_worker must be >= 1, got {self.threads_per_worker}")
        if not 0 < self.min_duration_s <= self.max_duration_s:
            raise ValueError(
                f"need 0 < min_duration_s <= max_duration_s, got {self.min_duration_s}, {self.max_duration_s}"
            )

    def to_dict(self) -> dict:
        """The settings that determine the features (runtime knobs such as threads and device left out)."""
        d = asdict(self)
        d.pop("threads_per_worker")
        d["clap"].pop("batch_size")
        d["clap"].pop("device")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        """Inverse of :meth:`to_dict` (runtime knobs take their defaults); unknown keys are an error."""
        parts = {"opensmile": OpenSmileSettings, "clap": ClapSettings, "rhythm": RhythmSettings}
        kwargs = {}
        for key, value in d.items():
            if key in parts:
                kwargs[key] = parts[key](**value)
            elif key in cls.__dataclass_fields__:
                kwargs[key] = value
            else:
                raise ValueError(f"unknown feature setting {key!r}")
        return cls(**kwargs)

    def fingerprint(self) -> str:
        """Changes whenever a setting that changes the stored features changes (cache key)."""
        d = self.to_dict()
        from mv2desc.beats.tracking import resolve_tracker

        d["rhythm"]["tracker"] = resolve_tracker(self.rhythm.tracker)  # "auto" means what it picks here
        d["decode"] = DECODE_VERSION
        d["versions"] = extractor_versions()
        return fingerprint(d)
