"""Decoding and acoustic features on synthetic audio with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TINY_CLAP
from mv2desc.audio.clap_features import window_starts
from mv2desc.audio.feature_config import ClapSettings, FeatureConfig
from mv2desc.audio.features import AcousticFeatureExtractor
from mv2desc.audio.key_estimate import estimate_key
from mv2desc.errors import MediaError
from mv2desc.media.audio import load_audio, write_audio
from mv2desc.synth import SongSpec, beat_times, render

SR = 44100


@pytest.fixture(scope="module")
def extractor() -> AcousticFeatureExtractor:
    return AcousticFeatureExtractor(FeatureConfig(clap=ClapSettings(name_or_path=str(TINY_CLAP), random_init=True)))


def click_track(bpm: float, seconds: float, sr: int = SR) -> np.ndarray:
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    n = int(0.01 * sr)
    burst = np.sin(2 * np.pi * 1000 * np.arange(n) / sr) * np.hanning(n)
    for t in np.arange(0, seconds, 60.0 / bpm):
        s = int(t * sr)
        y[s : s + n] += burst[: len(y) - s]
    return 0.8 * y


def test_decode_roundtrip_and_offset(tmp_path):
    y = click_track(120, 6.0)
    p = write_audio(tmp_path / "c.mp3", y, SR)
    z, sr = load_audio(p)
    assert sr == SR and abs(z.size - y.size) < 0.05 * SR
    part, sr16 = load_audio(p, 16000, offset_s=2.0, max_duration_s=1.5)
    assert sr16 == 16000 and part.size == 24000
    # the first click after the offset (at 2.0 s exactly) is at the start of the excerpt
    assert np.argmax(np.abs(part[:2000])) < 0.02 * 16000


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty_audio"), (b"<html>not audio</html>", "corrupt_audio")],
)
def test_bad_files_raise_with_reason(tmp_path, content, reason):
    p = tmp_path / "bad.mp3"
    p.write_bytes(content)
    with pytest.raises(MediaError) as err:
        load_audio(p)
    assert err.value.reason == reason


def test_missing_file_reason(tmp_path):
    with pytest.raises(MediaError) as err:
        load_audio(tmp_path / "nope.mp3")
    assert err.value.reason == "missing_audio"


def test_truncated_mp3_keeps_the_good_part(tmp_path):
    full = write_audio(tmp_path / "full.mp3", click_track(100, 8.0), SR).read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full[: len(full) // 2])
    y, sr = load_audio(cut)
    assert 3.0 < y.size / sr < 5.0


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_click_track_tempo_and_beats(tmp_path, extractor, bpm):
    p = write_audio(tmp_path / "c.mp3", click_track(bpm, 12.0), SR)
    f = extractor.extract_file(p)
    assert f.values["tempo_bpm"] == pytest.approx(bpm, rel=0.03)
    beats = f.values["beat_times_s"]
    truth = np.arange(0, 12.0, 60.0 / bpm)
    # every tracked beat lies within 35 ms of a true click
    err = np.abs(beats[:, None] - truth[None, :]).min(axis=1)
    assert len(beats) >= 0.8 * len(truth)
    assert np.median(err) < 0.035


def test_feature_shapes_and_key(tmp_path, extractor):
    spec = SongSpec(tempo_bpm=110, key="A", mode="minor", energy=0.5, duration_s=12.0)
    p = write_audio(tmp_path / "s.mp3", render(spec, SR), SR)
    f = extractor.extract_file(p)
    v = f.values
    assert f.duration_s == pytest.approx(12.0, abs=0.05)
    assert v["egemaps_functionals"].shape == (88,)
    assert v["egemaps_lld"].ndim == 2 and v["egemaps_lld"].shape[1] == 25
    assert v["egemaps_lld"].shape[0] == pytest.approx(12.0 / 0.05, abs=3)  # 50 ms frames
    assert v["clap_windows"].shape == (len(window_starts(12.0, 10.0, 5.0)), 32)
    assert np.allclose(np.linalg.norm(v["clap_windows"], axis=1), 1.0, atol=1e-4)
    assert v["clap_clip"].shape == (32,)
    assert v["onset_env"].shape == v["rms"].shape
    assert v["chroma"].shape[1] == 12
    assert (v["key"], v["mode"]) == ("A", "minor")
    assert set(f.cpu_s) >= {"decode", "rhythm", "opensmile", "clap"}
    info = extractor.info()
    assert info["opensmile"]["sample_rate"] == 16000 and info["clap"]["sample_rate"] == 48000
    assert info["rhythm"]["version"] and info["opensmile"]["version"] and info["clap"]["version"]


def test_synth_beats_are_what_it_says():
    spec = SongSpec(tempo_bpm=150, duration_s=4.0)
    assert np.allclose(np.diff(beat_times(spec)), 0.4)


def test_window_starts_cover_the_clip():
    assert window_starts(30.0, 10.0, 5.0) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert window_starts(27.0, 10.0, 5.0)[-1] == 17.0  # last window aligned to the end
    assert window_starts(6.0, 10.0, 5.0) == [0.0]


@pytest.mark.parametrize(("tonic", "mode"), [("C", "major"), ("F#", "minor"), ("A", "minor"), ("E", "major")])
def test_key_estimate_on_synth(tmp_path, extractor, tonic, mode):
    y = render(SongSpec(tempo_bpm=100, key=tonic, mode=mode, energy=0.3, duration_s=10.0), 22050)
    v = extractor.extract(y, 22050)
    assert (v["key"], v["mode"]) == (tonic, mode)


def test_key_estimate_flat_chroma_is_neutral():
    assert estimate_key(np.ones(12))[2] == 0.0


@pytest.mark.parametrize("seconds", [3.0, 0.5, 0.1])
def test_one_opensmile_run_gives_both_levels_of_two_runs(seconds):
    """``OpenSmileExtractor.levels`` (one run, two sinks) equals ``Smile.process_signal`` at each level,
    bit for bit: on noise with a tone, on silence, and on a clip of 0.1 s."""
    from mv2desc.audio.feature_config import OpenSmileSettings
    from mv2desc.audio.opensmile_features import OpenSmileExtractor

    ex = OpenSmileExtractor(OpenSmileSettings())
    sr = ex.settings.sample_rate
    t = np.arange(int(seconds * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.random.default_rng(1).normal(size=t.size)).astype(np.float32)
    for y in (tone, np.zeros_like(tone)):
        func, lld = ex.levels(y, sr)
        assert np.array_equal(func, ex._functionals.process_signal(y, sr).to_numpy())
        assert np.array_equal(lld, ex._lld.process_signal(y, sr).to_numpy())
        assert func.shape == (1, 88) and lld.shape[1] == 25 and lld.shape[0] >= 1


def test_known_beats_are_taken_not_tracked_again(extractor, monkeypatch):
    """Given the clip's beats (the song's, tracked once), the rhythm stage uses them for the tempo and beat
    columns and runs no tracker; every other column is what a tracked clip gets."""
    from mv2desc.audio import rhythm_features
    from mv2desc.beats import MusicBeats
    from mv2desc.data import columns as c

    y = click_track(100.0, 12.0)
    tracked = extractor.extract(y, SR)
    song = MusicBeats(90.0, np.arange(0.3, 40.0, 0.6), np.arange(0.3, 40.0, 2.4), "madmom", 40.0)
    part = song.window(10.0, 22.0, tempo_bpm=100.0)
    assert part.beats_s[0] == pytest.approx(0.5) and part.beats_s[-1] < 12.0 and part.duration_s == 12.0
    assert part.downbeats_s[0] == pytest.approx(2.3) and song.window(10.0, 22.0).tempo_bpm == pytest.approx(100.0)

    def no_tracking(*args, **kwargs):
        raise AssertionError("tracked although the beats were given")

    monkeypatch.setattr(rhythm_features, "track_beats", no_tracking)
    given = extractor.extract(y, SR, beats=part)
    assert given[c.TEMPO] == 100.0 and np.allclose(given[c.BEATS], part.beats_s)
    for column in (c.LOUDNESS, c.KEY, c.MODE, c.ONSET_RATE, c.RMS_DB_SLOPE):
        assert given[column] == tracked[column], column
    assert np.array_equal(given[c.ONSET], tracked[c.ONSET]) and np.array_equal(given[c.CHROMA], tracked[c.CHROMA])
