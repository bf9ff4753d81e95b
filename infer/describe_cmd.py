"""``mv2desc describe SONG [--captioner DIR] [--out descriptions.json]``: per-segment MV descriptions.

Prints the result as JSON on stdout (logs and progress go to stderr): the song-level facts (tempo,
key/mode, energy, beat tracker), which describer wrote the text, and ``segments``:
``[{start_s, end_s, description, bars, tempo_bpm, key, mode, rms_db_mean}]`` covering the song end to end.
Options: the fields of :class:`infer.command_configs.DescribeCommand` (``--segments.target_bars 8``,
``--beats.tracker librosa``, ``--batch_size``, ...), also as a ``--config`` YAML.

The song's structure is in the JSON (``structure``: sections labelled A, B, ... and named verse, chorus,
...; each segment's ``section``); ``--structure`` also prints it as a table on stderr. ``--lyrics FILE``
(LRC or plain text) gives each segment its lines (``lyrics``); ``--snap_to_lyrics`` moves cuts onto line
starts. ``--sections false`` skips the structure analysis.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mv2desc.app import parse_config, run, setup
from mv2desc.errors import MediaError, UserError
from mv2desc.outputs import refuse_inputs

_BOOL_WORDS = ("true", "false", "yes", "no", "on", "off")


def structure_flag(argv: list[str]) -> list[str]:
    """``--structure`` alone (or with a yes/no word) is the display switch ``--show_structure``;
    ``--structure.kernel_bars 6`` and the like stay the analysis settings."""
    out = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token in ("--structure", "--structure=true", "--structure=false"):
            value = token.partition("=")[2]
            if not value and i < len(argv) and argv[i].lower() in _BOOL_WORDS:
                value = argv[i]
                i += 1
            elif not value and i < len(argv) and not argv[i].startswith("-") and argv[i].lstrip().startswith("{"):
                out += [token, argv[i]]  # a group value (--structure '{kernel_bars: 6}') stays the settings
                i += 1
                continue
            out += ["--show_structure", value or "true"]
            continue
        out.append(token)
    return out


def structure_table(structure: dict) -> str:
    """The sections as a short table (one line each: label, name, span, confidence)."""
    def clock(t: float) -> str:
        cs = round(max(0.0, t) * 100)
        return f"{cs // 6000}:{cs % 6000 / 100:05.2f}"

    rows = [f"structure: {len(structure['sections'])} sections over {structure['bars']} bars ({structure['method']})"]
    for s in structure["sections"]:
        rows.append(f"  {s['label']:<3} {s['name']:<8} {clock(s['start_s'])} - {clock(s['end_s'])}  "
                    f"({s['end_s'] - s['start_s']:5.1f} s)  confidence {s['confidence']:.2f}")
    return "\n".join(rows)


def _song(path: str, cache_dir: str):
    """The song decoded once, with ``cache_dir``'s analysis store attached (none when empty)."""
    from mv2desc.analysis_cache import AnalysisStore, default_root
    from mv2desc.song import Song

    song = Song.load(path)
    if cache_dir:
        song.use_store(AnalysisStore(default_root() if cache_dir == "auto" else Path(cache_dir)))
    return song


def main(argv: list[str] | None = None) -> int:
    argv = structure_flag(list(sys.argv[1:] if argv is None else argv))

    def _run() -> int:
        from infer.command_configs import DescribeCommand

        cfg, log = parse_config(DescribeCommand, argv, "mv2desc describe", positional=("song",))
        setup(log.verbose, quiet=log.quiet)
        from tqdm.auto import tqdm

        from mv2desc.atomic import atomic_write_json
        from mv2desc.describe.song import describe_song

        out = Path(cfg.out) if cfg.out else None
        refuse_inputs({"--out": out}, [cfg.song, cfg.captioner, cfg.lyrics])
        if out is not None and out.exists() and not cfg.overwrite:
            raise UserError(f"{out} exists; choose another --out or pass --overwrite")
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, unit="segment", leave=False, disable=log.quiet)
            bar.update(done - bar.n)

        try:
            result = describe_song(_song(cfg.song, cfg.cache_dir), cfg.captioner, cfg.describe_config(), progress=progress)
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
        if cfg.show_structure:
            print(structure_table(payload["structure"]) if payload["structure"] else "structure: not analysed (--sections false)",
                  file=sys.stderr)
        if not log.quiet:
            print(f"{len(result.segments)} segments over {result.duration_s:.1f} s ({result.describer} describer)"
                  + (f" -> {out}" if out else ""), file=sys.stderr)
            if result.grounding and result.grounding["corrected_segments"]:
                g = result.grounding
                print(f"grounding: {g['corrected_segments']} of {g['segments']} texts stated a tempo, key or mode that contradicted "
                      "the measurement and were corrected (the model's own text: model_text; --ground_facts false keeps it)",
                      file=sys.stderr)
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
