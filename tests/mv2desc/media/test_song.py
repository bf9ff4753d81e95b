"""A song is decoded once (issue 19, item 3): :class:`mv2desc.song.Song` holds the one decode and its
analyses, and ``mv generate`` hands it to every stage.

Decodes are counted at the bottom of the media layer (every ``load_audio`` opens its file through
``mv2desc.media.audio.open_input``, whoever imported ``load_audio``), onset detections at librosa's
``onset_detect``; a real ``mv generate`` runs on a short synthetic song.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import av
import numpy as np
import pytest

import mv2desc.media.audio as media_audio
from mv2desc.beats import MusicBeatConfig, madmom_backend, track_file
from mv2desc.media.audio import load_audio, write_audio
from mv2desc.song import Song
from mv2desc.synth import SongSpec, render

SR = 22050


def _stereo_song(path: Path, parts: list[tuple[float, float]]) -> Path:
    """(energy, seconds) parts at 120 bpm; the right channel a quieter copy (a real downmix)."""
    y = np.concatenate([render(SongSpec(tempo_bpm=120, energy=e, duration_s=d, seed=k), SR) for k, (e, d) in enumerate(parts)])
    return write_audio(path, np.stack([y, 0.5 * y]), SR)


@pytest.fixture
def decodes(monkeypatch) -> collections.Counter:
    """Counts ``load_audio`` decodes per file (resolved path)."""
    counts: collections.Counter = collections.Counter()
    original = media_audio.open_input

    def spy(path, kind):
        if sys._getframe(1).f_code.co_name == "load_audio":  # probe_audio opens without decoding
            counts[Path(path).resolve()] += 1
        return original(path, kind)

    monkeypatch.setattr(media_audio, "open_input", spy)
    return counts


@pytest.fixture
def onset_detections(monkeypatch) -> list[int]:
    import librosa

    calls = [0]
    original = librosa.onset.onset_detect

    def spy(*args, **kwargs):
        # the song's onsets; a row's onset_rate (the feature extractor, on each segment's clip exactly as on
        # a training clip) is a per-row feature, not a second detection of the song's onsets
        if sys._getframe(1).f_globals.get("__name__") != "mv2desc.audio.rhythm_features":
            calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(librosa.onset, "onset_detect", spy)
    return calls


def test_mv_generate_decodes_the_song_once_and_detects_onsets_once(tmp_path, decodes, onset_detections):
    """Describe (beats, segments cut on onsets and loudness, features), cues, assembly and scores all
    read the one Song: one decode of the song file, one onset detection, whatever the stages."""
    from mv2desc.mvgen.config import GenerateConfig, RenderConfig, SyncConfig, VideoConfig
    from mv2desc.mvgen.pipeline import generate

    song = _stereo_song(tmp_path / "song.wav", [(0.25, 8.0), (0.9, 8.0)])  # 16 s > single_max_s: cut on the music
    cfg = GenerateConfig(song=str(song), out=str(tmp_path / "mv"), video=VideoConfig(width=160, height=96, fps=12.0), workers=1,
                         sync=SyncConfig(render=RenderConfig(fps=12.0, resample="auto")))
    report = generate(cfg)
    assert len(report["segments"]) >= 2 and report["sync"]["output"]["duration_s"] == pytest.approx(16.0, abs=1 / 12 + 1e-6)
    assert decodes[song.resolve()] == 1, dict(decodes)
    assert onset_detections[0] == 1
    # the run's beats are the song's beats as `mv beats` reports them
    assert report["sync"]["music"] == track_file(song, cfg.sync.music).to_dict()


@pytest.mark.parametrize("tracker", ["librosa", "auto"])
def test_song_beats_equal_track_file(tmp_path, tracker):
    """``Song.beats`` is ``track_file`` exactly (beats, downbeats, tempo, duration), for a stereo and a
    mono file: ``mv beats`` (track_file) and ``mv sync`` / ``mv generate`` (the Song) agree."""
    y = render(SongSpec(tempo_bpm=126.0, duration_s=10.0, energy=0.7, seed=4), 44100)
    cfg = MusicBeatConfig(tracker=tracker)
    for path in (write_audio(tmp_path / "st.flac", np.stack([y, 0.3 * y]), 44100), write_audio(tmp_path / "mono.wav", y, 44100)):
        song = Song.load(path)
        np.testing.assert_array_equal(song.mono, load_audio(path)[0])  # bit-identical to a mono decode
        a, b = song.beats(cfg), track_file(path, cfg)
        assert (a.tempo_bpm, a.tracker, a.duration_s) == (b.tempo_bpm, b.tracker, b.duration_s)
        np.testing.assert_array_equal(a.beats_s, b.beats_s)
        np.testing.assert_array_equal(a.downbeats_s, b.downbeats_s)
        assert a.to_dict() == b.to_dict()
        assert song.beats(cfg) is a  # tracked once


def _write_three_channels(path: Path, y: np.ndarray, sr: int) -> Path:
    with av.open(str(path), "w") as c:
        stream = c.add_stream("pcm_s16le", rate=sr, layout="3.0")
        frame = av.AudioFrame.from_ndarray((np.clip(y, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1).copy(), format="s16",
                                           layout="3.0")
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    return path


def test_more_than_two_channels_keep_the_mean_for_analysis_and_ffmpegs_stereo_for_the_soundtrack(tmp_path, decodes):
    """Mono is the mean of all the file's channels (what ``load_audio`` gives every analysis); the stereo
    soundtrack of a 3-channel file is FFmpeg's downmix, the one case that costs a second decode."""
    sr = 22050
    t = np.arange(2 * sr) / sr
    y = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t), 0.1 * np.sin(2 * np.pi * 440 * t)])
    path = _write_three_channels(tmp_path / "three.wav", y, sr)
    song = Song.load(path)
    assert song.n_channels == 3 and decodes[path.resolve()] == 1
    np.testing.assert_array_equal(song.mono, load_audio(path)[0])
    expected = load_audio(path, channels=2)[0]
    decodes.clear()
    np.testing.assert_array_equal(song.stereo, expected)
    assert song.stereo is song.stereo and decodes[path.resolve()] == 1  # decoded for it once


