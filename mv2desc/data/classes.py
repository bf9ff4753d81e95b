"""The one vocabulary of the song's attribute classes: tempo, energy and mode.

The metadata-style describer words its text by these classes (:mod:`mv2desc.describe.metadata`), the
attribute-consistency metric checks a description against them (:mod:`mv2desc.metrics.attributes`),
:class:`~mv2desc.describe.song.SongDescription` reports them and the style sheet picks its look and
palette by them (:mod:`mv2desc.mvgen.style`). Every table keyed by a class is keyed by these names.

A tempo is binned as it is written: rounded to a whole BPM, half up (84.5 -> 85), then compared with
the bins, so a description that states a rounded tempo and the audio it was measured on fall in the
same class. A tempo that is missing, not finite or rounds to 0 is *no tempo* (a song without beats):
it has no class (None), and a description of it states no BPM.
"""

from __future__ import annotations

import math

TEMPO_CLASSES = ("slow", "mid", "fast")
ENERGY_CLASSES = ("calm", "moderate", "intense")
MODE_CLASSES = ("major", "minor")
TEMPO_BINS_BPM = (85.0, 120.0)  # slow < 85 <= mid < 120 <= fast (the stated, whole-BPM tempo)
ENERGY_BINS_DB = (-28.0, -20.0)  # calm < -28 <= moderate < -20 <= intense (rms_db_mean, dBFS)


def stated_bpm(bpm: float | None) -> int | None:
    """The tempo as a description states it: a whole BPM, rounded half up; None for no tempo."""
    if bpm is None or not math.isfinite(bpm):
        return None
    whole = math.floor(bpm)
    whole += bpm - whole >= 0.5  # exact (floor(x + 0.5) rounds 84.49999999999999 up)
    return whole if whole > 0 else None


def tempo_class(bpm: float | None, bins: tuple[float, float] = TEMPO_BINS_BPM) -> str | None:
    """"slow", "mid" or "fast" for the stated (rounded) tempo; None when no tempo is measured."""
    whole = stated_bpm(bpm)
    if whole is None:
        return None
    lo, hi = bins
    return "slow" if whole < lo else "mid" if whole < hi else "fast"


def energy_class(rms_db: float, bins: tuple[float, float] = ENERGY_BINS_DB) -> str:
    """"calm", "moderate" or "intense" for a mean frame RMS level in dBFS (the ``rms_db_mean`` column)."""
    lo, hi = bins
    return "calm" if rms_db < lo else "moderate" if rms_db < hi else "intense"


def mode_class(mode: str) -> str:
    """"major" or "minor" (any case); ValueError for anything else."""
    out = str(mode).lower()
    if out not in MODE_CLASSES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    return out
