"""Beat-synchronised assembly: clips + song -> layout -> matching -> warps -> MP4 + report.

:func:`plan_sync` is the pure part (beats in, warps and metrics out), :func:`sync_videos` adds the
I/O: visual beats of every clip (in worker processes), music beats of the song, rendering and the
JSON report. Times are seconds; "before" is the clips end to end at their own speed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mv2desc.beats.tracking import MusicBeats
from mv2desc.media.video import VideoInfo, probe_video
from mv2desc.song import Song
from mv2desc.sync.config import MatchConfig, MetricConfig, SyncConfig, VisualBeatConfig
from mv2desc.sync.matching import Matching, Segment, trim_match
from mv2desc.sync.metrics import sync_scores
from mv2desc.sync.plan import Layout, cycle_order, layout_clips, layout_spans, layout_unsynced, snap_to_frames
from mv2desc.sync.stops import StopFate, clip_stop_fates, fate_counts
from mv2desc.sync.visual_beats import VisualBeats, visual_beats_of_file

log = logging.getLogger(__name__)
_EDGE = 1e-3  # beats closer than this to a segment's edge are the cut itself, not matchable


@dataclass(frozen=True)
class ClipAnalysis:
    """A clip's file facts and visual beats."""

    info: VideoInfo
    beats: VisualBeats


@dataclass(frozen=True)
class SyncPlan:
    """The result of planning one matcher's sync.

    Attributes:
        layout: the clips' segments.
        matchings: one :class:`Matching` per shown clip (absolute output times).
        visual_after_s: all visual beats on the output timeline, in order.
        scores: BAS (both conventions), BCS, BHS of ``visual_after_s`` against the music beats.
        targets_s: the music beats visual beats were matched to (on the output frame grid when planned with fps).
        stops: per shown clip, the fate of each of its visual beats (:mod:`mv2desc.sync.stops`).
        untrimmed: the segments as laid out, before trimming (``layout`` holds the source spans shown).
    """

    layout: Layout
    matchings: tuple[Matching, ...]
    visual_after_s: np.ndarray
    scores: dict
    targets_s: np.ndarray
    stops: tuple[tuple[StopFate, ...], ...] = ()
    untrimmed: tuple[Segment, ...] = ()


def _analyse_one(args: tuple[str, VisualBeatConfig]) -> ClipAnalysis:
    path, cfg = args
    info = probe_video(path)
    return ClipAnalysis(info, visual_beats_of_file(path, cfg))


