"""Shard bookkeeping: which ids a shard owns, and the layout of a finished shard on disk.

A finished shard is a folder ``shard-<i>-of-<N>/`` holding ``records.parquet`` (rows sorted by
id), ``report.json`` and, written last, ``COMPLETE.json``. Folders are built under a temporary
name and renamed into place, so a shard folder either is complete or does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path

from mv2desc.errors import UserError
from mv2desc.fingerprint import stable_hash

RECORDS = "records.parquet"
REPORT = "report.json"
COMPLETE = "COMPLETE.json"


def owns(clip_id: str, num_shards: int, shard_index: int) -> bool:
    """Shards split ids by a stable hash, so adding tracks later does not reshuffle the others."""
    return num_shards == 1 or stable_hash(clip_id) % num_shards == shard_index


def shard_name(shard_index: int, num_shards: int) -> str:
    return f"shard-{shard_index:05d}-of-{num_shards:05d}"


def read_complete(shard_dir: Path) -> dict:
    p = Path(shard_dir) / COMPLETE
    if not p.is_file():
        raise UserError(f"{shard_dir} is not a finished shard (no {COMPLETE}); rerun that shard's build")
    return json.loads(p.read_text(encoding="utf-8"))


def find_shards(out: Path, inputs: list[str] | None) -> list[Path]:
    """Explicit shard folders (or output folders holding shards/), else ``<out>/shards/shard-*``."""
    candidates: list[Path] = []
    for item in inputs or [str(Path(out) / "shards")]:
        p = Path(item)
        if (p / COMPLETE).is_file():
            candidates.append(p)
        elif (p / "shards").is_dir():
            candidates.extend(sorted((p / "shards").glob("shard-*-of-*")))
        elif p.is_dir():
            candidates.extend(sorted(p.glob("shard-*-of-*")))
        else:
            raise UserError(f"no shard found at {p}")
    return [c for c in candidates if not c.name.startswith(".")]


def check_complete_set(shard_dirs: list[Path]) -> list[dict]:
    """All shards finished, from one configuration, indices 0..N-1 each exactly once."""
    if not shard_dirs:
        raise UserError("no shards to merge")
    metas = [read_complete(d) for d in shard_dirs]
    old = [str(d) for d, m in zip(shard_dirs, metas) if "feature_spec" not in m]
    if old:
        raise UserError(f"shard {old[0]} was built by an older version (no feature_spec): rebuild it with the same command")
    fps = {m["content_fingerprint"] for m in metas}
    if len(fps) > 1:
        raise UserError(f"shards come from different configurations (fingerprints {sorted(fps)})")
    n = metas[0]["num_shards"]
    seen = sorted(m["shard_index"] for m in metas)
    if seen != list(range(n)):
        missing = sorted(set(range(n)) - set(seen))
        dup = sorted({i for i in seen if seen.count(i) > 1})
        raise UserError(f"incomplete shard set for num_shards={n}: missing {missing}, duplicated {dup}")
    return sorted(metas, key=lambda m: m["shard_index"])
