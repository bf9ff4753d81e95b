"""One vocabulary of tempo/energy/mode classes (mv2desc/data/classes.py), used by the describer,
the attribute metric and the style sheet: each output is compared with the audio it was made from.

Issue 17, items 6 (the style sheet follows the song), 10 (the metric reads common phrasing, and the
describer's own text scores 1.0 next to a bin edge) and 13 (a song without beats states no BPM)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from mv2desc.data import classes
from mv2desc.describe.metadata import SongFacts, describe, load_rules
from mv2desc.metrics.attributes import DEFAULT, attribute_consistency, audio_classes, text_classes


def measured(bpm: float | None = 100.0, rms: float = -24.0, mode: str = "major") -> dict:
    return {"tempo_bpm": bpm, "rms_db_mean": rms, "key": "A", "mode": mode}


# -- one vocabulary ----------------------------------------------------------------------------------------
def test_every_table_is_keyed_by_the_librarys_classes():
    from mv2desc.mvgen import style

    assert set(style._LOOKS) == set(classes.ENERGY_CLASSES)
    assert set(style._DEFAULT_PALETTES) == set(itertools.product(classes.ENERGY_CLASSES, classes.MODE_CLASSES))
    assert set(DEFAULT.tempo_words) == set(classes.TEMPO_CLASSES)
    assert set(DEFAULT.energy_words) == set(classes.ENERGY_CLASSES)
    assert set(DEFAULT.mode_words) == set(classes.MODE_CLASSES)
    rules = load_rules()
    assert set(rules.energy_words) == set(rules.camera) == set(rules.palette) == set(rules.scenes) == set(classes.ENERGY_CLASSES)
    assert set(classes.TEMPO_CLASSES) <= set(rules.tempo_words) and set(classes.TEMPO_CLASSES) <= set(rules.pace)
    assert (DEFAULT.tempo_bins_bpm, DEFAULT.energy_bins_db) == (classes.TEMPO_BINS_BPM, classes.ENERGY_BINS_DB)


def test_bins_round_the_tempo_half_up_and_a_missing_tempo_has_no_class():
    assert [classes.stated_bpm(x) for x in (84.4, 84.5, 84.6, 119.5, 120.4, 0.4)] == [84, 85, 85, 120, 120, None]
    assert [classes.tempo_class(x) for x in (84.4, 84.5, 119.4, 119.5, 150.0)] == ["slow", "mid", "mid", "fast", "fast"]
    for none in (None, 0.0, 0.3, -5.0, float("nan"), float("inf")):
        assert classes.stated_bpm(none) is None and classes.tempo_class(none) is None
    assert [classes.energy_class(x) for x in (-28.01, -28.0, -20.01, -20.0)] == ["calm", "moderate", "moderate", "intense"]
    assert classes.mode_class("Minor") == "minor"
    with pytest.raises(ValueError, match="mode"):
        classes.mode_class("dorian")


# -- item 6: the style sheet follows the song ------------------------------------------------------------
def _song_description(energy_db: float, mode: str, text: str = "Abstract shapes."):
    from mv2desc.describe.song import SegmentDescription, SongDescription

    seg = SegmentDescription(0.0, 10.0, text, 4, 100.0, "A", mode, energy_db)
    return SongDescription(song="s.wav", duration_s=10.0, tempo_bpm=100.0, key="A", mode=mode, energy_db=energy_db,
                           energy_class=classes.energy_class(energy_db), tempo_class=classes.tempo_class(100.0),
                           beat_tracker="librosa", n_beats=16, n_downbeats=4, describer="metadata", captioner=None, note="",
                           segments=[seg])


def test_style_sheet_default_look_and_palette_follow_energy_and_mode():
    """Descriptions that name no colour: the look and palette come from the song's classes alone."""
    from mv2desc.mvgen.style import _DEFAULT_PALETTES, _LOOKS, build_style_sheet

    quiet, loud = _song_description(-35.0, "minor"), _song_description(-12.0, "major")
    a, b = build_style_sheet(quiet, "", 0), build_style_sheet(loud, "", 0)
    assert a.look == _LOOKS["calm"] and b.look == _LOOKS["intense"]
    assert list(a.palette) == _DEFAULT_PALETTES[("calm", "minor")] and list(b.palette) == _DEFAULT_PALETTES[("intense", "major")]
    assert a.setting != b.setting  # no "It shows" in the text: the setting names the classes


@pytest.fixture(scope="module")
def quiet_minor_and_loud_major(tmp_path_factory):
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    folder, sr = tmp_path_factory.mktemp("songs"), 22050
    cfg = DescribeConfig(beats=MusicBeatConfig(tracker="librosa"))
    out = []
    for name, spec in (("quiet", SongSpec(tempo_bpm=72.0, key="A", mode="minor", energy=0.0, duration_s=12.0, seed=1)),
                       ("loud", SongSpec(tempo_bpm=150.0, key="C", mode="major", energy=1.0, duration_s=12.0, seed=2))):
        path = write_audio(folder / f"{name}.wav", render(spec, sr), sr)
        out.append(describe_song(path, None, cfg))
    return out


