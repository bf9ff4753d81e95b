"""The tonal stream and the two measured context columns, checked against audio whose content is known
(issue 20 items 1-2): songs in C major, A minor and F# major give tonal frames whose chroma peaks at the
key's pitch classes; ``onset_rate`` counts the clicks of a click track; ``rms_db_slope`` is the dB-per-second
slope of a crescendo, a fade, a steady tone, and 0.0 for silence. Every row -- a dataset row or a
``describe`` segment -- gets them from the same extractor (``AcousticFeatureExtractor.extract``)."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.audio.key_estimate import PITCH_CLASSES
from mv2desc.audio.rhythm_features import RhythmExtractor, rms_db_slope
from mv2desc.data import columns as c
from mv2desc.data.feature_config import FeatureConfig, RhythmSettings
from mv2desc.data.spec import FeatureSpec
from mv2desc.model.audio_batch import collate_audio
from mv2desc.model.config import AudioEncoderConfig

SR = 22050
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
TRIADS = {"major": (0, 4, 7), "minor": (0, 3, 7)}
KEYS = [("C", "major"), ("A", "minor"), ("F#", "major")]


@pytest.fixture(scope="module")
def rhythm() -> RhythmExtractor:
    return RhythmExtractor(RhythmSettings())


def pcs(key: str, intervals) -> set[str]:
    root = PITCH_CLASSES.index(key)
    return {PITCH_CLASSES[(root + i) % 12] for i in intervals}


def relative(key: str, mode: str) -> str:
    """The tonic of the relative key (same pitch classes, the other mode)."""
    return PITCH_CLASSES[(PITCH_CLASSES.index(key) + (9 if mode == "major" else 3)) % 12]


def tonal_frames(rhythm: RhythmExtractor, y: np.ndarray) -> np.ndarray:
    """The tonal stream's frames of ``y`` as the model receives them: extracted, then collated."""
    row = {c.DURATION: y.size / SR, **rhythm(y)}
    batch = collate_audio([row], AudioEncoderConfig(), FeatureSpec.from_config(FeatureConfig()))
    assert batch.tonal.shape[-1] == 18 and batch.tonal_hop_s == pytest.approx(8 * 512 / SR)
    frames = batch.tonal[0][batch.tonal_mask[0]].numpy()
    assert len(frames) == pytest.approx(y.size / SR / batch.tonal_hop_s, abs=2)  # one frame per tonal hop
    return frames


def check_key(frames: np.ndarray, key: str, mode: str, *, exact_triad: bool) -> None:
    chroma = frames[:, :12]
    mean = chroma.mean(axis=0)
    ranked = [PITCH_CLASSES[i] for i in np.argsort(-mean)]
    in_scale = np.mean([PITCH_CLASSES[i] in pcs(key, SCALES[mode]) for i in chroma.argmax(axis=1)])
    assert in_scale >= 0.85, f"{key} {mode}: only {in_scale:.0%} of the frames peak inside the scale"
    if exact_triad:  # the three strongest pitch classes are the tonic triad
        assert set(ranked[:3]) == pcs(key, TRIADS[mode]), (key, mode, ranked[:5])
    else:
        assert key in ranked[:2], (key, mode, ranked[:5])
    # the mode is heard: the tonic outweighs the relative key's tonic, whose pitch classes are the same
    assert mean[PITCH_CLASSES.index(key)] > mean[PITCH_CLASSES.index(relative(key, mode))]


@pytest.mark.parametrize("key, mode", KEYS)
def test_the_tonal_stream_peaks_at_the_keys_pitch_classes(rhythm, key, mode):
    from mv2desc.synth import SongSpec, render

    frames = tonal_frames(rhythm, render(SongSpec(tempo_bpm=100.0, key=key, mode=mode, duration_s=10.0, seed=1), SR))
    check_key(frames, key, mode, exact_triad=True)


@pytest.mark.parametrize("key, mode", KEYS)
def test_the_tonal_stream_of_a_rendered_general_midi_arrangement(rhythm, key, mode):
    """Drums, bass, chords and a lead through FluidSynth: less clean than sines, the same answer."""
    from mv2desc.midi_music import ArrangementSpec, render

    y = render(ArrangementSpec(tempo_bpm=100.0, key=key, mode=mode, duration_s=10.0, seed=1), SR, cache=False)
    check_key(tonal_frames(rhythm, y), key, mode, exact_triad=False)


