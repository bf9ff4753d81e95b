"""Rendered MIDI music against its spec: the tempo, beats, key and mode measured on the audio with the
product's own tools, the sections' loudness, the cache, and the one-line error when FluidSynth is missing.

FluidSynth and the soundfont are installed by scripts/setup.sh (CI runs it as root): these tests fail,
never skip, without them.
"""

from __future__ import annotations

import json
import sys

import librosa
import numpy as np
import pytest

from mv2desc.audio.key_estimate import estimate_key
from mv2desc.beats import MusicBeatConfig, track_beats
from mv2desc.errors import UserError
from mv2desc.media.audio import load_audio
from mv2desc.midi_music import APT_COMMAND, ArrangementSpec, SectionSpec, render, render_song
from mv2desc.synth import level_db

SR = 22050
render_module = sys.modules["mv2desc.midi_music.render"]

# clear cases: a drum kit or a plucked ostinato on the beat, progressions that lean on the tonic
CASES = [
    ("pop", 100, "C", "major"), ("rock", 128, "E", "minor"), ("electronic", 124, "A", "minor"), ("funk", 105, "G", "major"),
    ("jazz", 118, "F", "major"), ("orchestral", 96, "D", "minor"),
]


@pytest.mark.parametrize("genre,bpm,key,mode", CASES)
def test_measured_tempo_beats_key_and_mode_agree_with_the_spec(genre, bpm, key, mode):
    spec = ArrangementSpec(tempo_bpm=bpm, key=key, mode=mode, energy=0.6, genre=genre, duration_s=20.0, seed=1)
    r = render_song(spec, SR)
    y = r.audio
    assert y.dtype == np.float32 and y.shape == (round(20.0 * SR),)
    beats = track_beats(y, SR, MusicBeatConfig(tracker="librosa"))
    assert beats.tempo_bpm == pytest.approx(bpm, rel=0.04)
    truth = np.asarray(r.arrangement.truth()["beat_times_s"])
    on_beat = [np.min(np.abs(truth - b)) <= 0.07 for b in beats.beats_s]
    assert np.mean(on_beat) >= 0.85, f"{np.mean(on_beat):.2f} of the tracked beats within 70 ms of a true beat"
    tonic, measured_mode, _ = estimate_key(librosa.feature.chroma_stft(y=y, sr=SR).mean(axis=1))
    assert (tonic, measured_mode) == (key, mode)


def test_sections_are_as_loud_as_their_energies_and_the_song_at_its_level():
    form = (SectionSpec("intro", 2, 0.1), SectionSpec("verse", 2, 0.5), SectionSpec("chorus", 2, 0.9), SectionSpec("outro", 2, 0.3))
    for genre in ("pop", "ambient"):
        spec = ArrangementSpec(tempo_bpm=120, key="G", energy=0.5, genre=genre, duration_s=16.0, seed=2, sections=form)
        r = render_song(spec, SR)
        y = r.audio
        assert 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2))) == pytest.approx(level_db(0.5), abs=0.5)
        db = {s.energy: 20 * np.log10(np.sqrt(np.mean(y[int(s.start_s * SR): int(s.end_s * SR)].astype(np.float64) ** 2)))
              for s in r.arrangement.sections}
        levels = [db[e] for e in sorted(db)]
        assert all(b - a >= 3.0 for a, b in zip(levels, levels[1:])), (genre, db)  # 0.2 more energy: at least 3 dB louder


def test_stereo_is_the_same_song_panned(tmp_path):
    spec = ArrangementSpec(tempo_bpm=110, energy=0.7, genre="folk", duration_s=6.0, seed=3)
    y2 = render(spec, SR, channels=2, cache_root=tmp_path)
    assert y2.shape == (2, round(6.0 * SR))
    assert 20 * np.log10(np.sqrt(np.mean(y2.astype(np.float64) ** 2))) == pytest.approx(level_db(0.7), abs=0.5)
    assert not np.allclose(y2[0], y2[1], atol=1e-3)  # the parts are panned
    assert np.corrcoef(y2[0], y2[1])[0, 1] > 0.3


