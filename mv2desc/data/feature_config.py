"""Configuration of the acoustic feature extractors (validated on construction), and the facts of the
extractors that a :class:`~mv2desc.data.spec.FeatureSpec` records without loading them.

It lives in the data layer because the dataset <-> model contract is made of it: a
:class:`~mv2desc.data.spec.FeatureSpec` records the ``FeatureConfig`` its rows were computed with
(``extraction``) and takes its defaults from ``FeatureConfig()`` (:meth:`FeatureSpec.from_config`);
the extractors (:mod:`mv2desc.audio`) read it. ``mv2desc.audio.feature_config`` re-exports it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mv2desc.fingerprint import fingerprint
from mv2desc.paths import resolve_repo_path

# Bumped when the shared decode (mv2desc.media.audio: downmix, resampling) changes what the extractors
# see, so cached features computed by an older decode are not reused.
DECODE_VERSION = 2  # 2: mono = mean of the channels (was FFmpeg's 0.707 matrix)
# Bumped when the extractors' code writes other columns or computes a column otherwise, so cached features
# without them are not reused (the feature spec's format changes with it: mv2desc.data.spec.FORMAT).
EXTRACTOR_VERSION = 2  # 2: tonnetz, onset_rate, rms_db_slope


# What the extractors produce with the default settings, known before they are loaded (a loaded extractor
# reports its own values, which a spec records).
EGEMAPS_FRAME_S = 0.01  # eGeMAPSv02 low-level-descriptor frame step (10 ms)
EGEMAPS_LLD_DIM = 25  # eGeMAPSv02 low-level descriptors per frame
EGEMAPS_FUNCTIONALS_DIM = 88  # eGeMAPSv02 functionals
CLAP_DIM = 512  # projection width of laion/clap-htsat-unfused (the default checkpoint)
CLAP_SAMPLE_RATE = 48000  # CLAP's input rate (its feature extractor's sampling_rate)
CHROMA_POOL = 8  # the tonal stream's frames: chroma mean-pooled over this many rhythm frames (~186 ms at 22.05 kHz / 512)
CHROMA_BINS = 12  # pitch classes, C first
TONNETZ_DIM = 6  # librosa's tonal centroids (fifths, minor thirds, major thirds; x, y each)
TONAL_DIM = CHROMA_BINS + TONNETZ_DIM  # values per tonal-stream frame
CLAP_CONFIG_FILES = ("config.json", "preprocessor_config.json")
CLAP_VOLATILE_KEYS = ("transformers_version", "_name_or_path")  # who saved it, from where: not what it computes


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

    @property
    def lld_hop_s(self) -> float:
        """Seconds between stored LLD frames (``lld_pool`` eGeMAPS frames)."""
        return EGEMAPS_FRAME_S * self.lld_pool


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

    @property
    def frame_hop_s(self) -> float:
        """Seconds between onset-envelope / RMS frames."""
        return self.hop_length / self.sample_rate

    @property
    def tonal_hop_s(self) -> float:
        """Seconds between chroma / tonnetz frames (``CHROMA_POOL`` rhythm frames)."""
        return self.frame_hop_s * CHROMA_POOL


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
        """Changes whenever a setting that changes the stored features changes, or the decode or the columns
        the extractors write (``DECODE_VERSION``, ``EXTRACTOR_VERSION``): the build cache's key."""
        d = self.to_dict()
        from mv2desc.beats.tracking import resolve_tracker

        d["rhythm"]["tracker"] = resolve_tracker(self.rhythm.tracker)  # "auto" means what it picks here
        d["decode"] = DECODE_VERSION
        d["extractor"] = EXTRACTOR_VERSION
        d["versions"] = extractor_versions()
        return fingerprint(d)


# -- the CLAP checkpoint's content (FeatureSpec.clap_weights) ---------------------------------------------
def checkpoint_source(name_or_path: str) -> str:
    """A local folder (absolute, relative to the working directory, or ``configs/...`` of the repository) or
    the hub name itself."""
    local = resolve_repo_path(name_or_path)
    return str(local) if local.is_dir() else name_or_path


def checkpoint_fingerprint(settings: ClapSettings) -> str | None:
    """Content fingerprint of the CLAP model ``settings`` builds: its config files (parsed, who saved them
    left out) and its weight files byte for byte, or with ``random_init`` the seed instead of the weights.
    The same checkpoint gives the same value in any folder or cache; None when it is not on this machine."""
    source = Path(checkpoint_source(settings.name_or_path))
    if source.is_dir():
        folder = source
    else:
        from transformers.utils import cached_file

        try:
            found = cached_file(settings.name_or_path, "config.json", local_files_only=True)
        except OSError:
            return None
        if found is None:
            return None
        folder = Path(found).parent
    h = hashlib.sha256()
    for name in CLAP_CONFIG_FILES:
        if (folder / name).is_file():
            config = {k: v for k, v in json.loads((folder / name).read_text(encoding="utf-8")).items() if k not in CLAP_VOLATILE_KEYS}
            h.update(f"{name}\0{json.dumps(config, sort_keys=True)}\0".encode())
    if settings.random_init:
        h.update(f"random_init seed={settings.seed}".encode())
    else:
        for weights in sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin")):
            h.update(f"{weights.name}\0".encode())
            with weights.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]
