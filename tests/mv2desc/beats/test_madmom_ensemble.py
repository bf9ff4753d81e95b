"""The downbeat networks run side by side (``BatchedEnsemble``) give madmom's own ensemble's activations
(to float32 rounding) on the same features, for the whole ensemble and a part of it, and the tracker
uses it."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.beats.madmom_backend import _processors, import_madmom
from mv2desc.beats.madmom_ensemble import BatchedEnsemble
from mv2desc.synth import SongSpec, render


def _networks(n: int):
    import_madmom()
    from madmom.ml.nn import NeuralNetwork, NeuralNetworkEnsemble
    from madmom.models import DOWNBEATS_BLSTM

    return [NeuralNetwork.load(f) for f in DOWNBEATS_BLSTM[:n]], NeuralNetworkEnsemble.load(DOWNBEATS_BLSTM[:n], num_threads=1)


@pytest.mark.parametrize("n", [8, 3])
def test_batched_activations_are_madmoms(n):
    networks, madmom_ensemble = _networks(n)
    # the features madmom's pre-processing makes of 8 s of a synthetic song at 120 bpm (800 frames x 314)
    madmom = import_madmom()
    y = render(SongSpec(tempo_bpm=120.0, energy=0.8, duration_s=8.0, seed=n), 44100)
    from madmom.features.downbeats import RNNDownBeatProcessor

    x = RNNDownBeatProcessor(num_threads=1).processors[0](madmom.audio.signal.Signal(y.astype(np.float32), sample_rate=44100))
    ref = madmom_ensemble(x)
    got = BatchedEnsemble(networks)(x)
    assert got.shape == ref.shape == (800, 3)
    assert np.abs(got - ref).max() < 1e-5
    assert ref[:, 1:].max() > 0.2  # the song's beats excite the beat outputs (not a comparison of near-zeros)


def test_the_tracker_runs_the_batched_ensemble():
    rnn, _ = _processors(1, 8, (3, 4), 55.0, 215.0)
    assert isinstance(rnn.processors[1], BatchedEnsemble) and rnn.processors[1].n_networks == 8


def test_an_empty_ensemble_is_refused():
    with pytest.raises(ValueError, match="no networks"):
        BatchedEnsemble([])