def test_cache_hit_returns_the_same_bytes_without_rendering(tmp_path, monkeypatch):
    spec = ArrangementSpec(tempo_bpm=100, key="D", mode="minor", energy=0.4, genre="hiphop", duration_s=5.0, seed=8)
    first = render_song(spec, SR, cache_root=tmp_path)
    assert not first.from_cache and first.cache_path.parent == tmp_path and first.cache_path.is_file()
    stored = first.cache_path.read_bytes()

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again on a cache hit")

    monkeypatch.setattr(render_module, "_run_fluidsynth", no_render)
    second = render_song(spec, SR, cache_root=tmp_path)
    assert second.from_cache and second.cache_path == first.cache_path
    assert second.audio.tobytes() == first.audio.tobytes()
    assert first.cache_path.read_bytes() == stored
    assert [p.name for p in tmp_path.iterdir()] == [first.cache_path.name]  # no temporary file left behind
    # anything that changes the samples changes the key: the spec, the rate, the channels, the soundfont
    s = render_module.synth()
    key = render_module.cache_key
    assert len({key(spec, SR, 1, s), key(ArrangementSpec(**{**spec.to_dict(), "seed": 9}), SR, 1, s), key(spec, 44100, 1, s),
                key(spec, SR, 2, s), key(spec, SR, 1, render_module.Synth(s.binary, s.version, s.soundfont, "0" * 64)),
                key(spec, SR, 1, render_module.Synth(s.binary, "FluidSynth 9", s.soundfont, s.soundfont_sha256))}) == 6


def test_without_the_cache_the_render_is_the_same(tmp_path):
    spec = ArrangementSpec(tempo_bpm=140, genre="metal", energy=0.9, duration_s=4.0, seed=5)
    a = render(spec, SR, cache=False)
    b = render(spec, SR, cache_root=tmp_path)
    assert a.tobytes() == b.tobytes()  # FluidSynth renders deterministically


def test_missing_fluidsynth_is_one_line_naming_the_apt_command(tmp_path, monkeypatch, capsys):
    from data_prep.example import make_example
    from mv2desc.cli import main

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    spec = ArrangementSpec(duration_s=2.0)
    with pytest.raises(UserError) as err:
        render(spec, SR, cache=False)
    message = str(err.value)
    assert "\n" not in message and APT_COMMAND in message and "fluidsynth" in message
    assert APT_COMMAND == "apt-get install fluidsynth timgm6mb-soundfont"
    root = tmp_path / "m4a"
    with pytest.raises(UserError, match="apt-get install fluidsynth"):
        make_example(root, 2, duration_s=2.0)
    assert not root.exists()  # refused before anything was written
    assert main(["data", "example", "--out", str(tmp_path / "cli")]) == 2
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and APT_COMMAND in lines[0]


def test_missing_soundfont_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv(render_module.SOUNDFONT_ENV, str(tmp_path / "none.sf2"))
    with pytest.raises(UserError, match=r"none\.sf2.*MV2DESC_SOUNDFONT.*apt-get install fluidsynth timgm6mb-soundfont"):
        render(ArrangementSpec(duration_s=2.0), SR, cache=False)


def test_data_example_writes_midi_songs_and_their_truth(tmp_path):
    from data_prep.example import TRUTH_FILE, make_example

    midi = make_example(tmp_path / "midi", 3, duration_s=8.0, seed=5)
    sine = make_example(tmp_path / "sine", 3, duration_s=8.0, seed=5, generator="sine")
    for name in ("id_information.csv", "id_metadata.csv", "id_tags.csv", "id_genres.csv", "id_lang.csv"):
        assert (midi / name).read_text(encoding="utf-8") == (sine / name).read_text(encoding="utf-8")  # same tracks, same facts
    truths = [json.loads(line) for line in (midi / TRUTH_FILE).read_text(encoding="utf-8").splitlines()]
    meta = {r.split("\t")[0]: r.split("\t") for r in (midi / "id_metadata.csv").read_text(encoding="utf-8").splitlines()[1:]}
    genres = dict(r.split("\t") for r in (midi / "id_genres.csv").read_text(encoding="utf-8").splitlines()[1:])
    assert sorted(t["id"] for t in truths) == sorted(meta)
    for t in truths:
        assert t["generator"] == "midi" and t["tempo_bpm"] == float(meta[t["id"]][9]) and t["energy"] == float(meta[t["id"]][5])
        assert t["genre"] == {"hip hop": "hiphop"}.get(genres[t["id"]], genres[t["id"]])
        y, sr = load_audio(midi / "audios" / f"{t['id']}.mp3", SR)
        assert abs(y.size / sr - 8.0) < 0.1
        ratio = track_beats(y, sr, MusicBeatConfig(tracker="librosa")).tempo_bpm / t["tempo_bpm"]
        assert min(abs(ratio * k - 1) for k in (1, 0.5, 2)) <= 0.04, ratio  # the example draws 70-160 BPM: octaves allowed
    assert {json.loads(line)["generator"] for line in (sine / TRUTH_FILE).read_text(encoding="utf-8").splitlines()} == {"sine"}
    with pytest.raises(UserError, match="generator"):
        make_example(tmp_path / "bad", 1, generator="square")
