"""Sync metrics: BAS in both conventions, BCS and BHS, on hand-made beats with exact answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mv2desc.sync.metrics import bas_music, bas_visual, bcs_bhs, sync_scores

MUSIC = np.arange(0.5, 20.0, 0.5)  # 120 bpm


def test_bas_of_a_perfectly_aligned_video_is_one():
    visual = MUSIC[::3]  # every third beat has a visual beat, each exactly on it
    assert bas_visual(visual, MUSIC) == pytest.approx(1.0)
    assert bas_music(MUSIC, MUSIC) == pytest.approx(1.0)


@pytest.mark.parametrize("shift", [0.01, 0.03, 0.05, 0.1])
def test_bas_drops_as_a_gaussian_of_the_shift(shift):
    sigma = 0.05
    expected = np.exp(-(shift**2) / (2 * sigma**2))
    assert bas_visual(MUSIC + shift, MUSIC, sigma) == pytest.approx(expected)
    assert bas_music(MUSIC + shift, MUSIC, sigma) == pytest.approx(expected)


def test_bas_is_monotonic_in_the_shift_and_tends_to_chance():
    shifts = [0.0, 0.02, 0.05, 0.1, 0.2]
    scores = [bas_visual(MUSIC + s, MUSIC) for s in shifts]
    assert all(a > b for a, b in itertools.pairwise(scores))
    assert scores[-1] < 0.01  # 0.2 s off, with beats 0.5 s apart: nowhere near a beat


def test_the_two_conventions_differ_when_visual_beats_are_sparse():
    visual = MUSIC[::4]  # all on beats, but only a quarter of the beats covered
    assert bas_visual(visual, MUSIC) == pytest.approx(1.0)
    music_conv = bas_music(visual, MUSIC)
    # the covered music beats score 1; the others are 0.5 or 1.0 s from a visual beat and score ~0
    assert music_conv == pytest.approx(len(visual) / len(MUSIC), abs=1e-6)


def test_bas_edge_cases():
    assert bas_visual([], MUSIC) is None  # undefined over no visual beats
    assert bas_visual([1.0], []) == 0.0
    assert bas_music([], MUSIC) == 0.0
    assert bas_music([1.0], []) is None
    assert bas_visual([7.0], [1.0]) == pytest.approx(0.0)


def test_bcs_bhs_count_one_second_bins():
    music = [0.5, 1.2, 1.7, 2.5, 3.9]  # bins 0, 1, 2, 3 hold music beats
    visual = [0.1, 2.2, 4.5, 4.6]  # bins 0, 2, 4
    bcs, bhs = bcs_bhs(visual, music, duration_s=5.0, bin_s=1.0)
    assert bcs == pytest.approx(3 / 4)
    assert bhs == pytest.approx(2 / 4)
    assert bcs_bhs(visual, [], 5.0) == (0.0, 0.0)


def test_sync_scores_names_every_figure_and_ignores_beats_past_the_end():
    scores = sync_scores(MUSIC[::2], MUSIC, duration_s=10.0)
    assert set(scores) == {"bas_visual", "bas_music", "bcs", "bhs", "n_visual_beats", "n_music_beats"}
    assert scores["n_music_beats"] == int(np.sum(MUSIC <= 10.0))
    assert scores["bas_visual"] == pytest.approx(1.0)
    assert scores["bhs"] == pytest.approx(1.0)
