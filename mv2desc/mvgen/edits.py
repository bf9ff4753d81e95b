"""``DIR/segments.json``: the segments and their descriptions, written by every run, edited by users.

Edit a segment's ``description`` and rerun the same command: that segment's clip (and only that one)
is re-rendered, because the description is part of its cache key. The file is only trusted for the
same song and the same cut (its ``song_fingerprint`` and every segment's span must match); otherwise
the fresh descriptions are used and a warning says why.

Format (``"format": "mv2desc.mv.segments/1"``)::

    {"format": ..., "song": ..., "song_fingerprint": ..., "note": ...,
     "segments": [{"index": 0, "start_s": 0.0, "end_s": 8.0, "bars": 4,
                   "description": "...", "generated_description": "..."}, ...]}
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from mv2desc.atomic import atomic_write_json

log = logging.getLogger(__name__)
FORMAT = "mv2desc.mv.segments/1"
NOTE = "edit a segment's 'description' and rerun the same command: only that segment's clip is re-rendered"


def song_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of the song's bytes (first 20 hex digits)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:20]


def apply_edits(path: Path, fingerprint: str, segments: list[dict]) -> list[dict]:
    """``segments`` (index, start_s, end_s, bars, description) with the descriptions of ``path`` where
    the user edited them; each gets ``generated_description`` and ``edited``."""
    out = [dict(s, generated_description=s["description"], edited=False) for s in segments]
    if not path.is_file():
        return out
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        rows = saved["segments"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is not readable (%s): using fresh descriptions", path, exc)
        return out
    if saved.get("song_fingerprint") != fingerprint:
        log.warning("%s belongs to another song: using fresh descriptions", path)
        return out
    spans = [(round(s["start_s"], 3), round(s["end_s"], 3)) for s in segments]
    if [(round(r.get("start_s", -1), 3), round(r.get("end_s", -1), 3)) for r in rows] != spans:
        log.warning("%s has another cut (segment spans changed): using fresh descriptions", path)
        return out
    for seg, row in zip(out, rows):
        text = str(row.get("description", "")).strip()
        if text and text != seg["generated_description"]:
            seg["description"], seg["edited"] = text, True
            log.info("segment %d: using the edited description from %s", seg["index"], path.name)
    return out


def write_segments(path: Path, song: str, fingerprint: str, segments: list[dict]) -> None:
    rows = [{k: s[k] for k in ("index", "start_s", "end_s", "bars", "description", "generated_description")} for s in segments]
    atomic_write_json(path, {"format": FORMAT, "song": song, "song_fingerprint": fingerprint, "note": NOTE, "segments": rows})
