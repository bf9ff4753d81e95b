"""``mv2desc mv beats|sync|score|generate`` (also ``python -m infer ...``): beat tracking, sync, sync
metrics, and music-video generation.

Every command prints JSON on stdout (logs go to stderr); bad input is one ``error: ...`` line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infer.beat_options import music_args as _music_args
from infer.beat_options import music_cfg as _music_cfg
from mv2desc.app import argument_parser, dispatch, normalise_flags, positive_int, setup
from mv2desc.errors import MediaError, UserError
from mv2desc.outputs import refuse_inputs

USAGE = """usage: mv2desc mv <beats|sync|score|generate> [options]

  beats  tempo, beats and downbeats of a song
         (mv2desc mv beats SONG [--out beats.json] [--tracker auto|madmom|librosa])
  sync   lay clips over a song, beat-synchronised, muxed with the song
         (mv2desc mv sync --video CLIP.mp4 [--video ...] --audio SONG --out OUT.mp4 [--report report.json])
  score  BAS (both conventions), BCS, BHS of a video with sound
         (mv2desc mv score --video V.mp4 [--audio SONG] [--out score.json])
  generate  a music video for a song: mv.mp4, storyboard.html, timeline.otio, report.json
         (mv2desc mv generate SONG --out DIR [--config configs/infer/procedural.yaml]
          [--renderer procedural|svd|wan|REGISTERED] [--theme "..."] [--seed N] [--devices N] [--redo SEGMENT])

