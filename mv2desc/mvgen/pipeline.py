"""``mv2desc mv generate``: song -> segments -> descriptions -> style sheet -> keyframes -> clips ->
beat-synchronised ``mv.mp4`` + ``report.json`` + ``storyboard.html`` + ``timeline.otio``.

Each segment's clip is shown on that segment's span and nowhere else: a clip shorter than its span
is stretched (up to ``sync.match.fill_stretch``) and then looped or ping-ponged (``fill``); a longer
one is cut at the span's end. Beats are matched inside each span.

Song structure and lyrics: ``describe_song`` finds the sections (segments never straddle one) and,
with ``lyrics``, gives each segment its lines (``snap_to_lyrics``: cuts moved onto line starts); the
style sheet gives every section label its recurring motif (:mod:`mv2desc.mvgen.style`), which each
segment's prompt and clip carry; the storyboard shows the sections and lines, the timeline marks them.
With lyrics, ``mv.srt`` (the lines as SubRip) is written next to ``mv.mp4``, and ``subtitles`` muxes
them into it as a ``mov_text`` track.

Order of writes in the output folder: clips into ``cache/`` as they finish (resumable), then
``segments.json`` (the user's edits carried over, see :mod:`mv2desc.mvgen.edits`); the run's outputs
(``mv.mp4``, ``storyboard.html``, ``timeline.otio``, ``mv.srt`` with lyrics) are made in a staging
folder and published together, ``report.json`` last, once everything succeeded: a run that fails late
leaves the previous run's set whole (a run without lyrics removes an earlier run's ``mv.srt`` with it).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mv2desc.analysis_cache import AnalysisStore
from mv2desc.atomic import atomic_write_bytes, atomic_write_json
from mv2desc.errors import UserError
from mv2desc.fingerprint import fingerprint
from mv2desc.mvgen.cache import ClipCache, clip_key
from mv2desc.mvgen.config import GenerateConfig
from mv2desc.mvgen.cues import segment_cues
from mv2desc.mvgen.drawn import DrawnClip, draws_on_demand
from mv2desc.mvgen.edits import apply_edits, write_segments
from mv2desc.mvgen.outdir import prepare_out_dir
from mv2desc.mvgen.renderers import build_keyframes, build_renderer, renderer_uses_gpu
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest, clip_frames
from mv2desc.mvgen.style import StyleSheet, build_style_sheet
from mv2desc.outputs import folder_lock, refuse_inputs
from mv2desc.song import Song

if TYPE_CHECKING:
    from mv2desc.describe.song import SongDescription

log = logging.getLogger(__name__)
FORMAT = "mv2desc.mv.generate/1"
OUTPUTS = ("mv.mp4", "storyboard.html", "timeline.otio")  # published together, before report.json
LYRICS_OUTPUT = "mv.srt"  # published with them when the run has lyrics; removed when it has none


def cpu_seconds() -> float:
    """CPU seconds (user + sys) of this process and its finished children so far."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def clip_encoding(cfg: GenerateConfig, clip_fps: float) -> dict[str, Any]:
    """How clips are stored, part of their cache key (the preset only when it is not the original
    "veryfast", so clips cached before it was a setting keep their keys)."""
    encoding: dict[str, Any] = {"fps": clip_fps, "crf": cfg.video.crf, "codec": "h264"}
    if cfg.video.clip_preset != "veryfast":
        encoding["preset"] = cfg.video.clip_preset
    return encoding


def clip_seed(seed: int, index: int) -> int:
    """Each clip's seed: stable in the run seed and the segment index."""
    return (seed * 1_000_003 + index * 7919 + 17) % (2**31 - 1)


def _keyframe(gen, cfg: GenerateConfig, cache: ClipCache, style: StyleSheet, description: str, seed: int,
              reference: np.ndarray | None = None, label: str | None = None) -> np.ndarray:
    """One keyframe (the shot as the prompt, the style sheet as the style prompt; both with the motif of
    section ``label`` when the sheet has one), from the cache or made and cached now under a hash of the
    generator's identity, both prompts, size, seed and reference."""
    from mv2desc.mvgen.cache import image_hash

    shot, sheet = style.keyframe_prompts(description, label)
    key = fingerprint({"generator": gen.identity(), "prompt": shot, "style": sheet, "negative": cfg.negative_prompt,
                       "size": [cfg.video.width, cfg.video.height], "seed": seed, "reference": image_hash(reference)}, length=20)
    image = cache.load_keyframe(key)
    if image is None:
        image = gen.generate(shot, negative_prompt=cfg.negative_prompt, width=cfg.video.width, height=cfg.video.height, seed=seed,
                             reference=reference, style_prompt=sheet)
        cache.store_keyframe(key, image)
    return image


