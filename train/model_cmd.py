"""``mv2desc model summary --config configs/model/X.yaml``: parameters per part + memory estimate (JSON)."""

from __future__ import annotations

import json

from mv2desc.app import argument_parser, dispatch, normalise_flags, positive_int, setup
from mv2desc.errors import UserError


def cmd_summary(argv: list[str]) -> int:
    parser = argument_parser(prog="mv2desc model summary", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a model preset, e.g. configs/model/qwen2.5-vl-7b.yaml")
    parser.add_argument("--batch", type=positive_int, default=4, help="batch size for the memory estimate")
    parser.add_argument("--seq_len", type=int, default=1024, help="text tokens per sample for the memory estimate")
    parser.add_argument("--audio_tokens", type=int, default=300, help="audio tokens per sample for the memory estimate")
    args = parser.parse_args(normalise_flags(argv))
    setup()
    from pathlib import Path

    from mv2desc.model.config import CaptionerConfig
    from mv2desc.model.summary import summarize
    from mv2desc.presets import resolve_config

    args.config = resolve_config(args.config)
    if not Path(args.config).is_file():
        raise UserError(f"model config not found: {args.config}")
    try:
        config = CaptionerConfig.from_yaml(args.config)
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid model config {args.config}: {exc}") from exc
    print(json.dumps(summarize(config, batch=args.batch, seq_len=args.seq_len, audio_tokens=args.audio_tokens), indent=2))
    return 0


USAGE = "usage: mv2desc model summary --config configs/model/X.yaml [--batch 4 --seq_len 1024 --audio_tokens 300]"
COMMANDS = {"summary": cmd_summary}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "model")
