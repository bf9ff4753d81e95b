"""``mv2desc data merge``: finished shards -> one dataset (DatasetDict on disk + Parquet + manifest).

A single-machine build goes through the very same function with its one shard, so a merged
multi-shard build and a single build are identical by construction (rows sorted by id).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from data_prep import outdir, shards
from data_prep.report import BuildReport
from data_prep.splits import SPLITS, normalise_artist
from mv2desc.atomic import atomic_write_json
from mv2desc.data.schema import FEATURES
from mv2desc.errors import UserError

log = logging.getLogger(__name__)
FORMAT = "mv2desc-dataset/1"


@dataclass
class FinalSummary:
    out: Path
    rows: dict[str, int]
    skipped: int
    degraded: int
    catalog_tracks: int

    def line(self) -> str:
        rows = ", ".join(f"{s} {n}" for s, n in self.rows.items())
        return (
            f"built {sum(self.rows.values())} clips ({rows}) from {self.catalog_tracks} catalog tracks; "
            f"{self.skipped} skipped, {self.degraded} kept with a missing part -> {self.out / 'dataset'} "
            f"(details: {self.out / 'report.json'})"
        )


def merge(out: Path, inputs: list[str] | None = None) -> FinalSummary:
    """Finished shards -> dataset/, parquet/, report.json, manifest.json of ``out``, published as one
    unit (:func:`data_prep.outdir.publish`). ``out`` must be new, empty or ours; 0 clips -> UserError."""
    out = outdir.claim(out)
    with outdir.locked(out, "publish"):
        return _merge(out, inputs)


def _merge(out: Path, inputs: list[str] | None) -> FinalSummary:
    from datasets import Dataset, DatasetDict, disable_progress_bars

    disable_progress_bars()
    shard_dirs = shards.find_shards(out, inputs)
    metas = shards.check_complete_set(shard_dirs)
    by_index = {shards.read_complete(d)["shard_index"]: d for d in shard_dirs}
    files = [str(by_index[i] / shards.RECORDS) for i in range(len(metas))]
    parts = [json.loads((by_index[i] / shards.REPORT).read_text(encoding="utf-8")) for i in range(len(metas))]
    report = BuildReport.from_json(parts[0]["catalog"])
    for part in parts:
        report.merge(BuildReport.from_json(part["clips"]))

    cache_dir = out / "cache" / "hf"
    non_empty = [f for f in files if _parquet_rows(f) > 0]
    if not non_empty:  # nothing to publish: a dataset of 0 rows is a failed build, not a result
        where = ", ".join(str(by_index[i] / shards.REPORT) for i in range(len(metas)))
        raise UserError(f"no clip was built ({report.summary_line()}); nothing was published to {out} (details: {where})")
    ds = Dataset.from_parquet(non_empty, features=FEATURES, cache_dir=str(cache_dir))
    ds = ds.sort("id")
    info = metas[0]["features"]
    ds.info.description = json.dumps({"format": FORMAT, "features": info}, ensure_ascii=False)
    splits = DatasetDict({s: ds.filter(lambda v, s=s: v == s, input_columns="split") for s in SPLITS})

    stage = outdir.staging_dir(out)
    splits.save_to_disk(str(stage / "dataset"))
    parquet_files = _write_parquet(stage, splits, metas[0]["config"]["parquet_rows_per_file"])
    atomic_write_json(stage / "report.json", report.to_json())

    manifest = {
        "format": FORMAT,
        "content_fingerprint": metas[0]["content_fingerprint"],
        "config": metas[0]["config"],
        "features": info,
        "feature_spec": metas[0]["feature_spec"],
        "splits": {
            s: {
                "clips": len(splits[s]),
                "artists": len({normalise_artist(a) for a in splits[s]["artist"]}),
                "description_sources": dict(sorted(Counter(splits[s]["description_source"]).items())),
            }
            for s in SPLITS
        },
        "catalog_tracks": metas[0]["catalog_tracks"],
        "num_shards": len(metas),
        "files": {"dataset": "dataset", "parquet": parquet_files, "report": "report.json"},
    }
    outdir.publish(out, stage, manifest)
    summary = FinalSummary(
        out, {s: len(splits[s]) for s in SPLITS}, sum(report.skipped.values()), sum(report.degraded.values()), metas[0]["catalog_tracks"]
    )
    print(summary.line())
    return summary


def _parquet_rows(path: str) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _write_parquet(stage: Path, splits, rows_per_file: int) -> list[str]:
    folder = stage / "parquet"
    folder.mkdir(parents=True)
    names = []
    for split in SPLITS:
        ds = splits[split]
        n_files = max(1, math.ceil(len(ds) / rows_per_file))
        for k in range(n_files):
            name = f"{split}-{k:05d}-of-{n_files:05d}.parquet"
            ds.select(range(k * rows_per_file, min(len(ds), (k + 1) * rows_per_file))).to_parquet(str(folder / name))
            names.append(f"parquet/{name}")
    return names
