"""``mv2desc eval run|score``: caption metrics of a predictions JSONL, printed as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from mv2desc.app import dispatch, parse_config, setup

USAGE = """usage: mv2desc eval <run|score> [options]

  run      generate descriptions for a dataset split with a trained captioner, then score them
           (mv2desc eval run --checkpoint RUN_OR_ARTIFACT --dataset DIR [--split SPLIT] [--out DIR]
            [--batch_size N] [--max_new_tokens N] [--device auto|cpu|cuda:N] [--limit N])
           writes predictions.jsonl and metrics.json

  score    score predictions against references: BLEU-1..4, METEOR, ROUGE-L, CIDEr, BERTScore,
           attribute consistency (tempo, energy, mode vs the audio, next to the chance level)
           (mv2desc eval score --predictions FILE.jsonl [--bertscore_model DIR] [--bertscore_layers N]
            [--attributes_config configs/metrics/attributes.yaml] [--out metrics.json])
           FILE.jsonl: one {"prediction": "...", "reference": "..." or ["...", ...],
           optional "attributes": {"tempo_bpm": 120, "rms_db_mean": -18.5, "mode": "minor"}} a line
           (eval run writes them from the dataset's measured columns).
           Conventions (as LP-MusicCaps reports them): docs/metrics.md

Every command also takes --config YAML (its options as keys), --print_config, -q/--quiet, -v/--verbose.
"""


def attribute_config(path: str | None):
    """The attribute-consistency config in ``path`` (None: the built-in one); a bad file is one line."""
    from mv2desc.errors import UserError
    from mv2desc.metrics.attributes import AttributeConfig

    if path is None:
        return AttributeConfig()
    try:
        return AttributeConfig.from_yaml(path)
    except FileNotFoundError:
        raise UserError(f"attributes config not found: {path}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"attributes config {path}: {exc}") from None


def write_output(path: Path, data: bytes) -> None:
    """``data`` to ``path`` whole or not at all (:func:`mv2desc.atomic.atomic_write_bytes`); a failed write (a
    full disk) is one line naming the path, and an earlier file there is kept."""
    from mv2desc.atomic import atomic_write_bytes
    from mv2desc.errors import UserError

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc} (free space or fix permissions; "
                        "an earlier file there is unchanged)") from exc


def cmd_score(argv: list[str]) -> int:
    from train.command_configs import EvalScoreCommand

    cfg, log = parse_config(EvalScoreCommand, argv, "mv2desc eval score")
    setup(log.verbose, quiet=log.quiet)
    from mv2desc.metrics import score_captions
    from mv2desc.metrics.pairs import read_records
    from mv2desc.outputs import refuse_inputs

    refuse_inputs({"--out": cfg.out}, [cfg.predictions, cfg.attributes_config, cfg.bertscore_model])
    predictions, references, attributes = read_records(cfg.predictions)
    metrics = score_captions(predictions, references, bertscore_model=cfg.bertscore_model, bertscore_layers=cfg.bertscore_layers,
                             attributes=attributes, attribute_config=attribute_config(cfg.attributes_config))
    text = json.dumps(metrics, indent=2)
    if cfg.out:
        write_output(Path(cfg.out), (text + "\n").encode("utf-8"))
    print(text)
    return 0


def cmd_run(argv: list[str]) -> int:
    from train.command_configs import EvalRunCommand

    cfg, log = parse_config(EvalRunCommand, argv, "mv2desc eval run")
    setup(log.verbose, quiet=log.quiet)
    from train.evaluate import eval_run

    eval_run(cfg.checkpoint, cfg.dataset, cfg.split, cfg.out, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens,
             device=cfg.device, backbone=cfg.backbone, limit=cfg.limit)
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {"run": cmd_run, "score": cmd_score}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "eval")


if __name__ == "__main__":
    sys.exit(main())
