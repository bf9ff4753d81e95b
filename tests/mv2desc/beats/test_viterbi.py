"""The memory-bounded Viterbi (:mod:`mv2desc.beats.viterbi`) decodes madmom's downbeat HMMs to madmom's own
path and log probability, bit for bit, whatever the block size; the tracker decodes with it."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.beats.madmom_backend import _processors, import_madmom, madmom_beats
from mv2desc.beats.viterbi import viterbi
from mv2desc.synth import SongSpec, render


def _dbn():
    import_madmom()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    return DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], min_bpm=80.0, max_bpm=160.0, fps=100)


def _activations(seconds: float, seed: int) -> np.ndarray:
    """``(T, 2)`` beat / downbeat activations: noisy peaks on a 118 bpm grid in 4/4, with a weak off-beat."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 100)) / 100
    phase = (t / (60 / 118)) % 1
    beat = np.exp(-((np.minimum(phase, 1 - phase) / 0.04) ** 2))
    bar = np.exp(-((np.minimum((t / (4 * 60 / 118)) % 1, 1 - (t / (4 * 60 / 118)) % 1) / 0.01) ** 2))
    act = np.stack([beat * (1 - bar) * 0.8 + 0.15 * np.exp(-(((phase - 0.5) / 0.05) ** 2)), bar * 0.8], axis=1)
    act = act + rng.uniform(0, 0.08, act.shape)
    return (act * np.minimum(1.0, 0.95 / act.sum(axis=1, keepdims=True))).astype(np.float32)  # beat + downbeat < 1


@pytest.mark.parametrize("block", [None, 1, 37, 10_000])
def test_path_and_probability_are_madmoms(block):
    dbn = _dbn()
    act = _activations(12.0, seed=block or 0)
    for hmm in dbn.hmms:
        want_path, want_logp = hmm.viterbi(act)
        path, logp = viterbi(hmm, act, block=block)
        assert path.dtype == np.uint32 and np.array_equal(path, want_path)
        assert logp == want_logp  # the same arithmetic in the same order: equal, not close


def test_no_finite_path_gives_an_empty_one_with_a_warning():
    dbn = _dbn()
    act = _activations(3.0, seed=1)
    hmm = dbn.hmms[0]
    # an initial distribution with all its mass on one state no transition leaves (none): only -inf paths
    import copy

    stuck = copy.copy(hmm)
    stuck.initial_distribution = np.zeros(hmm.transition_model.num_states)
    with pytest.warns(RuntimeWarning, match="-inf log probability"):
        path, logp = viterbi(stuck, act)
    assert path.size == 0 and np.isneginf(logp)


def test_the_tracker_decodes_with_it(monkeypatch):
    """``madmom_beats`` goes through :func:`viterbi` (not madmom's), and gets madmom's beats."""
    import mv2desc.beats.viterbi as module

    y = render(SongSpec(tempo_bpm=120.0, energy=0.8, duration_s=10.0, seed=4), 44100)
    rnn, _ = _processors(1, 2, (3, 4), 55.0, 215.0)
    calls = []
    real = module.viterbi
    monkeypatch.setattr(module, "viterbi", lambda *a, **k: calls.append(1) or real(*a, **k))
    beats, downbeats = madmom_beats(y, threads=1, networks=2)
    assert len(calls) == 2 and len(beats) >= 15  # one decode per bar length
    madmom = import_madmom()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    act = rnn(madmom.audio.signal.Signal(y.astype(np.float32), sample_rate=44100))
    own = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], min_bpm=55.0, max_bpm=215.0, fps=100)(act)  # madmom's decoding
    assert np.array_equal(beats, own[:, 0]) and np.array_equal(downbeats, own[own[:, 1] == 1, 0])


def test_an_activation_of_one_decodes_without_a_warning():
    """madmom's observation model takes log(1 - activation): an activation of exactly 1 is a -inf log
    density, a normal case that madmom's own decoding passes silently; so does this one."""
    import warnings

    hmm = _dbn().hmms[1]
    act = _activations(6.0, seed=3)
    act[100] = (1.0, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path, logp = viterbi(hmm, act)
    want_path, want_logp = hmm.viterbi(act)
    assert np.array_equal(path, want_path) and logp == want_logp
