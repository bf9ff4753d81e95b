"""The ``video`` MV-description source: clip + music video -> one description of what the video shows.

Pipeline for one track (each step in its own module):

1. :mod:`.align`     locate the clip in the video's soundtrack (normalised cross-correlation);
2. :mod:`.shots`     cut the aligned window into shots (PySceneDetect), merge short ones, keep the longest;
3. :mod:`.keyframes` the middle frame of each shot;
4. :mod:`.models`    caption each keyframe with a Qwen-VL model, then fuse the captions (+ metadata,
   lyrics, measured acoustic attributes, per :mod:`.prompts`) with an instruction LLM.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from data_prep.tracks import Track
from data_prep.video import errors as E
from data_prep.video.align import locate_clip
from data_prep.video.config import VideoDescriptionConfig
from data_prep.video.errors import VideoDescriptionError
from data_prep.video.keyframes import shot_keyframes
from data_prep.video.prompts import VideoPrompts, build_fusion_prompt, load_prompts, resolve_prompts_path
from data_prep.video.shots import detect_shots, select_shots

SOURCE = "video"


@dataclass
class VideoDescription:
    """One track's MV description and how it was made.

    ``offset_s`` is where the clip starts in the video; ``shots`` are the captioned shots as
    (start_s, end_s) in the video's timeline, in time order, parallel to ``shot_captions``;
    ``prompt`` is the fusion prompt; ``captioner`` / ``fuser`` are the model names or paths used.
    """

    text: str
    offset_s: float
    align_score: float
    shots: list[tuple[float, float]]
    shot_captions: list[str]
    prompt: str
    captioner: str
    fuser: str
    n_shots_detected: int = 0  # shots in the window after merging, before the max_shots selection
    # piecewise alignment: [clip_start_s, clip_end_s, video offset_s, score] per part of the clip (clip time
    # t in a part is at video time t + offset_s; offsets differ when the video is an edit), and the
    # parts' agreement (0..1, 1 = every part's own best match is where the others put it)
    align_parts: list[list[float]] = field(default_factory=list)
    align_agreement: float = 1.0
    source: str = field(default=SOURCE)

    def to_clip_time(self, t_video: float) -> float:
        """A video time as clip time, through the part of the clip shown there (an edit shifts the
        parts after the cut); times outside every part use the nearest part's offset."""
        if not self.align_parts:
            return t_video - self.offset_s
        best = min(self.align_parts, key=lambda p: 0.0 if p[0] + p[2] <= t_video < p[1] + p[2] else
                   min(abs(t_video - p[0] - p[2]), abs(t_video - p[1] - p[2])))
        return t_video - best[2]


def fingerprint_payload(cfg: VideoDescriptionConfig) -> dict[str, Any]:
    """JSON-able identity of the descriptions ``cfg`` produces: the settings + the prompts file's content hash.

    Feed it to :func:`mv2desc.fingerprint.fingerprint` for a cache key; editing the prompts changes it.
    """
    path = resolve_prompts_path(cfg.prompts)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None
    return {"source": SOURCE, "config": asdict(cfg), "prompts_sha256": digest}