Run 'mv2desc mv <command> --help' for a command's options.
"""


def _emit(payload: dict, out: str | None) -> None:
    """Print the JSON; with ``out`` also write it there, atomically (a whole file or none)."""
    from mv2desc.atomic import atomic_write_json

    if out:
        atomic_write_json(out, payload)
    print(json.dumps(payload, indent=2))


def _visual_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("visual beats")
    g.add_argument("--flow_height", type=int, default=96, help="frames are downscaled to this height for optical flow")
    g.add_argument("--min_gap_s", type=float, default=0.2, help="minimum time between two visual beats (s)")


def _visual_cfg(args):
    from mv2desc.sync.config import VisualBeatConfig

    return VisualBeatConfig(flow_height=args.flow_height, min_gap_s=args.min_gap_s)


def _metric_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("metrics")
    g.add_argument("--sigma_s", type=float, default=0.05, help="BAS Gaussian width in seconds (0.05 = 3 frames at 60 fps)")
    g.add_argument("--bin_s", type=float, default=1.0, help="BCS/BHS bin length in seconds")


def _metric_cfg(args):
    from mv2desc.sync.config import MetricConfig

    return MetricConfig(sigma_s=args.sigma_s, bin_s=args.bin_s)


def _user_errors(fn):
    """Turn input problems (missing/undecodable files, invalid settings) into one-line errors."""
    try:
        return fn()
    except MediaError as exc:
        raise UserError(f"{exc.reason}: {exc.detail}") from exc
    except ValueError as exc:
        raise UserError(f"invalid setting: {exc}") from exc


def cmd_beats(argv: list[str]) -> int:
    parser = argument_parser(prog="mv2desc mv beats", description="Tempo, beats and downbeats of a song, as JSON.")
    parser.add_argument("audio", help="song (any format FFmpeg decodes; a video's soundtrack works too)")
    parser.add_argument("--out", help="also write the JSON here")
    _music_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr (warnings still shown)")
    args = parser.parse_args(normalise_flags(argv))
    setup(args.verbose, quiet=args.quiet)

    def go():
        from mv2desc.beats.tracking import track_file

        refuse_inputs({"--out": args.out}, [args.audio])
        return track_file(args.audio, _music_cfg(args))

    beats = _user_errors(go)
    _emit(beats.to_dict(), args.out)
    return 0


def cmd_sync(argv: list[str]) -> int:
    parser = argument_parser(
        prog="mv2desc mv sync",
        description="Lay clips (in order) over a song, beat-synchronised (monotonic warps, cuts on downbeats), "
        "muxed with the song, as long as the song (clips too short are reused in order, with a warning). "
        "Prints the metrics measured on the written MP4 (the plan's own figures as metrics_planned); "
        "--report gets the full report.",
    )
    parser.add_argument("--video", action="append", required=True, help="a clip (repeat for several, in order)")
    parser.add_argument("--audio", required=True, help="the song")
    parser.add_argument("--out", required=True, help="output MP4")
    parser.add_argument("--report", help="write the full JSON report here (beats, matching, stretch ratios, metrics)")
    g = parser.add_argument_group("matching and warping")
    g.add_argument("--matcher", default="dp", choices=("dp", "greedy", "uniform"), help="dp, or a baseline")
    g.add_argument("--min_stretch", type=float, default=0.5, help="smallest local stretch ratio")
    g.add_argument("--max_stretch", type=float, default=2.0, help="largest local stretch ratio")
    g.add_argument("--no_downbeats", action="store_true", help="cut clips on beats, not downbeats")
    g.add_argument("--fill_stretch", type=float, default=1.25,
                   help="clips too short for the song are reused in order until they cover it at this global stretch or less")
    g = parser.add_argument_group("output")
    g.add_argument("--fps", type=float, default=24.0, help="output frame rate (0 = the clips' highest); beats land on this frame grid")
    g.add_argument("--resample", default="flow", choices=("flow", "nearest", "blend"),
                   help="in-between frames: flow (motion-compensated), nearest (held frames) or blend (cross-fade)")
    g.add_argument("--width", type=int, default=0, help="output width (default: the first clip's)")
    g.add_argument("--height", type=int, default=0, help="output height (default: the first clip's)")
    g.add_argument("--crf", type=int, default=20, help="H.264 quality (lower is better)")
    g.add_argument("--workers", type=positive_int, default=2, help="processes for the clips' optical flow")
    _music_args(parser)
    _visual_args(parser)
    _metric_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no per-stage progress lines on stderr (warnings still shown)")
    args = parser.parse_args(normalise_flags(argv))
    setup(args.verbose, quiet=args.quiet)

    def go():
        from mv2desc.media.video import probe_video
        from mv2desc.sync.config import MatchConfig, RenderConfig, SyncConfig
        from mv2desc.sync.engine import sync_videos

        cfg = SyncConfig(
            music=_music_cfg(args),
            visual=_visual_cfg(args),
            match=MatchConfig(matcher=args.matcher, min_stretch=args.min_stretch, max_stretch=args.max_stretch,
                              prefer_downbeats=not args.no_downbeats, fill_stretch=args.fill_stretch),
            render=RenderConfig(fps=args.fps, resample=args.resample, width=args.width, height=args.height, crf=args.crf),
            metrics=_metric_cfg(args),
        )
        for v in args.video:  # fail on a bad clip before any heavy work
            probe_video(v)
        if Path(args.out).suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise UserError(f"--out must be an .mp4 (or .m4v/.mov) file, got {args.out}")
        refuse_inputs({"--out": args.out, "--report": args.report}, [*args.video, args.audio])
        return sync_videos(args.video, args.audio, args.out, cfg, workers=args.workers)

    report = _user_errors(go)
    if args.report:
        from mv2desc.atomic import atomic_write_json

        atomic_write_json(args.report, report)
    summary = {
        "out": report["output"]["path"],
        "report": args.report,
        "duration_s": report["output"]["duration_s"],
        "song_duration_s": report["song_duration_s"],
        "metrics": report["metrics"],
        "metrics_planned": report["metrics_planned"],
        "warnings": report["warnings"],
        "stretch": report["stretch"],
        "n_matched": report["n_matched"],
        "timing_s": report["timing_s"],
    }
    _emit(summary, None)
    return 0


def cmd_score(argv: list[str]) -> int:
    parser = argument_parser(
        prog="mv2desc mv score", description="BAS (both conventions), BCS and BHS of a video with sound, as JSON."
    )
    parser.add_argument("--video", required=True, help="the video")
    parser.add_argument("--audio", help="score against this song instead of the video's soundtrack")
    parser.add_argument("--out", help="also write the JSON here")
    _music_args(parser)
    _visual_args(parser)
    _metric_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr (warnings still shown)")
    args = parser.parse_args(normalise_flags(argv))
    setup(args.verbose, quiet=args.quiet)

    def go():
        from mv2desc.sync.score import score_video

        refuse_inputs({"--out": args.out}, [args.video, args.audio])
        return score_video(args.video, args.audio, music_cfg=_music_cfg(args), visual_cfg=_visual_cfg(args), metric_cfg=_metric_cfg(args))

    _emit(_user_errors(go), args.out)
    return 0


def cmd_generate(argv: list[str]) -> int:
    from infer.mv_generate import main as generate_main

    return generate_main(argv)


COMMANDS = {"beats": cmd_beats, "sync": cmd_sync, "score": cmd_score, "generate": cmd_generate}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "mv")


if __name__ == "__main__":
    sys.exit(main())
