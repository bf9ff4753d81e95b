"""``mv2desc mv beats|sync|score|generate`` (also ``python -m infer ...``): beat tracking, sync, sync
metrics, and music-video generation.

Every command prints JSON on stdout (logs go to stderr); bad input is one ``error: ...`` line, exit 2.
"""

from __future__ import annotations

import json
import sys

from mv2desc.app import dispatch, parse_config, setup
from mv2desc.errors import MediaError, UserError
from mv2desc.outputs import refuse_inputs

USAGE = """usage: mv2desc mv <beats|sync|score|generate> [options]

  beats  tempo, beats and downbeats of a song
         (mv2desc mv beats SONG [--out beats.json] [--beats.tracker auto|madmom|librosa])
  sync   lay clips over a song, beat-synchronised, muxed with the song
         (mv2desc mv sync --video CLIP.mp4 [--video ...] --audio SONG --out OUT.mp4 [--report report.json]
          [--match.matcher dp|greedy|uniform] [--render.fps FPS] [--beats.tracker ...] [--workers N])
  score  BAS (both conventions), BCS, BHS of a video with sound
         (mv2desc mv score --video V.mp4 [--audio SONG] [--out score.json] [--metrics.sigma_s S])
  generate  a music video for a song: mv.mp4, storyboard.html, timeline.otio, report.json
         (mv2desc mv generate SONG --out DIR [--config configs/infer/procedural.yaml]
          [--renderer procedural|svd|wan|REGISTERED] [--theme "..."] [--seed N] [--devices N] [--redo SEGMENT])

Every command also takes --config YAML (its options as keys), --print_config, -q/--quiet, -v/--verbose.
Run 'mv2desc mv <command> --help' for a command's options.
"""


def _emit(payload: dict, out: str | None) -> None:
    """Print the JSON; with ``out`` also write it there, atomically (a whole file or none)."""
    from mv2desc.atomic import atomic_write_json

    if out:
        atomic_write_json(out, payload)
    print(json.dumps(payload, indent=2))


def _user_errors(fn):
    """Turn input problems (missing/undecodable files, invalid settings) into one-line errors."""
    try:
        return fn()
    except MediaError as exc:
        raise UserError(f"{exc.reason}: {exc.detail}") from exc
    except ValueError as exc:
        raise UserError(f"invalid setting: {exc}") from exc


def _parse(cls: type, argv: list[str], command: str, positional: tuple[str, ...] = ()):
    """The command's config (:mod:`infer.command_configs`), logging set up."""
    cfg, log = parse_config(cls, argv, f"mv2desc mv {command}", positional=positional)
    setup(log.verbose, quiet=log.quiet)
    return cfg


def cmd_beats(argv: list[str]) -> int:
    from infer.command_configs import BeatsCommand

    cfg = _parse(BeatsCommand, argv, "beats", positional=("song",))

    def go():
        from mv2desc.beats.tracking import track_file

        refuse_inputs({"--out": cfg.out}, [cfg.song])
        return track_file(cfg.song, cfg.beats)

    beats = _user_errors(go)
    _emit(beats.to_dict(), cfg.out)
    return 0


def cmd_sync(argv: list[str]) -> int:
    from infer.command_configs import SyncCommand

    cfg = _parse(SyncCommand, argv, "sync")

    def go():
        from mv2desc.media.video import probe_video
        from mv2desc.sync.engine import sync_videos

        for v in cfg.video:  # fail on a bad clip before any heavy work
            probe_video(v)
        refuse_inputs({"--out": cfg.out, "--report": cfg.report}, [*cfg.video, cfg.audio])
        return sync_videos(cfg.video, cfg.audio, cfg.out, cfg.sync_config(), workers=cfg.workers)

    report = _user_errors(go)
    if cfg.report:
        from mv2desc.atomic import atomic_write_json

        atomic_write_json(cfg.report, report)
    summary = {
        "out": report["output"]["path"],
        "report": cfg.report,
        "duration_s": report["output"]["duration_s"],
        "song_duration_s": report["song_duration_s"],
        "metrics": report["metrics"],
        "metrics_planned": report["metrics_planned"],
        "warnings": report["warnings"],
        "stretch": report["stretch"],
        "n_matched": report["n_matched"],
        "stop_fates": report["stop_fates"],
        "timing_s": report["timing_s"],
    }
    _emit(summary, None)
    return 0


def cmd_score(argv: list[str]) -> int:
    from infer.command_configs import ScoreCommand

    cfg = _parse(ScoreCommand, argv, "score")

    def go():
        from mv2desc.sync.score import score_video

        refuse_inputs({"--out": cfg.out}, [cfg.video, cfg.audio])
        return score_video(cfg.video, cfg.audio, music_cfg=cfg.beats, visual_cfg=cfg.visual, metric_cfg=cfg.metrics)

    _emit(_user_errors(go), cfg.out)
    return 0


def cmd_generate(argv: list[str]) -> int:
    from infer.mv_generate import main as generate_main

    return generate_main(argv)


COMMANDS = {"beats": cmd_beats, "sync": cmd_sync, "score": cmd_score, "generate": cmd_generate}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "mv")


if __name__ == "__main__":
    sys.exit(main())
