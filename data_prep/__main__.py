"""``mv2desc data build|merge|example`` (also ``python -m data_prep ...``)."""

from __future__ import annotations

import sys
from pathlib import Path

from mv2desc.app import dispatch, parse_config, setup

USAGE = """usage: mv2desc data <build|merge|example> [options]

  build    Music4All root -> features + MV descriptions -> artist-disjoint dataset
           (mv2desc data build --config configs/data/build.yaml --root M4A --out OUT [--num_proc K]
            [--num_shards N --shard_index i])
  merge    join finished shards into one dataset (mv2desc data merge --out OUT [--inputs DIR ...])
  example  write a small synthetic Music4All-layout folder
           (mv2desc data example --out DIR [--n_tracks N] [--duration_s S] [--with_bad_entries] [--generator midi|sine])

Every command also takes --config YAML (its options as keys), --print_config, -q/--quiet, -v/--verbose.
"""


def parse_build_config(argv: list[str]):
    """argv -> (BuildConfig, LogOptions). Unknown keys and invalid values -> UserError."""
    from data_prep.config import BuildConfig

    return parse_config(BuildConfig, argv, "mv2desc data build", "a YAML from configs/data/ (command-line flags override it)")


def cmd_build(argv: list[str]) -> int:
    config, log = parse_build_config(argv)
    setup(log.verbose, quiet=log.quiet)
    from data_prep.build import build

    build(config)
    return 0


def cmd_merge(argv: list[str]) -> int:
    from data_prep.command_configs import MergeCommand

    cfg, log = parse_config(MergeCommand, argv, "mv2desc data merge")
    setup(log.verbose, quiet=log.quiet)
    from data_prep.merge import merge

    merge(Path(cfg.out), cfg.inputs)
    return 0


def cmd_example(argv: list[str]) -> int:
    from data_prep.command_configs import ExampleCommand

    cfg, log = parse_config(ExampleCommand, argv, "mv2desc data example")
    setup(log.verbose, quiet=log.quiet)
    from data_prep.example import make_example

    root = make_example(cfg.out, cfg.n_tracks, duration_s=cfg.duration_s, seed=cfg.seed, with_bad_entries=cfg.with_bad_entries,
                        generator=cfg.generator)
    print(f"wrote a {cfg.n_tracks}-track synthetic Music4All example to {root}")
    return 0


COMMANDS = {"build": cmd_build, "merge": cmd_merge, "example": cmd_example}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "data")


if __name__ == "__main__":
    sys.exit(main())
