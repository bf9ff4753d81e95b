"""Sync measured on the video it writes: frame-grid planning, motion-compensated in-between frames,
the whole song covered, never worse than concatenation without saying so."""

from __future__ import annotations

import json
import logging

import cv2
import numpy as np
import pytest

from mv2desc.beats import MusicBeatConfig, MusicBeats
from mv2desc.media.audio import write_audio
from mv2desc.media.video import probe_video, read_frames, write_video
from mv2desc.sync.config import SyncConfig
from mv2desc.sync.engine import sync_videos
from mv2desc.sync.interpolate import FlowInterpolator
from mv2desc.sync.plan import cycle_order
from mv2desc.sync.render import ClipPlacement, render
from mv2desc.sync.synth_video import MotionClipSpec, render_clip
from mv2desc.sync.warp import TimeWarp

FPS = 24.0


_TEXTURE = cv2.resize((np.random.default_rng(0).random((12, 20)) * 90).astype(np.uint8), (160, 96), interpolation=cv2.INTER_NEAREST)


def _square(x: int) -> np.ndarray:
    img = np.zeros((96, 160, 3), np.uint8)
    img[..., 1] = _TEXTURE  # a still, textured background
    cv2.rectangle(img, (x, 30), (x + 24, 54), (255, 220, 0), -1)
    return img


def _centroid_x(img: np.ndarray) -> float:
    return float(np.nonzero(img[..., 0] > 200)[1].mean())


def test_an_in_between_frame_follows_the_motion_not_a_cross_fade():
    a, b = _square(40), _square(56)
    mid = FlowInterpolator().between(a, b, 0.5)
    assert _centroid_x(mid) == pytest.approx(_centroid_x(_square(48)), abs=1.5)
    fade = cv2.addWeighted(a, 0.5, b, 0.5, 0.0)
    err = lambda img: np.abs(img.astype(int) - _square(48).astype(int)).mean()  # noqa: E731
    assert err(mid) < 0.5 * err(fade)
    assert np.array_equal(FlowInterpolator().between(a, a, 0.5), a)  # a held frame stays held


def test_interpolated_frames_are_not_duplicates_except_where_the_source_holds(tmp_path):
    # a square moving 8 px a frame at 8 fps for 1 s, then held for 1 s
    frames = [_square(10 + 8 * k) for k in range(8)] + [_square(66)] * 8
    clip = write_video(tmp_path / "clip.mp4", np.stack(frames), 8.0, crf=10)
    info = probe_video(clip)
    for mode in ("flow", "nearest"):
        out = render([ClipPlacement(info, TimeWarp.uniform(0, 2, 0, 2), 0, 2)], tmp_path / f"{mode}.mp4", duration_s=2.0,
                     fps=FPS, width=160, height=96, resample=mode, crf=10)
        got = read_frames(out)
        diffs = np.array([np.abs(got[k + 1].astype(int) - got[k].astype(int)).mean() for k in range(len(got) - 1)])
        moving, held = diffs[: int(0.9 * FPS)], diffs[int(1.2 * FPS) :]
        if mode == "flow":
            assert moving.min() > 0.3, "every output frame of the motion is a new frame"
            xs = [_centroid_x(f) for f in got[:21]]
            assert np.all(np.diff(xs) > 1.0)  # the square advances on every output frame
        else:
            assert (moving < 0.05).sum() >= 10  # holding: two of every three frames repeat
        assert held.max() < 0.3  # where the source holds, so does the output


def test_clips_are_reused_in_order_until_they_cover_the_song():
    assert cycle_order([3.0, 3.0, 3.0], 10.0, 1.25) == [0, 1, 2]  # 9 s x 1.25 covers 10 s
    assert cycle_order([3.0], 12.0, 1.25) == [0, 0, 0, 0]
    assert cycle_order([2.0, 4.0], 20.0, 1.25) == [0, 1, 0, 1, 0, 1]  # 18 s of material
    with pytest.raises(ValueError):
        cycle_order([], 10.0, 1.25)


@pytest.fixture(scope="module")
def one_stop_clip(tmp_path_factory):
    """A 3 s 8 fps clip whose object stops at known times, a silent 3.4 s song, and beats off every grid."""
    d = tmp_path_factory.mktemp("onestop")
    frames, stops = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=160, height=96, seed=12))
    clip = write_video(d / "clip.mp4", frames, 8.0, crf=12)
    song = write_audio(d / "song.wav", np.zeros(int(3.4 * 44100), np.float32), 44100)
    beats = np.arange(0.287, 3.4, 0.6131)  # 97.9 bpm, on neither the 8 fps nor the 24 fps grid
    music = MusicBeats(97.9, beats, beats[::4], "test", 3.4)
    return {"dir": d, "clip": clip, "song": song, "stops": stops, "music": music}


