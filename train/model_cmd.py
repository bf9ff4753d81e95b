"""``mv2desc model summary --config configs/model/X.yaml``: parameters per part + memory estimate (JSON)."""

from __future__ import annotations

import json

from mv2desc.app import dispatch, parse_config, setup


def cmd_summary(argv: list[str]) -> int:
    from train.command_configs import ModelSummaryCommand

    cfg, log = parse_config(ModelSummaryCommand, argv, "mv2desc model summary",
                            "a model preset (configs/model/X.yaml or its name, e.g. qwen2.5-vl-7b); flags after it override it")
    setup(log.verbose, quiet=log.quiet)
    from mv2desc.model.summary import summarize

    print(json.dumps(summarize(cfg.model, batch=cfg.batch, seq_len=cfg.seq_len, audio_tokens=cfg.audio_tokens), indent=2))
    return 0


USAGE = """usage: mv2desc model summary --config configs/model/X.yaml [--batch N --seq_len N --audio_tokens N] [--model.lora.r 8 ...]

Also --print_config (the resolved model config), -q/--quiet, -v/--verbose."""
COMMANDS = {"summary": cmd_summary}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "model")
