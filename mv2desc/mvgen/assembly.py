"""Incremental beat-synchronised assembly of ``mv generate``: the same plan and frames as
:func:`mv2desc.sync.engine.sync_videos` with ``spans``, with what does not change between runs cached.

* each clip's visual beats (optical flow, the costly analysis) are kept in the run's
  :class:`~mv2desc.analysis_cache.AnalysisStore` under the clip file's content hash and the
  :class:`~mv2desc.sync.config.VisualBeatConfig`;
* the plan (matching inside each span) is recomputed: it is cheap and each span's matching reads only
  its own clip and the music beats inside it;
* the video is rendered as one H.264 chunk per segment (:func:`mv2desc.sync.render.render_chunked`),
  each cached under a hash of its clip's bytes, its frame plan and the output settings, and joined by
  stream copy with the song encoded alongside: after one edited description only that segment's chunk
  is encoded again, and every other segment's frames are bit-identical to the previous run's;
* the sync metrics are measured on the written video, as ``sync_videos`` does (one piece per segment,
  :func:`mv2desc.sync.visual_beats.measure_file_pieces`): each chunk is decoded and measured by the
  worker that encoded it, right after (:func:`measure_chunk`; the chunk's bytes are the output's over
  its frames), and a segment chunk whose bytes were measured in an earlier output keeps its
  measurement (:func:`output_motion`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from mv2desc.analysis_cache import AnalysisStore
from mv2desc.mvgen.drawn import DrawnClip
from mv2desc.song import Song
from mv2desc.sync.config import SyncConfig, VisualBeatConfig

if TYPE_CHECKING:
    from mv2desc.sync.flow import MotionPiece

log = logging.getLogger(__name__)


def clip_analyses(paths: list[Path], ids: list[str], cfg: SyncConfig, store: AnalysisStore, workers: int) -> list:
    """``ClipAnalysis`` (file facts + visual beats) of every clip: from ``store`` by content hash, the
    missing ones computed in ``workers`` processes and stored."""
    from mv2desc.media.video import probe_video
    from mv2desc.sync.engine import ClipAnalysis, analyse_clips
    from mv2desc.sync.visual_beats import VisualBeats

    keys = [store.key(i, "visual_beats", asdict(cfg.visual)) for i in ids]
    beats = [store.load("visual_beats", k, VisualBeats) for k in keys]
    missing = [k for k, b in enumerate(beats) if b is None]
    if missing:
        fresh, _ = analyse_clips([paths[k] for k in missing], cfg.visual, workers)
        for k, a in zip(missing, fresh):
            store.store("visual_beats", keys[k], a.beats)
            beats[k] = a.beats
    log.info("visual beats: %d clips from the cache, %d analysed", len(paths) - len(missing), len(missing))
    return [ClipAnalysis(probe_video(p), b) for p, b in zip(paths, beats)]


def measure_chunk(path: Path, n_frames: int, cfg: VisualBeatConfig, fps: float) -> MotionPiece:
    """The motion of a segment chunk's ``n_frames`` frames, decoded from its file: the piece of the output
    video it becomes (its bytes are copied into the output as they are, from a key frame)."""
    from mv2desc.sync.visual_beats import measure_file_piece

    return measure_file_piece(path, 0, n_frames, cfg, fps)


def output_motion(video: Path, ranges: list[tuple[int, int]], checksums: list[str], fps: float, cfg: SyncConfig,
                  store: AnalysisStore, workers: int, measured: list | None = None) -> list:
    """The motion of the written video, one piece per segment chunk (``ranges[k]``: its frames in the
    video; ``checksums[k]``: its chunk's SHA-256): a chunk measured in an earlier output (the same bytes,
    the same settings) is taken from ``store``; one measured on its file as it was encoded
    (``measured[k]``, :func:`measure_chunk`) is taken as it is; the others are measured on ``video`` in
    ``workers`` processes. New pieces are stored."""
    from mv2desc.sync.flow import MotionPiece
    from mv2desc.sync.visual_beats import measure_file_pieces

    keys = [store.key(c, "motion_piece", asdict(cfg.visual), fps) for c in checksums]
    cached = [store.load("motion_piece", k, MotionPiece) for k in keys]
    given = list(measured) if measured is not None else [None] * len(keys)
    known = [c if c is not None else g for c, g in zip(cached, given)]
    pieces = measure_file_pieces(video, ranges, cfg.visual, workers=workers, known=known)
    for key, piece, old in zip(keys, pieces, cached):
        if old is None:
            store.store("motion_piece", key, piece)
    log.info("motion of the output: %d of %d segments from the cache, %d measured with their chunk, %d on the output",
             sum(c is not None for c in cached), len(keys), sum(c is None and g is not None for c, g in zip(cached, given)),
             sum(k is None for k in known))
    return pieces


def _chunk_dir(store: AnalysisStore) -> Path:
    return store.root / "chunks"


def chunk_file(store: AnalysisStore, key: str) -> Path:
    """The segment chunk of ``key`` in the run's cache (:func:`mv2desc.sync.render.render_chunked` keeps it there)."""
    from mv2desc.sync.render import chunk_path

    return chunk_path(_chunk_dir(store), key)


def material_ids(material: list[Path | DrawnClip]) -> list[str]:
    """What identifies each segment's material in the cache keys: a file's content hash, a drawn clip's key."""
    from mv2desc.fingerprint import file_fingerprint

    return [m.key if isinstance(m, DrawnClip) else file_fingerprint(m, 64) for m in material]


