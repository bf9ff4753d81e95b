"""A disk cache of song analyses and descriptions, keyed by the audio's content hash and the settings.

``mv2desc mv generate`` reruns (a creator edits one description and reruns) would otherwise track the
beats, analyse the structure and describe every segment again. An :class:`AnalysisStore` keeps each
result under ``root/<kind>/<key>.bin``, where ``key`` is a fingerprint of everything that makes it:
the song's content hash (:attr:`mv2desc.song.Song.fingerprint`), the settings, and :data:`VERSION`
(raised when an analysis changes, so older entries are never read).

An entry is written atomically (temporary name, then rename) and sealed: its first line is the
SHA-256 of the payload, its format and its kind. A read whose seal does not match (truncated, damaged,
another format, another kind) or whose payload does not unpickle to the expected type is a miss:
logged, ignored and rebuilt (the new result overwrites the bad entry), never used. The entries are
pickles this program wrote into a folder of the user's own output (or cache), read back only after the
checksum matched.

Every lookup is recorded (:attr:`AnalysisStore.events`: kind, key, ``hit``/``miss``/``bad``) so that a
report can say what came from the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mv2desc.atomic import atomic_write_bytes
from mv2desc.fingerprint import fingerprint

log = logging.getLogger(__name__)
T = TypeVar("T")
FORMAT = b"mv2desc.analysis-cache/1"
VERSION = 1  # raise when an analysis or a description changes for the same inputs


@dataclass
class AnalysisStore:
    """Sealed entries under ``root`` (see the module docstring)."""

    root: Path
    events: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def key(self, *parts: Any) -> str:
        """The fingerprint of ``parts`` (JSON-able values, tuples, dataclass dicts) and :data:`VERSION`."""
        return fingerprint([VERSION, *parts], length=24)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.bin"

    def load(self, kind: str, key: str, expect: type | tuple[type, ...] = object) -> Any | None:
        """The entry, or None when it is missing or fails its seal or type check (then it is rebuilt)."""
        path = self.path(kind, key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            self._event(kind, key, "miss")
            return None
        except OSError as exc:
            return self._bad(kind, key, path, f"unreadable ({exc})")
        header, _, payload = blob.partition(b"\n")
        parts = header.split(b" ")
        if len(parts) != 3 or parts[0] != FORMAT or parts[1] != kind.encode() or parts[2] != hashlib.sha256(payload).hexdigest().encode():
            return self._bad(kind, key, path, "its seal does not match (damaged, truncated or another format)")
        try:
            value = pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 - a bad entry is a miss, whatever the unpickler says
            return self._bad(kind, key, path, f"unreadable payload ({type(exc).__name__})")
        if not isinstance(value, expect):
            return self._bad(kind, key, path, f"holds a {type(value).__name__}")
        self._event(kind, key, "hit")
        return value

    def store(self, kind: str, key: str, value: Any) -> Path:
        """Write ``value`` under ``(kind, key)``, sealed, atomically."""
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        header = b" ".join([FORMAT, kind.encode(), hashlib.sha256(payload).hexdigest().encode()])
        return atomic_write_bytes(self.path(kind, key), header + b"\n" + payload)

    def get_or_make(self, kind: str, key: str, make: Callable[[], T], expect: type | tuple[type, ...] = object) -> T:
        """The cached value, or ``make()`` stored now."""
        value = self.load(kind, key, expect)
        if value is None:
            value = make()
            self.store(kind, key, value)
        return value

    def hits(self) -> list[str]:
        """The kinds read from the cache, in order."""
        return [e["kind"] for e in self.events if e["status"] == "hit"]

    def summary(self) -> dict[str, str]:
        """``{kind: "cached" | "computed" | "K of N cached"}`` over the lookups of each kind (a kind looked up
        once per clip or segment can be partly cached); a bad entry counts as computed."""
        hits: dict[str, list[bool]] = {}
        for e in self.events:
            hits.setdefault(e["kind"], []).append(e["status"] == "hit")
        return {kind: "cached" if all(h) else "computed" if not any(h) else f"{sum(h)} of {len(h)} cached" for kind, h in hits.items()}

    def _event(self, kind: str, key: str, status: str) -> None:
        self.events.append({"kind": kind, "key": key, "status": status})

    def _bad(self, kind: str, key: str, path: Path, why: str) -> None:
        log.warning("cache entry %s is ignored and rebuilt: %s", path.name, why)
        self._event(kind, key, "bad")
        return None


def default_root() -> Path:
    """``$MV2DESC_CACHE/analysis`` (else ``~/.cache/mv2desc/analysis``): the ``describe`` command's cache."""
    return Path(os.environ.get("MV2DESC_CACHE", Path.home() / ".cache" / "mv2desc")).expanduser() / "analysis"


def folder_fingerprint(path: str | os.PathLike) -> str:
    """A content hash of a file or of a folder's files (relative names + SHA-256 of each): a captioner
    artifact or a lyrics file as part of a cache key. Files above :data:`HASH_LIMIT` bytes (model
    weights) count by size and modification time instead of their bytes, so a multi-GB checkpoint is not
    read on every run."""
    p = Path(path)
    if p.is_file():
        return _file_id(p)
    files = sorted(f for f in p.rglob("*") if f.is_file())
    return fingerprint([[f.relative_to(p).as_posix(), _file_id(f)] for f in files], length=20)


HASH_LIMIT = 64 << 20


def _file_id(path: Path) -> str:
    from mv2desc.fingerprint import file_fingerprint

    st = path.stat()
    return file_fingerprint(path) if st.st_size <= HASH_LIMIT else f"size={st.st_size},mtime_ns={st.st_mtime_ns}"


__all__ = ["AnalysisStore", "default_root", "folder_fingerprint"]
