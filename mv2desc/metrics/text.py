"""One call for every caption metric: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and (with a local model) BERTScore.

Each metric follows the convention that reproduces the figures music-captioning papers publish
(LP-MusicCaps); the module of each metric states it exactly, and ``docs/metrics.md`` sums them up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mv2desc.data.columns import ATTRIBUTE_COLUMNS
from mv2desc.metrics.attributes import AttributeConfig, attribute_consistency
from mv2desc.metrics.bleu import corpus_bleu
from mv2desc.metrics.cider import cider_d
from mv2desc.metrics.meteor import meteor
from mv2desc.metrics.rouge import rouge_l


def reference_groups(references: Sequence[Sequence[str] | str]) -> list[list[str]]:
    """Every prediction's references as a list: a bare string becomes a one-element list."""
    groups = []
    for i, refs in enumerate(references):
        group = [refs] if isinstance(refs, str) else list(refs)
        if not group or not all(isinstance(r, str) for r in group):
            raise ValueError(f"references[{i}] must be a string or a non-empty list of strings, got {refs!r}")
        groups.append(group)
    return groups


def score_captions(
    predictions: list[str],
    references: list[list[str]] | list[str],
    *,
    bertscore_model: str | Path | None = None,
    bertscore_layers: int | None = None,
    attributes: Sequence[Mapping[str, Any] | None] | None = None,
    attribute_config: AttributeConfig | None = None,
) -> dict:
    """Score predictions against references (``references[i]``: one string or a list of them).

    Returns ``{"n", "bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rougeL", "cider", ["bertscore"], "notes"}``,
    every score in [0, 1] except CIDEr (0 .. ~10, x10 as COCO):

    * ``bleu1..4`` - corpus BLEU, 13a tokens, case-sensitive, no smoothing, shortest-reference
      brevity penalty (evaluate's ``bleu`` = tensorflow/nmt; :mod:`mv2desc.metrics.bleu`);
    * ``meteor`` - nltk METEOR (alpha 0.9, beta 3, gamma 0.5, WordNet synonyms), mean over
      predictions (evaluate's ``meteor``; :mod:`mv2desc.metrics.meteor`);
    * ``rougeL`` - rouge-score ROUGE-L F1 without stemming, mean over pairs (:mod:`mv2desc.metrics.rouge`);
    * ``cider`` - pycocoevalcap CIDEr-D on COCO/PTB-style tokens (:mod:`mv2desc.metrics.cider`);
    * ``bertscore`` - mean BERTScore F1 of the local checkpoint ``bertscore_model`` (no IDF, no
      rescaling; :mod:`mv2desc.metrics.bertscore`); absent when no model is given.

    * ``attributes`` - attribute consistency (:mod:`mv2desc.metrics.attributes`): tempo, energy and
      mode implied by each prediction against ``attributes[i]`` (the audio's measured ``tempo_bpm``,
      ``rms_db_mean``, ``mode``), per attribute and overall, each next to the split's chance level;
      present when any prediction has attributes.

    ``notes`` lists what was skipped and why, and how BERTScore was computed.
    """
    if isinstance(predictions, str) or not all(isinstance(p, str) for p in predictions):
        raise ValueError("predictions must be a list of strings")
    groups = reference_groups(references)
    if attributes is not None and len(attributes) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions but {len(attributes)} attribute records")
    if len(predictions) != len(groups):
        raise ValueError(f"{len(predictions)} predictions but {len(groups)} references")
    if not predictions:
        raise ValueError("nothing to score: no predictions")
    preds = list(predictions)
    result: dict = {"n": len(preds)}
    result.update(corpus_bleu(preds, groups))
    result["meteor"] = meteor(preds, groups)
    result["rougeL"] = rouge_l(preds, groups)
    result["cider"] = cider_d(preds, groups)
    notes: list[str] = []
    if len(preds) == 1:
        notes.append("cider: a single prediction always scores 0 (its IDF comes from the scored set)")
    if bertscore_model is None:
        notes.append(
            "bertscore skipped: no local model given (bertscore_model / --bertscore_model); "
            "the default hub model cannot be fetched offline"
        )
    else:
        from mv2desc.metrics.bertscore import bertscore_f1

        result["bertscore"], layer = bertscore_f1(preds, groups, bertscore_model, num_layers=bertscore_layers)
        notes.append(f"bertscore: F1 of {Path(bertscore_model).name} layer {layer}, no idf, no baseline rescaling")
    if attributes is not None and any(attributes):
        result["attributes"] = attribute_consistency(preds, list(attributes), attribute_config or AttributeConfig())
        if result["attributes"]["skipped"]:
            notes.append(f"attributes: {result['attributes']['skipped']} predictions without measured attributes were skipped")
    else:
        notes.append(f"attributes skipped: no measured attributes ({', '.join(ATTRIBUTE_COLUMNS.values())}) given with the predictions")
    result["notes"] = notes
    return result
