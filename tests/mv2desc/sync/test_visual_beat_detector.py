"""The visual-beat detector on clips whose events are known exactly (issue 22, part 1).

Each motion kind of the benchmark (``benchmarks/bench_visual_beats.py``) in small: a square that stops
dead, a ball bouncing off walls, a camera pan that halts, hard cuts between panning shots; with grain,
H.264 at CRF 23, detected on the decoded file. Every event must be found within one frame (stops,
reversals and halts as beats, cuts as cuts) and nothing else reported. The detector before issue 22
missed most bounces and many stops at 8-12 fps, and took 8 fps pans for cuts.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mv2desc.media.video import write_video
from mv2desc.sync.synth_video import BENCH_MOTIONS, MotionClipSpec, event_times, match_events, render_clip
from mv2desc.sync.visual_beats import visual_beats_of_file


def _detect(tmp_path, spec: MotionClipSpec):
    """(visual beats of the encoded clip, its true events)."""
    frames, events = render_clip(spec)
    path = write_video(tmp_path / f"{spec.motion}_{spec.fps:g}_{spec.seed}.mp4", frames, spec.fps, crf=23, preset="veryfast")
    return visual_beats_of_file(path), events


def _spec(kind: str, fps: float, seed: int = 0, **kw) -> MotionClipSpec:
    return MotionClipSpec(duration_s=4.0, fps=fps, width=320, height=180, n_objects=1, motion=kind, gap_s=(0.45, 1.1),
                          noise=3.0, seed=seed, **kw)


@pytest.mark.parametrize("fps", [8.0, 12.0, 24.0])
@pytest.mark.parametrize("kind", BENCH_MOTIONS)
def test_every_event_is_found_within_one_frame(tmp_path, kind, fps):
    beats, events = _detect(tmp_path, _spec(kind, fps))
    assert len(events) >= 4
    found, other = (beats.cuts_s, beats.times_s) if kind == "cut" else (beats.times_s, beats.cuts_s)
    hits, false, missed = match_events(found, events, 1.0 / fps)
    assert (hits, false, missed) == (len(events), 0, 0), (kind, fps, np.round(found * fps), np.round(events * fps))
    assert other.size == 0  # a cut is not a beat; a stop, a bounce or a halting pan is not a cut
    exact = sum(bool(np.any(np.abs(found - e) < 0.25 / fps)) for e in events)
    assert exact >= len(events) - 1  # and on the event's own frame, nearly always


def test_stops_lasting_a_single_frame_at_8_fps(tmp_path):
    spec = _spec("halt", 8.0, seed=1, events_s=(0.75, 1.375, 2.0, 2.5, 3.25))
    np.testing.assert_allclose(event_times(spec), spec.events_s)
    clean, _ = render_clip(dataclasses.replace(spec, noise=0.0))
    stops = np.round(np.asarray(spec.events_s) * 8).astype(int)
    rest = [int(np.array_equal(clean[k], clean[k + 1])) + int(np.array_equal(clean[k], clean[k + 2])) for k in stops]
    assert 1 in rest  # some stop lasts one frame: the square moves on at the second frame after it
    beats, events = _detect(tmp_path, spec)
    np.testing.assert_allclose(beats.times_s, events, atol=1.0 / 8)


def test_a_fast_pan_that_halts_is_not_a_cut(tmp_path):
    # a pan of up to 1.2 frame heights per second moves the picture 15 % of its height per frame at 8 fps
    beats, events = _detect(tmp_path, _spec("pan", 8.0, seed=3))
    assert beats.cuts_s.size == 0
    np.testing.assert_allclose(beats.times_s, events, atol=1.0 / 8)


def test_precision_and_recall_on_a_known_answer():
    truth = [0.5, 1.0, 2.125, 3.0]
    detected = [0.5, 1.02, 1.06, 2.0, 3.5]  # 1.06 is a second detection of the event at 1.0
    hits, false, missed = match_events(detected, truth, tol_s=1 / 8)
    assert (hits, false, missed) == (3, 2, 1)  # 0.5, 1.0 (by 1.02, the closer one), 2.125 (by 2.0, one frame)
    assert hits / (hits + false) == pytest.approx(0.6) and hits / (hits + missed) == pytest.approx(0.75)
    assert match_events([], truth, 0.1) == (0, 0, 4) and match_events([1.0], [], 0.1) == (0, 1, 0)


def test_the_benchmark_clips_know_their_events():
    for kind in BENCH_MOTIONS:
        spec = _spec(kind, 12.0, seed=2)
        frames, events = render_clip(spec)
        assert frames.shape == (48, 180, 320, 3) and frames.dtype == np.uint8
        np.testing.assert_allclose(events, event_times(spec))
        assert np.all(np.diff(events) >= 0.45 - 1 / 12) and np.all(np.round(events * 12) == events * 12)
