"""``render_chunked``: per-segment H.264 chunks joined by stream copy show the frames ``render`` shows
(colour-coded clips), every chunk starts on a key frame, the joined file has the full length and the
song, and a changed clip re-encodes its own chunk alone (the other segments' frames stay bit-identical).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from mv2desc.fingerprint import file_fingerprint
from mv2desc.media.video import iter_frames, probe_video, write_video
from mv2desc.sync.render import ClipPlacement, render, render_chunked
from mv2desc.sync.warp import TimeWarp

FPS, W, H, SR = 12.0, 64, 48, 22050
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 220)]


def _clip(path: Path, colour: tuple[int, int, int], n: int = 30) -> Path:
    """A clip of one colour with a moving bar (so that frames differ)."""
    frames = np.empty((n, H, W, 3), np.uint8)
    frames[:] = colour
    for k in range(n):
        frames[k, :, (2 * k) % W : (2 * k) % W + 4] = 255
    return write_video(path, frames, FPS, crf=18, preset="veryfast")


def _placements(paths: list[Path]) -> list[ClipPlacement]:
    out, t = [], 0.0
    for p in paths:
        info = probe_video(p)
        span = info.duration_s * 0.9  # a little faster than the clip's own speed
        out.append(ClipPlacement(info, TimeWarp(np.array([0.0, info.duration_s]), np.array([t, t + span])), t, t + span))
        t += span
    return out


def _render(paths, out, chunks=None, workers=1):
    placements = _placements(paths)
    duration = placements[-1].out_end
    audio = (0.1 * np.sin(np.linspace(0, 400, round(duration * SR)))[None].repeat(2, 0)).astype(np.float32)
    kw = dict(duration_s=duration, fps=FPS, width=W, height=H, audio=audio, sample_rate=SR, resample="blend", crf=18)
    if chunks is None:
        return render(placements, out, **kw), placements
    return render_chunked(placements, out, chunk_dir=chunks, clip_ids=[file_fingerprint(p) for p in paths], workers=workers, **kw), placements


def _frames(path: Path) -> np.ndarray:
    return np.stack(list(iter_frames(path))).astype(np.int16)


@pytest.mark.parametrize("workers", [1, 2])  # chunks encoded here, or in two worker processes
def test_chunks_show_the_frames_of_a_full_render(tmp_path, workers):
    paths = [_clip(tmp_path / f"c{k}.mp4", c) for k, c in enumerate(COLOURS)]
    _render(paths, tmp_path / "full.mp4")
    result, placements = _render(paths, tmp_path / "joined.mp4", tmp_path / "chunks", workers=workers)
    full, joined = _frames(tmp_path / "full.mp4"), _frames(tmp_path / "joined.mp4")
    assert joined.shape == full.shape and result.reused == (False, False, False)
    assert np.abs(joined - full).mean() < 2.0  # the same pictures (two encodes of the same frames)
    with av.open(str(tmp_path / "joined.mp4")) as c:
        assert c.streams.audio, "the song is muxed in"
        keys = [p.is_keyframe for p in c.demux(c.streams.video[0]) if p.size]
    starts = np.cumsum([0] + [round(p.out_end * FPS) - round(p.out_start * FPS) for p in placements])[:-1]
    assert all(keys[int(s)] for s in starts)  # every segment starts on a key frame
    for k, (p, colour) in enumerate(zip(placements, COLOURS)):  # each segment shows its own clip's colour
        mid = round((p.out_start + p.out_end) / 2 * FPS)
        assert np.abs(np.median(joined[mid].reshape(-1, 3), axis=0) - colour).max() < 12, k


def test_a_changed_clip_re_encodes_its_chunk_alone(tmp_path):
    paths = [_clip(tmp_path / f"c{k}.mp4", c) for k, c in enumerate(COLOURS)]
    _render(paths, tmp_path / "a.mp4", tmp_path / "chunks")
    before = _frames(tmp_path / "a.mp4")
    paths[1] = _clip(tmp_path / "c1-edited.mp4", (240, 220, 20))
    result, placements = _render(paths, tmp_path / "b.mp4", tmp_path / "chunks")
    after = _frames(tmp_path / "b.mp4")
    assert result.reused == (True, False, True)
    a, b = round(placements[1].out_start * FPS), round(placements[1].out_end * FPS)
    assert np.array_equal(after[:a], before[:a]) and np.array_equal(after[b:], before[b:])
    assert np.abs(after[a:b] - before[a:b]).mean(axis=(1, 2, 3)).min() > 20


def test_a_damaged_chunk_is_encoded_again(tmp_path):
    paths = [_clip(tmp_path / f"c{k}.mp4", c) for k, c in enumerate(COLOURS)]
    _render(paths, tmp_path / "a.mp4", tmp_path / "chunks")
    chunk = sorted((tmp_path / "chunks").glob("*.mp4"))[0]
    blob = bytearray(chunk.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    chunk.write_bytes(bytes(blob))
    result, _ = _render(paths, tmp_path / "b.mp4", tmp_path / "chunks")
    assert result.reused.count(False) == 1
    assert _frames(tmp_path / "b.mp4").shape == _frames(tmp_path / "a.mp4").shape


@pytest.mark.parametrize("workers", [1, 2])
def test_each_chunk_measured_as_encoded_is_its_piece_of_the_output(tmp_path, workers):
    """``measure`` runs on each chunk it encodes, in the process that encoded it: the motion measured on a
    chunk's file is the motion measured on the joined output over that chunk's frames (the same bytes)."""
    from dataclasses import fields
    from functools import partial

    from mv2desc.mvgen.assembly import measure_chunk
    from mv2desc.sync.config import VisualBeatConfig
    from mv2desc.sync.render import placement_ranges
    from mv2desc.sync.visual_beats import measure_file_pieces

    paths = [_clip(tmp_path / f"c{k}.mp4", c, n=40) for k, c in enumerate(COLOURS)]
    placements = _placements(paths)
    duration = placements[-1].out_end
    cfg = VisualBeatConfig()
    out = tmp_path / "joined.mp4"
    result = render_chunked(placements, out, chunk_dir=tmp_path / "chunks", clip_ids=[file_fingerprint(p) for p in paths],
                            duration_s=duration, fps=FPS, width=W, height=H, resample="blend", crf=18, workers=workers,
                            measure=partial(measure_chunk, cfg=cfg, fps=FPS))
    ranges = placement_ranges(placements, duration, FPS)
    on_output = measure_file_pieces(out, ranges, cfg)
    assert len(result.measured) == len(on_output) == 3
    for piece, want, (_, count) in zip(result.measured, on_output, ranges):
        assert piece.n_frames == count
        for f in fields(want):
            np.testing.assert_array_equal(getattr(piece, f.name), getattr(want, f.name))
    assert any(p.change.max() > 0 for p in result.measured)  # the bars move: not a comparison of zeros
    again = render_chunked(placements, tmp_path / "again.mp4", chunk_dir=tmp_path / "chunks", clip_ids=[file_fingerprint(p) for p in paths],
                           duration_s=duration, fps=FPS, width=W, height=H, resample="blend", crf=18, workers=workers,
                           measure=partial(measure_chunk, cfg=cfg, fps=FPS))
    assert all(again.reused) and again.measured == (None, None, None)  # reused chunks are not measured again here
