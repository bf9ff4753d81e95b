"""Settings of the song-structure analysis (validated on construction; the defaults live here only)."""

from __future__ import annotations

from dataclasses import dataclass

from mv2desc.validation import at_least as _at_least
from mv2desc.validation import positive as _positive


@dataclass
class StructureConfig:
    """How :func:`mv2desc.structure.analyse_structure` finds and labels sections.

    Args:
        sample_rate: analysis rate (the song is resampled to it; 22.05 kHz is plenty for chroma and MFCC).
        hop_length: feature frame hop (samples) before the beat/bar synchronisation.
        n_mfcc: MFCCs computed; coefficient 0 (overall level) is dropped, so timbre is level-free.
        timbre_weight: weight of the timbre (MFCC) similarity against the tonal (chroma) one in the
            self-similarity matrix, 0..1 (0 = chroma only).
        kernel_bars: half-width of the checkerboard kernel, in bars: a boundary needs this many bars of
            homogeneous music on each side to stand out fully.
        min_section_bars: shortest section, in bars (except a pickup before the first downbeat, which
            joins the first section).
        peak_threshold: a novelty peak is a boundary when it exceeds ``peak_threshold`` times the
            largest peak (0..1); lower = more sections.
        label_threshold: sections whose feature distance (1 - similarity, 0..2) is below this share
            a label (average-linkage clustering); higher = fewer labels.
        beats_per_bar: bar length (beats) when the tracker found beats but no downbeats.
        fallback_bar_s: bar length (seconds) when no beats were found at all.
        intro_max_bars: longest first section that can be named ``intro``.
    """

    sample_rate: int = 22050
    hop_length: int = 512
    n_mfcc: int = 20
    timbre_weight: float = 0.3
    kernel_bars: int = 8
    min_section_bars: int = 4
    peak_threshold: float = 0.45
    label_threshold: float = 0.65
    beats_per_bar: int = 4
    fallback_bar_s: float = 2.0
    intro_max_bars: int = 8

    def __post_init__(self) -> None:
        _at_least("sample_rate", self.sample_rate, 8000)
        _at_least("hop_length", self.hop_length, 32)
        _at_least("n_mfcc", self.n_mfcc, 2)
        if not 0.0 <= self.timbre_weight <= 1.0:
            raise ValueError(f"timbre_weight must be in [0, 1], got {self.timbre_weight}")
        _at_least("kernel_bars", self.kernel_bars, 1)
        _at_least("min_section_bars", self.min_section_bars, 1)
        if not 0.0 <= self.peak_threshold <= 1.0:
            raise ValueError(f"peak_threshold must be in [0, 1], got {self.peak_threshold}")
        if not 0.0 < self.label_threshold <= 2.0:
            raise ValueError(f"label_threshold must be in (0, 2], got {self.label_threshold}")
        _at_least("beats_per_bar", self.beats_per_bar, 1)
        _positive("fallback_bar_s", self.fallback_bar_s)
        _at_least("intro_max_bars", self.intro_max_bars, 1)
