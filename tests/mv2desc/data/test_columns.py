"""The names of a row's columns and of the measured attributes are spelled once, in mv2desc.data.columns
(issue 19 item 4): the row schema, the extractors, the collator, the prompt context, the describer, the
attribute metric, the video source's prompts and training / evaluation all read them from there. Each
check compares what a consumer actually reads or writes with that module's names."""

from __future__ import annotations

import numpy as np

from mv2desc.data import columns as c
from mv2desc.data.schema import FEATURE_COLUMNS, FEATURES


def _measured_row() -> dict:
    return {c.TEMPO: 126.0, c.LOUDNESS: -18.0, c.KEY: "A", c.MODE: "minor"}


def test_the_row_schema_declares_every_named_column():
    named = {*c.FEATURE_COLUMNS, *c.AUDIO_COLUMNS, *c.MEASURED_COLUMNS, *c.METADATA_COLUMNS, c.ID, c.LYRICS, c.DESCRIPTION}
    assert named <= set(FEATURES)
    assert set(FEATURE_COLUMNS) == set(c.FEATURE_COLUMNS)
    assert {col for cols in c.STREAM_COLUMNS.values() for col in cols} | set(c.MEASURED_COLUMNS) <= set(c.FEATURE_COLUMNS)
    assert set(c.CONTEXT_COLUMNS) <= set(c.FEATURE_COLUMNS) and set(c.CONTEXT_COLUMNS) == {"onset_rate", "rms_db_slope"}
    assert set(c.ATTRIBUTE_COLUMNS.values()) <= set(c.MEASURED_COLUMNS)
    assert not set(c.CONTEXT_COLUMNS) & (set(c.ATTRIBUTE_COLUMNS.values()) | set(c.MEASURED_COLUMNS))  # stated, not checked


def test_the_extractors_write_the_named_columns():
    from mv2desc.audio.rhythm_features import RhythmExtractor
    from mv2desc.data.feature_config import RhythmSettings
    from mv2desc.synth import SongSpec, render

    y = render(SongSpec(tempo_bpm=120.0, duration_s=4.0, seed=1), 22050)
    out = RhythmExtractor(RhythmSettings())(y)
    assert set(out) == (set(c.STREAM_COLUMNS["rhythm"]) | set(c.STREAM_COLUMNS["tonal"]) | set(c.CONTEXT_COLUMNS)
                        | {c.TEMPO, c.LOUDNESS, c.KEY, c.MODE, c.KEY_CONFIDENCE, c.CHROMA_MEAN})


def test_the_describer_and_the_video_prompts_read_the_measured_columns():
    from data_prep.video import prompts
    from mv2desc.describe import metadata

    assert set(metadata.MEASURED) == set(c.MEASURED_COLUMNS)
    assert set(metadata.measured_attributes({**_measured_row(), "other": 1})) == set(c.MEASURED_COLUMNS)
    assert metadata.CONTOUR in c.STREAM_COLUMNS["rhythm"]
    assert "126 BPM" in metadata.describe(metadata.SongFacts(id="x"), _measured_row(), None)
    assert set(prompts.MEASURED_FIELDS) == set(c.MEASURED_COLUMNS)
    assert set(prompts.METADATA_FIELDS) == set(c.METADATA_COLUMNS)
    assert set(prompts._measured_values(_measured_row())) == set(c.MEASURED_COLUMNS)
    assert set(c.MEASURED_COLUMNS) | set(c.METADATA_COLUMNS) <= prompts.FUSION_PLACEHOLDERS


def test_the_metric_and_evaluation_use_the_named_attributes():
    from mv2desc.metrics import attributes, pairs
    from train.ablation import summarise
    from train.data import RowDataset
    from train.evaluate import measured

    assert set(attributes.ATTRIBUTES) == set(c.ATTRIBUTE_COLUMNS)
    only_named = {col: _measured_row()[col] for col in c.ATTRIBUTE_COLUMNS.values()}
    assert set(attributes.audio_classes(only_named)) == set(c.ATTRIBUTE_COLUMNS)
    assert set(attributes.text_classes("A slow, calm, bright video.")) == set(c.ATTRIBUTE_COLUMNS)
    assert set(attributes.attribute_consistency(["slow"], [only_named])) >= set(c.ATTRIBUTE_COLUMNS)
    assert set(pairs._ATTRIBUTE_KEYS) == set(c.ATTRIBUTE_COLUMNS.values())
    assert pairs._attributes(only_named, "line 1") == only_named
    assert set(RowDataset.MEASURED) == set(c.ATTRIBUTE_COLUMNS.values()) | set(c.PROMPT_MEASURED_COLUMNS)
    assert set(c.CONTEXT_COLUMNS) <= set(RowDataset.COLUMNS)  # the prompt's onset_rate / rms_db_slope reach training
    assert set(c.ATTRIBUTE_COLUMNS.values()) | set(c.AUDIO_COLUMNS) <= set(RowDataset.COLUMNS)
    assert set(measured({**_measured_row(), c.ID: "x"})) == set(c.ATTRIBUTE_COLUMNS.values())
    run = {"bleu4": 0.0, "cider": 0.0, "attributes": 0.0, "per_attribute": dict.fromkeys(c.ATTRIBUTES, 0.5)}
    assert set(c.ATTRIBUTES) <= set(summarise([run]))


def test_the_prompt_context_and_the_collator_read_the_named_columns():
    from mv2desc.data.spec import FeatureSpec
    from mv2desc.model.audio_batch import collate_audio
    from mv2desc.model.config import AudioEncoderConfig
    from mv2desc.model.generation import PromptConfig, context_text

    row = {c.ARTIST: "The Band", c.SONG: "The Song", c.TAGS: ["rock"], c.GENRES: ["indie"], c.LYRICS: "la la"}
    text = context_text(row, PromptConfig(include_metadata=True, include_lyrics=True))
    assert all(v in text for v in ("The Band", "The Song", "rock", "indie", "la la"))
    cfg = AudioEncoderConfig(clap_dim=4)
    full = {c.DURATION: 2.0, c.LLD: np.ones((3, cfg.lld_dim)), c.FUNCTIONALS: np.ones(cfg.functionals_dim),
            c.CLAP_WINDOWS: np.ones((1, 4)), c.CLAP_STARTS: [0.0], c.CLAP_CLIP: np.ones(4),
            c.ONSET: np.ones(5), c.RMS: np.ones(5), c.BEATS: [0.1], c.CHROMA: np.ones((2, 12)), c.TONNETZ: np.ones((2, 6))}
    assert set(full) == set(c.AUDIO_COLUMNS)
    batch = collate_audio([full], cfg, FeatureSpec(clap_dim=4))
    assert batch.lld_mask.all() and batch.functionals_mask.all() and batch.clap_mask.all() and batch.clap_clip_mask.all()
    assert batch.rhythm_mask.all() and batch.tonal_mask.all() and float(batch.duration_s[0]) == 2.0
