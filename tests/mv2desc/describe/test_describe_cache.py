"""``describe_song`` with an analysis store: the same file and settings are described once (the second
call returns the stored result without describing again, even from a fresh decode); another setting
or another song is described anew; ``mv2desc describe --cache_dir`` uses it."""

from __future__ import annotations

import json

import numpy as np

import mv2desc.describe.song as describe_module
from infer.describe_cmd import main as describe_main
from mv2desc.analysis_cache import AnalysisStore
from mv2desc.describe.song import DescribeConfig, describe_song
from mv2desc.media.audio import write_audio
from mv2desc.song import Song
from mv2desc.synth import SongSpec, render

SR = 22050


def _count(monkeypatch) -> list[int]:
    calls = [0]
    real = describe_module._describe_song

    def wrapped(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(describe_module, "_describe_song", wrapped)
    return calls


def test_store_describes_once_per_content_and_settings(tmp_path, monkeypatch):
    path = write_audio(tmp_path / "a.wav", render(SongSpec(tempo_bpm=120.0, energy=0.6, duration_s=12.0, seed=1), SR), SR)
    store = AnalysisStore(tmp_path / "cache")
    calls = _count(monkeypatch)
    first = describe_song(Song.load(path).use_store(store))
    again = describe_song(Song.load(path), store=store)  # a fresh decode of the same bytes
    assert calls[0] == 1 and again.to_dict() == first.to_dict()
    assert [e["status"] for e in store.events if e["kind"] == "describe"] == ["miss", "hit"]
    assert store.summary()["describe"] == "1 of 2 cached"  # the store's two calls: described once, then read
    describe_song(Song.load(path), cfg=DescribeConfig(seed=5), store=store)  # another setting: described again
    assert calls[0] == 2
    other = write_audio(tmp_path / "b.wav", render(SongSpec(tempo_bpm=90.0, energy=0.6, duration_s=12.0, seed=2), SR), SR)
    describe_song(Song.load(other), store=store)  # another song
    assert calls[0] == 3


def test_describe_command_cache_dir(tmp_path, monkeypatch, capsys):
    y = render(SongSpec(tempo_bpm=110.0, energy=0.5, duration_s=10.0, seed=4), SR)
    path = write_audio(tmp_path / "s.wav", np.asarray(y), SR)
    calls = _count(monkeypatch)
    outs = []
    for _ in range(2):
        assert describe_main([str(path), "--cache_dir", str(tmp_path / "c"), "-q"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert calls[0] == 1 and outs[0] == outs[1]
    assert any((tmp_path / "c" / "describe").glob("*.bin"))


def test_the_metadata_describer_tracks_the_song_once(tmp_path, monkeypatch):
    """Without a captioner no segment is tracked again: each segment's tempo is the song's beats' there
    (the per-segment tracker is never called; the song's tracker runs once)."""
    from mv2desc.audio import rhythm_features
    from mv2desc.describe.song import segment_tempo

    def no_tracking(*args, **kwargs):
        raise AssertionError("a segment was tracked again")

    monkeypatch.setattr(rhythm_features, "track_beats", no_tracking)
    path = write_audio(tmp_path / "a.wav", render(SongSpec(tempo_bpm=96.0, energy=0.6, duration_s=20.0, seed=2), SR), SR)
    song = Song.load(path)
    desc = describe_song(song, cfg=DescribeConfig())
    beats = song.beats(DescribeConfig().beats)
    assert len(desc.segments) >= 1
    for s in desc.segments:
        assert s.tempo_bpm == segment_tempo(beats, s.start_s, s.end_s)