def _keyframes(cfg: GenerateConfig, cache: ClipCache, style: StyleSheet, segments: list[dict]) -> list[np.ndarray]:
    """One keyframe per segment."""
    from tqdm.auto import tqdm

    gen = build_keyframes(cfg)  # loads no weights until a keyframe is missing from the cache
    return [_keyframe(gen, cfg, cache, style, s["description"], clip_seed(cfg.seed, s["index"]), label=_label(s))
            for s in tqdm(segments, desc="keyframes", unit="segment", leave=False)]


def _label(segment: dict) -> str | None:
    """The section label of a pipeline segment (None without structure)."""
    return segment["section"]["label"] if segment.get("section") else None


def _last_frame(path: Path) -> np.ndarray:
    """The last frame of a cached clip, as decoded (the same pixels on a fresh run and on a resumed one)."""
    from mv2desc.media.video import frames_at, probe_video

    info = probe_video(path)
    return frames_at(path, [max(0.0, (info.n_frames - 0.5) / info.fps)])[0]


def _render_chained(cfg: GenerateConfig, renderer: ClipRenderer, cache: ClipCache, segments: list[dict], style: StyleSheet,
                    cues) -> tuple[list[ClipRequest], list[str], list[bool], list[np.ndarray]]:
    """``chain``: segment by segment, the previous clip's last frame conditions the next keyframe
    (img2img at ``keyframes.chain_strength``), so scenes flow into each other. Serial by nature."""
    from tqdm.auto import tqdm

    gen = build_keyframes(cfg)
    clip_fps = float(renderer.identity().get("fps") or cfg.video.fps)
    encoding = clip_encoding(cfg, clip_fps)
    requests, keys, cached, keyframes = [], [], [], []
    previous: np.ndarray | None = None
    for s, c in zip(tqdm(segments, desc=f"keyframes + clips ({renderer.name}, chained)", unit="clip"), cues):
        image = _keyframe(gen, cfg, cache, style, s["description"], clip_seed(cfg.seed, s["index"]), previous, _label(s))
        request = _requests(cfg, [s], style, [c], [image])[0]
        key = clip_key(renderer.identity(), request, encoding)
        hit = cache.has_clip(key) and s["index"] != cfg.redo
        if not hit:
            cache.store_clip(key, clip_frames(renderer, request), clip_fps, cfg.video.crf)
        previous = _last_frame(cache.clip_path(key))
        requests.append(request), keys.append(key), cached.append(hit), keyframes.append(image)
    log.info("clips (chained): %d cached, %d rendered with '%s'", sum(cached), len(keys) - sum(cached), renderer.name)
    return requests, keys, cached, keyframes


def _requests(cfg: GenerateConfig, segments: list[dict], style: StyleSheet, cues, keyframes) -> list[ClipRequest]:
    """One request per segment: the prompt with its section's motif, and the motif's place and palette."""
    out = []
    for k, (s, c) in enumerate(zip(segments, cues)):
        motif = style.motif(_label(s))
        out.append(ClipRequest(
            index=s["index"], prompt=style.prompt(s["description"], _label(s)), negative_prompt=cfg.negative_prompt,
            description=s["description"], duration_s=round(s["end_s"] - s["start_s"], 4), fps=cfg.video.fps,
            width=cfg.video.width, height=cfg.video.height, seed=clip_seed(cfg.seed, s["index"]), energy=c.energy,
            onsets_s=c.onsets_s, beats_s=c.beats_s, palette=motif.palette if motif else style.palette,
            motif=motif.place if motif else "", keyframe=keyframes[k] if keyframes else None,
        ))
    return out


