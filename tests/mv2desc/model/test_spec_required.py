"""Rows become model inputs only with their own FeatureSpec (issue 19 item 4): a caller that forgets it
is refused at once, naming where the spec comes from, instead of silently getting the default hops."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.data.spec import FeatureSpec
from mv2desc.model.audio_batch import AudioBatch, collate_audio, empty_audio
from mv2desc.model.config import AudioEncoderConfig
from mv2desc.model.generation import GenerationCollator, PromptConfig
from train.config import DataConfig
from train.data import TrainCollator

CFG = AudioEncoderConfig(clap_dim=4)
ROW = {"duration_s": 2.0, "onset_env": np.ones(8, np.float32), "rms": np.ones(8, np.float32), "beat_times_s": [0.5]}


def test_collating_rows_without_their_spec_is_refused():
    with pytest.raises(TypeError, match="spec"):
        collate_audio([ROW], CFG)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="collate_audio needs the FeatureSpec of the rows .*no default spec"):
        collate_audio([ROW], CFG, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [
    lambda spec: GenerationCollator(None, PromptConfig(), CFG, spec),
    lambda spec: TrainCollator(None, DataConfig(), CFG, spec),
], ids=["generation", "training"])
def test_the_collators_need_a_spec(make):
    with pytest.raises(TypeError, match="Collator needs the FeatureSpec of the rows"):
        make(None)


def test_the_batch_carries_the_rows_timing():
    spec = FeatureSpec(rhythm_hop_s=0.25, lld_hop_s=0.1, clap_window_s=4.0, clap_hop_s=2.0, clap_dim=4)
    batch = collate_audio([ROW], CFG, spec)
    assert (batch.rhythm_hop_s, batch.lld_hop_s, batch.clap_window_s) == (0.25, 0.1, 4.0)
    assert batch.rhythm[0, :, 2].nonzero().flatten().tolist() == [2]  # the beat at 0.5 s, in 0.25 s frames
    with pytest.raises(TypeError):
        AudioBatch(**{k: getattr(batch, k) for k in AudioBatch.__dataclass_fields__ if not k.endswith(("hop_s", "window_s"))})
    assert not empty_audio(2, CFG).rhythm_mask.any()  # no rows: nothing is read with any timing