def test_a_quiet_minor_song_and_a_loud_major_song_get_different_looks_and_palettes(quiet_minor_and_loud_major):
    from mv2desc.mvgen.style import _LOOKS, build_style_sheet

    quiet, loud = quiet_minor_and_loud_major
    assert (quiet.energy_class, quiet.mode) == ("calm", "minor") and (loud.energy_class, loud.mode) == ("intense", "major")
    assert (quiet.tempo_class, loud.tempo_class) == ("slow", "fast")
    a, b = build_style_sheet(quiet, "", 0), build_style_sheet(loud, "", 0)  # the signature mv generate calls
    assert a.look == _LOOKS["calm"] and b.look == _LOOKS["intense"]
    assert a.palette != b.palette
    d = quiet.to_dict()
    assert d["energy_class"] == "calm" and d["tempo_class"] == "slow" and "energy" not in d


# -- item 10: the metric reads common phrasing --------------------------------------------------------------
@pytest.mark.parametrize("text, tempo", [
    ("Not fast, a slow drift", "slow"),
    ("not too fast; a slow, lingering song", "slow"),
    ("It isn't fast at all, a languid piece", "slow"),
    ("never slow: an upbeat track", "fast"),
    ("not slow but fast", "fast"),
    ("neither slow nor fast", None),
    ("a fast-paced montage", "fast"),
    ("an ultra-fast drum break", "fast"),
    ("a slow-moving drift", "slow"),
    ("slow-motion shots", None),  # slow motion is a picture, not a tempo
    ("at 120-bpm", "fast"), ("at 120bpm", "fast"), ("at 120 BPM", "fast"), ("at 120.5 bpm", "fast"),
    ("at ~120 bpm", "fast"), ("120 beats per minute", "fast"), ("at 84.6 BPM", "mid"), ("at 84.4 BPM", "slow"),
    ("at 119.5 BPM", "fast"), ("a groove around 90-100 BPM", "mid"), ("at 0 BPM", None), ("slow, not 150 BPM", "slow"),
])
def test_tempo_phrasing(text, tempo):
    assert text_classes(text)["tempo"] == tempo


@pytest.mark.parametrize("text, energy, mode", [
    ("far from calm, a loud and dark anthem", "intense", "minor"),
    ("hardly calm; explosive", "intense", None),
    ("no longer soft, the track turns aggressive", "intense", None),
    ("no drums and calm", "calm", None),  # "and" ends the negation's scope
    ("a minor-key lament", None, "minor"),
    ("a major-key anthem, not dark", None, "major"),
    ("not in a minor key, a bright song", None, "major"),
    ("not happy, a sad song", None, "minor"),
    ("it doesn't feel bright; a gloomy piece", None, "minor"),
])
def test_energy_and_mode_phrasing(text, energy, mode):
    got = text_classes(text)
    assert (got["energy"], got["mode"]) == (energy, mode)


@pytest.mark.parametrize("bpm", [84.4, 84.5, 84.6, 85.49, 119.4, 119.5, 119.6, 120.4, 139.5])
def test_the_describers_own_text_scores_one_next_to_a_bin_edge(bpm):
    for seed in range(3):  # every phrasing variant
        row = measured(bpm)
        text = describe(SongFacts(id="edge"), row, None, seed=seed, include_identity=False)
        assert f"{classes.stated_bpm(bpm)} BPM" in text
        assert text_classes(text)["tempo"] == audio_classes(row)["tempo"] == classes.tempo_class(bpm)
        assert attribute_consistency([text], [row])["overall"]["score"] == 1.0


# -- item 13: no tempo measured, no BPM stated --------------------------------------------------------------
@pytest.mark.parametrize("bpm", [None, 0.0, 0.2, float("nan")])
def test_no_measured_tempo_states_no_bpm(bpm):
    for seed in range(3):
        text = describe(SongFacts(id="silence"), measured(bpm, rms=-100.0), None, seed=seed, include_identity=False)
        assert not re.search(r"\d\s*BPM", text, re.IGNORECASE), text
        assert text_classes(text)["tempo"] is None, text
        assert attribute_consistency([text], [measured(bpm, rms=-100.0)])["tempo"]["score"] == 1.0
    assert audio_classes(measured(bpm))["tempo"] is None
    assert attribute_consistency(["a fast song"], [measured(bpm)])["tempo"]["score"] == 0.0  # a tempo on beatless audio is wrong


@pytest.mark.filterwarnings("ignore:Trying to estimate tuning:UserWarning")  # librosa on digital silence
def test_a_silent_song_is_described_without_a_bpm(tmp_path):
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.media.audio import write_audio

    sr = 22050
    path = write_audio(tmp_path / "silence.wav", np.zeros(12 * sr, dtype=np.float32), sr)
    song = describe_song(path, None, DescribeConfig(beats=MusicBeatConfig(tracker="librosa")))
    assert song.n_beats == 0 and song.tempo_class is None and song.energy_class == "calm"
    for seg in song.segments:
        assert "BPM" not in seg.description and "beatless" in seg.description, seg.description
        assert text_classes(seg.description)["tempo"] is None

