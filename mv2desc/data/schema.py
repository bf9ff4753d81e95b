"""Columns of the dataset: one row per clip. Plain Arrow types only (lists of floats, not extension
types), so pandas and pyarrow read the Parquet without this project or `datasets` installed."""

from __future__ import annotations

from typing import Any

import numpy as np
from datasets import Features, List, Value

f32 = Value("float32")
FEATURES = Features(
    {
        "id": Value("string"),
        "split": Value("string"),
        "artist": Value("string"),
        "song": Value("string"),
        "album": Value("string"),
        "lang": Value("string"),
        "tags": List(Value("string")),
        "genres": List(Value("string")),
        "spotify_id": Value("string"),
        "release": Value("string"),
        "popularity": f32,
        "danceability": f32,
        "energy": f32,
        "spotify_key": f32,
        "spotify_mode": f32,
        "valence": f32,
        "spotify_tempo": f32,
        "duration_ms": f32,
        "lyrics": Value("string"),
        "audio_path": Value("string"),  # relative to the Music4All root
        "duration_s": f32,
        "source_sample_rate": Value("int32"),
        # openSMILE eGeMAPSv02
        "egemaps_functionals": List(f32),  # (88,)
        "egemaps_lld": List(List(f32)),  # (T_lld, 25), hop in manifest features.opensmile.lld_hop_s
        # CLAP
        "clap_windows": List(List(f32)),  # (W, D)
        "clap_window_starts_s": List(f32),  # (W,)
        "clap_clip": List(f32),  # (D,)
        # librosa
        "tempo_bpm": f32,
        "beat_times_s": List(f32),
        "onset_env": List(f32),  # (T,), hop in manifest features.rhythm.frame_hop_s
        "rms": List(f32),  # (T,)
        "rms_db_mean": f32,
        "chroma": List(List(f32)),  # (T_chroma, 12)
        "chroma_mean": List(f32),  # (12,)
        "key": Value("string"),
        "mode": Value("string"),
        "key_confidence": f32,
        # MV description
        "description": Value("string"),
        "description_source": Value("string"),  # "metadata" | "video"
        "description_model": Value("string"),  # "" for the template, else captioner + fuser
        "video_offset_s": f32,  # clip start inside the music video (video source)
        "video_align_score": f32,
        "video_align_parts": List(List(f32)),  # (n_parts, 4) clip start s, clip end s, video offset s, score
        "video_align_agreement": f32,  # 0..1: every part's own best match is where the others put it (1)
        "shots": List(List(f32)),  # (n_shots, 2) start/end seconds relative to the clip
        "shot_captions": List(Value("string")),
    }
)

FEATURE_COLUMNS = (
    "egemaps_functionals", "egemaps_lld", "clap_windows", "clap_window_starts_s", "clap_clip", "tempo_bpm",
    "beat_times_s", "onset_env", "rms", "rms_db_mean", "chroma", "chroma_mean", "key", "mode", "key_confidence",
)


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """Fill absent columns with empty values and turn numpy into Python lists, in FEATURES order."""
    row: dict[str, Any] = {}
    for name, feature in FEATURES.items():
        v = values.get(name)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        if v is None and isinstance(feature, List):
            v = []
        row[name] = v
    return row
