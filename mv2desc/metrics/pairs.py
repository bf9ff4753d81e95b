"""Read prediction/reference pairs from JSONL: one ``{"prediction": str, "reference": str | [str, ...]}`` a line,
optionally with ``"attributes": {"tempo_bpm": float, "rms_db_mean": float, "mode": "major" | "minor"}`` (the
audio's measured attributes, for attribute consistency).

Every problem is a :class:`~mv2desc.errors.UserError` naming the file and line, so the command line
prints one clear line. Blank lines are skipped; other keys on a line are ignored (ids, metadata).
"""

from __future__ import annotations

import json
from pathlib import Path

from mv2desc.data.columns import ATTRIBUTE_COLUMNS, LOUDNESS, MODE, TEMPO
from mv2desc.errors import UserError


def _reference(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(r, str) for r in value):
        return list(value)
    raise UserError(f"{where}: 'reference' must be a string or a non-empty list of strings, got {json.dumps(value)[:80]}")


_ATTRIBUTE_KEYS = tuple(ATTRIBUTE_COLUMNS.values())  # the measured columns (mv2desc.data.columns)


def _attributes(value: object, where: str) -> dict | None:
    if value is None:
        return None
    ok = isinstance(value, dict) and all(k in value for k in _ATTRIBUTE_KEYS)
    if ok:
        try:
            float(value[TEMPO]), float(value[LOUDNESS])
        except (TypeError, ValueError):
            ok = False
    if not ok or str(value.get(MODE)).lower() not in ("major", "minor"):
        raise UserError(f"{where}: 'attributes' must be {{\"{TEMPO}\": number, \"{LOUDNESS}\": number, \"{MODE}\": \"major\"|\"minor\"}}, "
                        f"got {json.dumps(value)[:100]}")
    return {k: value[k] for k in _ATTRIBUTE_KEYS}


def read_pairs(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """(predictions, references per prediction) from a JSONL file."""
    predictions, references, _ = read_records(path)
    return predictions, references


def read_records(path: str | Path) -> tuple[list[str], list[list[str]], list[dict | None]]:
    """(predictions, references per prediction, measured attributes per prediction or None) from a JSONL file."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"predictions file not found: {p}")
    if not p.is_file():
        raise UserError(f"predictions path is not a file: {p}")
    predictions: list[str] = []
    references: list[list[str]] = []
    attributes: list[dict | None] = []
    try:
        with p.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{p}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    if number == 1 and line.lstrip().startswith("["):
                        raise UserError(f"{p} is a JSON array; JSONL is expected: one JSON object per line, e.g. "
                                        '{"prediction": "...", "reference": "..."}') from None
                    raise UserError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
                if number == 1 and isinstance(row, list):
                    raise UserError(f"{p} is a JSON array; JSONL is expected: one JSON object per line, e.g. "
                                    '{"prediction": "...", "reference": "..."}')
                if not isinstance(row, dict):
                    raise UserError(f"{where}: expected a JSON object with 'prediction' and 'reference', got {type(row).__name__}")
                missing = [key for key in ("prediction", "reference") if key not in row]
                if missing:
                    keys = ", ".join(sorted(row)) or "none"
                    raise UserError(f"{where}: missing key {' and '.join(repr(k) for k in missing)} (keys: {keys})")
                if not isinstance(row["prediction"], str):
                    raise UserError(f"{where}: 'prediction' must be a string, got {json.dumps(row['prediction'])[:80]}")
                predictions.append(row["prediction"])
                references.append(_reference(row["reference"], where))
                attributes.append(_attributes(row.get("attributes"), where))
    except UnicodeDecodeError as exc:
        raise UserError(f"{p} is not UTF-8 text ({exc.reason})") from None
    if not predictions:
        raise UserError(f"{p} holds no prediction lines (expected one JSON object a line)")
    return predictions, references, attributes
