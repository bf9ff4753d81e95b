"""The acoustic feature extractors' settings: :mod:`mv2desc.data.feature_config` (re-exported here).

They belong to the dataset <-> model contract (a :class:`~mv2desc.data.spec.FeatureSpec` records them),
so they live in the data layer, which the extractors import, never the other way round.
"""

from mv2desc.data.feature_config import (
    DECODE_VERSION,
    ClapSettings,
    FeatureConfig,
    OpenSmileSettings,
    RhythmSettings,
    extractor_versions,
)

__all__ = ["DECODE_VERSION", "ClapSettings", "FeatureConfig", "OpenSmileSettings", "RhythmSettings", "extractor_versions"]
