"""Visual beats from optical flow: rendered stops at known times are found on the right frame."""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.media.video import probe_video, read_frames, write_video
from mv2desc.sync.config import VisualBeatConfig
from mv2desc.sync.flow import STREAM_HINT, motion_features
from mv2desc.sync.synth_video import MotionClipSpec, event_times, render_clip
from mv2desc.sync.visual_beats import detect_visual_beats, visual_beats_from_features, visual_beats_of_file


def _encoded(tmp_path, spec: MotionClipSpec):
    """Render, encode to H.264 and return (path, event times): the detector sees what a user's file gives."""
    frames, events = render_clip(spec)
    path = write_video(tmp_path / f"clip_{spec.motion}_{spec.fps}_{spec.seed}.mp4", frames, spec.fps)
    return path, events


@pytest.mark.parametrize(("fps", "seed"), [(24.0, 3), (8.0, 3), (7.0, 5), (25.0, 11)])
def test_stops_are_found_on_their_frame(tmp_path, fps, seed):
    spec = MotionClipSpec(duration_s=6.0, fps=fps, seed=seed)
    path, events = _encoded(tmp_path, spec)
    assert len(events) >= 5
    beats = visual_beats_of_file(path)
    # one visual beat per stop, each on the stop frame itself (the first frame at rest)
    assert len(beats.times_s) == len(events)
    np.testing.assert_allclose(beats.times_s, events, atol=0.5 / fps)
    assert beats.fps == pytest.approx(fps)
    assert not beats.low_motion


def test_stops_at_chosen_times_with_several_objects(tmp_path):
    events = (0.75, 1.5, 1.875, 3.0, 4.25)
    spec = MotionClipSpec(duration_s=5.0, fps=24.0, n_objects=2, events_s=events, move_s=0.3, seed=2)
    np.testing.assert_allclose(event_times(spec), events)
    path, _ = _encoded(tmp_path, spec)
    np.testing.assert_allclose(visual_beats_of_file(path).times_s, events, atol=0.5 / 24)


@pytest.mark.parametrize("repeats", [(3,), (2, 1), (2, 2, 1)])
def test_held_frames_are_not_stops(tmp_path, repeats):
    # an 8 fps clip shown with each frame held 3 times at 24 fps, or slowed down 1.5x / 1.67x at 8 fps
    # by holding frames, as frame-rate conversion and stretching do: the stops move, nothing is added
    spec = MotionClipSpec(duration_s=6.0, fps=8.0, seed=3)
    frames, events = render_clip(spec)
    counts = np.resize(np.array(repeats), len(frames))
    held = np.repeat(frames, counts, axis=0)
    out_fps = 24.0 if repeats == (3,) else 8.0
    path = write_video(tmp_path / "held.mp4", held, out_fps)
    first_shown = np.concatenate([[0], np.cumsum(counts)[:-1]]) / out_fps  # when each source frame appears
    expected = first_shown[np.round(events * spec.fps).astype(int)]
    beats = visual_beats_of_file(path)
    np.testing.assert_allclose(beats.times_s, expected, atol=0.5 / out_fps)


def test_a_still_clip_reports_low_motion_and_no_beats(tmp_path):
    path, _ = _encoded(tmp_path, MotionClipSpec(duration_s=3.0, fps=8.0, motion="still"))
    beats = visual_beats_of_file(path)
    assert beats.times_s.size == 0
    assert beats.low_motion


def test_a_steady_pan_has_no_beats(tmp_path):
    path, _ = _encoded(tmp_path, MotionClipSpec(duration_s=4.0, fps=24.0, motion="drift"))
    beats = visual_beats_of_file(path)
    assert beats.times_s.size == 0
    assert beats.median_speed > 0.1  # it does move: ~0.15 frame heights per second
    assert not beats.low_motion


def test_hard_cuts_are_detected_and_are_not_beats(tmp_path):
    # three panning shots: the second a negative of another texture, the third a different texture
    a, _ = render_clip(MotionClipSpec(duration_s=2.0, fps=24.0, motion="drift", seed=1))
    b, _ = render_clip(MotionClipSpec(duration_s=2.0, fps=24.0, motion="drift", seed=2))
    path = write_video(tmp_path / "cuts.mp4", np.concatenate([a, 255 - b, a[::-1]]), 24.0)
    beats = visual_beats_of_file(path)
    np.testing.assert_allclose(beats.cuts_s, [2.0, 4.0])
    assert beats.times_s.size == 0


