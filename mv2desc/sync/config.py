"""Settings of the beat-synchronisation engine (validated on construction).

Times are in seconds, rates in Hz, tempi in beats per minute. Every class raises ``ValueError`` naming
the offending field, so a typo in a flag is a one-line error, not a traceback deep in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mv2desc.beats.config import MusicBeatConfig
from mv2desc.sync.metrics import BAS_SIGMA_S, BIN_S
from mv2desc.validation import at_least as _at_least
from mv2desc.validation import one_of as _one_of
from mv2desc.validation import positive as _positive

RESAMPLE_MODES = ("auto", "flow", "nearest", "blend")
MATCHERS = ("dp", "greedy", "uniform")


@dataclass
class VisualBeatConfig:
    """Visual beats from dense optical flow (DIS), see :mod:`mv2desc.sync.visual_beats`.

    Args:
        flow_height: frames are downscaled to this height (pixels, aspect kept) before optical flow.
        direction_bins: bins of the magnitude-weighted flow-direction histogram.
        smooth_s: Gaussian smoothing of the impact envelope (standard deviation, seconds; 0 = none).
        highpass_s: the envelope minus its moving median over this window (seconds) is kept (0 = off:
            the impact of steady motion is already near zero).
        min_gap_s: two visual beats are at least this far apart (seconds).
        min_impact: absolute floor of a visual beat's impact (motion that ends, in frame heights per
            second averaged over the frame); below it, motion is taken for flow noise (heavy grain
            reaches about 0.002 at 24 fps).
        relative_threshold: a visual beat's impact is at least this fraction of the clip's largest.
        min_drop_fraction: a visual beat's deceleration removes at least this share of the motion it
            started from, direction by direction (1 = a full stop or a reversal; the jitter of a steady
            pan, or a slow-down, removes less).
        local_threshold: a visual beat's impact is at least this fraction of the largest motion within
            ``local_window_s`` before it (a floor relative to the motion around it, not to the clip).
        local_window_s: see ``local_threshold`` (seconds).
        cut_threshold: a frame where more than this share of the picture changed from the previous
            frame beyond what the optical flow explains (by over 10 grey levels), and more than
            ``cut_ratio`` times the clip's median share, is a hard cut (fast objects change only
            where they are; a cut changes nearly everything).
        cut_ratio: see ``cut_threshold``.
        low_motion: a clip whose motion (frame heights per second) stays below this in 90 % of its
            frames is reported as low-motion.
    """

    flow_height: int = 96
    direction_bins: int = 8
    smooth_s: float = 0.0
    highpass_s: float = 0.0
    min_gap_s: float = 0.2
    min_impact: float = 0.003
    relative_threshold: float = 0.1
    min_drop_fraction: float = 0.65
    local_threshold: float = 0.2
    local_window_s: float = 0.5
    cut_threshold: float = 0.3
    cut_ratio: float = 4.0
    low_motion: float = 0.01

    def __post_init__(self) -> None:
        _at_least("flow_height", self.flow_height, 16)
        _at_least("direction_bins", self.direction_bins, 1)
        _at_least("smooth_s", self.smooth_s, 0.0)
        _at_least("highpass_s", self.highpass_s, 0.0)
        _at_least("min_gap_s", self.min_gap_s, 0.0)
        _at_least("min_impact", self.min_impact, 0.0)
        if not 0.0 <= self.min_drop_fraction <= 1.0:
            raise ValueError(f"min_drop_fraction must be in [0, 1], got {self.min_drop_fraction}")
        if not 0.0 <= self.relative_threshold < 1.0:
            raise ValueError(f"relative_threshold must be in [0, 1), got {self.relative_threshold}")
        if not 0.0 <= self.local_threshold < 1.0:
            raise ValueError(f"local_threshold must be in [0, 1), got {self.local_threshold}")
        _at_least("local_window_s", self.local_window_s, 0.0)
        if not 0.0 < self.cut_threshold < 1.0:
            raise ValueError(f"cut_threshold must be in (0, 1), got {self.cut_threshold}")
        _at_least("cut_ratio", self.cut_ratio, 1.0)
        _at_least("low_motion", self.low_motion, 0.0)


@dataclass
class MatchConfig:
    """Matching visual beats to music beats and the local stretch it may cost.

    A stretch ratio is output duration / source duration of one warped interval (2 = slowed down 2x).

    Args:
        matcher: "dp" (optimal monotonic one-to-one matching), "greedy" (nearest music beat, in order)
            or "uniform" (no matching: each clip stretched evenly over its segment). The last two are
            the baselines.
        min_stretch: smallest stretch ratio of any interval.
        max_stretch: largest stretch ratio of any interval.
        skip_visual_cost: cost of leaving one visual beat unmatched.
        skip_music_cost: cost of passing over one music beat inside a matched interval.
        stretch_cost: weight of the squared log-ratio between an interval's stretch and its segment's
            mean stretch (penalises local speed changes).
        max_skip: a matched pair's predecessor is at most this many visual beats back (bounds the DP).
        prefer_downbeats: cut clips on downbeats when the tracker found them (else on beats).
        segment_margin: a clip's segment keeps its mean stretch within
            ``[min_stretch * margin, max_stretch / margin]`` when the song allows, leaving the matcher
            room to stretch intervals both ways.
        fill_stretch: when the clips are too short for the song, they are reused in order (0, 1, ...,
            n-1, 0, 1, ...) until they cover it at a global stretch of at most this (a warning says so);
            the output always lasts as long as the song.
        trim_stops: a visual beat near a clip's start or end that the matcher cannot put on a music beat
            within the stretch bounds is cut out of the material instead (the clip starts just after it
            or ends just before it) when the rest of the clip still fits its segment within the bounds;
            otherwise it is left unmatched (the report gives every visual beat's fate and the reason).
        trim_cost: cost of cutting one visual beat out of the material (compare ``skip_visual_cost``,
            the cost of leaving one unmatched, wherever it lands).
        trim_margin_frames: source frames kept between a trim and the visual beat it removes (the
            detector places a beat within one frame of the stop).
        end_on_last_frame: a clip's segment ends on its last frame rather than one frame period after
            it (when the stretch allows): holding the last frame freezes a moving picture just before
            the cut, a stop the clip does not have.
    """

    matcher: str = "dp"
    min_stretch: float = 0.5
    max_stretch: float = 2.0
    skip_visual_cost: float = 1.0
    skip_music_cost: float = 0.05
    stretch_cost: float = 0.5
    max_skip: int = 8
    prefer_downbeats: bool = True
    segment_margin: float = 1.25
    fill_stretch: float = 1.25
    trim_stops: bool = True
    trim_cost: float = 0.3
    trim_margin_frames: float = 1.0
    end_on_last_frame: bool = True

    def __post_init__(self) -> None:
        _one_of("matcher", self.matcher, MATCHERS)
        _positive("min_stretch", self.min_stretch)
        if not self.min_stretch <= 1.0 <= self.max_stretch:
            raise ValueError(f"need min_stretch <= 1 <= max_stretch, got {self.min_stretch}, {self.max_stretch}")
        _at_least("skip_visual_cost", self.skip_visual_cost, 0.0)
        _at_least("skip_music_cost", self.skip_music_cost, 0.0)
        _at_least("stretch_cost", self.stretch_cost, 0.0)
        _at_least("max_skip", self.max_skip, 1)
        _at_least("segment_margin", self.segment_margin, 1.0)
        if not 1.0 <= self.fill_stretch <= self.max_stretch:
            raise ValueError(f"fill_stretch must be in [1, max_stretch], got {self.fill_stretch}")
        _at_least("trim_cost", self.trim_cost, 0.0)
        _at_least("trim_margin_frames", self.trim_margin_frames, 0.0)


@dataclass
class RenderConfig:
    """Writing the synchronised video.

    Args:
        fps: output frame rate (24: a beat lands within 21 ms); 0 = the clips' highest frame rate.
        resample: "flow" (motion-compensated in-between frames, mv2desc.sync.interpolate), "nearest"
            (each output frame is the nearest source frame, held as long as the stretch needs) or
            "blend" (a cross-fade of the two source frames around the warped time); "auto" = "flow" when a
            clip has fewer frames per second than the output (a video model's 8 fps), else "blend".
        flow_height: working height of the interpolation's optical flow (pixels).
        width: output width in pixels; 0 = the first clip's (clips of other sizes are scaled to fit).
        height: output height in pixels; 0 = the first clip's.
        crf: H.264 constant rate factor (lower = better, larger).
        preset: x264 speed preset.
        audio_bitrate: AAC bit rate of the muxed song (bits per second).
    """

    fps: float = 24.0
    resample: str = "flow"
    flow_height: int = 180
    width: int = 0
    height: int = 0
    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: int = 192_000

    def __post_init__(self) -> None:
        _at_least("fps", self.fps, 0.0)
        _one_of("resample", self.resample, RESAMPLE_MODES)
        _at_least("flow_height", self.flow_height, 16)
        _at_least("width", self.width, 0)
        _at_least("height", self.height, 0)
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (H.264 4:2:0), got {self.width}x{self.height}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {self.crf}")
        _positive("audio_bitrate", self.audio_bitrate)


@dataclass
class MetricConfig:
    """Sync metrics.

    Args:
        sigma_s: BAS Gaussian width (seconds); the default is 3 frames at 60 fps, as in AIST++/FACT and Bailando.
        bin_s: bin length of BCS/BHS (seconds).
    """

    sigma_s: float = BAS_SIGMA_S
    bin_s: float = BIN_S

    def __post_init__(self) -> None:
        _positive("sigma_s", self.sigma_s)
        _positive("bin_s", self.bin_s)


@dataclass
class SyncConfig:
    """Everything ``mv2desc mv sync`` needs."""

    music: MusicBeatConfig = field(default_factory=MusicBeatConfig)
    visual: VisualBeatConfig = field(default_factory=VisualBeatConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    metrics: MetricConfig = field(default_factory=MetricConfig)
