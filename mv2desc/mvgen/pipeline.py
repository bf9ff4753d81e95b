"""``mv2desc mv generate``: song -> segments -> descriptions -> style sheet -> keyframes -> clips ->
beat-synchronised ``mv.mp4`` + ``report.json`` + ``storyboard.html`` + ``timeline.otio``.

Order of writes in the output folder: clips into ``cache/`` as they finish (resumable), then
``segments.json``, then ``mv.mp4`` (written by the sync engine under a temporary name and renamed),
then ``storyboard.html`` and ``timeline.otio``, and ``report.json`` last: a report is only ever
present next to the video it describes (the previous one is removed before assembly).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from mv2desc.atomic import atomic_write_bytes, atomic_write_json
from mv2desc.errors import UserError
from mv2desc.fingerprint import fingerprint
from mv2desc.mvgen.cache import ClipCache, clip_key
from mv2desc.mvgen.config import GenerateConfig
from mv2desc.mvgen.cues import segment_cues
from mv2desc.mvgen.edits import apply_edits, song_fingerprint, write_segments
from mv2desc.mvgen.outdir import discard_stale, prepare_out_dir
from mv2desc.mvgen.renderers import build_keyframes, build_renderer
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest
from mv2desc.mvgen.style import StyleSheet, build_style_sheet

log = logging.getLogger(__name__)
FORMAT = "mv2desc.mv.generate/1"


def clip_seed(seed: int, index: int) -> int:
    """Each clip's seed: stable in the run seed and the segment index."""
    return (seed * 1_000_003 + index * 7919 + 17) % (2**31 - 1)


def _keyframe(gen, cfg: GenerateConfig, cache: ClipCache, style: StyleSheet, description: str, seed: int,
              reference: np.ndarray | None = None) -> np.ndarray:
    """One keyframe (the shot as the prompt, the style sheet as the style prompt), from the cache or made
    and cached now under a hash of the generator's identity, both prompts, size, seed and reference."""
    from mv2desc.mvgen.cache import image_hash

    shot, sheet = style.shot(description), style.prefix()
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
    return [_keyframe(gen, cfg, cache, style, s["description"], clip_seed(cfg.seed, s["index"]))
            for s in tqdm(segments, desc="keyframes", unit="segment", leave=False)]


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
    encoding = {"fps": clip_fps, "crf": cfg.video.crf, "codec": "h264"}
    requests, keys, cached, keyframes = [], [], [], []
    previous: np.ndarray | None = None
    for s, c in zip(tqdm(segments, desc=f"keyframes + clips ({renderer.name}, chained)", unit="clip"), cues):
        image = _keyframe(gen, cfg, cache, style, s["description"], clip_seed(cfg.seed, s["index"]), previous)
        request = _requests(cfg, [s], style, [c], [image])[0]
        key = clip_key(renderer.identity(), request, encoding)
        hit = cache.has_clip(key) and s["index"] != cfg.redo
        if not hit:
            cache.store_clip(key, renderer.render(request), clip_fps, cfg.video.crf)
        previous = _last_frame(cache.clip_path(key))
        requests.append(request), keys.append(key), cached.append(hit), keyframes.append(image)
    log.info("clips (chained): %d cached, %d rendered with '%s'", sum(cached), len(keys) - sum(cached), renderer.name)
    return requests, keys, cached, keyframes


def _requests(cfg: GenerateConfig, segments: list[dict], style: StyleSheet, cues, keyframes) -> list[ClipRequest]:
    return [
        ClipRequest(
            index=s["index"], prompt=style.prompt(s["description"]), negative_prompt=cfg.negative_prompt,
            description=s["description"], duration_s=round(s["end_s"] - s["start_s"], 4), fps=cfg.video.fps,
            width=cfg.video.width, height=cfg.video.height, seed=clip_seed(cfg.seed, s["index"]), energy=c.energy,
            onsets_s=c.onsets_s, beats_s=c.beats_s, palette=style.palette,
            keyframe=keyframes[k] if keyframes else None,
        )
        for k, (s, c) in enumerate(zip(segments, cues))
    ]


def _render(cfg: GenerateConfig, renderer: ClipRenderer, cache: ClipCache, requests: list[ClipRequest]) -> tuple[list[str], list[bool]]:
    """Cache keys of every clip and whether each came from the cache; renders the others."""
    from tqdm.auto import tqdm

    from mv2desc.mvgen.render_pool import ClipJob, render_clips

    # frames are stored at the rate the renderer draws them (a diffusion model's own fps, else the video's)
    clip_fps = float(renderer.identity().get("fps") or cfg.video.fps)
    encoding = {"fps": clip_fps, "crf": cfg.video.crf, "codec": "h264"}
    keys = [clip_key(renderer.identity(), r, encoding) for r in requests]
    cached = [cache.has_clip(k) and r.index != cfg.redo for k, r in zip(keys, requests)]
    jobs = [ClipJob(k, r) for k, r, c in zip(keys, requests, cached) if not c]
    log.info("clips: %d cached, %d to render with '%s' on %d worker(s)%s", sum(cached), len(jobs), renderer.name,
             min(cfg.devices, max(1, len(jobs))), f" (--redo {cfg.redo})" if cfg.redo >= 0 else "")
    bar = tqdm(total=len(jobs), desc=f"rendering ({renderer.name})", unit="clip", disable=not jobs)
    factory = (lambda: renderer) if cfg.devices <= 1 else functools.partial(build_renderer, cfg)
    try:
        render_clips(jobs, factory, cache, fps=clip_fps, crf=cfg.video.crf, devices=cfg.devices,
                     start_method="fork" if cfg.renderer == "procedural" else "spawn", on_done=lambda _: bar.update(1))
    finally:
        bar.close()
    return keys, cached


