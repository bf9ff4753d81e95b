"""Per-clip cache files, written atomically (temp file + rename): a killed build never leaves a
half-written entry that a later run would read as complete, and a resumed build reuses every entry.

Entries are plain data, never pickled objects: features are ``.npz`` (numpy arrays and scalars,
``allow_pickle=False``), descriptions are JSON. Moving or renaming a module can therefore never turn
a resumed build into a crash; the cache folder's name carries the extractor settings and versions
(:meth:`mv2desc.audio.feature_config.FeatureConfig.fingerprint`), so changed extractors start afresh.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mv2desc.atomic import atomic_write_bytes
from mv2desc.audio.features import ClipFeatures

__all__ = ["ClipCache", "FeatureCache", "DescriptionCache"]


class ClipCache:
    """``<dir>/<2 hex>/<sha1(id)>.<ext>``: ids may hold any character; file names stay portable."""

    suffix = ".bin"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, clip_id: str) -> Path:
        h = hashlib.sha1(clip_id.encode("utf-8")).hexdigest()
        return self.directory / h[:2] / f"{h}{self.suffix}"

    def get(self, clip_id: str) -> Any | None:
        p = self.path(clip_id)
        if not p.is_file():
            return None
        try:
            stored_id, value = self.decode(p.read_bytes())
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError, EOFError):
            return None  # unreadable entries are recomputed
        return value if stored_id == clip_id else None

    def put(self, clip_id: str, value: Any) -> None:
        atomic_write_bytes(self.path(clip_id), self.encode(clip_id, value))

    def encode(self, clip_id: str, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> tuple[str, Any]:
        raise NotImplementedError


class FeatureCache(ClipCache):
    """:class:`ClipFeatures` as ``.npz``: one array per feature column, plus a JSON header."""

    suffix = ".npz"

    def encode(self, clip_id: str, value: ClipFeatures) -> bytes:
        header = {"id": clip_id, "duration_s": value.duration_s, "source_sample_rate": value.source_sample_rate, "cpu_s": value.cpu_s}
        arrays = {f"v:{k}": np.asarray(v) for k, v in value.values.items()}
        buf = io.BytesIO()
        np.savez(buf, __header__=np.asarray(json.dumps(header)), **arrays)
        return buf.getvalue()

    def decode(self, data: bytes) -> tuple[str, ClipFeatures]:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = json.loads(str(z["__header__"]))
            values = {}
            for name in z.files:
                if name.startswith("v:"):
                    a = z[name]
                    values[name[2:]] = a.item() if a.ndim == 0 else a
        features = ClipFeatures(float(header["duration_s"]), int(header["source_sample_rate"]), values, dict(header["cpu_s"]))
        return header["id"], features


class DescriptionCache(ClipCache):
    """Description dicts (text, source, model, shots, ...) as JSON."""

    suffix = ".json"

    def encode(self, clip_id: str, value: dict) -> bytes:
        return json.dumps({"id": clip_id, "value": value}, ensure_ascii=False).encode("utf-8")

    def decode(self, data: bytes) -> tuple[str, dict]:
        entry = json.loads(data.decode("utf-8"))
        return entry["id"], entry["value"]
