"""Sync metrics of any video with sound: its visual beats against the music beats of its soundtrack.

The visual beats come from the whole video (hard cuts are detected and never counted as beats), or,
for a video assembled from segments, from its segments measured apart (a cut between each two, by
construction: :func:`~mv2desc.sync.visual_beats.measure_file_pieces`); the music beats from the
video's own audio stream or from a separate audio file.
"""

from __future__ import annotations

import os

from mv2desc.beats.tracking import MusicBeats, track_file
from mv2desc.errors import MediaError
from mv2desc.media.video import probe_video
from mv2desc.song import Song
from mv2desc.sync.config import MetricConfig, MusicBeatConfig, VisualBeatConfig
from mv2desc.sync.flow import MotionPiece
from mv2desc.sync.metrics import sync_scores
from mv2desc.sync.visual_beats import visual_beats_of_file, visual_beats_of_pieces


def score_video(
    video: str | os.PathLike,
    audio: Song | str | os.PathLike | None = None,
    *,
    music_cfg: MusicBeatConfig | None = None,
    visual_cfg: VisualBeatConfig | None = None,
    metric_cfg: MetricConfig | None = None,
    music: MusicBeats | None = None,
    pieces: list[MotionPiece] | None = None,
) -> dict:
    """BAS (both conventions), BCS and BHS of ``video`` against ``audio`` (default: its own soundtrack).

    Raises :class:`~mv2desc.media.video.MediaError` when the video cannot be read or, without
    ``audio``, has no sound. ``audio`` may be a :class:`~mv2desc.song.Song` (its ``beats(music_cfg)``,
    no decode). ``music``: the beats of ``audio`` when already tracked (the same
    :func:`~mv2desc.beats.track_file` result, so the figures equal a fresh call's). ``pieces``: the
    video's motion measured segment by segment (:func:`~mv2desc.sync.visual_beats.measure_file_pieces`,
    covering every frame); None measures the whole video as one.
    """
    metric_cfg = metric_cfg or MetricConfig()
    info = probe_video(video)
    if audio is None and not info.has_audio:
        raise MediaError("no_audio_stream", f"{video} has no audio stream; pass --audio SONG")
    if pieces is None:
        visual = visual_beats_of_file(video, visual_cfg)
    else:
        if sum(p.n_frames for p in pieces) != info.n_frames:
            raise ValueError(f"the pieces hold {sum(p.n_frames for p in pieces)} frames, {video} has {info.n_frames}")
        visual = visual_beats_of_pieces(pieces, info.fps, visual_cfg)
    if music is None:
        music = audio.beats(music_cfg) if isinstance(audio, Song) else track_file(audio if audio is not None else video, music_cfg)
    duration = min(info.duration_s, music.duration_s)
    scores = sync_scores(visual.times_s, music.beats_s, duration, sigma_s=metric_cfg.sigma_s, bin_s=metric_cfg.bin_s)
    return {
        "video": str(video),
        "audio": audio.source if isinstance(audio, Song) else str(audio if audio is not None else video),
        "duration_s": round(duration, 3),
        "fps": info.fps,
        "n_frames": info.n_frames,
        "video_duration_s": round(info.duration_s, 4),
        "sigma_s": metric_cfg.sigma_s,
        "bin_s": metric_cfg.bin_s,
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in scores.items()},
        "tempo": round(music.tempo_bpm, 2),
        "tracker": music.tracker,
        "low_motion": visual.low_motion,
        "visual_beats_s": [round(float(t), 4) for t in visual.times_s],
        "cuts_s": [round(float(t), 4) for t in visual.cuts_s],
        "music_beats_s": [round(float(t), 3) for t in music.beats_s],
    }
