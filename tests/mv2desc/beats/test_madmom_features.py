"""The block-wise spectral features (:class:`mv2desc.beats.madmom_features.MultiResolutionFeatures`) equal
madmom's own pre-processing of the downbeat networks, to float32 rounding, on music and on edge lengths;
the tracker uses them, and its beats are the ones madmom's features give."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.beats.madmom_backend import _processors, import_madmom, madmom_beats
from mv2desc.beats.madmom_features import MultiResolutionFeatures
from mv2desc.synth import SongSpec, render


def _madmom_features(y: np.ndarray) -> np.ndarray:
    madmom = import_madmom()
    from madmom.features.downbeats import RNNDownBeatProcessor

    return RNNDownBeatProcessor(num_threads=1).processors[0](madmom.audio.signal.Signal(y, sample_rate=44100))


@pytest.mark.parametrize("seconds", [9.3, 0.05, 1.0 + 17 / 44100])
def test_features_are_madmoms(seconds):
    rng = np.random.default_rng(3)
    y = render(SongSpec(tempo_bpm=131.0, energy=0.9, duration_s=max(seconds, 1.0), seed=2), 44100)[: int(seconds * 44100)]
    y = (y + rng.normal(0, 1e-3, y.shape)).astype(np.float32)
    want = _madmom_features(y)
    got = MultiResolutionFeatures()(y)
    assert got.dtype == np.float32 and got.shape == want.shape == (-(-y.size // 441), 314)
    assert np.abs(got - want).max() < 1e-5
    assert want.max() > 1.0  # music, not near-silence: the comparison is not one of zeros
    if len(want) > 100:  # every block of columns is used: spectra (3 resolutions) and their positive differences
        assert (want.max(axis=0) > 0).mean() > 0.9


def test_a_stereo_signal_is_refused():
    with pytest.raises(ValueError, match="mono"):
        MultiResolutionFeatures()(np.zeros((2, 44100), dtype=np.float32))


def test_the_tracker_uses_them_and_gets_madmoms_beats():
    rnn, _ = _processors(1, 8, (3, 4), 55.0, 215.0)
    assert isinstance(rnn.processors[0], MultiResolutionFeatures)
    madmom = import_madmom()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    y = render(SongSpec(tempo_bpm=104.0, energy=0.8, duration_s=14.0, seed=5), 44100).astype(np.float32)
    beats, downbeats = madmom_beats(y, threads=1)
    act = RNNDownBeatProcessor(num_threads=1)(madmom.audio.signal.Signal(y, sample_rate=44100))
    ref = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], min_bpm=55.0, max_bpm=215.0, fps=100)(act)
    assert len(beats) > 15
    np.testing.assert_allclose(beats, ref[:, 0], atol=1e-9)
    np.testing.assert_allclose(downbeats, ref[ref[:, 1] == 1, 0], atol=1e-9)
