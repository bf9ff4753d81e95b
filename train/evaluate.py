"""``mv2desc eval run``: generate descriptions for a split with a trained artifact, score them, write
``predictions.jsonl`` and ``metrics.json``. Generation is the library's one path
(:func:`mv2desc.model.generation.generate_descriptions`), the same as ``mv2desc describe``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tqdm.auto import tqdm

from mv2desc.data.columns import ATTRIBUTE_COLUMNS, DESCRIPTION, ID, MODE
from mv2desc.data.spec import FeatureSpecMismatch
from mv2desc.devices import resolve_device
from mv2desc.errors import UserError
from mv2desc.model import artifact
from mv2desc.model.generation import PromptConfig, generate_descriptions
from train.data import RowDataset, feature_spec, load_split

log = logging.getLogger(__name__)


def generate_split(
    checkpoint: str | Path, dataset: str | Path, split: str, *, batch_size: int = 8, max_new_tokens: int = 128,
    device: str = "auto", backbone: str | None = None, limit: int | None = None,
) -> list[dict]:
    art = artifact.resolve(checkpoint)
    meta = artifact.read_meta(art)
    dev = resolve_device(device)
    spec = feature_spec(dataset)
    model = artifact.load(art, backbone=backbone, device=dev)
    if model.feature_spec is None:
        log.warning("%s records no feature spec (made before it existed); assuming the dataset's", art)
    else:
        try:
            model.feature_spec.require_same(spec, "the captioner", f"dataset {dataset}")
        except FeatureSpecMismatch as exc:
            raise UserError(str(exc)) from exc
    rows = RowDataset(load_split(dataset, split))
    n = len(rows) if limit is None else min(limit, len(rows))
    records = [rows[i] for i in range(n)]
    with tqdm(total=n, desc=f"generating [{split}]", unit="clip") as bar:
        texts = generate_descriptions(
            model, records, PromptConfig.from_dict(meta.get("extra", {}).get("data")), spec,
            batch_size=batch_size, max_new_tokens=max_new_tokens, device=dev, progress=bar.update,
        )
    return [{"id": r[ID], "prediction": t, "reference": r.get(DESCRIPTION, ""), "attributes": measured(r)} for r, t in zip(records, texts)]


def measured(row: dict) -> dict | None:
    """The audio's measured attributes of a dataset row (for attribute consistency: the columns of
    :data:`mv2desc.data.columns.ATTRIBUTE_COLUMNS`), or None."""
    if any(row.get(k) is None for k in ATTRIBUTE_COLUMNS.values()):
        return None
    return {k: str(row[k]) if k == MODE else round(float(row[k]), 2) for k in ATTRIBUTE_COLUMNS.values()}


def eval_run(checkpoint: str, dataset: str, split: str = "test", out_dir: str | None = None, **kwargs) -> dict:
    """Describe ``split`` with the artifact, score it; ``predictions.jsonl`` and ``metrics.json`` are written
    whole or not at all into ``out_dir`` (default ``<artifact>/../eval-<split>``, beside a run's final/),
    which may not be (or hold, or lie in) an input."""
    from mv2desc.metrics.text import score_captions
    from mv2desc.outputs import refuse_inputs
    from train.eval_cmd import write_output

    art = artifact.resolve(checkpoint)
    out = Path(out_dir) if out_dir else art.parent / f"eval-{split}"
    refuse_inputs({"--out": out}, [art, dataset, kwargs.get("backbone"), artifact.local_backbone(art)])
    rows = generate_split(art, dataset, split, **kwargs)
    if not rows:
        raise UserError(f"split {split!r} of {dataset} is empty")
    write_output(out / "predictions.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    metrics = score_captions([r["prediction"] for r in rows], [r["reference"] for r in rows], attributes=[r["attributes"] for r in rows])
    metrics["n"] = len(rows)
    metrics["split"] = split
    write_output(out / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode("utf-8"))
    print(json.dumps(metrics, indent=2))
    print(f"predictions: {out / 'predictions.jsonl'}  metrics: {out / 'metrics.json'}")
    return metrics