def _output_spans(sync_report: dict, key_to_index: dict[str, int]) -> list[dict]:
    """Per clip shown in ``mv.mp4`` (output order): its segment, file and source/output spans."""
    shown = []
    for c in sync_report["clips"]:
        seg = c["segment"]
        shown.append({"segment": key_to_index[Path(c["path"]).stem], "path": c["path"], "clip_duration_s": c["duration_s"],
                      "src_start_s": seg["src_start_s"], "src_end_s": seg["src_end_s"], "out_start_s": seg["out_start_s"],
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


def _envelope(y: np.ndarray, points: int = 600) -> np.ndarray:
    n = max(1, y.size // points)
    return np.sqrt(np.mean(y[: n * (y.size // n)].reshape(-1, n).astype(np.float64) ** 2, axis=1))


def generate(cfg: GenerateConfig) -> dict[str, Any]:
    """Run the whole pipeline for ``cfg.song`` into ``cfg.out``; returns the report (also written)."""
    from mv2desc.beats import track_beats
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.media.audio import load_audio

    t_start, timing = time.perf_counter(), {}
    if not cfg.song or not cfg.out:
        raise UserError("need a SONG and --out DIR: mv2desc mv generate SONG --out DIR")
    y, sr = load_audio(cfg.song)  # MediaError for a missing/unreadable file, before anything is written
    out = prepare_out_dir(cfg.out, cfg.song)
    cache = ClipCache(out / "cache")

    t = time.perf_counter()
    beats = track_beats(y, sr, cfg.sync.music)
    describe_cfg = DescribeConfig(segments=cfg.segments, beats=cfg.sync.music, seed=cfg.seed)
    song = describe_song(cfg.song, cfg.captioner or None, describe_cfg, beats=beats)
    timing["describe"] = time.perf_counter() - t
    log.info("%d segments (%s describer), %.1f s, %.0f bpm", len(song.segments), song.describer, song.duration_s, song.tempo_bpm)
    fp = song_fingerprint(cfg.song)
    segments = apply_edits(out / "segments.json", fp, [
        {"index": k, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "bars": s.bars, "description": s.description}
        for k, s in enumerate(song.segments)])
    write_segments(out / "segments.json", cfg.song, fp, segments)
    style = build_style_sheet(song, cfg.theme, cfg.seed)
    cues = segment_cues(y, sr, beats, [(s["start_s"], s["end_s"]) for s in segments])

    t = time.perf_counter()
    renderer = build_renderer(cfg)
    keyframes = None
    if cfg.redo >= len(segments):
        raise UserError(f"--redo {cfg.redo}: the song has {len(segments)} segments (0..{len(segments) - 1})")
    if renderer.needs_keyframe and cfg.chain:
        requests, keys, cached, keyframes = _render_chained(cfg, renderer, cache, segments, style, cues)
    else:
        if renderer.needs_keyframe:
            keyframes = _keyframes(cfg, cache, style, segments)
        requests = _requests(cfg, segments, style, cues, keyframes)
        keys, cached = _render(cfg, renderer, cache, requests)
    timing["clips"] = time.perf_counter() - t

    t = time.perf_counter()
    from mv2desc.sync.engine import sync_videos

    discard_stale(out)
    sync_cfg = replace(cfg.sync, render=replace(cfg.sync.render, fps=cfg.video.fps))
    sync = sync_videos([cache.clip_path(k) for k in keys], cfg.song, out / "mv.mp4", sync_cfg, workers=cfg.workers, music=beats)
    timing["assembly"] = time.perf_counter() - t

    t = time.perf_counter()
    shown = _output_spans(sync, {k: i for i, k in enumerate(keys)})
    frames = _sample_frames(out / "mv.mp4", shown, len(segments), cfg.scores.frames_per_segment)
    thumbs = [f[len(f) // 2] if f else None for f in frames]
    if keyframes is not None:
        thumbs = list(keyframes)
    from mv2desc.mvgen.scores import clip_scores, palette_consistency

    scores = {k: sync["metrics"][f"{k}_after"] for k in ("bas_visual", "bas_music", "bcs", "bhs")}
    scores["palette_consistency"] = round(palette_consistency(frames), 4)
    from mv2desc.metrics.attributes import attribute_consistency

    consistency = attribute_consistency([s["description"] for s in segments],
                                        [{"tempo_bpm": m.tempo_bpm, "rms_db_mean": m.rms_db_mean, "mode": m.mode} for m in song.segments])
    scores["attribute_consistency"] = round(consistency["overall"]["score"], 4)
    scores["attribute_consistency_chance"] = round(consistency["overall"]["chance"], 4)
    notes = [song.note]
    if cfg.scores.clip_model:
        scores |= clip_scores(cfg.scores.clip_model, frames, [r.prompt for r in requests],
                              [th for th in thumbs if th is not None], cfg.scores.device)
    else:
        scores |= {"clipsim": None, "cross_scene_consistency": None}
        notes.append("CLIPSIM and cross-scene consistency not computed: no CLIP model configured (scores.clip_model)")
    notes += sync["warnings"]
    timing["scores"] = time.perf_counter() - t

    visual = np.asarray(sync.get("visual_beats_after_s", []), dtype=np.float64)
    music = np.asarray(beats.beats_s, dtype=np.float64)
    seg_rows = []
    for s, r, k, c, m in zip(segments, requests, keys, cached, song.segments):
        spans = [x for x in shown if x["segment"] == s["index"]]
        a = spans[0]["out_start_s"] if spans else s["start_s"]
        b = spans[0]["out_end_s"] if spans else s["end_s"]
        seg_rows.append({
            **{key: s[key] for key in ("index", "start_s", "end_s", "bars", "description", "edited")},
            "prompt": r.prompt, "energy": r.energy, "n_onsets": len(r.onsets_s), "seed": r.seed,
            "clip": str(cache.clip_path(k)), "cache_key": k, "cached": c, "shown": len(spans),
            "out_start_s": a, "out_end_s": b, "n_music_beats": int(np.count_nonzero((music >= a) & (music < b))),
            "n_matched": sum(x["n_matched"] for x in spans),
            "bas_visual": _segment_bas(visual, music, a, b, cfg.sync.metrics.sigma_s),
            "measured": {"tempo_bpm": round(m.tempo_bpm, 2), "rms_db_mean": round(m.rms_db_mean, 2), "key": m.key, "mode": m.mode},
        })

    from mv2desc.mvgen.storyboard import beat_strip, jpeg_data_uri, render_storyboard
    from mv2desc.mvgen.timeline import build_timeline, write_timeline

    title = f"{Path(cfg.song).stem} — music video storyboard"
    page = render_storyboard(
        title=title, style=style.to_dict(), scores=scores, notes=notes,
        song={"path": cfg.song, "duration_s": song.duration_s, "tempo_bpm": song.tempo_bpm, "key": song.key, "mode": song.mode,
              "renderer": cfg.renderer, "describer": song.describer},
        strip_svg=beat_strip(_envelope(y), song.duration_s, list(music), list(beats.downbeats_s),
                             [(s["start_s"], s["end_s"]) for s in segments], list(visual)),
        segments=[{**row, "thumbnail": jpeg_data_uri(th) if th is not None else ""} for row, th in zip(seg_rows, thumbs)],
    )
    atomic_write_bytes(out / "storyboard.html", page.encode("utf-8"))
    descriptions = {s["index"]: s["description"] for s in segments}
    write_timeline(out / "timeline.otio", build_timeline(
        Path(cfg.song).stem, cfg.song, song.duration_s, cfg.video.fps, [x | {"description": descriptions[x["segment"]]} for x in shown],
        [float(b) for b in beats.beats_s], [float(b) for b in beats.downbeats_s]))

    timing["total"] = time.perf_counter() - t_start
    report = {
        "format": FORMAT,
        "song": {"path": cfg.song, "fingerprint": fp, **{k: v for k, v in song.to_dict().items() if k not in ("segments", "song")}},
        "outputs": {name: str(out / name) for name in ("mv.mp4", "report.json", "storyboard.html", "timeline.otio", "segments.json")},
        "describer": song.describer,
        "notes": notes,
        "style_sheet": style.to_dict(),
        "renderer": {"name": renderer.name, "identity": renderer.identity(), "needs_keyframe": renderer.needs_keyframe},
        "render": {"clips": len(keys), "rendered": len(keys) - sum(cached), "cached": sum(cached), "redo": cfg.redo,
                   "devices": cfg.devices, "cache_dir": str(cache.root)},
        "scores": scores,
        "scores_conventions": {"palette_consistency": "mean pairwise histogram intersection of per-segment HSV colour histograms "
                               "(16x4x4 bins) of frames sampled from mv.mp4, in [0, 1]",
                               "attribute_consistency": "tempo/energy/mode implied by each segment's description vs measured on the "
                               "segment (docs/metrics.md), mean of the three; _chance: always the song's most frequent class",
                               **sync["conventions"]},
        "attribute_consistency": consistency,
        "segments": seg_rows,
        "sync": sync,
        "config": asdict(cfg),
        "timing_s": {k: round(v, 2) for k, v in timing.items()},
    }
    atomic_write_json(out / "report.json", report)
    log.info("wrote %s (%.1f s, BAS %s, palette consistency %.3f) in %.1f s", out / "mv.mp4", sync["output"]["duration_s"],
             scores["bas_visual"], scores["palette_consistency"], timing["total"])
    return report
