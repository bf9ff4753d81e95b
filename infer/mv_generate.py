"""``mv2desc mv generate SONG --out DIR [--config configs/infer/<preset>.yaml] [--section.key value ...]``.

Writes into DIR: ``mv.mp4`` (H.264 + AAC, the song muxed in, full length), ``report.json`` (segments,
style sheet, scores, sync report), ``storyboard.html`` (open it in a browser), ``timeline.otio`` (open
it in an editor) and ``segments.json`` (edit a description there and rerun: only that clip is
re-rendered). Clips are cached in DIR/cache: rerunning resumes, ``--redo N`` re-renders segment N.
Prints a JSON summary on stdout; bad input is one ``error: ...`` line (exit 2).
"""

from __future__ import annotations

import json
import sys

from mv2desc.app import parse_config, setup
from mv2desc.errors import MediaError, UserError

PROG = "mv2desc mv generate"


def parse_generate_config(argv: list[str]):
    """argv -> (GenerateConfig, LogOptions); SONG may be a bare word instead of ``--song SONG``."""
    from mv2desc.mvgen.config import GenerateConfig

    return parse_config(GenerateConfig, argv, PROG, "a YAML from configs/infer/ (flags after it override it)", positional=("song",))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
    cfg, log = parse_generate_config(argv)
    setup(log.verbose, quiet=log.quiet)
    from mv2desc.mvgen.pipeline import generate

    try:
        report = generate(cfg)
    except MediaError as exc:
        raise UserError(f"{exc.reason}: {exc.detail} (pass a readable song: MP3, WAV, FLAC, M4A, a video's soundtrack)") from exc
    except ValueError as exc:
        raise UserError(f"invalid setting: {exc}") from exc
    summary = {
        "out": report["outputs"],
        "segments": len(report["segments"]),
        "render": report["render"],
        "scores": report["scores"],
        "duration_s": report["sync"]["output"]["duration_s"],
        "song_duration_s": report["sync"]["song_duration_s"],
        "warnings": report["sync"]["warnings"],
        "timing_s": report["timing_s"],
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    from mv2desc.app import run

    sys.exit(run(lambda: main()))
