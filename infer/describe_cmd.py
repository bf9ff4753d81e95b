"""``mv2desc describe SONG [--captioner DIR] [--out descriptions.json]``: per-segment MV descriptions.

Prints the result as JSON on stdout (logs and progress go to stderr): the song-level facts (tempo,
key/mode, energy, beat tracker), which describer wrote the text, and ``segments``:
``[{start_s, end_s, description, bars, tempo_bpm, key, mode, rms_db_mean}]`` covering the song end to end.
Options: the fields of :class:`infer.command_configs.DescribeCommand` (``--segments.target_bars 8``,
``--beats.tracker librosa``, ``--batch_size``, ...), also as a ``--config`` YAML.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mv2desc.app import parse_config, run, setup
from mv2desc.errors import MediaError, UserError
from mv2desc.outputs import refuse_inputs


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def _run() -> int:
        from infer.command_configs import DescribeCommand

        cfg, log = parse_config(DescribeCommand, argv, "mv2desc describe", positional=("song",))
        setup(log.verbose, quiet=log.quiet)
        from tqdm.auto import tqdm

        from mv2desc.atomic import atomic_write_json
        from mv2desc.describe.song import describe_song

        out = Path(cfg.out) if cfg.out else None
        refuse_inputs({"--out": out}, [cfg.song, cfg.captioner])
        if out is not None and out.exists() and not cfg.overwrite:
            raise UserError(f"{out} exists; choose another --out or pass --overwrite")
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, unit="segment", leave=False, disable=log.quiet)
            bar.update(done - bar.n)

        try:
            result = describe_song(cfg.song, cfg.captioner, cfg.describe_config(), progress=progress)
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
        if not log.quiet:
            print(f"{len(result.segments)} segments over {result.duration_s:.1f} s ({result.describer} describer)"
                  + (f" -> {out}" if out else ""), file=sys.stderr)
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
