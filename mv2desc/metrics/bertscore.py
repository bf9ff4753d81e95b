"""BERTScore F1 from a local checkpoint (``bert-score`` 0.3.13), never from the hub.

Convention (as evaluate's ``bertscore`` with ``lang="en"``, what LP-MusicCaps reports): the
``bert_score.score`` F1 of greedy cosine matching of contextual token embeddings, **no IDF
weighting, no baseline rescaling**, embeddings from one hidden layer; with several references the
best F1 per prediction; the corpus figure is the mean F1. LP-MusicCaps used ``roberta-large``
layer 17: give a local copy of it in a folder named ``roberta-large`` and the layer is looked up in
bert-score's table by the folder's name. For any other folder name the layer is ``num_layers`` if
given, else the model's last layer. Scores depend on the model and layer: compare only like with like.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mv2desc.errors import UserError


def bertscore_layer(model_dir: Path, num_layers: int | None = None) -> int:
    """The hidden layer to use: ``num_layers``, else bert-score's default for the folder's name
    (``roberta-large`` -> 17), else the config's ``num_hidden_layers`` (the last layer)."""
    if num_layers is not None:
        return int(num_layers)
    from bert_score.utils import model2layers

    if model_dir.name in model2layers:
        return int(model2layers[model_dir.name])
    config = json.loads((model_dir / "config.json").read_text())
    layers = config.get("num_hidden_layers") or config.get("n_layers") or config.get("num_layers")
    if not layers:
        raise UserError(f"cannot tell how many layers {model_dir} has; pass the layer to use (--bertscore_layers)")
    return int(layers)


def check_tokenizer(model_dir: Path) -> None:
    """Fail clearly where bert-score would fail obscurely: a missing or empty tokenizer, or one
    without ``model_max_length`` (bert-score truncates to it; transformers' default is 1e30)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise UserError(f"BERTScore: cannot load a tokenizer from {model_dir}: {exc}") from None
    if len(tokenizer) < 10:
        raise UserError(f"BERTScore: the tokenizer in {model_dir} is empty ({len(tokenizer)} tokens)")
    if not 0 < tokenizer.model_max_length <= 1_000_000:
        raise UserError(
            f"BERTScore: the tokenizer in {model_dir} sets no model_max_length; add e.g. "
            '"model_max_length": 512 to its tokenizer_config.json'
        )


def bertscore_f1(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    model_dir: str | Path,
    *,
    num_layers: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> tuple[float, int]:
    """(mean BERTScore F1, layer used). ``model_dir``: a local transformers checkpoint with its tokenizer."""
    path = Path(model_dir).expanduser()
    if not (path / "config.json").is_file():
        raise UserError(f"BERTScore model folder not found or has no config.json: {path}")
    layer = bertscore_layer(path, num_layers)
    check_tokenizer(path)
    from bert_score import score

    _, _, f1 = score(
        list(predictions),
        [list(group) for group in references],
        model_type=str(path),
        num_layers=layer,
        idf=False,
        rescale_with_baseline=False,
        batch_size=batch_size,
        device=device,
        verbose=False,
    )
    return float(f1.mean()), layer
