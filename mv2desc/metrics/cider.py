"""CIDEr-D as the COCO caption evaluation computes it (pycocoevalcap's ``Cider``).

Convention: pycocoevalcap 1.2 ``Cider`` (CIDEr-D: n = 1..4, TF-IDF n-gram vectors with document
frequencies taken from the **references of the scored set**, clipped cosine similarity, Gaussian
length penalty sigma = 6, x10), averaged over predictions. Text is tokenised as COCO's Java
``PTBTokenizer`` does (lower-cased Penn-Treebank tokens, punctuation removed), re-done in Python by
:func:`~mv2desc.metrics.tokenize.ptb_words`, so no Java is needed: on the LP-MusicCaps sets the
score is within 1e-4 of the Java-tokenised one.

Because the IDF comes from the scored set, CIDEr depends on the whole set: it is 0 for a set of one
prediction (log 1 = 0) and is only comparable between runs scored on the same references.

References that are empty after tokenisation (``""``, punctuation only) have no n-grams, so nothing
can match them: pycocoevalcap scores such a prediction 0 when other references are non-empty, but
crashes (``max() arg is an empty sequence``, from its empty document-frequency table) when **all**
references are empty. :func:`cider_d` returns 0.0 there, the same limit, instead of crashing.
"""

from __future__ import annotations

from collections.abc import Sequence

from mv2desc.metrics.tokenize import ptb_words


def _coco_text(text: str) -> str:
    return " ".join(ptb_words(text))


def cider_d(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus CIDEr-D (mean of per-prediction scores; 0 .. about 10).

    0.0 when every reference is empty after tokenisation (no reference n-gram can be matched);
    ``ValueError`` when there is nothing to score or a prediction has no references.
    """
    from pycocoevalcap.cider.cider import Cider

    refs = {i: [_coco_text(r) for r in group] for i, group in enumerate(references)}
    preds = {i: [_coco_text(p)] for i, p in enumerate(predictions)}
    if len(refs) != len(preds):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} reference groups")
    if not preds:
        raise ValueError("nothing to score: no predictions")
    if empty := [i for i, group in refs.items() if not group]:
        raise ValueError(f"reference group {empty[0]} is empty: every prediction needs at least one reference")
    if not any(r.strip() for group in refs.values() for r in group):
        return 0.0  # no reference n-grams at all: pycocoevalcap would crash on max() of an empty table
    score, _ = Cider().compute_score(refs, preds)
    return float(score)