def _render(cfg: GenerateConfig, renderer: ClipRenderer, cache: ClipCache, requests: list[ClipRequest],
            gpus: list[str] | None) -> tuple[list[str], list[bool]]:
    """Cache keys of every clip and whether each came from the cache; renders the others."""
    from tqdm.auto import tqdm

    from mv2desc.mvgen.render_pool import ClipJob, render_clips

    # frames are stored at the rate the renderer draws them (a diffusion model's own fps, else the video's)
    clip_fps = float(renderer.identity().get("fps") or cfg.video.fps)
    encoding = clip_encoding(cfg, clip_fps)
    keys = [clip_key(renderer.identity(), r, encoding) for r in requests]
    cached = [cache.has_clip(k) and r.index != cfg.redo for k, r in zip(keys, requests)]
    jobs = [ClipJob(k, r) for k, r, c in zip(keys, requests, cached) if not c]
    procs = cfg.render_processes()
    log.info("clips: %d cached, %d to render with '%s' on %d worker(s)%s", sum(cached), len(jobs), renderer.name,
             min(procs, max(1, len(jobs))), f" (--redo {cfg.redo})" if cfg.redo >= 0 else "")
    bar = tqdm(total=len(jobs), desc=f"rendering ({renderer.name})", unit="clip", disable=not jobs)
    factory = (lambda: renderer) if procs <= 1 else functools.partial(build_renderer, cfg)
    try:
        render_clips(jobs, factory, cache, fps=clip_fps, crf=cfg.video.crf, devices=procs, gpus=gpus,
                     start_method="spawn" if renderer_uses_gpu(cfg.renderer) else "fork", on_done=lambda _: bar.update(1))
    finally:
        bar.close()
    return keys, cached


def _fill_clips(cfg: GenerateConfig, cache: ClipCache, keys: list[str], segments: list[dict]) -> tuple[list[Path], list[dict | None]]:
    """Each segment's material: its clip, or (when the clip is shorter than its span even at
    ``sync.match.fill_stretch``) the clip extended by ``cfg.fill`` (loop / ping-pong), cached next to it."""
    from mv2desc.media.video import iter_frames, probe_video
    from mv2desc.sync.fill import extend_frames, frames_needed

    paths, fills = [], []
    stretch = cfg.sync.match.fill_stretch
    for key, s in zip(keys, segments):
        path = cache.clip_path(key)
        info = probe_video(path)
        span = s["end_s"] - s["start_s"]
        if span <= info.duration_s * stretch + 1e-6:
            paths.append(path), fills.append(None)
            continue
        n_out = frames_needed(span, info.fps, stretch)
        filled = f"{key}-{cfg.fill}{n_out}"
        if not cache.has_clip(filled):
            frames = np.stack(list(iter_frames(path)))
            cache.store_clip(filled, extend_frames(frames, n_out, cfg.fill), info.fps, cfg.video.crf)
        log.info("segment %d: its %.2f s clip fills %.2f s (%s to %d frames, then stretched <= %.2f)", s["index"], info.duration_s,
                 span, cfg.fill, n_out, stretch)
        paths.append(cache.clip_path(filled))
        fills.append({"mode": cfg.fill, "clip_frames": info.n_frames, "frames": n_out, "clip_duration_s": round(info.duration_s, 4)})
    return paths, fills


def _output_spans(sync_report: dict, drawn: bool = False) -> list[dict]:
    """Per segment, in order (clip ``k`` is segment ``k``'s): its file and source/output spans in ``mv.mp4``.
    ``drawn``: the file is the segment's chunk, its frames as shown (the whole chunk, at its own speed)."""
    shown = []
    fps = sync_report["output"]["fps"]
    for k, c in enumerate(sync_report["clips"]):
        seg = c["segment"]
        src = (seg["src_start_s"], seg["src_end_s"], c["duration_s"])
        if drawn:
            n = sync_report["chunks"]["frames"][k] / fps
            src = (0.0, round(n, 4), round(n, 4))
        shown.append({"segment": k, "path": c["path"], "clip_duration_s": src[2],
                      "src_start_s": src[0], "src_end_s": src[1], "out_start_s": seg["out_start_s"],
                      "out_end_s": seg["out_end_s"], "n_matched": len(c["matches"])})
    return shown


def _segment_bas(visual: np.ndarray, music: np.ndarray, a: float, b: float, sigma: float) -> float | None:
    from mv2desc.sync.metrics import bas_visual

    v = visual[(visual >= a) & (visual < b)]
    return None if v.size == 0 else round(float(bas_visual(v, music, sigma)), 4)


