"""Hard beat material (benchmarks/beat_material.py): rendered MIDI with exact beats against the tracker.

Each audio test renders a short clip into ``tmp_path`` (FluidSynth) and runs madmom once; the phase
check (:mod:`mv2desc.beats.refine`) is tested on synthetic chroma too, with no audio at all.
"""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from benchmarks.beat_material import make_piece, midi_bytes, render_piece
from mv2desc.beats import MusicBeatConfig, track_beats
from mv2desc.beats.refine import bar_contrast, chord_change, midpoints, phase_evidence

SR = 44100


def f_measure(ref: np.ndarray, est: np.ndarray) -> float:
    return float(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est), 0.07))


def chord_chroma(beats: np.ndarray, fps: float, n_frames: int, beats_per_chord: int = 4) -> np.ndarray:
    """(12, n) chroma holding one chord (a random triad, a different one each time) for every
    ``beats_per_chord`` beats of ``beats``, plus a little noise."""
    rng = np.random.default_rng(0)
    chroma = 0.05 * rng.random((12, n_frames))
    bounds = [int(round(t * fps)) for t in beats[::beats_per_chord]] + [n_frames]
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        root = (5 * k) % 12
        chroma[[root, (root + 4) % 12, (root + 7) % 12], a:b] += 1.0
    return chroma


def test_chord_changes_tell_the_beat_from_the_off_beat():
    fps, period = 43.0, 0.5
    beats = np.arange(0.25, 30.0, period)
    chroma = chord_chroma(beats, fps, int(31 * fps))
    on, _ = bar_contrast(chord_change(chroma, fps, beats), 4)
    off, _ = bar_contrast(chord_change(chroma, fps, midpoints(beats)), 4)
    assert on > 0.5 and off < 0.5 * on
    # the evidence that the grid is half a beat off: small for the true grid, large for the moved one
    assert phase_evidence([chroma], fps, beats, 4) < 1.0 < MusicBeatConfig().phase_ratio < phase_evidence([chroma], fps, midpoints(beats), 4)


def test_phase_ratio_is_validated():
    with pytest.raises(ValueError, match="phase_ratio"):
        MusicBeatConfig(phase_ratio=1.0)


def test_material_truth_follows_the_tempo_map():
    import io

    import mido

    piece = make_piece("tempo_step", 1, 30.0)
    bpm = np.asarray(piece.beat_bpm)
    assert bpm[0] != bpm[-1] and len(set(bpm)) == 2  # one step
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(piece)))
    tempi = [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t), 3) for t in tempi] == [round(float(b), 3) for b in (bpm[0], bpm[-1])]
    assert piece.beat_times[-1] == pytest.approx(float(np.sum(60.0 / bpm)))


def test_song_without_drums_gives_beats_within_70_ms(tmp_path):
    y, truth = render_piece(make_piece("no_drums", 0, 20.0), tmp_path, SR)
    mb = track_beats(y, SR, MusicBeatConfig(tracker="madmom"))
    assert f_measure(np.asarray(truth["beats_s"]), mb.beats_s) >= 0.9


def test_metal_off_beat_trap_is_moved_onto_the_beat(tmp_path):
    """Blast beat and tremolo guitars: madmom alone locks half a beat off; the phase check moves it."""
    y, truth = render_piece(make_piece("metal", 0, 16.0), tmp_path, SR)
    ref = np.asarray(truth["beats_s"])
    before = track_beats(y, SR, MusicBeatConfig(tracker="madmom", phase_check=False, networks=4))
    after = track_beats(y, SR, MusicBeatConfig(tracker="madmom", networks=4))
    assert f_measure(ref, before.beats_s) < 0.3  # the trap is real
    assert f_measure(ref, after.beats_s) >= 0.9
    assert after.tempo_bpm == pytest.approx(truth["tempo_bpm"], rel=0.03)
    assert set(np.round(after.downbeats_s, 6)) <= set(np.round(after.beats_s, 6))


def test_half_time_feel_resolves_to_the_notated_beat(tmp_path):
    """Kick on 1, snare on 3 (a 64 BPM feel) over a 128 BPM band: the notated 128 BPM grid comes back."""
    y, truth = render_piece(make_piece("half_time", 0, 20.0), tmp_path, SR)
    mb = track_beats(y, SR, MusicBeatConfig(tracker="madmom"))
    assert mb.tempo_bpm == pytest.approx(truth["tempo_bpm"], rel=0.03)
    assert f_measure(np.asarray(truth["beats_s"]), mb.beats_s) >= 0.9


@pytest.mark.slow
def test_a_step_tempo_change_is_followed(tmp_path):
    piece = make_piece("tempo_step", 1, 30.0)
    y, truth = render_piece(piece, tmp_path, SR)
    ref = np.asarray(truth["beats_s"])
    mb = track_beats(y, SR, MusicBeatConfig(tracker="madmom"))
    assert f_measure(ref, mb.beats_s) >= 0.9
    switch = ref[np.flatnonzero(np.diff(piece.beat_bpm))[0] + 1]
    for part, bpm in ((mb.beats_s < switch - 2.0, piece.beat_bpm[0]), (mb.beats_s > switch + 2.0, piece.beat_bpm[-1])):
        assert 60.0 / np.median(np.diff(mb.beats_s[part])) == pytest.approx(bpm, rel=0.03)
