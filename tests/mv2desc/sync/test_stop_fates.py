"""Every motion stop of a clip gets a fate: matched on a beat, trimmed out of the material, or said why not.

The content tests write a video whose square stops at known frames and look at the frames of the
synced MP4: a stop no beat can take within the stretch bounds is cut out (its approach never shown),
and the matched stops arrive on the output frame of their music beat.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mv2desc.beats import MusicBeats
from mv2desc.media.audio import write_audio
from mv2desc.media.video import read_frames, write_video
from mv2desc.sync.config import MatchConfig, SyncConfig
from mv2desc.sync.engine import plan_sync, sync_videos
from mv2desc.sync.matching import Segment, dp_match, trim_match
from mv2desc.sync.stops import FATES
from mv2desc.sync.visual_beats import VisualBeats

OUT_FPS = 24.0
SRC_FPS = 8.0
_RNG = np.random.default_rng(1)
_TEXTURE = cv2.resize((_RNG.random((12, 20)) * 90).astype(np.uint8), (160, 96), interpolation=cv2.INTER_NEAREST)
_SPRITE = (cv2.resize(_RNG.random((6, 6)), (24, 24), interpolation=cv2.INTER_NEAREST) * 100 + 155).astype(np.uint8)


def _vb(times, fps: float = SRC_FPS) -> VisualBeats:
    t = np.asarray(times, dtype=np.float64)
    return VisualBeats(t, np.ones(t.size), np.zeros(1), fps, np.zeros(0), 0.1, False)


def test_a_stop_too_near_the_start_for_any_beat_is_trimmed_and_the_rest_matched():
    # 0.25 s into the clip, 0.6 s before the first beat: reaching it would take a stretch of 2.4
    visual, music = np.array([0.25, 1.25, 2.25]), np.array([0.85, 1.45, 2.05, 2.65])
    seg = Segment(0.0, 3.0, 0.0, 3.0)
    plain = dp_match(visual, music, seg, MatchConfig())
    assert 0 not in plain.pairs[:, 0]  # the matcher alone leaves it where the warp puts it, off the beat
    tm = trim_match(visual, music, seg, MatchConfig(), SRC_FPS)
    assert tm.segment.src_start == pytest.approx(0.25 + 1 / SRC_FPS) and tm.segment.src_end == 3.0
    assert tm.matching.warp.src[0] > 0.25  # the stop is not in the material shown
    assert len(tm.matching.pairs) == 2  # both others on beats
    off = MatchConfig(trim_stops=False)
    assert trim_match(visual, music, seg, off, SRC_FPS).segment == seg  # switched off: the matcher as before


def test_nothing_is_trimmed_when_the_rest_would_break_the_stretch_bounds():
    visual, music = np.array([0.25, 1.25]), np.array([0.85, 1.45])
    seg = Segment(0.0, 1.5, 0.0, 2.9)  # already stretched 1.93x: trimming 0.375 s would need 2.5x
    tm = trim_match(visual, music, seg, MatchConfig(), SRC_FPS)
    assert tm.segment == seg
    assert np.all(tm.matching.warp.ratios() <= 2.0 + 1e-9)


def test_every_stop_of_every_clip_has_a_fate_and_matched_ones_sit_on_their_beat():
    rng = np.random.default_rng(5)
    clips = []
    for _ in range(6):
        gaps = rng.uniform(0.45, 1.1, 8)
        t = np.round(np.cumsum(gaps) * SRC_FPS) / SRC_FPS
        clips.append(_vb(t[t < 2.9]))
    beats = np.arange(0.31, 20.0, 60 / 131)
    music = MusicBeats(131.0, beats, beats[::4], "test", 20.0)
    plan = plan_sync(clips, [3.0] * 6, music, 20.0, MatchConfig(), fps=OUT_FPS)
    assert len(plan.stops) == len(plan.layout.segments)
    for vb, fates, seg, raw in zip(clips, plan.stops, plan.layout.segments, plan.untrimmed):
        assert [f.source_s for f in fates] == pytest.approx(vb.times_s.tolist())
        for f in fates:
            assert f.fate in FATES
            if f.fate == "matched":
                assert abs(f.output_s - f.beat_s) <= 0.5 / OUT_FPS + 1e-9  # on the frame nearest the beat
            if f.fate == "trimmed":
                assert not seg.src_start < f.source_s < seg.src_end and raw.src_start < f.source_s < raw.src_end
            if f.fate == "unmatched":
                assert f.reason and abs(f.error_ms) > 500 / OUT_FPS
    fates = [f.fate for clip in plan.stops for f in clip]
    assert fates.count("matched") > fates.count("unmatched")


def _square(x: float) -> np.ndarray:
    img = np.zeros((96, 160, 3), np.uint8)
    img[..., 1] = _TEXTURE
    x0 = int(round(x))  # a textured square, red channel full: easy to find, easy to track
    img[36:60, x0 : x0 + 24, 0] = 255
    img[36:60, x0 : x0 + 24, 1] = _SPRITE
    img[36:60, x0 : x0 + 24, 2] = 255 - _SPRITE
    return img


def _x(img: np.ndarray) -> float:
    return float(np.nonzero(img[..., 0] > 200)[1].mean()) - 12.0  # left edge of the square


# the square moves 6 px a frame, arrives at frames 3, 11 and 19 (0.375, 1.375, 2.375 s), rests two frames
ARRIVALS = {3: 2, 11: 2, 19: 2}


def _positions(n: int = 24) -> np.ndarray:
    x, out, rest = 10.0, [], 0
    for f in range(n):
        if f > 0 and rest == 0:
            x += 6.0
        out.append(x)
        rest = ARRIVALS.get(f, max(0, rest - 1))
    return np.array(out)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    d = tmp_path_factory.mktemp("fates")
    xs = _positions()
    clip = write_video(d / "clip.mp4", np.stack([_square(x) for x in xs]), SRC_FPS, crf=10)
    song = write_audio(d / "song.wav", np.zeros(int(3.0 * 44100), np.float32), 44100)
    beats = np.array([0.85, 1.45, 2.05, 2.65])  # none within reach of the first stop
    music = MusicBeats(100.0, beats, beats[:1], "test", 3.0)
    report = sync_videos([clip], song, d / "out.mp4", SyncConfig(), music=music, workers=1)
    return {"report": report, "frames": read_frames(d / "out.mp4"), "xs": xs, "beats": beats}


def test_the_written_video_leaves_out_the_trimmed_stop(synced):
    stops = synced["report"]["clips"][0]["stops"]
    first = min(stops, key=lambda s: s["source_s"])
    assert first["source_s"] == pytest.approx(min(ARRIVALS) / SRC_FPS) and first["fate"] == "trimmed"
    assert first["output_s"] is None and first["reason"]
    # content: the square is never shown short of where that stop leaves it (its approach is cut out)
    shown = np.array([_x(f) for f in synced["frames"]])
    assert shown.min() >= synced["xs"][min(ARRIVALS)] - 1.5
    assert synced["report"]["clips"][0]["trimmed_s"]["start"] > 0
    assert synced["report"]["stop_fates"]["trimmed"] == 1


def test_matched_stops_arrive_on_the_output_frame_of_their_beat(synced):
    stops = synced["report"]["clips"][0]["stops"]
    matched = [s for s in stops if s["fate"] == "matched"]
    assert len(matched) == 2 and all(s["fate"] in ("matched", "trimmed") for s in stops)
    shown = np.array([_x(f) for f in synced["frames"]])
    for s in matched:
        rest_x = synced["xs"][round(s["source_s"] * SRC_FPS)]
        # the output frame on which the square arrives at the stop's position
        arrival = int(np.flatnonzero(np.abs(shown - rest_x) <= 1.0)[0])
        assert abs(arrival / OUT_FPS - s["beat_s"]) <= 1 / OUT_FPS + 1e-6
        assert abs(s["error_ms"]) <= 500 / OUT_FPS + 1e-6


def test_a_clip_ends_on_its_last_frame_so_no_held_frame_freezes_the_picture_before_a_cut():
    beats = np.arange(0.25, 9.0, 0.5)
    music = MusicBeats(120.0, beats, beats[::4], "test", 9.0)
    clips = [_vb([0.75, 1.625]), _vb([0.5, 1.5, 2.25]), _vb([1.0, 2.0])]
    last = [23 / SRC_FPS] * 3  # 24 frames: the last one is shown from 2.875 s
    plan = plan_sync(clips, [3.0] * 3, music, 9.0, MatchConfig(), fps=OUT_FPS, last_frame_s=last)
    assert all(seg.src_end <= last[0] + 1e-9 for seg in plan.layout.segments)
    assert all(m.warp.src[-1] <= last[0] + 1e-9 for m in plan.matchings)
    held = plan_sync(clips, [3.0] * 3, music, 9.0, MatchConfig(end_on_last_frame=False, trim_stops=False), fps=OUT_FPS,
                     last_frame_s=last)
    assert all(seg.src_end == 3.0 for seg in held.layout.segments)  # the planner as it was
