"""The names of a dataset row's columns and of the measured attributes: the one place they are spelled.

Every producer and reader of a row imports them from here: the row schema
(:data:`mv2desc.data.schema.FEATURES`), the feature extractors (:mod:`mv2desc.audio`), the collator
(:mod:`mv2desc.model.audio_batch`), the prompt's context (:mod:`mv2desc.model.generation`), the
metadata-style describer (:mod:`mv2desc.describe.metadata`), attribute consistency
(:mod:`mv2desc.metrics.attributes`, :mod:`mv2desc.metrics.pairs`), the video source's prompts
(``data_prep/video/prompts.py``) and training / evaluation (``train/``). Plain strings, no imports:
every layer may read it.
"""

from __future__ import annotations

# -- identity, metadata, text ---------------------------------------------------------------------------
ID = "id"
ARTIST = "artist"
SONG = "song"  # the title
ALBUM = "album"
LANG = "lang"
TAGS = "tags"
GENRES = "genres"
LYRICS = "lyrics"
DESCRIPTION = "description"
DURATION = "duration_s"  # seconds of audio the row describes
METADATA_COLUMNS = (ARTIST, SONG, ALBUM, LANG, TAGS, GENRES)  # Music4All's descriptive metadata

# -- feature streams (the model's inputs) -----------------------------------------------------------------
LLD = "egemaps_lld"  # (T_lld, lld_dim) at the spec's lld_hop_s
FUNCTIONALS = "egemaps_functionals"  # (functionals_dim,)
CLAP_WINDOWS = "clap_windows"  # (W, clap_dim)
CLAP_STARTS = "clap_window_starts_s"  # (W,) seconds
CLAP_CLIP = "clap_clip"  # (clap_dim,)
ONSET = "onset_env"  # (T,) at the spec's rhythm_hop_s
RMS = "rms"  # (T,) frame RMS (also the describer's loudness contour)
BEATS = "beat_times_s"  # beat times, seconds
CHROMA = "chroma"  # (T_chroma, 12) at the spec's tonal_hop_s: pitch-class energy, each frame max-normalised
TONNETZ = "tonnetz"  # (T_chroma, 6) at the spec's tonal_hop_s: tonal centroids of those chroma frames

# Row columns of each stream (the producers write them, the collator reads them).
STREAM_COLUMNS: dict[str, tuple[str, ...]] = {
    "lld": (LLD,),
    "functionals": (FUNCTIONALS,),
    "clap": (CLAP_WINDOWS, CLAP_STARTS, CLAP_CLIP),
    "rhythm": (ONSET, RMS, BEATS),
    "tonal": (CHROMA, TONNETZ),  # per frame: 12 chroma + 6 tonnetz values (the spec's tonal_dim)
}
STREAMS = tuple(STREAM_COLUMNS)
AUDIO_COLUMNS: tuple[str, ...] = (DURATION,) + tuple(c for cols in STREAM_COLUMNS.values() for c in cols)

# -- measured attributes (librosa: not model inputs; what a description must agree with) ---------------------
TEMPO = "tempo_bpm"  # global tempo, BPM (0: no beats)
LOUDNESS = "rms_db_mean"  # mean frame RMS level, dBFS: the energy attribute's measure
KEY = "key"  # tonic name
MODE = "mode"  # "major" | "minor"
KEY_CONFIDENCE = "key_confidence"
CHROMA_MEAN = "chroma_mean"  # (12,)
ONSET_RATE = "onset_rate"  # detected onsets per second over the clip
RMS_DB_SLOPE = "rms_db_slope"  # dB per second: least-squares slope of the frame RMS level (0.0 for silence)

MEASURED_COLUMNS = (TEMPO, LOUDNESS, KEY, MODE)  # the measured attributes a description states
# attribute consistency: each attribute of a description and the column it is checked against
ATTRIBUTE_COLUMNS: dict[str, str] = {"tempo": TEMPO, "energy": LOUDNESS, "mode": MODE}
ATTRIBUTES = tuple(ATTRIBUTE_COLUMNS)
# measured for the prompt's context (onset density, the loudness contour inside the clip): stated facts, not
# checked attributes, so not in MEASURED_COLUMNS / ATTRIBUTE_COLUMNS
CONTEXT_COLUMNS = (ONSET_RATE, RMS_DB_SLOPE)
# a describe segment's place in its song (absent in dataset rows: a dataset row is a whole clip)
SEGMENT_INDEX = "segment_index"  # 0-based
N_SEGMENTS = "n_segments"
SECTION = "section"  # the segment's section name (intro, verse, chorus, ...) when the structure is known
# what the prompt's measured block states (mv2desc.data.measured), from a dataset row or a describe segment
PROMPT_MEASURED_COLUMNS = (TEMPO, KEY, MODE, LOUDNESS, DURATION, *CONTEXT_COLUMNS, SEGMENT_INDEX, N_SEGMENTS, SECTION)

# every feature column the extractors write (the stream columns and the measured ones), schema order
FEATURE_COLUMNS = (
    FUNCTIONALS, LLD, CLAP_WINDOWS, CLAP_STARTS, CLAP_CLIP, TEMPO, BEATS, ONSET, RMS, LOUDNESS, CHROMA, TONNETZ,
    CHROMA_MEAN, KEY, MODE, KEY_CONFIDENCE, ONSET_RATE, RMS_DB_SLOPE,
)