def analyse_clips(
    paths: list[str | os.PathLike], cfg: VisualBeatConfig, workers: int = 2, meanwhile: Callable[[], Any] | None = None
) -> tuple[list[ClipAnalysis], Any]:
    """Probe every clip and detect its visual beats in ``workers`` processes (1 = in this one).

    ``meanwhile`` runs in this process while the workers compute (e.g. beat tracking, whose
    single-threaded stages leave a core idle); returns ``(analyses, meanwhile's result)``.
    """
    jobs = [(str(p), cfg) for p in paths]
    if workers <= 1 or len(jobs) <= 1:
        analyses = [_analyse_one(j) for j in jobs]
        return analyses, (meanwhile() if meanwhile is not None else None)
    import multiprocessing

    from mv2desc.procs import raise_if_interrupted, worker_pool

    # workers ignore Ctrl-C and die with this process; an interrupt or error here terminates them
    with worker_pool(workers, multiprocessing.get_context("fork")) as pool:
        results = pool.map(_analyse_one, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
        other = meanwhile() if meanwhile is not None else None
        analyses = list(results)
        raise_if_interrupted()
        return analyses, other


def _inside(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return x[(x > lo + _EDGE) & (x < hi - _EDGE)]


def visual_before(clips: list[VisualBeats], durations: list[float], song_duration_s: float) -> tuple[np.ndarray, Layout]:
    """Visual beats of the unsynchronised layout (clips end to end at their own speed)."""
    layout = layout_unsynced(durations, song_duration_s)
    out = [seg.out_start + _inside(vb.times_s, seg.src_start, seg.src_end) for vb, seg in zip(clips, layout.segments)]
    return (np.concatenate(out) if out else np.zeros(0)), layout


def end_on_last_frame(seg: Segment, last_frame_s: float, cfg: MatchConfig) -> Segment:
    """``seg`` ending at ``last_frame_s`` (the clip's last frame) when it ends after it and the
    segment's mean stretch stays within ``cfg.max_stretch``; else ``seg`` unchanged."""
    if seg.src_end <= last_frame_s + 1e-9 or last_frame_s <= seg.src_start:
        return seg
    shorter = Segment(seg.src_start, float(last_frame_s), seg.out_start, seg.out_end)
    return shorter if shorter.ratio <= cfg.max_stretch + 1e-9 else seg


def plan_sync(
    clips: list[VisualBeats],
    durations: list[float],
    music: MusicBeats,
    song_duration_s: float,
    match_cfg: MatchConfig,
    metric_cfg: MetricConfig | None = None,
    method: str | None = None,
    fps: float | None = None,
    spans: list[tuple[float, float]] | None = None,
    last_frame_s: list[float] | None = None,
) -> SyncPlan:
    """Lay out the clips over the song, match each clip's visual beats, score the (planned) result.

    With ``fps`` the plan is made on the output's frame grid: cuts and the music beats that visual
    beats are matched to are moved onto ``k / fps``, so a matched visual beat is shown exactly on the
    output frame nearest its music beat (the scores still use the true beat times).

    With ``spans`` (one ``(start, end)`` per clip) each clip is shown on its own span and cut on its
    edges (:func:`~mv2desc.sync.plan.layout_spans`); matching happens inside each span.

    ``last_frame_s`` (one per clip): the source time of the clip's last frame. A clip's material
    after it is that frame held, which freezes a moving picture before the cut (a stop the clip does
    not have, off the beat): a segment ends on its last frame instead, when its stretch allows.
    Then each clip's visual beats are matched (:func:`~mv2desc.sync.matching.trim_match`: beats no
    music beat can take are trimmed from the clip's ends where the bounds allow) and every visual
    beat gets a fate (:mod:`mv2desc.sync.stops`).
    """
    metric_cfg = metric_cfg or MetricConfig()
    targets = np.asarray(music.beats_s, dtype=np.float64)
    if spans is not None:
        layout = layout_spans(durations, spans, match_cfg, fps)
    else:
        layout = layout_clips(durations, song_duration_s, music.beats_s, music.downbeats_s, match_cfg)
        if fps:
            layout = snap_to_frames(layout, fps, match_cfg)
    if fps:
        targets = np.unique(np.round(targets * fps) / fps)
    matchings, after, kept, stops = [], [], [], []
    for k, (vb, seg) in enumerate(zip(clips, layout.segments)):
        if last_frame_s is not None and match_cfg.end_on_last_frame:
            seg = end_on_last_frame(seg, last_frame_s[k], match_cfg)
        visual = _inside(vb.times_s, seg.src_start, seg.src_end)
        beats = _inside(targets, seg.out_start, seg.out_end)
        tm = trim_match(visual, beats, seg, match_cfg, vb.fps, method, sigma_s=metric_cfg.sigma_s)
        m, shown = tm.matching, tm.segment
        matchings.append(m)
        kept.append(shown)
        after.append(m.warp.to_output(_inside(vb.times_s, shown.src_start, shown.src_end)))
        stops.append(tuple(clip_stop_fates(vb.times_s, seg, shown, m, targets, music.beats_s, match_cfg, fps)))
    visual_after = np.concatenate(after) if after else np.zeros(0)
    scores = sync_scores(visual_after, music.beats_s, layout.duration_s, sigma_s=metric_cfg.sigma_s, bin_s=metric_cfg.bin_s)
    trimmed = Layout(tuple(kept), layout.duration_s, layout.global_ratio, layout.dropped, layout.grid)
    return SyncPlan(trimmed, tuple(matchings), visual_after, scores, targets, tuple(stops), layout.segments)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def _clip_report(analysis: ClipAnalysis, seg: Segment, m: Matching, targets: np.ndarray, stops: tuple[StopFate, ...] = (),
                 untrimmed: Segment | None = None) -> dict:
    visual = _inside(analysis.beats.times_s, seg.src_start, seg.src_end)
    beats = _inside(targets, seg.out_start, seg.out_end)
    matched = set(m.pairs[:, 0].tolist())
    return {
        "path": str(analysis.info.path),
        "fps": analysis.info.fps,
        "n_frames": analysis.info.n_frames,
        "duration_s": _r(analysis.info.duration_s),
        "visual_beats_s": [_r(t) for t in analysis.beats.times_s],
        "low_motion": analysis.beats.low_motion,
        "segment": {"src_start_s": _r(seg.src_start), "src_end_s": _r(seg.src_end), "out_start_s": _r(seg.out_start), "out_end_s": _r(seg.out_end), "ratio": _r(seg.ratio)},
        "matches": [{"visual_s": _r(visual[i]), "music_s": _r(beats[j])} for i, j in m.pairs],
        "unmatched_visual_s": [_r(v) for k, v in enumerate(visual) if k not in matched],
        "stretch_ratios": [_r(r) for r in m.warp.ratios()],
        "warp_anchors": {"src_s": [_r(t) for t in m.warp.src], "out_s": [_r(t) for t in m.warp.out]},
        "trimmed_s": {"start": _r(seg.src_start - (untrimmed or seg).src_start), "end": _r((untrimmed or seg).src_end - seg.src_end)},
        "stops": [f.to_dict() for f in stops],
        "stop_fates": fate_counts(stops),
    }


METRIC_KEYS = ("bas_visual", "bas_music", "bcs", "bhs")


def build_report(
    analyses: list[ClipAnalysis],
    music: MusicBeats,
    song_duration_s: float,
    plan: SyncPlan,
    cfg: SyncConfig,
    *,
    measured: dict | None = None,
    baselines: dict[str, SyncPlan] | None = None,
) -> dict:
    """The JSON report: beats, matching, stretch ratios and every metric named by convention.

    ``measured``: the scores of the written MP4 (``score_video``); they are the headline ``metrics``
    (``*_after``). The plan's own figures are kept as ``metrics_planned``.
    """
    before, before_layout = visual_before([a.beats for a in analyses], [a.info.duration_s for a in analyses], song_duration_s)
    s_before = sync_scores(before, music.beats_s, before_layout.duration_s, sigma_s=cfg.metrics.sigma_s, bin_s=cfg.metrics.bin_s)
    s_after = measured if measured is not None else plan.scores
    ratios = np.concatenate([m.warp.ratios() for m in plan.matchings]) if plan.matchings else np.zeros(0)
    metrics = {}
    for key in METRIC_KEYS:
        metrics[f"{key}_before"] = _r(s_before[key])
        metrics[f"{key}_after"] = _r(s_after[key])
    metrics["measured_on"] = "output" if measured is not None else "plan"
    worse = (measured is not None and s_before["bas_visual"] is not None
             and (s_after["bas_visual"] or 0.0) < s_before["bas_visual"] - 1e-9)
    metrics["worse_than_concatenation"] = bool(worse)
    report = {
        "conventions": {
            "sigma_s": cfg.metrics.sigma_s,
            "bin_s": cfg.metrics.bin_s,
            "bas_visual": "mean over visual beats of exp(-d^2/2 sigma^2), d = distance to the nearest music beat (AIST++/FACT)",
            "bas_music": "mean over music beats of exp(-d^2/2 sigma^2), d = distance to the nearest visual beat (Bailando code)",
            "bcs_bhs": "bins of bin_s seconds; BCS = bins with a visual beat / bins with a music beat; BHS = bins with both / bins with a music beat",
            "before": "plain concatenation: the same clips end to end at their own speed from 0 s (visual beats of the clips as they are)",
            "after": "measured on the written MP4: its visual beats re-detected with the same detector, against the song's beats "
            "(what 'mv2desc mv score --video OUT --audio SONG' prints)",
            "planned": "metrics_planned: the plan's visual beats carried through the warps, before rendering",
            "stops": "clips[k].stops: every visual beat of the clip's source (source_s) and its fate: matched (output_s on beat_s, "
            "error_ms), on_beat (unmatched, lands within half an output frame of beat_s), trimmed (cut out of the material), "
            "unmatched (output_s off the beat; reason), not_shown (outside the part of the clip its segment shows)",
        },
        "metrics": metrics,
        "metrics_planned": {f"{k}_after": _r(plan.scores[k]) for k in METRIC_KEYS},
        "warnings": [],
        "matcher": cfg.match.matcher,
        "song_duration_s": _r(song_duration_s),
        "output_duration_s": _r(plan.layout.duration_s),
        "dropped_clips": plan.layout.dropped,
        "cut_grid": plan.layout.grid,
        "global_ratio": _r(plan.layout.global_ratio),
        "stretch": {
            "bounds": [cfg.match.min_stretch, cfg.match.max_stretch],
            "min": _r(ratios.min()) if ratios.size else None,
            "max": _r(ratios.max()) if ratios.size else None,
            "all_within_bounds": bool(ratios.size == 0 or (ratios.min() >= cfg.match.min_stretch - 1e-6 and ratios.max() <= cfg.match.max_stretch + 1e-6)),
        },
        "music": music.to_dict(),
        "visual_beats_before_s": [_r(t) for t in before],
        "visual_beats_planned_s": [_r(t) for t in plan.visual_after_s],
        "n_matched": int(sum(len(m.pairs) for m in plan.matchings)),
        "clips": [
            _clip_report(a, s, m, plan.targets_s, stops, raw)
            for a, s, m, stops, raw in zip(analyses, plan.layout.segments, plan.matchings, plan.stops or [()] * len(plan.matchings),
                                           plan.untrimmed or plan.layout.segments)
        ],
        "stop_fates": fate_counts([f for clip in plan.stops for f in clip]),
    }
    if measured is not None:
        report["visual_beats_after_s"] = measured["visual_beats_s"]
    if worse:
        report["warnings"].append(
            f"the synced output scores below plain concatenation (visual-beat BAS {s_after['bas_visual'] or 0.0:.3f} < {s_before['bas_visual']:.3f})"
        )
    if baselines:
        report["baselines"] = {
            name: {f"{k}_after": _r(p.scores[k]) for k in METRIC_KEYS} | {"measured_on": "plan"} for name, p in baselines.items()
        }
    return report


def sync_videos(
    videos: list[str | os.PathLike],
    audio: Song | str | os.PathLike,
    out_path: str | os.PathLike,
    cfg: SyncConfig | None = None,
    *,
    workers: int = 2,
    music: MusicBeats | None = None,
    overlap: bool = True,
    spans: list[tuple[float, float]] | None = None,
) -> dict:
    """Synchronise ``videos`` (in order) to the song ``audio``; write ``out_path``; return the report.

    ``audio``: a :class:`~mv2desc.song.Song` (its stereo is the soundtrack, ``audio.beats(cfg.music)``
    the music beats, shared with the Song's other users) or a file, decoded here once into one.

    The MP4 always lasts as long as the song (± one frame): clips too short for it are reused in
    order (``MatchConfig.fill_stretch``; a warning gives the numbers). The plan is made on the
    output's frame grid, the video written to a temporary name, its visual beats re-detected (each
    clip's stretch of the output measured apart, in ``workers`` processes: a cut between each two) and
    scored (the report's headline ``metrics``), then renamed into place.

    ``spans`` (one ``(start, end)`` per video, end to end over the song) pins video ``k`` to span ``k``:
    cuts on the spans' edges, no reuse, no video shown on another's span (``mv generate``: each
    segment's clip on its segment). A video must then last at least its span / ``max_stretch``.

    ``music`` skips beat tracking (precomputed beats). ``overlap`` decodes the song and tracks its beats
    while the worker processes compute the clips' optical flow. The report's ``timing_s`` says where the time went
    (with ``overlap``: ``music_beats``, then ``visual_beats_after_music``, the wait for the flow
    that was left).
    """
    from mv2desc.media.audio import probe_audio
    from mv2desc.song import as_song
    from mv2desc.sync.render import ClipPlacement, placement_ranges, render
    from mv2desc.sync.score import score_video
    from mv2desc.sync.visual_beats import measure_file_pieces

    cfg = cfg or SyncConfig()
    if not isinstance(audio, Song):
        probe_audio(audio)  # fail before the heavy work
    timing: dict[str, float] = {}

    def song_and_beats() -> tuple[Song, MusicBeats]:
        t = time.perf_counter()
        song = as_song(audio)  # a file: its one decode
        # Song.beats equals track_file (what `mv2desc mv beats` runs) exactly, so both commands agree
        beats = music if music is not None else song.beats(cfg.music)
        timing["music_beats"] = time.perf_counter() - t
        log.info("music beats: %d beats, %d downbeats, %.0f bpm (%s) in %.1f s", len(beats.beats_s), len(beats.downbeats_s),
                 beats.tempo_bpm, beats.tracker, timing["music_beats"])
        return song, beats

    t0 = time.perf_counter()
    if overlap:  # beat tracking runs here while the workers compute the clips' optical flow
        analyses, (song, music) = analyse_clips(list(videos), cfg.visual, workers, meanwhile=song_and_beats)
        timing["visual_beats_after_music"] = time.perf_counter() - t0 - timing["music_beats"]
    else:
        analyses, _ = analyse_clips(list(videos), cfg.visual, workers)
        timing["visual_beats"] = time.perf_counter() - t0
        song, music = song_and_beats()
    log.info("visual beats of %d clips: %d in all (%.1f s)", len(analyses), sum(len(a.beats.times_s) for a in analyses), time.perf_counter() - t0)
    song_duration = song.duration_s
    sr = song.sr
    material = sum(a.info.duration_s for a in analyses)
    if spans is not None:
        if len(spans) != len(analyses):
            raise ValueError(f"need one span per video, got {len(analyses)} videos and {len(spans)} spans")
        order = list(range(len(analyses)))
    else:
        order = cycle_order([a.info.duration_s for a in analyses], song_duration, cfg.match.fill_stretch)
    reuse = None
    if len(order) > len(analyses):
        reuse = {"clips": len(analyses), "shown": len(order), "material_s": round(material, 3), "song_s": round(song_duration, 3),
                 "passes": round(len(order) / len(analyses), 2), "rule": "clips reused in order until material x fill_stretch covers the song"}
        log.warning("the clips hold %.1f s for a %.1f s song: reusing them in order, %d clips shown (%.2f passes), global stretch <= %.2f",
                    material, song_duration, len(order), len(order) / len(analyses), cfg.match.fill_stretch)
    analyses = [analyses[k] for k in order]
    fps = cfg.render.fps or max(a.info.fps for a in analyses)
    t0 = time.perf_counter()
    durations = [a.info.duration_s for a in analyses]
    clips = [a.beats for a in analyses]
    last_frames = [(a.info.n_frames - 1) / a.info.fps if a.info.n_frames >= 2 else a.info.duration_s for a in analyses]
    plan = plan_sync(clips, durations, music, song_duration, cfg.match, cfg.metrics, fps=fps, spans=spans, last_frame_s=last_frames)
    baselines = {
        name: plan_sync(clips, durations, music, song_duration, cfg.match, cfg.metrics, method=name, fps=fps, spans=spans,
                        last_frame_s=last_frames)
        for name in ("dp", "greedy", "uniform")
        if name != cfg.match.matcher
    }
    timing["matching"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    width = cfg.render.width or analyses[0].info.width // 2 * 2
    height = cfg.render.height or analyses[0].info.height // 2 * 2
    placements = [
        ClipPlacement(a.info, m.warp, seg.out_start, seg.out_end)
        for a, m, seg in zip(analyses, plan.matchings, plan.layout.segments)
    ]
    resample = cfg.render.resample
    if resample == "auto":
        resample = "flow" if min(a.info.fps for a in analyses) < fps - 1e-6 else "blend"
    n_audio = round(plan.layout.duration_s * sr)
    out = Path(out_path)
    tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    try:
        render(
            placements, tmp, duration_s=plan.layout.duration_s, fps=fps, width=width, height=height,
            audio=song.stereo[:, :n_audio], sample_rate=sr, resample=resample, crf=cfg.render.crf,
            preset=cfg.render.preset, audio_bitrate=cfg.render.audio_bitrate, flow_height=cfg.render.flow_height,
        )
        timing["render"] = time.perf_counter() - t0
        log.info("rendered %.1f s at %g fps (%s frames) in %.1f s", plan.layout.duration_s, fps, resample, timing["render"])
        t0 = time.perf_counter()
        pieces = measure_file_pieces(tmp, placement_ranges(placements, plan.layout.duration_s, fps), cfg.visual, workers=workers)
        measured = score_video(tmp, song, visual_cfg=cfg.visual, metric_cfg=cfg.metrics, music=music, pieces=pieces)
        timing["measure_output"] = time.perf_counter() - t0
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    report = build_report(analyses, music, song_duration, plan, cfg, measured=measured, baselines=baselines)
    if reuse is not None:
        report["reuse"] = reuse
        report["warnings"].insert(0, f"clips too short for the song ({material:.1f} s of material, {song_duration:.1f} s of song): "
                                     f"reused in order, {len(order)} clips shown")
    if plan.layout.dropped:
        report["warnings"].append(f"{plan.layout.dropped} clip(s) at the end did not fit (the song ends first) and are not shown")
    for w in report["warnings"][1 if reuse else 0 :]:
        log.warning(w)
    log.info("measured on the output: visual-beat BAS %s (plain concatenation %s, planned %s) in %.1f s",
             report["metrics"]["bas_visual_after"], report["metrics"]["bas_visual_before"], report["metrics_planned"]["bas_visual_after"],
             timing["measure_output"])
    report["output"] = {"path": str(out), "fps": fps, "width": width, "height": height, "resample": resample,
                        "n_frames": measured["n_frames"], "duration_s": measured["video_duration_s"]}
    report["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    return report
