"""The dataset <-> model contract: which feature streams a row carries, their widths, hops and windows.

One source of truth. :class:`FeatureSpec` is produced by the feature extractor
(:meth:`mv2desc.audio.features.AcousticFeatureExtractor.spec`), written by ``mv2desc data build``
into ``manifest.json`` (``feature_spec``), checked by ``mv2desc train fit`` against the model config,
stored in every captioner artifact (``captioner.json``), and read back by ``describe`` and ``eval run``
to extract / collate exactly the features the model was trained on.

What is checked where:

* **architecture** (``streams``, ``lld_dim``, ``functionals_dim``, ``clap_dim``, ``tonal_dim``): the model
  config must match the dataset; ``train fit`` refuses a mismatch with one line naming the field;
* **timing** (``lld_hop_s``, ``rhythm_hop_s``, ``tonal_hop_s``, ``clap_window_s``, ``clap_hop_s``): data properties,
  *adopted* from the dataset: they travel with every batch (:class:`mv2desc.model.audio_batch.AudioBatch`),
  so the model config has no copy that could disagree;
* **values**: every extraction setting that changes a feature value (``extraction``: CLAP
  ``random_init`` and ``seed``, ``rhythm.start_bpm``, ...; :meth:`FeatureSpec.value_settings`) and the
  CLAP checkpoint's *content* (``clap_weights``, a fingerprint of its config and weights, the same in any
  folder) are compared too;
* an artifact used on features of another spec (any compared field) is an error;
* extractor ``versions`` and the CLAP checkpoint's location are recorded, not compared (a patch release
  or a moved folder must not block a model); a difference is logged;
* a spec written before ``clap_weights`` existed (empty) cannot prove its CLAP weights: everything else
  is compared, and a warning says to rebuild the dataset / retrain to check the weights too;
* the spec's **format** is its version: it changes when the rows gain what every model now reads
  (``mv2desc-feature-spec/2``: the ``tonal`` stream, chroma + tonnetz, and the measured ``onset_rate`` /
  ``rms_db_slope`` the prompt states). A spec of an older format (:data:`OLDER_FORMATS`) is refused on
  reading with :class:`OutdatedFeatureSpec`, one line naming the fix: the dataset's
  (:meth:`FeatureSpec.from_manifest`) to rebuild it with ``mv2desc data build``, an artifact's
  (:func:`mv2desc.model.artifact.artifact_spec`) to retrain it. The version, not a comparison of stream
  lists, because the columns that changed are not all streams (the prompt's measured columns are none),
  and because a model may leave a stream out on purpose (``model.audio.streams``) while its dataset
  has it: only the format says which columns every row of that dataset holds.

Stated once: the spec's defaults are ``FeatureConfig()``'s (:meth:`FeatureSpec.from_config`; the
settings live in :mod:`mv2desc.data.feature_config`), the column names in :mod:`mv2desc.data.columns`.
Nothing that collates rows has a default spec: :func:`mv2desc.model.audio_batch.collate_audio` and the
collators refuse to run without the rows' own.

Written into a file that travels (a captioner artifact), the CLAP folder is a reference
(:func:`mv2desc.paths.to_ref`: ``configs/clap/tiny-random``, or relative to the file's folder), never
an absolute path; read back, it is this machine's path (:func:`mv2desc.paths.from_ref`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from mv2desc.data.columns import AUDIO_COLUMNS, STREAM_COLUMNS, STREAMS
from mv2desc.data.feature_config import (
    CLAP_DIM,
    CLAP_SAMPLE_RATE,
    EGEMAPS_FUNCTIONALS_DIM,
    EGEMAPS_LLD_DIM,
    TONAL_DIM,
    FeatureConfig,
    checkpoint_fingerprint,
)
from mv2desc.paths import from_ref, to_ref

log = logging.getLogger(__name__)

FORMAT = "mv2desc-feature-spec/2"
# each older format -> what its rows lack; a spec of one of them is refused (OutdatedFeatureSpec)
OLDER_FORMATS = {
    "mv2desc-feature-spec/1": "the tonal stream of chroma + tonnetz and the onset_rate / rms_db_slope columns",
}

__all__ = ["AUDIO_COLUMNS", "STREAM_COLUMNS", "STREAMS", "FeatureSpec", "FeatureSpecMismatch", "OutdatedFeatureSpec",
           "DEFAULT_SPEC"]

ARCHITECTURE_FIELDS = ("streams", "lld_dim", "functionals_dim", "clap_dim", "tonal_dim")
TIMING_FIELDS = ("lld_hop_s", "rhythm_hop_s", "tonal_hop_s", "clap_window_s", "clap_hop_s")
EXTRACTION_FIELDS = ("max_duration_s", "opensmile_sample_rate", "clap_sample_rate", "rhythm_sample_rate", "beat_tracker")
COMPARED_FIELDS = ARCHITECTURE_FIELDS + TIMING_FIELDS + EXTRACTION_FIELDS
# extraction settings that change no feature value: where the CLAP checkpoint lives (its content is
# ``clap_weights``) and which clips are skipped
UNCOMPARED_SETTINGS = ("clap.name_or_path", "min_duration_s")
SECTION_STREAMS = {"opensmile": ("lld", "functionals"), "clap": ("clap",)}  # compared only when rows carry them


class FeatureSpecMismatch(ValueError):
    """Two specs (or a spec and a model config) disagree; the message names the first field."""


class OutdatedFeatureSpec(FeatureSpecMismatch):
    """A spec of an older format (:data:`OLDER_FORMATS`): its rows lack columns this code's models read.
    ``format`` and ``lacks`` let the reader name its own fix (rebuild the dataset, retrain the artifact)."""

    def __init__(self, fmt: str, lacks: str, fix: str = "rebuild the dataset with `mv2desc data build` and retrain on it") -> None:
        self.format, self.lacks = fmt, lacks
        super().__init__(f"features of an older version ({fmt}, without {lacks}): {fix}")


def config_streams(cfg: FeatureConfig) -> tuple[str, ...]:
    """The streams the rows computed by ``cfg`` carry, in the order a spec records them."""
    return (("lld", "functionals") if cfg.opensmile.enabled else ()) + ("rhythm", "tonal") + (("clap",) if cfg.clap.enabled else ())


def _config_fields(cfg: FeatureConfig) -> dict[str, Any]:
    """The spec fields ``cfg`` determines; a disabled stream's fields are left to the defaults."""
    out: dict[str, Any] = dict(
        streams=config_streams(cfg), rhythm_hop_s=cfg.rhythm.frame_hop_s, tonal_hop_s=cfg.rhythm.tonal_hop_s,
        rhythm_sample_rate=cfg.rhythm.sample_rate,
        beat_tracker=cfg.rhythm.tracker, max_duration_s=cfg.max_duration_s,
    )
    if cfg.opensmile.enabled:
        out.update(lld_hop_s=cfg.opensmile.lld_hop_s, opensmile_sample_rate=cfg.opensmile.sample_rate)
    if cfg.clap.enabled:
        out.update(clap_window_s=cfg.clap.window_s, clap_hop_s=cfg.clap.hop_s, clap_model=cfg.clap.name_or_path)
    return out