def assemble_incremental(material: list[Path | DrawnClip], song: Song, out_path: Path, cfg: SyncConfig,
                         spans: list[tuple[float, float]], store: AnalysisStore, workers: int = 2,
                         force: frozenset[int] = frozenset()) -> dict:
    """Write ``out_path`` (segment ``k`` shows ``material[k]`` on ``spans[k]``) and return the sync
    report of :func:`mv2desc.sync.engine.sync_videos` (plus ``chunks``: per segment whether its chunk
    was reused). ``material[k]``: a clip file, or a :class:`~mv2desc.mvgen.drawn.DrawnClip` (planned on
    its declared stops, drawn into its chunk; the report names the chunk as its file). ``force``:
    segments whose chunk is made again even when cached."""
    from mv2desc.sync.engine import ClipAnalysis, build_report, plan_sync
    from mv2desc.sync.render import ClipPlacement, placement_ranges, render_chunked
    from mv2desc.sync.score import score_video

    if len(spans) != len(material):
        raise ValueError(f"need one span per video, got {len(material)} videos and {len(spans)} spans")
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    ids = material_ids(material)
    files = [k for k, m in enumerate(material) if not isinstance(m, DrawnClip)]
    analyses: list = [None] * len(material)
    for k, a in zip(files, clip_analyses([material[k] for k in files], [ids[k] for k in files], cfg, store, workers) if files else []):
        analyses[k] = a
    for k, m in enumerate(material):
        if isinstance(m, DrawnClip):
            analyses[k] = ClipAnalysis(m.info(Path(f"drawn:{m.key}")), m.beats())
    timing["visual_beats"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    music = song.beats(cfg.music)
    timing["music_beats"] = time.perf_counter() - t0
    fps = cfg.render.fps or max(a.info.fps for a in analyses)
    t0 = time.perf_counter()
    durations = [a.info.duration_s for a in analyses]
    clips = [a.beats for a in analyses]
    plan = plan_sync(clips, durations, music, song.duration_s, cfg.match, cfg.metrics, fps=fps, spans=spans)
    baselines = {name: plan_sync(clips, durations, music, song.duration_s, cfg.match, cfg.metrics, method=name, fps=fps, spans=spans)
                 for name in ("dp", "greedy", "uniform") if name != cfg.match.matcher}
    timing["matching"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    width = cfg.render.width or analyses[0].info.width // 2 * 2
    height = cfg.render.height or analyses[0].info.height // 2 * 2
    placements = [ClipPlacement(a.info, m.warp, seg.out_start, seg.out_end, frames=x.frames() if isinstance(x, DrawnClip) else None)
                  for a, m, seg, x in zip(analyses, plan.matchings, plan.layout.segments, material)]
    resample = cfg.render.resample
    if resample == "auto":
        resample = "flow" if min(a.info.fps for a in analyses) < fps - 1e-6 else "blend"
    n_audio = round(plan.layout.duration_s * song.sr)
    tmp = out_path.with_name(f".tmp-{os.getpid()}-{out_path.name}")
    try:
        chunks = render_chunked(
            placements, tmp, chunk_dir=_chunk_dir(store), clip_ids=ids, duration_s=plan.layout.duration_s, fps=fps, width=width,
            height=height, audio=song.stereo[:, :n_audio], sample_rate=song.sr, resample=resample, crf=cfg.render.crf,
            preset=cfg.render.preset, audio_bitrate=cfg.render.audio_bitrate, flow_height=cfg.render.flow_height,
            workers=workers, force=force, measure=partial(measure_chunk, cfg=cfg.visual, fps=fps))
        timing["render"] = time.perf_counter() - t0
        log.info("rendered %.1f s at %g fps (%s frames) in %.1f s: %d of %d segment chunks reused", plan.layout.duration_s, fps,
                 resample, timing["render"], sum(chunks.reused), len(chunks.reused))
        t0 = time.perf_counter()
        with_chunk = [k for k, key in enumerate(chunks.keys) if key]  # the placements with a chunk, in order
        pieces = output_motion(tmp, placement_ranges(placements, plan.layout.duration_s, fps), [chunks.checksums[k] for k in with_chunk],
                               fps, cfg, store, workers, measured=[chunks.measured[k] for k in with_chunk])
        measured = score_video(tmp, song, visual_cfg=cfg.visual, metric_cfg=cfg.metrics, music=music, pieces=pieces)
        timing["measure_output"] = time.perf_counter() - t0
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    for k, m in enumerate(material):  # a drawn clip's file is its segment's chunk
        if isinstance(m, DrawnClip) and chunks.keys[k]:
            analyses[k] = ClipAnalysis(replace(analyses[k].info, path=chunk_file(store, chunks.keys[k])), analyses[k].beats)
    report = build_report(analyses, music, song.duration_s, plan, cfg, measured=measured, baselines=baselines)
    if plan.layout.dropped:
        report["warnings"].append(f"{plan.layout.dropped} clip(s) at the end did not fit (the song ends first) and are not shown")
    for w in report["warnings"]:
        log.warning(w)
    report["output"] = {"path": str(out_path), "fps": fps, "width": width, "height": height, "resample": resample,
                        "n_frames": measured["n_frames"], "duration_s": measured["video_duration_s"]}
    shown = iter(placement_ranges(placements, plan.layout.duration_s, fps))  # the placements with a chunk, in order
    report["chunks"] = {"reused": list(chunks.reused), "keys": list(chunks.keys),
                        "frames": [next(shown)[1] if key else 0 for key in chunks.keys]}
    report["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    return report


__all__ = ["assemble_incremental", "chunk_file", "clip_analyses", "material_ids", "measure_chunk", "output_motion"]
