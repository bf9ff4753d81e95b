"""``mv2desc train fit --config configs/train/<preset>.yaml [--section.key value ...]`` (also ``python -m train``)."""

from __future__ import annotations

import sys

from mv2desc.app import dispatch, parse_config, setup

USAGE = """usage: mv2desc train fit --config configs/train/<preset>.yaml [--optim.lr 1e-4 --trainer.devices 8 ...]

  fit   fine-tune the captioner (Lightning; DDP/FSDP/DeepSpeed; resume: auto)
"""


def parse_train_config(argv: list[str]):
    """argv -> (TrainConfig, LogOptions). Unknown keys and invalid values -> UserError."""
    from train.config import TrainConfig

    return parse_config(TrainConfig, argv, "mv2desc train fit", "a YAML from configs/train/ (flags override it)")


def cmd_fit(argv: list[str]) -> int:
    cfg, log = parse_train_config(argv)
    setup(log.verbose, quiet=log.quiet)
    from train.fit import fit
    from train.module import NonFiniteLossError

    try:
        fit(cfg)
    except NonFiniteLossError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"fit": cmd_fit}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "train")


if __name__ == "__main__":
    sys.exit(main())
