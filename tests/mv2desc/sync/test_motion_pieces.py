"""A video assembled from segments, measured one segment at a time (``measure_file_pieces``): each piece
equals the measurement of its own chunk file (what lets ``mv generate`` keep an unchanged segment's
measurement), the pieces find the clips' known stops on the joined video, the joins are cuts and never
beats, two worker processes give what one does, and ``iter_frames(first=, count=)`` decodes exactly the
frames a full decode has there (seeking to a key frame in the middle of the file).
"""

from __future__ import annotations

import numpy as np
import pytest

from mv2desc.media.video import iter_frames, write_video
from mv2desc.sync.config import VisualBeatConfig
from mv2desc.sync.flow import MotionPiece, join_pieces, measure_piece, motion_features
from mv2desc.sync.render import join_chunks
from mv2desc.sync.score import score_video
from mv2desc.sync.synth_video import MotionClipSpec, match_events, render_clip
from mv2desc.sync.visual_beats import measure_file_piece, measure_file_pieces, visual_beats_of_pieces

FPS = 24.0
CFG = VisualBeatConfig()


@pytest.fixture(scope="module")
def joined(tmp_path_factory) -> dict:
    """Three 'halt' clips (a textured square that stops dead at known times), one H.264 chunk each, joined
    by stream copy as ``render_chunked`` joins segment chunks (each chunk starts on a key frame)."""
    root = tmp_path_factory.mktemp("pieces")
    chunks, events, start = [], [], 0
    for k, n in enumerate((50, 41, 57)):  # frames per clip
        spec = MotionClipSpec(duration_s=n / FPS, fps=FPS, width=128, height=72, motion="halt", seed=3 + k,
                              gap_s=(0.5, 0.8), noise=2.0)
        frames, ev = render_clip(spec)
        path = write_video(root / f"chunk{k}.mp4", frames, FPS, crf=18, preset="veryfast")
        chunks.append((path, len(frames)))
        events.append(ev + start / FPS)
        start += len(frames)
    video = join_chunks(chunks, root / "joined.mp4", fps=FPS, audio=None, sample_rate=22050, audio_bitrate=128_000)
    ranges, first = [], 0
    for _, n in chunks:
        ranges.append((first, n))
        first += n
    return {"video": video, "chunks": chunks, "ranges": ranges, "events": np.concatenate(events)}


def test_frames_from_the_middle_of_a_file_are_those_of_a_full_decode(joined):
    whole = np.stack(list(iter_frames(joined["video"], height=48)))
    assert len(whole) == 148
    for first, count in [(0, 5), (50, 41), (61, 9), (91, 57), (140, 30)]:  # chunk starts (key frames) and mid-GOP
        part = np.stack(list(iter_frames(joined["video"], height=48, first=first, count=count)))
        assert np.array_equal(part, whole[first : first + count])
    assert list(iter_frames(joined["video"], first=10, count=0)) == []
    with pytest.raises(ValueError, match="first >= 0"):
        next(iter_frames(joined["video"], first=-1))


def test_each_piece_is_the_measurement_of_its_own_chunk(joined):
    pieces = measure_file_pieces(joined["video"], joined["ranges"], CFG)
    for piece, (path, n) in zip(pieces, joined["chunks"]):
        alone = measure_file_piece(path, 0, n, CFG)  # the same bytes in another file: the same measurement
        assert piece.n_frames == n
        for name in ("histograms", "change", "held", "lost", "suspect", "faded"):
            assert np.array_equal(getattr(piece, name), getattr(alone, name)), name


def test_pieces_find_the_known_stops_and_the_joins_are_cuts_not_beats(joined):
    pieces = measure_file_pieces(joined["video"], joined["ranges"], CFG)
    beats = visual_beats_of_pieces(pieces, FPS, CFG)
    starts = np.array([first for first, _ in joined["ranges"]])
    assert set(np.round(beats.cuts_s * FPS).astype(int)) >= set(starts[1:].tolist())
    assert not np.isin(np.round(beats.times_s * FPS).astype(int), starts).any()  # a join is never a beat
    hits, false_alarms, misses = match_events(beats.times_s, joined["events"], 1.0 / FPS)
    assert hits >= 0.9 * len(joined["events"]) and false_alarms <= 0.1 * len(beats.times_s), (hits, false_alarms, misses)


def test_one_piece_is_the_whole_video_measurement(joined):
    frames = np.stack(list(iter_frames(joined["video"], height=CFG.flow_height)))
    whole = motion_features(frames, FPS)
    joined_one = join_pieces([measure_piece(frames, FPS)], FPS)
    for name in ("histograms", "change", "cuts", "held", "lost"):
        assert np.array_equal(getattr(whole, name), getattr(joined_one, name)), name


def test_workers_and_known_pieces(joined):
    one = measure_file_pieces(joined["video"], joined["ranges"], CFG, workers=1)
    two = measure_file_pieces(joined["video"], joined["ranges"], CFG, workers=2)
    for a, b in zip(one, two):
        assert np.array_equal(a.histograms, b.histograms) and np.array_equal(a.change, b.change)
    kept = MotionPiece(*(np.zeros_like(getattr(one[1], n)) for n in ("histograms", "change", "held", "lost", "suspect", "faded")))
    mixed = measure_file_pieces(joined["video"], joined["ranges"], CFG, workers=1, known=[None, kept, None])
    assert mixed[1] is kept  # a known piece is not measured again
    assert np.array_equal(mixed[2].change, one[2].change)
    with pytest.raises(ValueError, match="one known piece"):
        measure_file_pieces(joined["video"], joined["ranges"], CFG, known=[None])


def test_score_video_refuses_pieces_that_do_not_cover_the_video(joined, tmp_path):
    pieces = measure_file_pieces(joined["video"], joined["ranges"][:2], CFG)
    song = tmp_path / "click.wav"
    from mv2desc.media.audio import write_audio

    write_audio(song, np.zeros(int(22050 * 6.2), np.float32), 22050)
    with pytest.raises(ValueError, match="the pieces hold 91 frames"):
        score_video(joined["video"], song, pieces=pieces)


def test_a_range_past_the_end_is_a_media_error(joined):
    from mv2desc.errors import MediaError

    with pytest.raises(MediaError, match="frames 140..159 asked, 8 decoded"):
        measure_file_piece(joined["video"], 140, 20, CFG)


def test_a_range_with_no_frame_is_a_media_error(joined):
    from mv2desc.errors import MediaError

    with pytest.raises(MediaError, match="frames 500..509 asked, 0 decoded"):
        measure_file_piece(joined["video"], 500, 10, CFG)
