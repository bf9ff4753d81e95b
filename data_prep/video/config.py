"""Settings of the ``video`` MV-description source (validated on construction)."""

from __future__ import annotations

from dataclasses import dataclass

_DEVICES = ("auto", "cpu", "cuda")
_DTYPES = ("auto", "bfloat16", "float16", "float32")
_ALIGN_FEATURES = ("onset", "chroma")
_SHOT_DETECTORS = ("content", "adaptive")


@dataclass
class VideoDescriptionConfig:
    """Describe a track from its music video: align the clip, split shots, caption keyframes, fuse.

    Args:
        captioner: vision-language model that captions keyframes: a Qwen-VL hub name or a local
            directory (e.g. Qwen/Qwen2.5-VL-7B-Instruct, Qwen/Qwen2.5-VL-3B-Instruct, /models/qwen2.5-vl).
        fuser: instruction-tuned LLM that fuses the shot captions (+ metadata) into one description, by
            hub name or local directory; "same" reuses the captioner model, text only (no second model).
        prompts: path to the prompts YAML (system prompt, per-keyframe caption prompt, fusion template).
        device: torch device for both models: "auto" (cuda when available), "cpu" or "cuda".
        dtype: model weights dtype: "auto" (bfloat16 on cuda, float32 on cpu), "bfloat16", "float16", "float32".
        max_shots: caption at most this many shots per clip (the longest ones are kept).
        min_shot_s: shots shorter than this (seconds) are merged into a neighbour before captioning.
        shot_detector: PySceneDetect detector: "content" (ContentDetector, hard cuts) or "adaptive"
            (AdaptiveDetector, more robust to fast camera motion).
        scene_threshold: ContentDetector threshold (higher = fewer cuts); the default is PySceneDetect's.
        adaptive_threshold: AdaptiveDetector threshold (higher = fewer cuts); the default is PySceneDetect's.
        frame_max_pixels: keyframes are downscaled to at most this many pixels (width x height) before
            captioning; Qwen-VL spends one visual token per 28x28 pixels.
        caption_batch_size: keyframes captioned per generate() call.
        caption_max_new_tokens: length limit of one keyframe caption (tokens).
        fuse_max_new_tokens: length limit of the fused description (tokens).
        align_feature: soundtrack feature cross-correlated to locate the clip in the video:
            "onset" (onset-strength envelope; rhythm) or "chroma" (12-bin chroma; harmony).
        align_sample_rate: audio rate for the alignment features (Hz).
        align_hop_length: hop between alignment feature frames (samples); hop / rate = time resolution.
        min_align_score: minimum normalised cross-correlation (-1..1) at the best offset; below it
            the video is taken not to contain the clip and the track is skipped (video_align_failed).
        align_parts: the clip is split into up to this many sub-windows, each located on its own, so
            that a video edited inside the clip (a radio edit, an MV cut) maps each part to its own
            frames or is rejected, never aligned as a whole to the wrong place; 1 = one window.
        align_min_part_s: sub-windows are at least this long (seconds); a shorter clip gets fewer parts.
        align_max_edit_s: largest shift (seconds) allowed between neighbouring parts' offsets (material
            removed or inserted by an edit); parts further apart than this are taken to disagree.
        min_align_part_score: in an edited video every part must score at least this much where the
            chain puts it, and a part that scores this much (and 0.1 more) far from its neighbours
            makes the parts disagree (video_align_failed).
        include_metadata: put artist, song, album, tags and genres into the fusion prompt.
        include_lyrics: put a lyrics excerpt into the fusion prompt (when the track has lyrics).
        lyrics_max_chars: length of the lyrics excerpt (characters, cut at a word boundary).
    """

    captioner: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    fuser: str = "same"
    prompts: str = "configs/prompts/video_description.yaml"
    device: str = "auto"
    dtype: str = "auto"
    max_shots: int = 8
    min_shot_s: float = 1.0
    shot_detector: str = "content"
    scene_threshold: float = 27.0
    adaptive_threshold: float = 3.0
    frame_max_pixels: int = 448 * 448
    caption_batch_size: int = 4
    caption_max_new_tokens: int = 64
    fuse_max_new_tokens: int = 256
    align_feature: str = "onset"
    align_sample_rate: int = 22050
    align_hop_length: int = 256
    min_align_score: float = 0.6
    align_parts: int = 4
    align_min_part_s: float = 6.0
    align_max_edit_s: float = 6.0
    min_align_part_score: float = 0.5
    include_metadata: bool = True
    include_lyrics: bool = True
    lyrics_max_chars: int = 600

    def __post_init__(self) -> None:
        if not self.captioner.strip():
            raise ValueError("video.captioner must be a model name or a local path, got an empty string")
        if not self.fuser.strip():
            raise ValueError('video.fuser must be a model name, a local path or "same", got an empty string')
        if not self.prompts.strip():
            raise ValueError("video.prompts must be the path of a prompts YAML, got an empty string")
        _one_of("device", self.device, _DEVICES)
        _one_of("dtype", self.dtype, _DTYPES)
        _one_of("align_feature", self.align_feature, _ALIGN_FEATURES)
        _one_of("shot_detector", self.shot_detector, _SHOT_DETECTORS)
        _int_at_least("max_shots", self.max_shots, 1)
        _at_least("min_shot_s", self.min_shot_s, 0.0)
        _at_least("scene_threshold", self.scene_threshold, 0.0)
        _at_least("adaptive_threshold", self.adaptive_threshold, 0.0)
        _int_at_least("frame_max_pixels", self.frame_max_pixels, 28 * 28)
        _int_at_least("caption_batch_size", self.caption_batch_size, 1)
        _int_at_least("caption_max_new_tokens", self.caption_max_new_tokens, 1)
        _int_at_least("fuse_max_new_tokens", self.fuse_max_new_tokens, 1)
        _int_at_least("align_sample_rate", self.align_sample_rate, 4000)
        _int_at_least("align_hop_length", self.align_hop_length, 32)
        _int_at_least("lyrics_max_chars", self.lyrics_max_chars, 0)
        if not -1.0 <= self.min_align_score <= 1.0:
            raise ValueError(f"video.min_align_score must be in [-1, 1], got {self.min_align_score}")
        _int_at_least("align_parts", self.align_parts, 1)
        _at_least("align_min_part_s", self.align_min_part_s, 0.5)
        _at_least("align_max_edit_s", self.align_max_edit_s, 0.0)
        if isinstance(self.min_align_part_score, bool) or not -1.0 <= self.min_align_part_score <= 1.0:
            raise ValueError(f"video.min_align_part_score must be in [-1, 1], got {self.min_align_part_score}")

    @property
    def fuser_is_captioner(self) -> bool:
        """True when the fusion step reuses the captioner model (``fuser="same"``)."""
        return self.fuser == "same" or self.fuser == self.captioner


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"video.{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")


def _int_at_least(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"video.{name} must be an integer >= {low}, got {value!r}")


def _at_least(name: str, value: float, low: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ValueError(f"video.{name} must be a number >= {low}, got {value!r}")
