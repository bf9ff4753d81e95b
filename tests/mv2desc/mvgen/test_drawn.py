"""Clips drawn on demand (``GenerateConfig.direct``, :mod:`mv2desc.mvgen.drawn`): the procedural renderer's
declared motion stops against what the optical-flow detector finds in the same clips, and a run that
draws each segment into its chunk against one that writes clip files first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infer.__main__ import main as mv_main
from mv2desc.media.audio import write_audio
from mv2desc.media.video import VideoWriter, iter_frames
from mv2desc.mvgen.drawn import DrawnClip, draws_on_demand
from mv2desc.mvgen.renderers.base import ClipRequest
from mv2desc.mvgen.renderers.procedural import ProceduralRenderer
from mv2desc.sync.config import VisualBeatConfig
from mv2desc.sync.visual_beats import declared_visual_beats, visual_beats_of_file
from mv2desc.synth import SongSpec, render

SR = 22050
SMALL = ["--video.width", "160", "--video.height", "96", "--video.fps", "12", "--sync.render.fps", "12", "--workers", "1"]


def test_declared_beats_land_on_the_nearest_frame():
    vb = declared_visual_beats([0.0, 0.26, 0.49, 0.51, 2.0, 5.0], fps=10, n_frames=30, strengths=[1, 2, 3, 4, 5, 6])
    # 0.0 is the first frame (no motion before it), 0.49 and 0.51 share frame 5 (the first is kept), 5.0 is past the end
    assert np.round(vb.times_s * 10).astype(int).tolist() == [3, 5, 20]
    assert vb.strengths.tolist() == [2, 3, 5]
    assert vb.envelope.shape == (30,) and vb.envelope[[3, 5, 20]].tolist() == [2, 3, 5] and vb.envelope.sum() == 10
    assert vb.cuts_s.size == 0 and not vb.low_motion
    with pytest.raises(ValueError, match="one strength per stop"):
        declared_visual_beats([0.5, 1.0], fps=10, n_frames=30, strengths=[1.0])


def test_declared_stops_are_where_the_detector_sees_them(tmp_path):
    """The stops the procedural renderer declares are the visual beats the detector finds in its encoded clip:
    on the same frame for nearly all, at 8 to 24 fps, over scene and pace words."""
    renderer = ProceduralRenderer()
    assert draws_on_demand(renderer)
    rng = np.random.default_rng(0)
    declared = same = within_one = extra = 0
    for k, desc in enumerate(["city at night, neon", "calm ocean waves, slow", "intense fire storm", "forest trees",
                              "stars in the night sky", "dancers in a desert"]):
        fps, dur = (24, 12, 8, 16)[k % 4], 5.0
        beats = np.cumsum(rng.uniform(0.35, 0.8, 16))
        req = ClipRequest(index=k, prompt=desc, description=desc, duration_s=dur, fps=fps, width=256, height=144, seed=k,
                          beats_s=tuple(beats[beats < dur]), energy=float(rng.uniform(0.2, 1.0)))
        path = tmp_path / f"{k}.mp4"
        with VideoWriter(path, fps=fps, width=256, height=144, crf=18, preset="ultrafast") as w:
            for f in renderer.frames(req):
                w.write(f)
        dec = DrawnClip(f"k{k}", renderer, req).beats()
        assert dec.fps == fps and dec.envelope.size == round(dur * fps)
        det = np.round(visual_beats_of_file(path, VisualBeatConfig()).times_s * fps).astype(int)
        dec_frames = np.round(dec.times_s * fps).astype(int)
        gaps = np.array([np.abs(det - f).min() if det.size else 99 for f in dec_frames])
        declared += dec_frames.size
        same += int(np.sum(gaps == 0))
        within_one += int(np.sum(gaps <= 1))
        extra += sum(int(np.abs(dec_frames - f).min() > 1) for f in det) if dec_frames.size else det.size
    assert declared >= 40
    assert same / declared >= 0.9 and within_one / declared >= 0.95, (same, within_one, declared)
    assert extra / declared <= 0.1, (extra, declared)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("drawn")
    y = np.concatenate([render(SongSpec(tempo_bpm=120, energy=e, duration_s=6.0, seed=k), SR) for k, e in enumerate((0.3, 0.9))])
    song = write_audio(root / "song.wav", y, SR)
    out = {}
    for name, extra in (("direct", []), ("files", ["--direct", "false"])):
        assert mv_main(["generate", str(song), "--out", str(root / name), *SMALL, *extra]) == 0
        out[name] = (root / name, json.loads((root / name / "report.json").read_text()))
    return out


def test_a_direct_run_writes_no_clip_files_and_each_segment_is_its_chunk(runs):
    out, report = runs["direct"]
    assert report["render"]["drawn"] and not list((out / "cache").glob("clips/*.mp4"))
    video = np.stack(list(iter_frames(out / "mv.mp4"))).astype(np.int16)
    done = 0
    for seg, n in zip(report["segments"], report["sync"]["chunks"]["frames"]):
        chunk = Path(seg["clip"])
        assert chunk == Path(seg["material"]) and chunk.parent == out / "cache" / "analysis" / "chunks" and chunk.is_file()
        frames = np.stack(list(iter_frames(chunk))).astype(np.int16)
        assert frames.shape[0] == n  # the chunk is exactly the segment's frames in mv.mp4 (stream-copied)
        assert np.array_equal(frames, video[done : done + n])
        done += n
    assert done == video.shape[0]


def test_drawing_on_demand_shows_the_pictures_the_clip_files_did(runs):
    """The same segments, the same cuts and, frame by frame, the same pictures (up to one more H.264
    generation and a frame's difference where the planner's stops came from the detector)."""
    (d_out, direct), (f_out, files) = runs["direct"], runs["files"]
    assert not files["render"]["drawn"] and len(list((f_out / "cache").glob("clips/*.mp4"))) == len(files["segments"])
    assert [(s["start_s"], s["end_s"]) for s in direct["segments"]] == [(s["start_s"], s["end_s"]) for s in files["segments"]]
    assert direct["sync"]["chunks"]["frames"] == files["sync"]["chunks"]["frames"]
    a = np.stack(list(iter_frames(d_out / "mv.mp4"))).astype(np.int16)
    b = np.stack(list(iter_frames(f_out / "mv.mp4"))).astype(np.int16)
    assert a.shape == b.shape
    diff = np.abs(a - b).mean(axis=(1, 2, 3))
    assert np.mean(diff < 4.0) >= 0.9, np.round(diff, 1)
    assert direct["scores"]["bas_visual"] >= files["scores"]["bas_visual"] - 0.05


def test_the_video_has_a_key_frame_every_two_seconds(runs):
    """Every segment chunk starts on a key frame and none goes longer than ``KEYFRAME_S`` without one, so
    players and the scores' frame samples seek into ``mv.mp4`` decoding at most 2 s."""
    import av

    from mv2desc.sync.render import KEYFRAME_S

    out, report = runs["direct"]
    with av.open(str(out / "mv.mp4")) as c:
        stream = c.streams.video[0]
        keys = [int(round(float(p.pts * stream.time_base) * 12)) for p in c.demux(stream) if p.is_keyframe and p.pts is not None]
    starts = np.concatenate([[0], np.cumsum(report["sync"]["chunks"]["frames"])[:-1]]).tolist()
    assert set(starts) <= set(keys)
    assert max(np.diff(keys + [int(sum(report["sync"]["chunks"]["frames"]))])) <= KEYFRAME_S * 12