def test_cuts_between_flat_coloured_shots(tmp_path):
    from video_fixtures import make_music_video

    video = make_music_video(tmp_path / "mv.mp4", duration_s=8.0, cuts_s=(2.5, 5.0, 6.5))
    beats = visual_beats_of_file(video.path)
    np.testing.assert_allclose(beats.cuts_s, video.cuts_s)
    for cut in video.cuts_s:  # nothing is reported at a cut, nor on the frame before it
        assert np.all(np.abs(beats.times_s - cut) > 1.5 / video.fps)


def test_a_stop_just_before_a_cut_is_kept_and_the_cut_is_not_a_beat(tmp_path):
    a, _ = render_clip(MotionClipSpec(duration_s=2.0, fps=24.0, events_s=(1.0,), seed=4))
    b, _ = render_clip(MotionClipSpec(duration_s=2.0, fps=24.0, motion="still", seed=5))
    path = write_video(tmp_path / "stop_cut.mp4", np.concatenate([a, 255 - b]), 24.0)
    beats = visual_beats_of_file(path)
    np.testing.assert_allclose(beats.times_s, [1.0], atol=0.5 / 24)
    np.testing.assert_allclose(beats.cuts_s, [2.0])


def test_features_are_in_frame_heights_per_second_whatever_the_resolution():
    import cv2

    frames, _ = render_clip(MotionClipSpec(duration_s=2.0, fps=24.0, motion="drift"))  # pans 0.15 heights/s
    grey = frames.mean(axis=3).astype(np.uint8)
    speeds = []
    for h in (96, 64):
        small = np.stack([cv2.resize(g, (h * 16 // 9, h), interpolation=cv2.INTER_AREA) for g in grey])
        speeds.append(float(np.median(motion_features(small, 24.0).speed[1:])))
    assert speeds[0] == pytest.approx(0.15, rel=0.25)
    assert speeds[1] == pytest.approx(speeds[0], rel=0.25)


def test_a_tiny_clip_does_not_crash():
    grey = np.zeros((1, 32, 32), dtype=np.uint8)
    beats = detect_visual_beats(grey, 8.0)
    assert beats.times_s.size == 0
    feats = motion_features(np.zeros((2, 32, 32), dtype=np.uint8), 8.0)
    assert visual_beats_from_features(feats, VisualBeatConfig()).times_s.size == 0


def test_decoding_downscales_inside_ffmpeg(tmp_path):
    path, _ = _encoded(tmp_path, MotionClipSpec(duration_s=1.0, fps=8.0, width=320, height=180))
    info = probe_video(path)
    assert (info.width, info.height, info.n_frames, info.fps) == (320, 180, 8, 8.0)
    assert read_frames(path, height=90, gray=True).shape == (8, 90, 160)
    assert read_frames(path).shape == (8, 180, 320, 3)


@pytest.mark.parametrize("motion", ["stops", "cut"])
def test_a_streamed_decode_gives_the_features_of_the_whole_array(tmp_path, motion):
    """visual_beats_of_file decodes in a background thread while the flow runs: the motion features and the
    beats equal those of the whole clip decoded first (the same pictures, compared in the same order)."""
    spec = MotionClipSpec(duration_s=6.0, fps=24.0, seed=7, motion=motion)
    path, _ = _encoded(tmp_path, spec)
    frames = read_frames(path, height=VisualBeatConfig().flow_height)
    whole = motion_features(frames, 24.0)
    streamed = motion_features(iter(list(frames)), 24.0)
    for name in ("histograms", "change", "cuts", "held", "lost"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(whole, name), err_msg=name)
    assert streamed.n_frames == len(frames) > 2 * STREAM_HINT  # a stream's arrays grew twice
    from_file = visual_beats_of_file(path)
    from_array = detect_visual_beats(frames, probe_video(path).fps)
    np.testing.assert_array_equal(from_file.times_s, from_array.times_s)
    np.testing.assert_array_equal(from_file.cuts_s, from_array.cuts_s)


def test_a_failing_decode_reaches_the_caller():
    def broken():
        yield np.zeros((32, 48, 3), np.uint8)
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        motion_features(broken(), 12.0)
    with pytest.raises(ValueError, match="no frames"):
        motion_features(iter([]), 12.0)
