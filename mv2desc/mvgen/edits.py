"""``DIR/segments.json``: the segments and their descriptions, written by every run, edited by users.

Edit a segment's ``description`` and rerun the same command: that segment's clip (and only that one)
is re-rendered, because the description is part of its cache key.

What counts as an edit: a row whose ``description`` differs from the ``generated_description`` stored
with it; nothing else. Every other segment gets the text this run generates (another ``--seed``, a
``--captioner`` or a new describer version is honoured). Edits are never lost:

* a malformed file is a one-line :class:`UserError` naming ``line:column``, and the file is left as is;
* when the cut changed (other segment or beat settings), an edit moves to the new segment that
  overlaps it most (the report's ``edits`` says where each went); an edit that overlaps no new
  segment, loses its segment to an edit that overlaps it more, or belongs to another song is appended
  to ``segments.rejected.json`` next to it, with the reason.

Format (``"format": "mv2desc.mv.segments/1"``)::

    {"format": ..., "song": ..., "song_fingerprint": ..., "note": ...,
     "segments": [{"index": 0, "start_s": 0.0, "end_s": 8.0, "bars": 4,
                   "description": "...", "generated_description": "..."}, ...]}
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from mv2desc.atomic import atomic_write_json
from mv2desc.errors import UserError
from mv2desc.fingerprint import file_fingerprint

log = logging.getLogger(__name__)
FORMAT = "mv2desc.mv.segments/1"
REJECTED_FORMAT = "mv2desc.mv.segments-rejected/1"
REJECTED = "segments.rejected.json"
NOTE = "edit a segment's 'description' and rerun the same command: only that segment's clip is re-rendered"


def song_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of the song's bytes (first 20 hex digits; :attr:`mv2desc.song.Song.fingerprint` is the same)."""
    return file_fingerprint(path, 20)


