"""``mv2desc data build|merge|example`` (also ``python -m data_prep ...``)."""

from __future__ import annotations

import sys
from pathlib import Path

from mv2desc.app import argument_parser, dispatch, normalise_flags, parse_config, positive_float, positive_int, setup

USAGE = """usage: mv2desc data <build|merge|example> [options]

  build    Music4All root -> features + MV descriptions -> artist-disjoint dataset
           (mv2desc data build --config configs/data/build.yaml --root M4A --out OUT [--num_proc K]
            [--num_shards N --shard_index i])
  merge    join finished shards into one dataset (mv2desc data merge --out OUT [--inputs DIR ...])
  example  write a small synthetic Music4All-layout folder (mv2desc data example --out DIR)
"""


def parse_build_config(argv: list[str]):
    """argv -> (BuildConfig, verbose). Unknown keys and invalid values -> UserError."""
    from data_prep.config import BuildConfig

    return parse_config(BuildConfig, argv, "mv2desc data build", "a YAML from configs/data/ (command-line flags override it)")


def cmd_build(argv: list[str]) -> int:
    config, verbose = parse_build_config(argv)
    setup(verbose)
    from data_prep.build import build

    build(config)
    return 0


def cmd_merge(argv: list[str]) -> int:
    parser = argument_parser(prog="mv2desc data merge", description="Join finished shards into one dataset.")
    parser.add_argument("--out", required=True, help="output folder (its shards/ are merged unless --inputs is given)")
    parser.add_argument("--inputs", nargs="*", help="shard folders, or output folders holding shards/")
    args = parser.parse_args(normalise_flags(argv))
    setup()
    from data_prep.merge import merge

    merge(Path(args.out), args.inputs)
    return 0


def cmd_example(argv: list[str]) -> int:
    parser = argument_parser(prog="mv2desc data example", description="Write a synthetic Music4All-layout folder.")
    parser.add_argument("--out", required=True, help="folder to write the example into")
    parser.add_argument("--n_tracks", type=positive_int, default=16, help="synthetic tracks to write")
    parser.add_argument("--duration_s", type=positive_float, default=30.0, help="length of each synthetic song in seconds")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--with_bad_entries", action="store_true", help="add every kind of bad input the builder must survive")
    args = parser.parse_args(normalise_flags(argv))
    setup()
    from data_prep.example import make_example

    root = make_example(args.out, args.n_tracks, duration_s=args.duration_s, seed=args.seed, with_bad_entries=args.with_bad_entries)
    print(f"wrote a {args.n_tracks}-track synthetic Music4All example to {root}")
    return 0


COMMANDS = {"build": cmd_build, "merge": cmd_merge, "example": cmd_example}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "data")


if __name__ == "__main__":
    sys.exit(main())