def test_analyses_are_computed_once_and_shared(tmp_path, decodes, onset_detections):
    from mv2desc.describe.segments import SegmentConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.mvgen.cues import segment_cues

    path = _stereo_song(tmp_path / "s.wav", [(0.2, 6.0), (0.9, 6.0)])
    stereo = load_audio(path, channels=2)[0]
    decodes.clear()
    song = Song.load(path)
    np.testing.assert_array_equal(song.stereo, stereo)  # the soundtrack, from the same decode
    assert song.mono_at(16000) is song.mono_at(16000) and song.mono_at(song.sr) is song.mono
    librosa_cfg = MusicBeatConfig(tracker="librosa")
    assert song.beats(MusicBeatConfig(tracker="librosa")) is song.beats(librosa_cfg)
    cfg = DescribeConfig(segments=SegmentConfig(single_max_s=4, target_bars=2, min_bars=1, max_bars=4, follow_music=1.0), beats=librosa_cfg)
    desc = describe_song(song, None, cfg)
    cues = segment_cues(song, song.beats(librosa_cfg), [(s.start_s, s.end_s) for s in desc.segments])
    assert decodes[path.resolve()] == 1 and onset_detections[0] == 1  # describe and cues: the same decode, the same onsets
    assert len(cues) == len(desc.segments) >= 2
    assert cues[-1].energy > cues[0].energy  # the loud half is louder
    # a path gives the same description as the Song made of it (the describe command passes a path)
    assert describe_song(path, None, cfg).to_dict() == desc.to_dict()
    from mv2desc.mvgen.edits import song_fingerprint

    assert song.fingerprint == song_fingerprint(path)


@pytest.mark.skipif(not madmom_backend.available(), reason="madmom not installed")
@pytest.mark.parametrize("threads", [1, 2])
def test_the_phase_check_chroma_is_computed_once_and_is_the_structures(monkeypatch, threads):
    """madmom's phase check and the structure read the same constant-Q chroma of the song, computed once
    (with two threads in a tracker worker while the networks run); the sections are those the
    structure finds with its own chroma."""
    import librosa

    from mv2desc.beats.refine import chroma_views
    from mv2desc.beats.tracking import beat_input
    from mv2desc.structure import StructureConfig, analyse_structure
    from mv2desc.structure.synth_songs import known_song

    ks = known_song("ABAB", 4, sr=44100)
    calls = collections.Counter()
    original = librosa.feature.chroma_cqt

    def counted(*args, **kwargs):
        calls["chroma_cqt"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(librosa.feature, "chroma_cqt", counted)
    song = Song(ks.y, ks.sr)
    cfg = MusicBeatConfig(tracker="madmom", threads=threads)
    structure = song.structure(cfg, StructureConfig())
    assert calls["chroma_cqt"] == (1 if threads == 1 else 0)  # with two threads: in the worker, none here
    views = song.chroma_views()
    assert calls["chroma_cqt"] == (1 if threads == 1 else 0)  # kept, not computed again
    want = chroma_views(beat_input(ks.y, ks.sr, 44100), 44100)
    np.testing.assert_allclose(views[1], want[1], atol=1e-6)
    beats = song.beats(cfg)
    own = analyse_structure(ks.y, ks.sr, beats, StructureConfig())
    assert len(structure.sections) >= 2
    assert [(s.start_s, s.end_s, s.label) for s in structure.sections] == [(s.start_s, s.end_s, s.label) for s in own.sections]


def test_without_the_phase_check_the_structure_computes_the_constant_q_view_alone(monkeypatch):
    """With the librosa tracker nothing reads the STFT view: the structure's chroma is the constant-Q
    view alone, equal to the one madmom's phase check would have shared."""
    import librosa

    from mv2desc.beats.refine import chroma_views
    from mv2desc.beats.tracking import beat_input
    from mv2desc.structure import StructureConfig
    from mv2desc.structure.synth_songs import known_song

    ks = known_song("ABAB", 4, sr=44100)
    calls = collections.Counter()
    for name in ("chroma_cqt", "chroma_stft"):
        original = getattr(librosa.feature, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(librosa.feature, name, counted)
    song = Song(ks.y, ks.sr)
    cfg = MusicBeatConfig(tracker="librosa")
    song.beats(cfg)  # the librosa tracker's downbeats read chroma of their own
    calls.clear()
    song.structure(cfg, StructureConfig())
    assert calls["chroma_cqt"] == 1 and calls["chroma_stft"] == 0
    np.testing.assert_array_equal(song.constant_q_chroma(), chroma_views(beat_input(ks.y, ks.sr, 44100), 44100)[1])
