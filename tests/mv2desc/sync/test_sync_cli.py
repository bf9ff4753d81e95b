"""``mv2desc mv beats|sync|score``: JSON out, a playable MP4 back, one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import REPO
from infer.__main__ import main as mv_main
from mv2desc.media.audio import write_audio
from mv2desc.media.video import write_video
from mv2desc.sync.synth_video import MotionClipSpec, render_clip
from mv2desc.synth import SongSpec, beat_times, render

TEMPO = 111.0  # beats off the 8 fps frame grid, so the grid's effect shows
SONG_S = 12.0


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict:
    """A 12 s synth song at 111 bpm and three 3 s clips at 8 fps (SVD-like) whose objects stop at known times."""
    root = tmp_path_factory.mktemp("sync_media")
    spec = SongSpec(tempo_bpm=TEMPO, duration_s=SONG_S, seed=1)
    song = write_audio(root / "song.wav", render(spec, 44100), 44100)
    clips, events = [], []
    for k in range(3):
        frames, ev = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=160, height=96, seed=10 + k))
        clips.append(write_video(root / f"clip{k}.mp4", frames, 8.0))
        events.append(ev)
    return {"root": root, "song": song, "clips": clips, "events": events, "beats": beat_times(spec)}


def _json_out(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_sync_writes_a_playable_mp4_and_a_report(media, capsys):
    out, report_path = media["root"] / "mv.mp4", media["root"] / "report.json"
    videos = [arg for c in media["clips"] for arg in ("--video", str(c))]
    args = ["sync", *videos, "--audio", str(media["song"]),
            "--out", str(out), "--report", str(report_path), "--beats.tracker", "librosa"]
    assert mv_main(args) == 0
    summary = _json_out(capsys)
    report = json.loads(report_path.read_text())
    # the MP4, read back with PyAV: as long as the song (within one frame), 24 fps, and the song in it
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio
        assert float(video.average_rate) == pytest.approx(24.0)
        n_frames = sum(1 for _ in container.decode(video))
        assert len(audio) == 1 and audio[0].codec_context.name == "aac"
        assert audio[0].codec_context.sample_rate == 44100
    duration = report["output_duration_s"]
    assert abs(n_frames / 24.0 - SONG_S) <= 1 / 24.0 and summary["duration_s"] == pytest.approx(n_frames / 24.0)
    # 9 s of clips for a 12 s song: reused in order, and said so
    assert report["reuse"]["shown"] == 4 and report["warnings"][0].startswith("clips too short")
    with av.open(str(out)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples / 44100 - duration) <= 0.05
    # the report: beats, matching, stretch ratios within bounds, every metric by convention
    assert report["music"]["tempo"] == pytest.approx(TEMPO, rel=0.03)
    assert report["stretch"]["all_within_bounds"]
    assert 0.5 <= report["stretch"]["min"] <= report["stretch"]["max"] <= 2.0
    assert report["conventions"]["sigma_s"] == 0.05 and report["conventions"]["bin_s"] == 1.0
    for clip, events in zip(report["clips"], media["events"]):
        np.testing.assert_allclose(clip["visual_beats_s"], events, atol=1 / 16)
        assert all(0.5 - 1e-6 <= r <= 2.0 + 1e-6 for r in clip["stretch_ratios"])
        anchors = clip["warp_anchors"]
        assert np.all(np.diff(anchors["src_s"]) > 0) and np.all(np.diff(anchors["out_s"]) > 0)
    metrics, planned = report["metrics"], report["metrics_planned"]
    for key in ("bas_visual", "bas_music", "bcs", "bhs"):
        assert f"{key}_before" in metrics and f"{key}_after" in metrics and f"{key}_after" in planned
    assert metrics["measured_on"] == "output" and not metrics["worse_than_concatenation"]
    assert metrics["bas_visual_after"] > 0.85 > metrics["bas_visual_before"]  # measured on the MP4
    assert metrics["bas_visual_after"] >= report["baselines"]["uniform"]["bas_visual_after"]
    assert report["n_matched"] >= 0.8 * len(report["visual_beats_planned_s"])
    assert summary["metrics"] == metrics and summary["metrics_planned"] == planned and summary["out"] == str(out)


def test_score_of_the_output_agrees_with_what_sync_printed(media, capsys):
    out, report_path = media["root"] / "mv.mp4", media["root"] / "report.json"
    if not out.exists():
        pytest.skip("needs the video written by test_sync_writes_a_playable_mp4_and_a_report")
    report = json.loads(report_path.read_text())
    assert mv_main(["score", "--video", str(out), "--audio", str(media["song"]), "--beats.tracker", "librosa"]) == 0
    score = _json_out(capsys)
    assert score["sigma_s"] == 0.05 and score["fps"] == 24.0
    for key in ("bas_visual", "bas_music", "bcs", "bhs"):
        assert score[key] == pytest.approx(report["metrics"][f"{key}_after"], abs=1e-4)
    assert len(score["cuts_s"]) == 3  # the three clip boundaries, found as cuts and not counted as beats


def test_the_legacy_8_fps_nearest_output_is_still_available_and_scores_lower(media, capsys):
    out = media["root"] / "mv8.mp4"
    videos = [arg for c in media["clips"] for arg in ("--video", str(c))]
    args = ["sync", *videos, "--audio", str(media["song"]), "--out", str(out), "--render.fps", "0", "--render.resample", "nearest", "--beats.tracker", "librosa"]
    assert mv_main(args) == 0
    printed = _json_out(capsys)["metrics"]
    assert mv_main(["score", "--video", str(out), "--audio", str(media["song"]), "--beats.tracker", "librosa"]) == 0
    score = _json_out(capsys)
    assert score["fps"] == 8.0 and score["bas_visual"] == pytest.approx(printed["bas_visual_after"], abs=1e-4)
    # at 8 fps a beat can only show on a 125 ms grid: measured on the MP4, below the 24 fps default
    assert printed["bas_visual_after"] < json.loads((media["root"] / "report.json").read_text())["metrics"]["bas_visual_after"]


def test_score_of_an_unsynchronised_video_is_lower(media, capsys):
    frames, _ = render_clip(MotionClipSpec(duration_s=SONG_S, fps=8.0, width=160, height=96, seed=3))
    from mv2desc.media.audio import load_audio

    y, sr = load_audio(media["song"], 44100)
    plain = write_video(media["root"] / "plain.mp4", frames, 8.0, audio=y, sample_rate=sr)
    assert mv_main(["score", "--video", str(plain), "--beats.tracker", "librosa"]) == 0
    assert _json_out(capsys)["bas_visual"] < 0.6


def test_beats_json(media, capsys, tmp_path):
    out = tmp_path / "beats.json"
    assert mv_main(["beats", str(media["song"]), "--out", str(out)]) == 0  # default tracker
    printed = _json_out(capsys)
    assert printed == json.loads(out.read_text())
    assert set(printed) >= {"tempo", "beats", "downbeats"}
    assert printed["tempo"] == pytest.approx(TEMPO, rel=0.02)
    beats = np.array(printed["beats"])
    truth = media["beats"]
    err = np.abs(beats[:, None] - truth[None, :]).min(axis=1)
    assert np.all(err < 0.03)
    assert len(beats) >= len(truth) - 2
    downbeats = np.array(printed["downbeats"])
    assert len(downbeats) >= 4 and np.all(np.abs(downbeats[:, None] - truth[None, ::4]).min(axis=1) < 0.03)


def _one_line_error(capsys, code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in captured.err
    return lines[-1]


def test_missing_files_are_one_line_errors(media, capsys, tmp_path):
    err = _one_line_error(capsys, mv_main(["beats", str(tmp_path / "nope.mp3")]))
    assert "nope.mp3" in err
    code = mv_main(["sync", "--video", str(tmp_path / "missing.mp4"), "--audio", str(media["song"]), "--out", str(tmp_path / "o.mp4")])
    assert "missing_video" in _one_line_error(capsys, code)
    code = mv_main(["sync", "--video", str(media["clips"][0]), "--audio", str(tmp_path / "gone.wav"), "--out", str(tmp_path / "o.mp4")])
    assert "gone.wav" in _one_line_error(capsys, code)
    assert not (tmp_path / "o.mp4").exists()


def test_non_video_input_is_a_one_line_error(media, capsys, tmp_path):
    code = mv_main(["sync", "--video", str(media["song"]), "--audio", str(media["song"]), "--out", str(tmp_path / "o.mp4")])
    assert "no_video_stream" in _one_line_error(capsys, code)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    assert "corrupt_video" in _one_line_error(capsys, mv_main(["score", "--video", str(text)]))
    silent = write_video(tmp_path / "silent.mp4", render_clip(MotionClipSpec(duration_s=1.0, fps=8.0))[0], 8.0)
    assert "no audio stream" in _one_line_error(capsys, mv_main(["score", "--video", str(silent)]))


def test_invalid_settings_are_one_line_errors(media, capsys, tmp_path):
    code = mv_main(["sync", "--video", str(media["clips"][0]), "--audio", str(media["song"]), "--out", str(tmp_path / "o.mp4"),
                    "--match.min-stretch", "1.5"])
    assert "min_stretch" in _one_line_error(capsys, code)
    assert mv_main(["dance"]) == 2 and "unknown mv command" in capsys.readouterr().err


def test_a_low_motion_clip_is_synced_without_beats(media, capsys, tmp_path):
    frames, _ = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=160, height=96, motion="still"))
    still = write_video(tmp_path / "still.mp4", frames, 8.0)
    report = tmp_path / "r.json"
    code = mv_main(["sync", "--video", str(still), "--audio", str(media["song"]), "--out", str(tmp_path / "s.mp4"),
                    "--report", str(report), "--beats.tracker", "librosa"])
    assert code == 0
    capsys.readouterr()
    rep = json.loads(report.read_text())
    assert rep["clips"][0]["low_motion"] and rep["clips"][0]["visual_beats_s"] == []
    assert rep["metrics"]["bas_visual_after"] is None and rep["metrics"]["bas_music_after"] == 0.0
    assert rep["output"]["duration_s"] == pytest.approx(SONG_S, abs=1 / 24)  # the 3 s clip reused to cover the song
    assert rep["reuse"]["shown"] == 4


def test_console_script_and_python_m_infer():
    exe = Path(sys.executable).with_name("mv2desc")
    proc = subprocess.run([str(exe), "mv", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0 and "beats" in proc.stdout and "score" in proc.stdout
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert "  mv " in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "infer", "beats", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0 and "--beats.tracker" in proc.stdout
