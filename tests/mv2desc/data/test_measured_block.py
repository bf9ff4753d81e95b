"""The prompt's measured block states what was measured, in the class vocabulary, and only that."""

from __future__ import annotations

import pytest

from mv2desc.data.measured import loudness_contour, measured_block, position_text
from mv2desc.model.generation import PromptConfig, context_text

ROW = {"tempo_bpm": 103.6, "key": "D", "mode": "minor", "rms_db_mean": -24.4, "duration_s": 20.0,
       "rms_db_slope": 0.2, "onset_rate": 3.14}


def test_the_block_states_each_measured_value_in_the_shared_classes():
    assert measured_block(ROW) == "Measured: tempo 104 BPM (mid-tempo); key D minor; loudness moderate (-24 dB), rising; 3.1 onsets/s."
    fast_quiet = {**ROW, "tempo_bpm": 150.0, "rms_db_mean": -31.0, "rms_db_slope": -0.3, "mode": "major", "key": "F#"}
    assert measured_block(fast_quiet) == "Measured: tempo 150 BPM (fast); key F# major; loudness calm (-31 dB), falling; 3.1 onsets/s."


def test_missing_values_have_no_clause_and_no_beat_is_said():
    assert measured_block({}) == ""
    assert measured_block({"tempo_bpm": 0.0}) == "Measured: no steady beat."
    assert measured_block({"rms_db_mean": -18.0}) == "Measured: loudness intense (-18 dB)."  # no contour without slope


@pytest.mark.parametrize(("slope", "duration", "want"), [(0.2, 20.0, "rising"), (0.1, 20.0, "steady"), (-0.15, 20.0, "falling"),
                                                         (-0.14, 20.0, "steady"), (1.0, 2.0, "steady")])
def test_the_contour_is_the_level_change_over_the_row(slope, duration, want):
    assert loudness_contour(slope, duration) == want


def test_position_and_section():
    assert position_text(0, 1) == ""  # a whole song: no position (as a dataset clip)
    assert position_text(0, 6) == "opening segment 1 of 6"
    assert position_text(5, 6, "outro") == "closing segment 6 of 6, outro"
    assert position_text(2, 6, "chorus") == "segment 3 of 6, chorus"
    block = measured_block({**ROW, "segment_index": 2, "n_segments": 6, "section": "chorus"})
    assert block.endswith("; 3.1 onsets/s; segment 3 of 6, chorus.")


def test_the_prompt_carries_the_block_first_and_the_ablation_drops_it():
    row = {**ROW, "artist": "Someone", "song": "A Song"}
    on = context_text(row, PromptConfig(include_metadata=True))
    assert on.startswith("Measured: tempo 104 BPM") and "Artist: Someone." in on
    assert context_text(row, PromptConfig(include_measured=False)) == ""
    # an artifact saved before the block existed was trained without it
    assert PromptConfig.from_dict({"include_metadata": False}).include_measured is False
    assert PromptConfig.from_dict({"include_measured": True}).include_measured is True
