"""Viterbi decoding of a madmom HMM in bounded memory, with madmom's result.

madmom's ``HiddenMarkovModel.viterbi`` keeps a back-pointer for every state at every frame: for its
downbeat DBN (bar lengths 3 and 4, 55-215 bpm, 100 frames/s) that is 11,157 + 14,876 states x 20,716
frames of a 207 s song, 2.2 GB of ``uint32`` written once. Allocating and touching that much fresh
memory dominated ``describe`` on our 2-core virtual machines (the kernel zeroing pages: 34 % of the
command's CPU samples, and its sys time varied 6-15 s from run to run).

:func:`viterbi` runs the same recursion twice instead (checkpointing, a classic time-memory trade): a
forward pass keeps the Viterbi variables every ``block`` frames; then, from the last block back to the first, each block is recomputed from its checkpoint with its back-pointers
(``block x states``) and the path is traced through it. About sqrt(2 T) frames per block: 24 MB
instead of 1.2 GB for the larger HMM above, for twice the arithmetic (the cheap part). The recursion
is madmom's, term for term (``(previous + log transition) + log density``, the first best predecessor
in madmom's order kept): the path and its log probability are madmom's, bit for bit (tested). No
library offers a memory-bounded Viterbi over madmom's sparse transition model, hence this module.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _advance(prev, densities, om_pointers, tm_states, tm_pointers, tm_log_probabilities, start, stop, bt):  # pragma: no cover - compiled
    """Frames ``start..stop-1`` of the recursion from ``prev`` (the variables before ``start``, ``(S,)``
    float64, updated in place); with ``bt`` of ``stop - start`` rows, each frame's back-pointers."""
    num_states = prev.shape[0]
    cur = np.empty(num_states)
    keep = bt.shape[0] > 0
    for frame in range(start, stop):
        for state in range(num_states):
            best = -np.inf
            density = densities[frame, om_pointers[state]]
            for pointer in range(tm_pointers[state], tm_pointers[state + 1]):
                prev_state = tm_states[pointer]
                p = prev[prev_state] + tm_log_probabilities[pointer] + density
                if p > best:
                    best = p
                    if keep:
                        bt[frame - start, state] = prev_state
            cur[state] = best
        prev[:] = cur
    return prev


@numba.njit(cache=True, nogil=True)
def _trace(bt, start, stop, state, path):  # pragma: no cover - compiled
    """Path of frames ``stop-1 .. start`` ending in ``state``; returns the state before ``start``."""
    for frame in range(stop - 1, start - 1, -1):
        path[frame] = state
        state = bt[frame - start, state]
    return state


def viterbi(hmm, observations: np.ndarray, block: int | None = None) -> tuple[np.ndarray, float]:
    """``hmm.viterbi(observations)`` of a madmom ``HiddenMarkovModel``: ``(path (T,) uint32, log
    probability)``, an empty path (and a warning) when no path has a finite probability."""
    tm, om = hmm.transition_model, hmm.observation_model
    with np.errstate(divide="ignore"):  # log(0) = -inf is a valid log density (an activation of exactly 1), as in madmom
        densities = np.ascontiguousarray(om.log_densities(observations), dtype=np.float64)  # (T, densities)
        prev = np.log(np.asarray(hmm.initial_distribution, dtype=np.float64))
    args = (densities, np.ascontiguousarray(om.pointers, dtype=np.uint32), np.ascontiguousarray(tm.states, dtype=np.uint32),
            np.ascontiguousarray(tm.pointers, dtype=np.uint32), np.ascontiguousarray(tm.log_probabilities, dtype=np.float64))
    n, num_states = len(observations), int(tm.num_states)
    block = block or max(1, math.isqrt(2 * max(n, 1)))
    none = np.empty((0, num_states), dtype=np.uint32)
    checkpoints = []
    for start in range(0, n, block):
        checkpoints.append(prev.copy())
        prev = _advance(prev, *args, start, min(start + block, n), none)
    state = int(np.argmax(prev)) if n else 0
    log_probability = float(prev[state]) if n else 0.0
    if n == 0 or np.isinf(log_probability):
        if n:
            warnings.warn("-inf log probability during Viterbi decoding cannot find a valid path", RuntimeWarning, stacklevel=2)
        return np.empty(0, dtype=np.uint32), log_probability
    path = np.empty(n, dtype=np.uint32)
    bt = np.empty((block, num_states), dtype=np.uint32)
    for k in range(len(checkpoints) - 1, -1, -1):
        start, stop = k * block, min((k + 1) * block, n)
        _advance(checkpoints[k], *args, start, stop, bt[: stop - start])
        state = _trace(bt, start, stop, state, path)
    return path, log_probability


def decode(job: tuple) -> tuple[np.ndarray, float]:
    """One ``(hmm, observations)`` job of madmom's DBN processors (their ``map`` hands these out)."""
    return viterbi(*job)


def map_decode(map_fn, _madmom_decode, jobs):
    """A DBN processor's ``map``: ``jobs`` decoded by :func:`decode` through ``map_fn`` (``map`` or a
    pool's), in place of madmom's own per-job function."""
    return map_fn(decode, jobs)


__all__ = ["decode", "map_decode", "viterbi"]
