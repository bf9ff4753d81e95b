"""``mv2desc eval run|score``: caption metrics of a predictions JSONL, printed as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from mv2desc.app import argument_parser, dispatch, normalise_flags, positive_int, setup

USAGE = """usage: mv2desc eval <run|score> [options]

  run      generate descriptions for a dataset split with a trained captioner, then score them
           (mv2desc eval run --checkpoint RUN_OR_ARTIFACT --dataset DIR [--split test] [--out DIR]
            [--batch_size 8] [--max_new_tokens 128] [--device auto] [--limit N])
           writes predictions.jsonl and metrics.json

  score    score predictions against references: BLEU-1..4, METEOR, ROUGE-L, CIDEr, BERTScore,
           attribute consistency (tempo, energy, mode vs the audio, next to the chance level)
           (mv2desc eval score --predictions FILE.jsonl [--bertscore_model DIR] [--bertscore_layers N]
            [--attributes_config configs/metrics/attributes.yaml] [--out metrics.json])
           FILE.jsonl: one {"prediction": "...", "reference": "..." or ["...", ...],
           optional "attributes": {"tempo_bpm": 120, "rms_db_mean": -18.5, "mode": "minor"}} a line
           (eval run writes them from the dataset's measured columns).
           Conventions (as LP-MusicCaps reports them): docs/metrics.md
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
    parser = argument_parser(prog="mv2desc eval score", description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--predictions", required=True, help='JSONL, one {"prediction": ..., "reference": str | [str, ...]} a line')
    parser.add_argument("--bertscore_model", help="local checkpoint for BERTScore (e.g. a copy of roberta-large); skipped without it")
    parser.add_argument("--bertscore_layers", type=int, help="BERTScore layer (default: bert-score's for the folder name, else the last)")
    parser.add_argument("--attributes_config", help="bins and word lists of attribute consistency (default: the built-in ones, "
                        "configs/metrics/attributes.yaml)")
    parser.add_argument("--out", help="also write the metrics JSON here")
    args = parser.parse_args(normalise_flags(argv))
    setup()
    from mv2desc.metrics import score_captions
    from mv2desc.metrics.pairs import read_records
    from mv2desc.outputs import refuse_inputs

    refuse_inputs({"--out": args.out}, [args.predictions, args.attributes_config, args.bertscore_model])
    predictions, references, attributes = read_records(args.predictions)
    metrics = score_captions(predictions, references, bertscore_model=args.bertscore_model, bertscore_layers=args.bertscore_layers,
                             attributes=attributes, attribute_config=attribute_config(args.attributes_config))
    text = json.dumps(metrics, indent=2)
    if args.out:
        write_output(Path(args.out), (text + "\n").encode("utf-8"))
    print(text)
    return 0


def cmd_run(argv: list[str]) -> int:
    parser = argument_parser(prog="mv2desc eval run", description="Generate descriptions for a split and score them.")
    parser.add_argument("--checkpoint", required=True, help="a captioner artifact, or a training run folder (uses its final/)")
    parser.add_argument("--dataset", required=True, help="a folder written by `mv2desc data build`")
    parser.add_argument("--split", default="test", help="dataset split to describe: train, validation or test")
    parser.add_argument("--out", help="output folder (default: <artifact>/../eval-<split>)")
    parser.add_argument("--batch_size", type=positive_int, default=8, help="rows generated per batch")
    parser.add_argument("--max_new_tokens", type=positive_int, default=128, help="longest description generated, in tokens")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")
    parser.add_argument("--backbone", help="backbone name/path if it moved since training")
    parser.add_argument("--limit", type=positive_int, help="only the first N rows of the split")
    args = parser.parse_args(normalise_flags(argv))
    setup()
    from train.evaluate import eval_run

    eval_run(args.checkpoint, args.dataset, args.split, args.out, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
             device=args.device, backbone=args.backbone, limit=args.limit)
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {"run": cmd_run, "score": cmd_score}


def main(argv: list[str] | None = None) -> int:
    return dispatch(argv, COMMANDS, USAGE, "eval")


if __name__ == "__main__":
    sys.exit(main())
