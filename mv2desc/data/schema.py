"""Columns of the dataset: one row per clip. Plain Arrow types only (lists of floats, not extension
types), so pandas and pyarrow read the Parquet without this project or `datasets` installed. The
names of the columns that code reads are spelled once, in :mod:`mv2desc.data.columns`."""

from __future__ import annotations

from typing import Any

import numpy as np
from datasets import Features, List, Value

from mv2desc.data import columns as c

f32 = Value("float32")
FEATURES = Features(
    {
        c.ID: Value("string"),
        "split": Value("string"),
        c.ARTIST: Value("string"),
        c.SONG: Value("string"),
        c.ALBUM: Value("string"),
        c.LANG: Value("string"),
        c.TAGS: List(Value("string")),
        c.GENRES: List(Value("string")),
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
        c.LYRICS: Value("string"),
        "audio_path": Value("string"),  # relative to the Music4All root
        c.DURATION: f32,
        "source_sample_rate": Value("int32"),
        # openSMILE eGeMAPSv02
        c.FUNCTIONALS: List(f32),  # (88,)
        c.LLD: List(List(f32)),  # (T_lld, 25), hop: the feature spec's lld_hop_s
        # CLAP
        c.CLAP_WINDOWS: List(List(f32)),  # (W, D)
        c.CLAP_STARTS: List(f32),  # (W,)
        c.CLAP_CLIP: List(f32),  # (D,)
        # librosa
        c.TEMPO: f32,
        c.BEATS: List(f32),
        c.ONSET: List(f32),  # (T,), hop: the feature spec's rhythm_hop_s
        c.RMS: List(f32),  # (T,)
        c.LOUDNESS: f32,
        c.CHROMA: List(List(f32)),  # (T_chroma, 12), hop: the feature spec's tonal_hop_s
        c.TONNETZ: List(List(f32)),  # (T_chroma, 6), the same frames
        c.CHROMA_MEAN: List(f32),  # (12,)
        c.KEY: Value("string"),
        c.MODE: Value("string"),
        c.KEY_CONFIDENCE: f32,
        c.ONSET_RATE: f32,  # onsets per second
        c.RMS_DB_SLOPE: f32,  # dB per second
        # MV description
        c.DESCRIPTION: Value("string"),
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
FEATURE_COLUMNS = c.FEATURE_COLUMNS  # the extractors' columns (names: mv2desc.data.columns)


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
