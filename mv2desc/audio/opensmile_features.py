"""openSMILE eGeMAPSv02: 88 functionals and 25 low-level descriptors per 10 ms frame."""

from __future__ import annotations

import numpy as np

from mv2desc.data.columns import FUNCTIONALS as FUNCTIONALS_COLUMN
from mv2desc.data.columns import LLD as LLD_COLUMN
from mv2desc.data.feature_config import OpenSmileSettings
from mv2desc.errors import MediaError


class OpenSmileExtractor:
    name = "opensmile-eGeMAPSv02"

    def __init__(self, settings: OpenSmileSettings) -> None:
        import opensmile

        self.settings = settings
        self._functionals = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals
        )
        self._lld = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.LowLevelDescriptors
        )
        self.functional_names: list[str] = list(self._functionals.feature_names)
        self.lld_names: list[str] = list(self._lld.feature_names)
        self.version = opensmile.__version__

    @property
    def lld_hop_s(self) -> float:
        return self.settings.lld_hop_s

    def info(self) -> dict:
        return {
            "extractor": self.name,
            "package": "opensmile",
            "version": self.version,
            "sample_rate": self.settings.sample_rate,
            "functional_names": self.functional_names,
            "lld_names": self.lld_names,
            "lld_hop_s": self.lld_hop_s,
        }

    def __call__(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """``y``: (n,) float32 at ``settings.sample_rate`` -> functionals (88,), lld (T, 25)."""
        sr = self.settings.sample_rate
        func = self._functionals.process_signal(y, sr).to_numpy(dtype=np.float32).reshape(-1)
        lld = self._lld.process_signal(y, sr).to_numpy(dtype=np.float32)
        pool = self.settings.lld_pool
        if pool > 1 and lld.shape[0] >= pool:
            t = lld.shape[0] // pool
            lld = lld[: t * pool].reshape(t, pool, lld.shape[1]).mean(axis=1)
        # openSMILE gives finite values on any valid input (silence and 0.1 s clips included); NaN comes
        # from a cut or interrupted run ("Segment too short, filling with NaN"). Never stored as zeros.
        for column, values in ((FUNCTIONALS_COLUMN, func), (LLD_COLUMN, lld)):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            if bad:
                raise MediaError("extractor_nan", f"openSMILE returned {bad} of {values.size} non-finite values in {column}")
        return {FUNCTIONALS_COLUMN: func, LLD_COLUMN: lld.astype(np.float32)}