_DEFAULTS = _config_fields(FeatureConfig())  # the defaults' one source: FeatureConfig's defaults


@dataclass(frozen=True)
class FeatureSpec:
    """What the rows of a dataset hold, and how to compute them again.

    The defaults are those of ``FeatureConfig()`` (:meth:`from_config`; the widths and the CLAP rate those
    of eGeMAPSv02 and the default CLAP checkpoint); a spec that describes rows comes from
    :meth:`mv2desc.audio.features.AcousticFeatureExtractor.spec` or from a file, never from the defaults.

    Attributes:
        streams: feature streams present in the rows (subset of lld, functionals, clap, rhythm, tonal).
        lld_dim: openSMILE low-level descriptors per frame (eGeMAPSv02: 25).
        lld_hop_s: seconds between stored LLD frames.
        functionals_dim: eGeMAPSv02 functionals (88).
        clap_dim: CLAP embedding width.
        clap_window_s: CLAP window length (seconds); a window token's time is its centre.
        clap_hop_s: hop between CLAP windows (seconds).
        rhythm_hop_s: seconds between onset-envelope / RMS frames.
        tonal_dim: values per tonal-stream frame (12 chroma + 6 tonnetz).
        tonal_hop_s: seconds between chroma / tonnetz frames (``CHROMA_POOL`` rhythm frames).
        max_duration_s: the longest audio one row describes (longer input is cut into segments).
        opensmile_sample_rate: openSMILE's input rate.
        clap_sample_rate: CLAP's input rate.
        rhythm_sample_rate: librosa's analysis rate.
        beat_tracker: tracker of the beat channel (``mv2desc.beats``).
        clap_model: where the CLAP checkpoint was (recorded, not compared).
        clap_weights: content fingerprint of the CLAP checkpoint (config + preprocessor config + weight
            files; with random_init, config + seed): compared. Empty in specs written before it existed.
        versions: extractor package versions (recorded, not compared).
        extraction: the FeatureConfig that computes these features (``feature_config()`` rebuilds it).
    """

    streams: tuple[str, ...] = _DEFAULTS["streams"]
    lld_dim: int = EGEMAPS_LLD_DIM
    lld_hop_s: float = _DEFAULTS["lld_hop_s"]
    functionals_dim: int = EGEMAPS_FUNCTIONALS_DIM
    clap_dim: int = CLAP_DIM
    clap_window_s: float = _DEFAULTS["clap_window_s"]
    clap_hop_s: float = _DEFAULTS["clap_hop_s"]
    rhythm_hop_s: float = _DEFAULTS["rhythm_hop_s"]
    tonal_dim: int = TONAL_DIM
    tonal_hop_s: float = _DEFAULTS["tonal_hop_s"]
    max_duration_s: float = _DEFAULTS["max_duration_s"]
    opensmile_sample_rate: int = _DEFAULTS["opensmile_sample_rate"]
    clap_sample_rate: int = CLAP_SAMPLE_RATE
    rhythm_sample_rate: int = _DEFAULTS["rhythm_sample_rate"]
    beat_tracker: str = _DEFAULTS["beat_tracker"]
    clap_model: str = ""
    clap_weights: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    extraction: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "streams", tuple(self.streams))
        unknown = [s for s in self.streams if s not in STREAMS]
        if unknown or not self.streams:
            raise ValueError(f"feature spec streams must be a non-empty subset of {STREAMS}, got {self.streams}")
        for name in ("lld_hop_s", "rhythm_hop_s", "tonal_hop_s", "clap_window_s", "clap_hop_s", "max_duration_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"feature spec {name} must be > 0, got {getattr(self, name)}")

    @classmethod
    def from_config(cls, cfg: FeatureConfig, **measured: Any) -> "FeatureSpec":
        """The spec of the rows ``cfg`` computes: streams, hops, CLAP window, rates, tracker and the
        extraction settings (``extraction``) from ``cfg``; ``measured``: fields only the loaded extractors
        know (``lld_dim``, ``clap_dim``, ``clap_sample_rate``, ``clap_weights``, ``versions``, ...)."""
        return cls(**{**_config_fields(cfg), "extraction": cfg.to_dict(), **measured})

    # -- (de)serialisation --------------------------------------------------------------------------
    def to_dict(self, base: str | Path | None = None) -> dict[str, Any]:
        """JSON-able. ``base``: the folder of the file that will hold it; the CLAP folder is then written as
        a reference (:func:`mv2desc.paths.to_ref`), not as this machine's path."""
        d = asdict(self)
        d["streams"] = list(self.streams)
        if base is not None:
            d = _map_clap_paths(d, lambda v: to_ref(v, base))
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: str | Path | None = None) -> "FeatureSpec":
        """Inverse of :meth:`to_dict`; ``base``: the folder of the file it was read from (references to
        the CLAP folder become this machine's paths). A spec of an older format is
        :class:`OutdatedFeatureSpec`."""
        d = dict(d)
        fmt = d.pop("format", None)
        if fmt in OLDER_FORMATS:
            raise OutdatedFeatureSpec(fmt, OLDER_FORMATS[fmt])
        if fmt != FORMAT:
            raise ValueError(f"unsupported feature spec format {fmt!r} (this code reads {FORMAT})")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown feature spec keys: {sorted(unknown)}")
        return cls(**_map_clap_paths(d, lambda v: from_ref(v, base)))

    @classmethod
    def from_manifest(cls, dataset_dir: str | Path) -> "FeatureSpec":
        """The spec in ``<dataset_dir>/manifest.json`` (written by ``mv2desc data build``); a dataset of an
        older version is refused with one line: rebuild it."""
        p = Path(dataset_dir) / "manifest.json"
        manifest = json.loads(p.read_text(encoding="utf-8"))
        if "feature_spec" not in manifest:
            raise FeatureSpecMismatch(f"{p} has no feature_spec (built by an older version): rebuild it with `mv2desc data build`")
        try:
            return cls.from_dict(manifest["feature_spec"], base=p.parent)
        except OutdatedFeatureSpec as exc:
            raise OutdatedFeatureSpec(exc.format, exc.lacks, f"rebuild the dataset {p.parent} with `mv2desc data build`") from None

    def feature_config(self) -> FeatureConfig:
        """The :class:`~mv2desc.data.feature_config.FeatureConfig` that computes these features. A CLAP
        checkpoint found on this machine whose content differs from ``clap_weights`` is refused (the
        reference names another checkout's or another model's folder)."""
        if not self.extraction:
            raise FeatureSpecMismatch("this feature spec does not record its extraction settings; rebuild the dataset / retrain")
        cfg = FeatureConfig.from_dict(self.extraction)
        if "clap" in self.streams and self.clap_weights:
            found = checkpoint_fingerprint(cfg.clap)
            if found is not None and found != self.clap_weights:
                raise FeatureSpecMismatch(
                    f"the CLAP checkpoint {cfg.clap.name_or_path} is not the one these features were computed with "
                    f"(clap_weights {found}, recorded {self.clap_weights}): put that checkpoint there"
                )
        return cfg

    def value_settings(self) -> dict[str, Any]:
        """The extraction settings that change feature values, flattened (``clap.seed``): the CLAP
        folder's location and ``min_duration_s`` left out, a stream's section only when the rows carry it."""
        flat: dict[str, Any] = {}
        for key, value in self.extraction.items():
            if not isinstance(value, dict):
                flat[key] = value
            elif set(SECTION_STREAMS.get(key, self.streams)) & set(self.streams):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
        return {k: v for k, v in flat.items() if k not in UNCOMPARED_SETTINGS}

    # -- comparisons --------------------------------------------------------------------------------
    def mismatches(self, other: "FeatureSpec") -> list[tuple[str, Any, Any]]:
        """``[(field, self's value, other's value)]`` over the compared fields (floats to 1e-6), then the
        value-changing extraction settings both record (``extraction.clap.seed``), then ``clap_weights``
        when both record it."""
        out = [(name, getattr(self, name), getattr(other, name)) for name in COMPARED_FIELDS]
        mine, theirs = self.value_settings(), other.value_settings()
        out += [(f"extraction.{k}", mine[k], theirs[k]) for k in mine if k in theirs]
        if self.clap_weights and other.clap_weights and "clap" in self.streams and "clap" in other.streams:
            out.append(("clap_weights", self.clap_weights, other.clap_weights))
        return [(name, a, b) for name, a, b in out if not _same(a, b)]

    def require_same(self, other: "FeatureSpec", mine: str, theirs: str) -> None:
        """Raise :class:`FeatureSpecMismatch` naming the first differing field; log recorded differences."""
        diff = self.mismatches(other)
        if diff:
            name, a, b = diff[0]
            more = f" (and {len(diff) - 1} more: {', '.join(d[0] for d in diff[1:])})" if len(diff) > 1 else ""
            raise FeatureSpecMismatch(f"feature spec mismatch on {name}: {mine} has {a}, {theirs} has {b}{more}")
        if self.versions != other.versions:
            log.warning("extractor versions differ: %s %s, %s %s", mine, self.versions, theirs, other.versions)
        if "clap" in self.streams and "clap" in other.streams and not (self.clap_weights and other.clap_weights):
            old = mine if not self.clap_weights else theirs
            log.warning("cannot check that %s and %s used the same CLAP weights: %s records no clap_weights (written by an "
                        "older version); rebuild the dataset / retrain to check them", mine, theirs, old)
            if Path(self.clap_model).name != Path(other.clap_model).name:
                log.warning("CLAP checkpoints differ: %s %s, %s %s", mine, self.clap_model, theirs, other.clap_model)

    def check_model(self, audio_cfg) -> None:
        """Refuse a model whose audio encoder cannot read these rows (one line naming the field).

        ``audio_cfg``: :class:`mv2desc.model.config.AudioEncoderConfig`. Timing fields need no check:
        they travel with each batch.
        """
        missing = [s for s in audio_cfg.streams if s not in self.streams]
        if missing:
            raise FeatureSpecMismatch(
                f"model.audio.streams wants {missing} but the dataset has only {list(self.streams)} "
                f"(drop them from model.audio.streams, or rebuild the dataset with them enabled)"
            )
        for name in ("lld_dim", "functionals_dim", "clap_dim", "tonal_dim"):
            stream = {"lld_dim": "lld", "functionals_dim": "functionals", "clap_dim": "clap", "tonal_dim": "tonal"}[name]
            if stream in audio_cfg.streams and getattr(audio_cfg, name) != getattr(self, name):
                raise FeatureSpecMismatch(
                    f"model.audio.{name} is {getattr(audio_cfg, name)} but the dataset's feature spec has {name}={getattr(self, name)} "
                    f"(set --model.audio.{name} {getattr(self, name)})"
                )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, (int, float)):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


def _map_clap_paths(d: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """``d`` (a spec's fields) with ``fn`` applied to the CLAP folder (``clap_model``, ``extraction.clap.name_or_path``)."""
    d = dict(d)
    if d.get("clap_model"):
        d["clap_model"] = fn(d["clap_model"])
    clap = (d.get("extraction") or {}).get("clap")
    if clap and clap.get("name_or_path"):
        d["extraction"] = {**d["extraction"], "clap": {**clap, "name_or_path": fn(clap["name_or_path"])}}
    return d


DEFAULT_SPEC = FeatureSpec()  # FeatureConfig()'s spec, without extraction settings (tests, examples)
