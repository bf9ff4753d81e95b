"""Music beats: click tracks at known tempi come back within a few milliseconds; downbeats on the bar."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.beats.tracking import track_beats, track_file
from mv2desc.sync.config import MusicBeatConfig
from mv2desc.synth import SongSpec, beat_times, render

SR = 44100


def click_track(bpm: float, offset_s: float, duration_s: float = 16.0) -> tuple[np.ndarray, np.ndarray]:
    """1 kHz clicks (3 ms decay) on every beat from ``offset_s``; returns (audio, beat times)."""
    times = np.arange(offset_s, duration_s - 0.2, 60.0 / bpm)
    y = np.zeros(int(duration_s * SR), dtype=np.float32)
    t = np.arange(int(0.03 * SR)) / SR
    click = (np.exp(-t / 0.003) * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    for b in times:
        s = round(b * SR)
        y[s : s + click.size] += 0.8 * click
    return y, times


def _errors(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Signed error of the estimate nearest each true beat (the first and last two beats excluded)."""
    inner = truth[2:-2]
    return est[np.argmin(np.abs(est[:, None] - inner[None, :]), axis=0)] - inner


@pytest.mark.parametrize("tracker", ["librosa", "madmom"])
@pytest.mark.parametrize(("bpm", "offset"), [(100.0, 0.35), (128.0, 0.1)])
def test_click_track_beats_within_a_few_ms(tracker, bpm, offset):
    y, truth = click_track(bpm, offset)
    mb = track_beats(y, SR, MusicBeatConfig(tracker=tracker))
    assert mb.tracker == tracker
    assert mb.tempo_bpm == pytest.approx(bpm, rel=0.01)
    err = _errors(mb.beats_s, truth)
    assert np.abs(err.mean()) < 0.005  # latency corrected
    assert np.abs(err).max() < 0.012  # every beat within about one analysis frame
    assert len(mb.beats_s) >= len(truth) - 2  # none missing


def test_without_latency_correction_the_bias_shows():
    y, truth = click_track(120.0, 0.2)
    raw = track_beats(y, SR, MusicBeatConfig(tracker="librosa", offset_s=0.0))
    assert _errors(raw.beats_s, truth).mean() > 0.008


def test_madmom_downbeats_fall_on_the_bars_of_a_song():
    spec = SongSpec(tempo_bpm=110.0, duration_s=20.0, seed=2)  # accented kick and a chord change per bar
    mb = track_beats(render(spec, SR), SR, MusicBeatConfig(tracker="madmom"))
    bars = beat_times(spec)[::4]
    assert len(mb.downbeats_s) >= len(bars) - 2
    assert np.all(np.abs(mb.downbeats_s[:, None] - bars[None, :]).min(axis=1) < 0.03)
    assert set(np.round(mb.downbeats_s, 6)) <= set(np.round(mb.beats_s, 6))


def test_madmom_decodes_the_same_beats_on_one_process_and_on_its_pool():
    """The DBN's HMMs (one per bar length) run on the worker pool with threads > 1: same result as in one process."""
    y = render(SongSpec(tempo_bpm=96.0, duration_s=16.0, seed=5), SR)
    one = track_beats(y, SR, MusicBeatConfig(tracker="madmom", threads=1, networks=2, beats_per_bar=(3, 4)))
    pool = track_beats(y, SR, MusicBeatConfig(tracker="madmom", threads=2, networks=2, beats_per_bar=(3, 4)))
    assert one.beats_s.size > 10
    np.testing.assert_array_equal(one.beats_s, pool.beats_s)
    np.testing.assert_array_equal(one.downbeats_s, pool.downbeats_s)


def test_librosa_bar_phase_heuristic_finds_the_bar():
    spec = SongSpec(tempo_bpm=128.0, duration_s=20.0, seed=3)
    mb = track_beats(render(spec, 22050), 22050, MusicBeatConfig(tracker="librosa"))
    bars = beat_times(spec)[::4]
    assert len(mb.downbeats_s) >= len(bars) - 2
    assert np.all(np.abs(mb.downbeats_s[:, None] - bars[None, :]).min(axis=1) < 0.03)


@pytest.mark.parametrize("tracker", ["librosa", "madmom"])
def test_silence_and_very_short_audio_give_no_beats_not_a_crash(tracker):
    for n in (SR // 4, SR * 3):
        mb = track_beats(np.zeros(n, dtype=np.float32), SR, MusicBeatConfig(tracker=tracker))
        assert mb.beats_s.size == 0 and mb.downbeats_s.size == 0 and mb.tempo_bpm == 0.0
        d = mb.to_dict()
        assert d["tempo"] is None and "no tempo" in d.pop("tempo_note")
        assert d == {"tempo": None, "beats": [], "downbeats": [], "tracker": tracker, "duration_s": round(n / SR, 3)}


def test_track_file_reads_any_format(tmp_path):
    from mv2desc.media.audio import write_audio

    y, truth = click_track(100.0, 0.35)
    path = write_audio(tmp_path / "clicks.mp3", y, SR)
    mb = track_file(path, MusicBeatConfig(tracker="librosa"))
    # MP3 encoder delay is undone by the decoder: the beats are where they were
    assert np.abs(_errors(mb.beats_s, truth)).max() < 0.015
    assert mb.duration_s == pytest.approx(16.0, abs=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tracker": "essentia"}, "tracker"), ({"min_bpm": 200, "max_bpm": 100}, "max_bpm"), ({"beats_per_bar": (1,)}, "beats_per_bar"),
     ({"networks": 9}, "networks")],
)
def test_music_config_is_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MusicBeatConfig(**kwargs)
