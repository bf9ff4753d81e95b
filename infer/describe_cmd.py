"""``mv2desc describe SONG [--captioner DIR] [--out descriptions.json]``: per-segment MV descriptions.

Prints the result as JSON on stdout (logs and progress go to stderr): the song-level facts (tempo,
key/mode, energy, beat tracker), which describer wrote the text, and ``segments``:
``[{start_s, end_s, description, bars, tempo_bpm, key, mode, rms_db_mean}]`` covering the song end to end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infer.beat_options import music_args, music_cfg
from mv2desc.app import argument_parser, normalise_flags, positive_int, run, setup
from mv2desc.errors import MediaError, UserError
from mv2desc.outputs import refuse_inputs


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("mv2desc describe", __doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("song", help="the song: any format FFmpeg decodes (MP3, WAV, FLAC, OGG, a video's soundtrack), any length")
    parser.add_argument("--captioner", help="a captioner artifact or training run folder; without it the metadata-style "
                        "describer writes from the measured attributes (default: none)")
    parser.add_argument("--out", help="also write the JSON here (atomically; an existing file is kept unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--target_bars", type=positive_int, default=8, help="preferred segment length in bars")
    parser.add_argument("--min_bars", type=positive_int, default=4, help="shortest segment in bars")
    parser.add_argument("--max_bars", type=positive_int, default=16, help="longest segment in bars")
    parser.add_argument("--max_s", type=float, default=30.0, help="longest segment in seconds (also capped by the captioner's features)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="segments per generation batch")
    parser.add_argument("--max_new_tokens", type=positive_int, default=128, help="longest description in tokens")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    music_args(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(normalise_flags(list(sys.argv[1:] if argv is None else argv)))

    def _run() -> int:
        setup(args.verbose)
        from tqdm.auto import tqdm

        from mv2desc.atomic import atomic_write_json
        from mv2desc.describe.segments import SegmentConfig
        from mv2desc.describe.song import DescribeConfig, describe_song

        out = Path(args.out) if args.out else None
        refuse_inputs({"--out": out}, [args.song, args.captioner])
        if out is not None and out.exists() and not args.overwrite:
            raise UserError(f"{out} exists; choose another --out or pass --overwrite")
        try:
            cfg = DescribeConfig(
                segments=SegmentConfig(target_bars=args.target_bars, min_bars=args.min_bars, max_bars=args.max_bars, max_s=args.max_s),
                beats=music_cfg(args), batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                device=args.device,
            )
        except ValueError as exc:
            raise UserError(f"invalid setting: {exc}") from exc
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, unit="segment", leave=False)
            bar.update(done - bar.n)

        try:
            result = describe_song(args.song, args.captioner, cfg, progress=progress)
        except MediaError as exc:
            raise UserError(f"{exc.reason}: {exc.detail}") from exc
        except ValueError as exc:
            raise UserError(f"invalid setting: {exc}") from exc
        finally:
            for bar in bars.values():
                bar.close()
        payload = result.to_dict()
        if out is not None:
            atomic_write_json(out, payload)
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        print(f"{len(result.segments)} segments over {result.duration_s:.1f} s ({result.describer} describer)"
              + (f" -> {out}" if out else ""), file=sys.stderr)
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
