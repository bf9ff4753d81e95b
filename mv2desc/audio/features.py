"""All acoustic features of one clip, from one decode: openSMILE + CLAP + librosa."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mv2desc.beats import MusicBeats
from mv2desc.data.feature_config import FeatureConfig, checkpoint_source
from mv2desc.data.spec import FeatureSpec
from mv2desc.errors import MediaError
from mv2desc.media.audio import load_audio, resample


@dataclass
class ClipFeatures:
    """Features of one clip. ``values`` maps column name -> array or scalar; ``cpu_s`` maps stage -> CPU seconds."""

    duration_s: float
    source_sample_rate: int
    values: dict[str, Any]
    cpu_s: dict[str, float] = field(default_factory=dict)


class AcousticFeatureExtractor:
    """Builds its extractors lazily (once per process) and applies them to audio files."""

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self._opensmile = None
        self._clap = None
        self._rhythm = None

    # -- lazy extractors ------------------------------------------------------------------------
    @property
    def opensmile(self):
        if self._opensmile is None and self.config.opensmile.enabled:
            from mv2desc.audio.opensmile_features import OpenSmileExtractor

            self._opensmile = OpenSmileExtractor(self.config.opensmile)
        return self._opensmile

    @property
    def clap(self):
        if self._clap is None and self.config.clap.enabled:
            from mv2desc.audio.clap_features import ClapExtractor

            self._clap = ClapExtractor(self.config.clap)
        return self._clap

    @property
    def rhythm(self):
        if self._rhythm is None:
            from mv2desc.audio.rhythm_features import RhythmExtractor

            self._rhythm = RhythmExtractor(self.config.rhythm)
        return self._rhythm

    def info(self) -> dict:
        """Extractor names, versions and sample rates, recorded with the dataset."""
        out = {"fingerprint": self.config.fingerprint(), "max_duration_s": self.config.max_duration_s}
        out["rhythm"] = self.rhythm.info()
        if self.opensmile is not None:
            out["opensmile"] = self.opensmile.info()
        if self.clap is not None:
            out["clap"] = self.clap.info()
        return out

    def spec(self) -> FeatureSpec:
        """The :class:`~mv2desc.data.spec.FeatureSpec` of the rows these extractors produce:
        :meth:`FeatureSpec.from_config` of the settings as resolved here (the tracker ``auto`` picked, the
        CLAP folder found), with what only the loaded extractors know (widths, rates, the CLAP weights'
        fingerprint, package versions)."""
        from importlib.metadata import version

        cfg = self.config
        versions = {"librosa": version("librosa"), "av": version("av")}
        measured: dict[str, Any] = {}
        if self.opensmile is not None:
            measured.update(lld_dim=len(self.opensmile.lld_names), functionals_dim=len(self.opensmile.functional_names))
            versions["opensmile"] = self.opensmile.version
        # a local checkpoint by its absolute path: found again from any working directory (a file that
        # travels records it as a reference: FeatureSpec.to_dict(base=...))
        clap_path = checkpoint_source(cfg.clap.name_or_path)
        clap_path = str(Path(clap_path).resolve()) if Path(clap_path).is_dir() else clap_path
        if self.clap is not None:
            measured.update(clap_dim=self.clap.dim, clap_sample_rate=self.clap.sample_rate, clap_weights=self.clap.weights_fingerprint)
            versions["transformers"] = version("transformers")
        resolved = replace(cfg, rhythm=replace(cfg.rhythm, tracker=self.rhythm.tracker),  # what "auto" resolved to
                           clap=replace(cfg.clap, name_or_path=clap_path))
        return FeatureSpec.from_config(resolved, versions=versions, **measured)

    # -- extraction -----------------------------------------------------------------------------
    def extract_file(self, path: str | os.PathLike) -> ClipFeatures:
        t0 = time.process_time()
        y, sr = load_audio(path, max_duration_s=self.config.max_duration_s)
        duration = y.size / sr
        if duration < self.config.min_duration_s:
            raise MediaError("too_short", f"{duration:.2f} s < min_duration_s={self.config.min_duration_s} in {path}")
        cpu = {"decode": time.process_time() - t0}
        feats = self.extract(y, sr, cpu)
        return ClipFeatures(duration_s=float(duration), source_sample_rate=sr, values=feats, cpu_s=cpu)

    def extract(self, y: np.ndarray, sr: int, cpu: dict[str, float] | None = None, beats: MusicBeats | None = None) -> dict[str, Any]:
        """``y``: (n,) mono float32 at ``sr`` -> feature columns. ``beats``: the clip's beats when known
        already (seconds from its start): the rhythm stage takes them instead of tracking the clip."""
        cpu = {} if cpu is None else cpu
        out: dict[str, Any] = {}
        stages = [("rhythm", self.rhythm, self.config.rhythm.sample_rate)]
        if self.opensmile is not None:
            stages.append(("opensmile", self.opensmile, self.config.opensmile.sample_rate))
        if self.clap is not None:
            stages.append(("clap", self.clap, self.clap.sample_rate))
        resampled: dict[int, np.ndarray] = {}
        for name, extractor, rate in stages:
            t0 = time.process_time()
            if rate not in resampled:
                resampled[rate] = resample(y, sr, rate)
            values = extractor(resampled[rate], beats) if name == "rhythm" and beats is not None else extractor(resampled[rate])
            check_finite(name, values)
            out.update(values)
            cpu[name] = time.process_time() - t0
        return out


def check_finite(stage: str, values: dict[str, Any]) -> None:
    """NaN or inf from an extractor is a failure (``MediaError('extractor_nan')``), never a stored value."""
    for column, v in values.items():
        a = np.asarray(v)
        if a.dtype.kind in "fc" and a.size:
            bad = int(np.count_nonzero(~np.isfinite(a)))
            if bad:
                raise MediaError("extractor_nan", f"{stage} returned {bad} of {a.size} non-finite values in {column}")
