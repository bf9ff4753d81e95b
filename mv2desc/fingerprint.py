"""Stable short hashes of JSON-able values (cache keys, shard assignment, split order)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any


def fingerprint(value: Any, length: int = 16) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:length]


def stable_hash(text: str) -> int:
    """A 64-bit integer hash of a string that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def bytes_fingerprint(data: bytes, length: int = 20) -> str:
    """sha256 of ``data``, the first ``length`` hex digits."""
    return hashlib.sha256(data).hexdigest()[:length]


def file_fingerprint(path: str | os.PathLike, length: int = 20) -> str:
    """sha256 of a file's bytes (read in 1 MiB chunks), the first ``length`` hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]