def _read_json(path: Path) -> Any:
    """The JSON in ``path``; a one-line :class:`UserError` naming line:column when it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason}); fix the file (it was left as it is)") from exc
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); fix the file and rerun "
                        "(it was left as it is; delete it to start from fresh descriptions)") from exc


def read_edits(path: Path) -> tuple[str | None, list[dict]]:
    """``(song_fingerprint, edits)`` of a ``segments.json``: the rows whose description differs from the
    text generated for them, as ``{"index", "start_s", "end_s", "description", "generated_description"}``."""
    data = _read_json(path)
    rows = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UserError(f"{path}: expected an object with a 'segments' list of objects (as written by 'mv2desc mv generate'); "
                        "fix the file (it was left as it is)")
    edits = []
    for k, row in enumerate(rows):
        text = row.get("description")
        if not isinstance(text, str) or not text.strip():
            continue
        generated = row.get("generated_description")
        if isinstance(generated, str) and text.strip() == generated.strip():
            continue
        try:
            span = (float(row["start_s"]), float(row["end_s"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{path}: segment {k} needs numeric 'start_s' and 'end_s' ({exc}); fix the file "
                            "(it was left as it is)") from exc
        edits.append({"index": row.get("index", k), "start_s": span[0], "end_s": span[1], "description": text.strip(),
                      "generated_description": generated if isinstance(generated, str) else None})
    fp = data.get("song_fingerprint")
    return (fp if isinstance(fp, str) else None), edits


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def carry_edits(edits: list[dict], segments: list[dict]) -> tuple[dict[int, dict], list[dict]]:
    """Each edit to the new segment it overlaps most: ``({segment index: edit}, [rejected edit + reason])``.
    Two edits on one segment: the one that overlaps it more wins (the earlier one on a tie)."""
    best: dict[int, tuple[float, dict]] = {}
    rejected = []
    for e in edits:
        overlaps = [_overlap(e["start_s"], e["end_s"], s["start_s"], s["end_s"]) for s in segments]
        k = max(range(len(segments)), key=lambda j: overlaps[j]) if segments else -1
        if k < 0 or overlaps[k] <= 0:
            rejected.append(e | {"reason": "overlaps no segment of the new cut"})
            continue
        e = e | {"to": segments[k]["index"], "overlap_s": round(overlaps[k], 3)}
        if k in best and best[k][0] >= overlaps[k]:
            rejected.append(e | {"reason": f"segment {k} of the new cut took an edit that overlaps it more"})
            continue
        if k in best:
            rejected.append(best[k][1] | {"reason": f"segment {k} of the new cut took an edit that overlaps it more"})
        best[k] = (overlaps[k], e)
    return {k: e for k, (_, e) in best.items()}, rejected


def _keep_rejected(path: Path, fingerprint: str | None, rejected: list[dict]) -> None:
    """Append ``rejected`` to ``segments.rejected.json`` next to ``path`` (never overwrites an entry)."""
    target = path.with_name(REJECTED)
    entries: list = []
    if target.is_file():
        data = _read_json(target)
        entries = data.get("entries", []) if isinstance(data, dict) else []
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    entries += [{"song_fingerprint": fingerprint, "rejected_at": stamp,
                 **{k: e.get(k) for k in ("index", "start_s", "end_s", "description", "generated_description", "reason")}}
                for e in rejected]
    atomic_write_json(target, {"format": REJECTED_FORMAT, "note": "edits of segments.json that could not be carried to "
                               "the current cut; copy a description back into segments.json to use it", "entries": entries})
    for e in rejected:
        log.warning("segment %s's edited description (%.2f-%.2f s) kept in %s: %s", e.get("index"), e["start_s"], e["end_s"],
                    target.name, e["reason"])


def apply_edits(path: Path, fingerprint: str, segments: list[dict]) -> tuple[list[dict], list[dict]]:
    """``segments`` (index, start_s, end_s, bars, description) with the user's edits from ``path`` carried
    onto them; each gets ``generated_description`` and ``edited``. Returns ``(segments, log)``: where
    each edit went (``to``: a segment index, or None with the ``reason`` it was kept aside)."""
    out = [dict(s, generated_description=s["description"], edited=False) for s in segments]
    if not path.is_file():
        return out, []
    their_fp, edits = read_edits(path)
    if not edits:
        return out, []
    if their_fp != fingerprint:
        carried, rejected = {}, [e | {"reason": "segments.json belongs to another song"} for e in edits]
    else:
        carried, rejected = carry_edits(edits, out)
    if rejected:
        _keep_rejected(path, their_fp, rejected)
    moves = []
    for k, e in sorted(carried.items()):
        out[k]["description"], out[k]["edited"] = e["description"], True
        same = abs(e["start_s"] - out[k]["start_s"]) < 1e-3 and abs(e["end_s"] - out[k]["end_s"]) < 1e-3
        if not same:
            log.info("segment %s's edit (%.2f-%.2f s) moved to segment %d (%.2f-%.2f s) of the new cut", e["index"], e["start_s"],
                     e["end_s"], k, out[k]["start_s"], out[k]["end_s"])
        moves.append({"from": {"index": e["index"], "start_s": e["start_s"], "end_s": e["end_s"]}, "to": k,
                      "overlap_s": e["overlap_s"], "moved": not same})
    moves += [{"from": {"index": e["index"], "start_s": e["start_s"], "end_s": e["end_s"]}, "to": None, "reason": e["reason"],
               "kept_in": REJECTED} for e in rejected]
    if carried:
        log.info("using %d edited description(s) from %s", len(carried), path.name)
    return out, moves


def write_segments(path: Path, song: str, fingerprint: str, segments: list[dict]) -> None:
    rows = [{k: s[k] for k in ("index", "start_s", "end_s", "bars", "description", "generated_description")} for s in segments]
    atomic_write_json(path, {"format": FORMAT, "song": song, "song_fingerprint": fingerprint, "note": NOTE, "segments": rows})
