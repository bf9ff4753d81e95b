"""Settings of the product's one beat tracker (validated on construction)."""

from __future__ import annotations

from dataclasses import dataclass

from mv2desc.validation import at_least as _at_least
from mv2desc.validation import one_of as _one_of
from mv2desc.validation import positive as _positive

TRACKERS = ("auto", "madmom", "librosa")


@dataclass
class MusicBeatConfig:
    """Music beat and downbeat tracking.

    Args:
        tracker: "madmom" (RNN activations + DBN decoding; downbeats too; needs the optional extra
            ``pip install ".[madmom]"``, whose network weights are CC BY-NC-SA 4.0, non-commercial), "librosa"
            (dynamic-programming tracker on a tuned onset envelope; downbeats by a bar-phase heuristic)
            or "auto" (madmom when importable, else librosa).
        min_bpm: lowest tempo considered.
        max_bpm: highest tempo considered.
        beats_per_bar: bar lengths the downbeat tracker may choose from (in beats).
        sample_rate: analysis rate for librosa (madmom always runs at 44.1 kHz).
        hop_length: librosa onset-envelope hop (samples); hop / rate is the time resolution (256 at
            22.05 kHz = 11.6 ms; 512 quantises tempi so coarsely that 120 bpm becomes 117.5 and drifts).
        tempo_prior_bpm: centre of librosa's log-normal tempo prior.
        tempo_prior_octaves: width (standard deviation, in octaves) of that prior.
        threads: worker processes for madmom's network ensemble.
        networks: how many of madmom's 8 downbeat networks to run (fewer = faster, slightly worse
            downbeats; beats are hardly affected).
        offset_s: added to every beat time (seconds); None = the tracker's latency measured on click,
            noise-burst and kick tracks at 95-140 bpm, undone (librosa reports beats 15 ms late,
            madmom 10 ms early).
        phase_check: madmom only: a second look at the grid's phase from the song's harmony
            (:mod:`mv2desc.beats.refine`): a grid half a beat off the chord changes is moved onto them
            (dense metal: F 0.00 -> 1.00 on ``benchmarks/bench_beats_hard.py``).
        phase_ratio: how much clearer (ratio > 1) the bar-phase chord-change contrast of the moved grid
            must be before the grid moves; the default was measured on ``bench_beats_hard.py`` (wrong
            phase: >= 1.65; right phase: <= 1.02).
    """

    tracker: str = "auto"
    min_bpm: float = 55.0
    max_bpm: float = 215.0
    beats_per_bar: tuple[int, ...] = (3, 4)
    sample_rate: int = 22050
    hop_length: int = 256
    tempo_prior_bpm: float = 120.0
    tempo_prior_octaves: float = 1.0
    threads: int = 2
    networks: int = 8
    offset_s: float | None = None
    phase_check: bool = True
    phase_ratio: float = 1.3

    def __post_init__(self) -> None:
        _one_of("tracker", self.tracker, TRACKERS)
        _positive("min_bpm", self.min_bpm)
        if not self.max_bpm > self.min_bpm:
            raise ValueError(f"max_bpm must be > min_bpm, got {self.max_bpm} <= {self.min_bpm}")
        self.beats_per_bar = tuple(int(b) for b in self.beats_per_bar)
        if not self.beats_per_bar or min(self.beats_per_bar) < 2:
            raise ValueError(f"beats_per_bar must hold integers >= 2, got {self.beats_per_bar}")
        _at_least("sample_rate", self.sample_rate, 8000)
        _at_least("hop_length", self.hop_length, 32)
        _positive("tempo_prior_bpm", self.tempo_prior_bpm)
        _positive("tempo_prior_octaves", self.tempo_prior_octaves)
        _at_least("threads", self.threads, 1)
        if self.offset_s is not None and abs(self.offset_s) > 0.5:
            raise ValueError(f"offset_s must be within +-0.5 s, got {self.offset_s}")
        if not self.phase_ratio > 1.0:
            raise ValueError(f"phase_ratio must be > 1 (the moved grid must be clearer), got {self.phase_ratio}")
        if not 1 <= self.networks <= 8:
            raise ValueError(f"networks must be in 1..8, got {self.networks}")