def _sample_frames(video: Path, shown: list[dict], n_segments: int, per_segment: int) -> list[list[np.ndarray]]:
    from mv2desc.media.video import frames_at

    by_segment: list[list[float]] = [[] for _ in range(n_segments)]
    for c in shown:
        a, b = c["out_start_s"], c["out_end_s"]
        by_segment[c["segment"]] += [a + (b - a) * (k + 0.5) / per_segment for k in range(per_segment)]
    flat = sorted((t, s) for s, ts in enumerate(by_segment) for t in ts)
    images = frames_at(video, [t for t, _ in flat]) if flat else []
    out: list[list[np.ndarray]] = [[] for _ in range(n_segments)]
    for (_, s), img in zip(flat, images):
        out[s].append(img)
    return out


def _envelope(song: Song, points: int = 600) -> np.ndarray:
    """The storyboard's loudness envelope: the Song's loudness curve (frame RMS), pooled to at most
    ``points`` values (RMS of each group of frames)."""
    rms = song.loudness().rms.astype(np.float64)
    n = -(-rms.size // points)  # frames per point (>= 1; the curve has at least one frame)
    return np.sqrt(np.mean(rms[: n * (rms.size // n)].reshape(-1, n) ** 2, axis=1))


def check_settings(cfg: GenerateConfig) -> list[str] | None:
    """Everything that could otherwise fail after the clips are rendered, checked first (one-line
    :class:`UserError`s). Returns the render workers' GPU ids (None: CPU)."""
    if not cfg.song or not cfg.out:
        raise UserError("need a SONG and --out DIR: mv2desc mv generate SONG --out DIR")
    refuse_inputs({"--out": cfg.out}, [cfg.song, cfg.captioner, cfg.scores.clip_model, cfg.lyrics])
    if cfg.scores.clip_model:
        clip = Path(cfg.scores.clip_model)
        if not (clip / "config.json").is_file():
            raise UserError(f"scores.clip_model {clip}: not a CLIP model folder (no config.json); "
                            "give a local transformers CLIPModel folder or leave it empty to skip CLIPSIM")
    if cfg.devices > 1 and renderer_uses_gpu(cfg.renderer):
        from mv2desc.mvgen.render_pool import gpu_ids

        return gpu_ids(cfg.devices)
    return None


def _describe(cfg: GenerateConfig, song: Song) -> SongDescription:
    """Segments and descriptions; the beats are ``song.beats(cfg.sync.music)``, tracked once for the run."""
    from mv2desc.describe.song import DescribeConfig, describe_song

    describe_cfg = DescribeConfig(segments=cfg.segments, beats=cfg.sync.music, seed=cfg.seed, sections=cfg.sections,
                                  structure=cfg.structure, lyrics=cfg.lyrics or None, snap_to_lyrics=cfg.snap_to_lyrics,
                                  snap_max_shift_s=cfg.snap_max_shift_s)
    desc = describe_song(song, cfg.captioner or None, describe_cfg)
    log.info("%d segments (%s describer), %.1f s, %.0f bpm%s", len(desc.segments), desc.describer, desc.duration_s, desc.tempo_bpm,
             f", sections {''.join(desc.structure.labels)}" if desc.structure is not None else "")
    return desc


def _segments(out: Path, cfg: GenerateConfig, song: Song, desc: SongDescription) -> tuple[list[dict], list[dict]]:
    """The run's segments with the user's edits of ``segments.json`` carried over; the file rewritten."""
    segments, moves = apply_edits(out / "segments.json", song.fingerprint, [
        {"index": k, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "bars": s.bars, "description": s.description}
        for k, s in enumerate(desc.segments)])
    write_segments(out / "segments.json", cfg.song, song.fingerprint, segments)
    for s, d in zip(segments, desc.segments):  # what the run adds to each segment: its section and lyric lines
        s["section"] = {"label": d.section.label, "name": d.section.name} if d.section is not None else None
        s["lyrics"] = [ln.to_dict() for ln in d.lyrics]
        # grounding (mv2desc.describe.grounding): the captioner's own text when a stated fact was corrected
        s["model_text"], s["corrections"] = d.model_text, [c.to_dict() for c in d.corrections]
    return segments, moves


def _clips(cfg: GenerateConfig, cache: ClipCache, segments: list[dict], style: StyleSheet, cues, gpus: list[str] | None):
    """Keyframes (svd/wan) and clips, from the cache or rendered: ``(renderer, requests, keys, cached,
    keyframes)``; ``cached`` is None when the clips are drawn during assembly (``cfg.direct``)."""
    renderer = build_renderer(cfg)
    keyframes = None
    if cfg.direct and draws_on_demand(renderer) and not renderer.needs_keyframe:
        requests = _requests(cfg, segments, style, cues, None)
        keys = [clip_key(renderer.identity(), r, {"drawn": True}) for r in requests]
        log.info("clips: drawn by '%s' straight into each segment's chunk during assembly (no clip files)", renderer.name)
        return renderer, requests, keys, None, keyframes
    if renderer.needs_keyframe and cfg.chain:
        requests, keys, cached, keyframes = _render_chained(cfg, renderer, cache, segments, style, cues)
    else:
        if renderer.needs_keyframe:
            keyframes = _keyframes(cfg, cache, style, segments)
        requests = _requests(cfg, segments, style, cues, keyframes)
        keys, cached = _render(cfg, renderer, cache, requests, gpus)
    return renderer, requests, keys, cached, keyframes


def _scores(cfg: GenerateConfig, video: Path, shown: list[dict], segments: list[dict], desc: SongDescription, sync: dict,
            style: StyleSheet, keyframes) -> tuple[dict, dict, list, list[list[np.ndarray]], dict | None]:
    """Scores of the written ``mv.mp4``: the sync metrics ``sync_videos`` measured on it (against the
    Song's beats), palette consistency, attribute consistency of the descriptions with what was measured
    on each segment, CLIPSIM when a CLIP model is set."""
    from mv2desc.metrics.attributes import attribute_consistency
    from mv2desc.mvgen.scores import clip_scores, palette_consistency

    frames = _sample_frames(video, shown, len(segments), cfg.scores.frames_per_segment)
    thumbs = list(keyframes) if keyframes is not None else [f[len(f) // 2] if f else None for f in frames]
    scores = {k: sync["metrics"][f"{k}_after"] for k in ("bas_visual", "bas_music", "bcs", "bhs")}
    scores["palette_consistency"] = round(palette_consistency(frames), 4)
    consistency = attribute_consistency([s["description"] for s in segments],
                                        [{"tempo_bpm": m.tempo_bpm, "rms_db_mean": m.rms_db_mean, "mode": m.mode} for m in desc.segments])
    scores["attribute_consistency"] = round(consistency["overall"]["score"], 4)
    scores["attribute_consistency_chance"] = round(consistency["overall"]["chance"], 4)
    clip = None
    if cfg.scores.clip_model:
        clip = clip_scores(cfg.scores.clip_model, frames, [style.shot(s["description"]) for s in segments],
                           [th for th in thumbs if th is not None], cfg.scores.device, style_text=style.prefix())
        scores |= {k: clip[k] for k in ("clipsim", "clipsim_style", "cross_scene_consistency")}
    else:
        scores |= {"clipsim": None, "cross_scene_consistency": None}
    return scores, consistency, thumbs, frames, clip


def _publish(stage: Path, out: Path, names: tuple[str, ...], report: dict, stale: tuple[str, ...] = ()) -> None:
    """Move one run's outputs from ``stage`` into ``out`` together, ``report.json`` last (the previous
    report goes first, so a set without a report is never taken for a finished one). ``stale``: outputs
    an earlier run may have left that this run does not make (``mv.srt`` of a run with lyrics), removed
    with the previous report, so the published set is this run's alone."""
    (out / "report.json").unlink(missing_ok=True)
    for name in stale:
        (out / name).unlink(missing_ok=True)
    for name in names:
        os.replace(stage / name, out / name)
    atomic_write_json(out / "report.json", report)


def _assemble(cfg: GenerateConfig, song: Song, material: list[Path | DrawnClip], segments: list[dict], path: Path,
              store: AnalysisStore | None = None) -> dict:
    """``sync_videos`` of the segments' material over their spans, at the video's fps: the sync report.

    With ``store``, the written video and its report are kept under a hash of everything that makes
    them (the song's content, the material files' bytes, the spans and the sync settings): a rerun whose
    assembly inputs are unchanged copies the kept video (after checking its checksum) instead of
    synchronising and encoding again; otherwise :func:`mv2desc.mvgen.assembly.assemble_incremental`
    reuses the unchanged clips' visual beats and segment chunks. Drawn clips (:class:`DrawnClip`) need
    ``store``; with ``cfg.redo`` their segment's chunk is drawn again."""
    from mv2desc.fingerprint import file_fingerprint
    from mv2desc.mvgen.assembly import assemble_incremental, chunk_file, material_ids
    from mv2desc.sync.engine import sync_videos
    from mv2desc.sync.render import chunk_intact

    sync_cfg = replace(cfg.sync, render=replace(cfg.sync.render, fps=cfg.video.fps))
    spans = [(s["start_s"], s["end_s"]) for s in segments]
    drawn = any(isinstance(m, DrawnClip) for m in material)
    if store is None:
        if drawn:
            raise ValueError("drawn clips are assembled with an analysis store (their chunks are cached there)")
        return sync_videos(material, song, path, sync_cfg, workers=cfg.workers, spans=spans)  # beats: song.beats(cfg.sync.music)
    force = frozenset([cfg.redo]) if drawn and cfg.redo >= 0 else frozenset()
    key = store.key(song.content_key(), "assembly", material_ids(material), spans, asdict(sync_cfg))
    video = store.root / "assembly" / f"{key}.mp4"
    kept = store.load("assembly", key, dict) if not force else None
    # a drawn clip's chunk is its file in the report and the timeline: the kept video is used only while they are intact
    chunks_there = kept is not None and all(chunk_intact(chunk_file(store, c))
                                            for c, m in zip(kept["report"]["chunks"]["keys"], material) if c and isinstance(m, DrawnClip))
    if kept is not None and chunks_there and video.is_file() and file_fingerprint(video, 64) == kept["sha256"]:
        shutil.copyfile(video, path)
        log.info("assembly: mv.mp4 from the cache (%s)", key)
        report = kept["report"]
        for clip, p, chunk in zip(report["clips"], material, report["chunks"]["keys"]):  # maybe at another path (a moved folder)
            clip["path"] = str(chunk_file(store, chunk) if isinstance(p, DrawnClip) else p)
        report["chunks"]["reused"] = [True] * len(material)
        return report
    if kept is not None:  # the report is there but its video is missing or damaged: not trusted, redone
        log.warning("cached assembly %s has no intact video: assembling again", key)
        store.events[-1]["status"] = "bad"
    report = assemble_incremental(material, song, path, sync_cfg, spans, store,
                                  workers=cfg.render_processes() if drawn else cfg.workers, force=force)
    video.parent.mkdir(parents=True, exist_ok=True)
    tmp = video.with_name(f".tmp-{os.getpid()}-{video.name}")
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
    store.store("assembly", key, {"sha256": file_fingerprint(video, 64), "report": report})
    _prune(video.parent, keep=KEEP_ASSEMBLIES)
    return report


KEEP_ASSEMBLIES = 3  # assembled videos kept in the cache (the newest): undoing an edit is free too


def _prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest ``*.mp4`` of ``folder`` (their reports then miss and rebuild)."""
    videos = sorted(folder.glob("*.mp4"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in videos[keep:]:
        old.unlink(missing_ok=True)


def generate(cfg: GenerateConfig) -> dict[str, Any]:
    """Run the whole pipeline for ``cfg.song`` into ``cfg.out``; returns the report (also written).

    The song is decoded once, into a :class:`~mv2desc.song.Song` that every stage reads: its samples,
    beats (``cfg.sync.music``), onsets, loudness and fingerprint are computed once for the run."""
    t_start, timing = time.perf_counter(), {}
    gpus = check_settings(cfg)
    song = Song.load(cfg.song)  # the one decode; MediaError for a missing/unreadable file, before anything is written
    if cfg.lyrics:  # a missing, empty or malformed lyrics file: one line, before anything is written
        from mv2desc.lyrics import read_lyrics

        read_lyrics(cfg.lyrics, duration_s=song.duration_s)
    out = prepare_out_dir(cfg.out)
    with folder_lock(out, "generate", busy="another 'mv2desc mv generate'"):
        return _generate(cfg, out, song, gpus, t_start, timing)


def _generate(cfg: GenerateConfig, out: Path, song: Song, gpus: list[str] | None, t_start: float,
              timing: dict[str, float]) -> dict[str, Any]:
    """The run, with the output folder locked."""
    from mv2desc.mvgen.storyboard import beat_strip, jpeg_data_uri, render_storyboard
    from mv2desc.mvgen.timeline import build_timeline, write_timeline

    cache = ClipCache(out / "cache", preset=cfg.video.clip_preset)
    store = AnalysisStore(cache.root / "analysis")
    song.use_store(store)  # beats, structure, onsets, loudness and descriptions kept by content hash + settings
    cpu: dict[str, float] = {}

    t, c0 = time.perf_counter(), cpu_seconds()
    desc = _describe(cfg, song)
    beats = song.beats(cfg.sync.music)  # the run's beats, tracked once (describe asked first)
    timing["describe"], cpu["describe"] = time.perf_counter() - t, cpu_seconds() - c0
    if store.hits():
        log.info("from the cache: %s", ", ".join(f"{k} ({v})" for k, v in store.summary().items()))
    fp = song.fingerprint
    segments, edit_moves = _segments(out, cfg, song, desc)
    if cfg.redo >= len(segments):
        raise UserError(f"--redo {cfg.redo}: the song has {len(segments)} segments (0..{len(segments) - 1})")
    style = build_style_sheet(desc, cfg.theme, cfg.seed)
    cues = segment_cues(song, beats, [(s["start_s"], s["end_s"]) for s in segments])

    t, c0 = time.perf_counter(), cpu_seconds()
    renderer, requests, keys, cached, keyframes = _clips(cfg, cache, segments, style, cues, gpus)
    drawn = cached is None
    if drawn:  # each segment's clip is drawn into its chunk, exactly its span long: nothing to fill
        material, fills = [DrawnClip(k, renderer, r) for k, r in zip(keys, requests)], [None] * len(keys)
    else:
        material, fills = _fill_clips(cfg, cache, keys, segments)
    timing["clips"], cpu["clips"] = time.perf_counter() - t, cpu_seconds() - c0

    t, c0 = time.perf_counter(), cpu_seconds()
    stage = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out))
    try:
        sync = _assemble(cfg, song, material, segments, stage / "mv.mp4", store)
        sync["output"]["path"] = str(out / "mv.mp4")
        timing["assembly"], cpu["assembly"] = time.perf_counter() - t, cpu_seconds() - c0
        if drawn:  # a segment's clip is new when its chunk was drawn in this run
            cached = [bool(r) for r in sync["chunks"]["reused"]]

        t, c0 = time.perf_counter(), cpu_seconds()
        shown = _output_spans(sync, drawn)
        scores, consistency, thumbs, _, clip = _scores(cfg, stage / "mv.mp4", shown, segments, desc, sync, style, keyframes)
        notes = [desc.note]
        if clip is None:
            notes.append("CLIPSIM and cross-scene consistency not computed: no CLIP model configured (scores.clip_model)")
        notes += sync["warnings"]
        timing["scores"], cpu["scores"] = time.perf_counter() - t, cpu_seconds() - c0
        t, c0 = time.perf_counter(), cpu_seconds()

        visual = np.asarray(sync.get("visual_beats_after_s", []), dtype=np.float64)
        music = np.asarray(beats.beats_s, dtype=np.float64)
        seg_rows = []
        for k, (s, r, key, c, m, x, fill) in enumerate(zip(segments, requests, keys, cached, desc.segments, shown, fills)):
            a, b = x["out_start_s"], x["out_end_s"]
            seg_rows.append({
                **{name: s[name] for name in ("index", "start_s", "end_s", "bars", "description", "edited")},
                "prompt": r.prompt, "energy": r.energy, "n_onsets": len(r.onsets_s), "seed": r.seed,
                "clip": x["path"] if drawn else str(cache.clip_path(key)), "material": x["path"], "fill": fill, "cache_key": key, "cached": c,
                "out_start_s": a, "out_end_s": b, "n_music_beats": int(np.count_nonzero((music >= a) & (music < b))),
                "n_matched": x["n_matched"], "bas_visual": _segment_bas(visual, music, a, b, cfg.sync.metrics.sigma_s),
                "measured": {"tempo_bpm": round(m.tempo_bpm, 2), "rms_db_mean": round(m.rms_db_mean, 2), "key": m.key, "mode": m.mode},
                "section": s["section"], "motif": r.motif or None, "lyrics": s["lyrics"],
                "model_text": s["model_text"], "corrections": s["corrections"],
                **({"clipsim": clip["per_segment"][k], "clip_text": clip["texts"][k]} if clip else {}),
            })
        sections = [x.to_dict() for x in desc.structure.sections] if desc.structure is not None else []
        lines = list(desc.lyrics.lines) if desc.lyrics is not None else []
        if lines:
            from mv2desc.lyrics import add_subtitle_track, write_srt

            write_srt(lines, stage / LYRICS_OUTPUT)
            if cfg.subtitles:  # the lines as a mov_text track of mv.mp4 (packets copied, nothing re-encoded)
                add_subtitle_track(stage / "mv.mp4", lines)

        page = render_storyboard(
            title=f"{Path(cfg.song).stem} — music video storyboard", style=style.to_dict(), scores=scores, notes=notes,
            song={"path": cfg.song, "duration_s": desc.duration_s, "tempo_bpm": desc.tempo_bpm, "key": desc.key, "mode": desc.mode,
                  "renderer": cfg.renderer, "describer": desc.describer},
            strip_svg=beat_strip(_envelope(song), desc.duration_s, list(music), list(beats.downbeats_s),
                                 [(s["start_s"], s["end_s"]) for s in segments], list(visual), sections=sections,
                                 colours={label: m.palette[0] for label, m in style.motifs.items()}),
            segments=[{**row, "thumbnail": jpeg_data_uri(th) if th is not None else ""} for row, th in zip(seg_rows, thumbs)],
        )
        atomic_write_bytes(stage / "storyboard.html", page.encode("utf-8"))
        descriptions = {s["index"]: s["description"] for s in segments}
        write_timeline(stage / "timeline.otio", build_timeline(
            Path(cfg.song).stem, cfg.song, desc.duration_s, cfg.video.fps, [x | {"description": descriptions[x["segment"]]} for x in shown],
            [float(b) for b in beats.beats_s], [float(b) for b in beats.downbeats_s],
            base_dir=out if cfg.timeline_paths == "relative" else None, sections=sections, lyrics=[ln.to_dict() for ln in lines]))
        published = OUTPUTS + ((LYRICS_OUTPUT,) if lines else ())

        timing["outputs"], cpu["outputs"] = time.perf_counter() - t, cpu_seconds() - c0
        timing["total"] = time.perf_counter() - t_start
        cpu["total"] = cpu_seconds()
        report = {
            "format": FORMAT,
            "song": {"path": cfg.song, "fingerprint": fp, **{k: v for k, v in desc.to_dict().items() if k not in ("segments", "song")}},
            "outputs": {name: str(out / name) for name in ("mv.mp4", "report.json", "storyboard.html", "timeline.otio", "segments.json",
                                                          *published[len(OUTPUTS):])},
            "describer": desc.describer,
            "notes": notes,
            "style_sheet": style.to_dict(),
            "renderer": {"name": renderer.name, "identity": renderer.identity(), "needs_keyframe": renderer.needs_keyframe},
            "render": {"clips": len(keys), "rendered": len(keys) - sum(cached), "cached": sum(cached), "redo": cfg.redo,
                       "devices": cfg.render_processes(), "gpus": gpus, "cache_dir": str(cache.root), "fill": cfg.fill,
                       "drawn": drawn},
            "edits": edit_moves,
            "lyrics": None if desc.lyrics is None else {
                "source": desc.lyrics.source, "timed": desc.lyrics.timed, "lines": len(lines), "srt": str(out / LYRICS_OUTPUT) if lines else None,
                "subtitle_track": bool(cfg.subtitles and lines), "snapped": bool(cfg.snap_to_lyrics and desc.lyrics.timed)},
            "scores": scores,
            "scores_conventions": {"palette_consistency": "mean pairwise histogram intersection of per-segment HSV colour histograms "
                                   "(16x4x4 bins) of frames sampled from mv.mp4, in [0, 1]",
                                   "attribute_consistency": "tempo/energy/mode implied by each segment's description vs measured on the "
                                   "segment (docs/metrics.md), mean of the three; _chance: always the song's most frequent class",
                                   "clipsim": "100 x mean cosine of CLIP image embeddings of a segment's frames and the CLIP text "
                                   "embedding of its own shot text (at most the text encoder's token limit, cut at a word), mean over "
                                   "segments; clipsim_style: the same against the style sheet's text",
                                   **sync["conventions"]},
            "attribute_consistency": consistency,
            "segments": seg_rows,
            "sync": sync,
            "config": asdict(cfg),
            "timing_s": {k: round(v, 2) for k, v in timing.items()},
            "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
            "from_cache": store.summary(),
        }
        _publish(stage, out, published, report, stale=() if lines else (LYRICS_OUTPUT,))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log.info("wrote %s (%.1f s, BAS %s, palette consistency %.3f) in %.1f s", out / "mv.mp4", sync["output"]["duration_s"],
             scores["bas_visual"], scores["palette_consistency"], timing["total"])
    return report
