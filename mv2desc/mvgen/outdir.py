"""The output folder: made by this command or refused, and files that appear whole.

A folder is used when it does not exist, is empty, or holds the marker file this command writes
(``.mv2desc-generate``); anything else is refused with one line, so a user's files are never
overwritten. Outputs are written under a temporary name in the folder and renamed into place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mv2desc.errors import UserError

MARKER = ".mv2desc-generate"
OUTPUTS = ("mv.mp4", "report.json", "storyboard.html", "timeline.otio", "segments.json")


def prepare_out_dir(path: str | os.PathLike, song: str | os.PathLike) -> Path:
    """Create or reuse ``path`` (see the module docstring); raises :class:`UserError`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; pass a folder (it is created when missing)")
    if out.resolve() == Path(song).resolve().parent and any(out.iterdir()) and not (out / MARKER).exists():
        raise UserError(f"--out {out} is the song's own folder; choose a new folder for the outputs")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UserError(
            f"--out {out} holds files not made by 'mv2desc mv generate' (no {MARKER}); choose a new or empty folder"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        from mv2desc.atomic import atomic_write_bytes

        atomic_write_bytes(out / MARKER, json.dumps({"made_by": "mv2desc mv generate", "song": str(song)}).encode())
    except OSError as exc:
        raise UserError(f"cannot write to --out {out}: {exc.strerror or exc} (choose a writable folder)") from exc
    return out


def discard_stale(out: Path) -> None:
    """Remove the previous run's report before a new assembly: a killed run never leaves a report that
    describes another ``mv.mp4``."""
    (out / "report.json").unlink(missing_ok=True)