class VideoDescriber:
    """Describes tracks from their music videos; models are loaded on first use, once per process.

    The prompts file is read and validated at construction, so a bad prompts file fails before
    any video is processed.
    """

    def __init__(self, cfg: VideoDescriptionConfig) -> None:
        self.cfg = cfg
        self.prompts: VideoPrompts = load_prompts(cfg.prompts)
        self._captioner: Any = None
        self._fuser: Any = None

    @property
    def captioner(self) -> Any:
        """The keyframe captioner (:class:`data_prep.video.models.VisionLanguageModel`), loaded lazily."""
        if self._captioner is None:
            from data_prep.video.models import load_captioner

            self._captioner = load_captioner(self.cfg.captioner, self.cfg.device, self.cfg.dtype)
        return self._captioner

    @property
    def fuser(self) -> Any:
        """The fusion model: the captioner itself (text only) when ``fuser="same"``, else a causal LM."""
        if self._fuser is None:
            if self.cfg.fuser_is_captioner:
                self._fuser = self.captioner
            else:
                from data_prep.video.models import load_fuser

                self._fuser = load_fuser(self.cfg.fuser, self.cfg.device, self.cfg.dtype)
        return self._fuser

    @property
    def fuser_name(self) -> str:
        return self.cfg.captioner if self.cfg.fuser_is_captioner else self.cfg.fuser

    def describe(
        self,
        track: Track,
        clip_audio: tuple[np.ndarray, int],
        video_path: Path,
        measured: dict,
    ) -> VideoDescription:
        """Describe ``track``'s music video around the clip.

        Args:
            track: the track (metadata, tags, genres, lyrics path go into the fusion prompt).
            clip_audio: the track's clip as (y (n,) float mono, sample rate).
            video_path: the track's full music video (any container FFmpeg reads, with its soundtrack).
            measured: measured acoustic attributes, e.g. {"tempo_bpm": 120.0, "key": "A", "mode": "minor",
                "rms_db_mean": -20.0}; missing keys are written as the prompts' ``missing`` text.

        Raises:
            VideoDescriptionError: the video cannot be used; ``reason`` is one of
                :data:`data_prep.video.errors.REASONS` (video_missing, video_unreadable, video_no_audio,
                video_too_short, video_align_failed, video_no_frames, clip_empty, description_empty).
        """
        cfg = self.cfg
        video_path = Path(video_path)
        if not video_path.is_file():
            raise VideoDescriptionError(E.VIDEO_MISSING, f"no such file: {video_path}")
        alignment = locate_clip(
            clip_audio,
            video_path,
            feature=cfg.align_feature,
            sample_rate=cfg.align_sample_rate,
            hop_length=cfg.align_hop_length,
            parts=cfg.align_parts,
            min_part_s=cfg.align_min_part_s,
            max_edit_s=cfg.align_max_edit_s,
            min_part_score=cfg.min_align_part_score,
        )
        offset_s, score = alignment
        if score < cfg.min_align_score:
            raise VideoDescriptionError(
                E.VIDEO_ALIGN_FAILED,
                f"best {cfg.align_feature} correlation {score:.3f} at {offset_s:.2f}s is below {cfg.min_align_score}"
                + (f" ({alignment.summary()})" if len(alignment.parts) > 1 else ""),
            )
        clip_s = len(clip_audio[0]) / float(clip_audio[1])
        threshold = cfg.scene_threshold if cfg.shot_detector == "content" else cfg.adaptive_threshold
        all_shots = detect_shots(
            video_path,
            offset_s,
            alignment.end_offset_s + clip_s,  # an edit shifts the end of the clip's window
            detector=cfg.shot_detector,
            threshold=threshold,
            min_shot_s=cfg.min_shot_s,
        )
        shots = select_shots(all_shots, cfg.max_shots)
        frames = shot_keyframes(video_path, shots, cfg.frame_max_pixels)
        captions = self.captioner.caption(
            frames,
            self.prompts.system,
            self.prompts.caption,
            batch_size=cfg.caption_batch_size,
            max_new_tokens=cfg.caption_max_new_tokens,
        )
        prompt = build_fusion_prompt(track, captions, measured, cfg, self.prompts, shots=shots)
        text = self.fuser.chat(self.prompts.system, prompt, max_new_tokens=cfg.fuse_max_new_tokens).strip()
        if not text:
            raise VideoDescriptionError(E.DESCRIPTION_EMPTY, f"the fuser {self.fuser_name!r} returned no text")
        return VideoDescription(
            text=text,
            offset_s=float(offset_s),
            align_score=float(score),
            shots=[(round(a, 3), round(b, 3)) for a, b in shots],
            shot_captions=captions,
            prompt=prompt,
            captioner=self.cfg.captioner,
            fuser=self.fuser_name,
            n_shots_detected=len(all_shots),
            align_parts=[[p.clip_start_s, p.clip_end_s, p.offset_s, p.score] for p in alignment.parts],
            align_agreement=float(alignment.agreement),
        )