def test_a_matched_visual_beat_lands_on_the_output_frame_nearest_its_music_beat(one_stop_clip):
    d, music = one_stop_clip["dir"], one_stop_clip["music"]
    report = sync_videos([one_stop_clip["clip"]], one_stop_clip["song"], d / "out.mp4", SyncConfig(), music=music, workers=1)
    matches = report["clips"][0]["matches"]
    assert matches, "the clip's stops were matched to beats"
    measured = np.array(report["visual_beats_after_s"])
    for m in matches:
        nearest_frame = round(min(music.beats_s, key=lambda b: abs(b - m["music_s"])) * FPS)
        assert m["music_s"] * FPS == pytest.approx(nearest_frame, abs=1e-3)  # planned on the output frame grid
        assert np.min(np.abs(measured - nearest_frame / FPS)) <= 1 / FPS + 1e-6  # and found there in the MP4
    assert report["output"]["n_frames"] == round(3.4 * FPS)


def test_output_covers_the_song_when_the_clips_hold_a_quarter_of_it(one_stop_clip, tmp_path, caplog):
    song = write_audio(tmp_path / "long.wav", np.zeros(int(12.0 * 44100), np.float32), 44100)
    beats = np.arange(0.25, 12.0, 0.5)
    with caplog.at_level(logging.WARNING, logger="mv2desc.sync.engine"):
        report = sync_videos([one_stop_clip["clip"]], song, tmp_path / "long.mp4", SyncConfig(),
                             music=MusicBeats(120.0, beats, beats[::4], "test", 12.0), workers=1)
    info = probe_video(tmp_path / "long.mp4")
    assert abs(info.n_frames - 12.0 * FPS) <= 1 and report["output"]["n_frames"] == info.n_frames
    assert report["reuse"]["shown"] == 4 and report["reuse"]["material_s"] == pytest.approx(3.0)
    assert any("3.0 s for a 12.0 s song" in r.message for r in caplog.records)


def test_a_result_below_concatenation_is_said_in_the_metrics_and_the_report(one_stop_clip, tmp_path):
    """Beats that fall exactly on the clips' own stops: concatenation is already perfect, and any
    stretch can only lose. The matcher is told not to match (uniform)."""
    stops = np.asarray(one_stop_clip["stops"], dtype=float)
    song = write_audio(tmp_path / "s.wav", np.zeros(int(3.4 * 44100), np.float32), 44100)
    music = MusicBeats(120.0, stops, stops[:1], "test", 3.4)
    from mv2desc.sync.config import MatchConfig

    cfg = SyncConfig(match=MatchConfig(matcher="uniform"))
    report = sync_videos([one_stop_clip["clip"]], song, tmp_path / "w.mp4", cfg, music=music, workers=1)
    m = report["metrics"]
    assert m["bas_visual_before"] == pytest.approx(1.0)
    assert m["bas_visual_after"] < m["bas_visual_before"] and m["worse_than_concatenation"]
    assert any("below plain concatenation" in w for w in report["warnings"])


def test_sync_never_overwrites_an_input_and_leaves_no_temporary_file(one_stop_clip, tmp_path, capsys):
    from infer.__main__ import main as mv_main

    clip = tmp_path / "mine.mp4"
    clip.write_bytes(one_stop_clip["clip"].read_bytes())
    before = clip.read_bytes()
    code = mv_main(["sync", "--video", str(clip), "--audio", str(one_stop_clip["song"]), "--out", str(clip)])
    assert code == 2 and "is the input" in capsys.readouterr().err
    assert clip.read_bytes() == before
    assert mv_main(["sync", "--video", str(clip), "--audio", str(one_stop_clip["song"]), "--out", str(tmp_path / "o.mp4"),
                    "--beats.tracker", "librosa", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "INFO" not in captured.err and json.loads(captured.out)["out"] == str(tmp_path / "o.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.mp4", "o.mp4"]


def test_a_stereo_song_6_db_quieter_gives_the_same_beats(tmp_path):
    from mv2desc.beats import track_file
    from mv2desc.synth import SongSpec
    from mv2desc.synth import render as render_song

    y = render_song(SongSpec(tempo_bpm=117.0, duration_s=15.0, seed=6), 44100)
    st = np.stack([y, 0.7 * y]) * 0.5
    a = track_file(write_audio(tmp_path / "a.flac", st, 44100), MusicBeatConfig(tracker="auto"))
    b = track_file(write_audio(tmp_path / "b.flac", st * 10 ** (-6 / 20), 44100), MusicBeatConfig(tracker="auto"))
    assert len(a.beats_s) == len(b.beats_s) > 20
    assert np.abs(a.beats_s - b.beats_s).max() <= 0.011