def test_the_tonnetz_half_tells_keys_apart(rhythm):
    from mv2desc.synth import SongSpec, render

    means = {k: tonal_frames(rhythm, render(SongSpec(key=k, mode=m, duration_s=8.0, seed=1), SR))[:, 12:].mean(axis=0) for k, m in KEYS}
    assert all(np.abs(v).max() > 0.05 for v in means.values())  # not empty
    assert np.abs(means["C"] - means["F#"]).max() > 0.1  # a tritone apart: far apart on the tonnetz


def click_track(n: int, duration_s: float, offset_s: float = 0.25) -> np.ndarray:
    """``n`` 10 ms noise clicks, evenly spaced from ``offset_s`` on."""
    y = np.zeros(int(duration_s * SR), np.float32)
    rng = np.random.default_rng(0)
    burst = rng.standard_normal(int(0.01 * SR)) * np.exp(-np.arange(int(0.01 * SR)) / (0.002 * SR))
    for t in offset_s + np.arange(n) * (duration_s - offset_s) / n:
        s = int(t * SR)
        y[s : s + burst.size] += 0.5 * burst.astype(np.float32)
    return y


@pytest.mark.parametrize("n", [10, 40, 120])
def test_onset_rate_counts_the_clicks_of_a_click_track(rhythm, n):
    duration = 10.0
    assert rhythm(click_track(n, duration))[c.ONSET_RATE] == pytest.approx(n / duration, rel=0.1)


def test_onset_rate_is_higher_for_a_busier_arrangement(rhythm):
    from mv2desc.synth import SongSpec, render

    # 120 BPM: quarter-note hi-hats (2 onsets/s) when sparse, sixteenths (8/s) when busy
    sparse = rhythm(render(SongSpec(tempo_bpm=120.0, energy=0.1, duration_s=10.0, seed=2), SR))[c.ONSET_RATE]
    busy = rhythm(render(SongSpec(tempo_bpm=120.0, energy=0.9, duration_s=10.0, seed=2), SR))[c.ONSET_RATE]
    assert busy > 1.8 * sparse and busy == pytest.approx(8.0, rel=0.1)


def tone(db_start: float, db_per_s: float, duration_s: float = 10.0) -> np.ndarray:
    t = np.arange(int(duration_s * SR)) / SR
    return (np.sin(2 * np.pi * 440.0 * t) * 10 ** ((db_start + db_per_s * t) / 20)).astype(np.float32)


@pytest.mark.parametrize("name, y, expected", [
    ("crescendo", tone(-40.0, 3.0), 3.0),
    ("fade", tone(-10.0, -3.0), -3.0),
])
def test_rms_db_slope_follows_a_crescendo_and_a_fade(rhythm, name, y, expected):
    assert rhythm(y)[c.RMS_DB_SLOPE] == pytest.approx(expected, rel=0.1)


def test_rms_db_slope_is_zero_when_steady_or_silent(rhythm):
    assert abs(rhythm(tone(-20.0, 0.0))[c.RMS_DB_SLOPE]) < 0.1
    silent = rhythm(np.zeros(5 * SR, np.float32))
    assert silent[c.RMS_DB_SLOPE] == 0.0 and silent[c.ONSET_RATE] == 0.0
    assert np.isfinite(silent[c.TONNETZ]).all() and np.isfinite(silent[c.CHROMA]).all()
    assert rms_db_slope(np.array([-20.0]), 0.1) == 0.0
    assert rms_db_slope(np.array([-30.0, -20.0, -10.0]), 0.5) == pytest.approx(20.0)


def test_every_row_gets_the_columns_from_the_one_extractor():
    """``describe`` builds its per-segment rows with ``AcousticFeatureExtractor.extract``, as the dataset
    build does: the same columns, written into the row schema."""
    from mv2desc.audio.features import AcousticFeatureExtractor
    from mv2desc.data.feature_config import ClapSettings, OpenSmileSettings
    from mv2desc.data.schema import to_row

    cfg = FeatureConfig(opensmile=OpenSmileSettings(enabled=False), clap=ClapSettings(enabled=False))
    y = click_track(20, 5.0)
    values = AcousticFeatureExtractor(cfg).extract(y, SR)
    assert values[c.ONSET_RATE] == pytest.approx(4.0, rel=0.1) and isinstance(values[c.RMS_DB_SLOPE], float)
    assert values[c.CHROMA].shape[1] == 12 and values[c.TONNETZ].shape == (values[c.CHROMA].shape[0], 6)
    row = to_row({c.ID: "x", **values})
    assert row[c.ONSET_RATE] == values[c.ONSET_RATE] and len(row[c.TONNETZ]) == len(row[c.CHROMA])
