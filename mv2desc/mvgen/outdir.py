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


def _remove_dead_stages(out: Path) -> None:
    """Staging folders (``.staging-<pid>-*``) left by killed runs: never published, removed."""
    import shutil

    from mv2desc.procs import dead_writers_files

    for stage in dead_writers_files(out, ".staging-"):
        shutil.rmtree(stage, ignore_errors=True)


def prepare_out_dir(path: str | os.PathLike, song: str | os.PathLike) -> Path:
    """Create or reuse ``path`` (see the module docstring); raises :class:`UserError`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; pass a folder (it is created when missing)")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UserError(
            f"--out {out} holds files not made by 'mv2desc mv generate' (no {MARKER}); choose a new or empty folder"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_dead_stages(out)
        from mv2desc.atomic import atomic_write_bytes

        if not (out / MARKER).is_file():  # written once, when the folder is claimed
            atomic_write_bytes(out / MARKER, json.dumps({"made_by": "mv2desc mv generate", "song": str(song)}).encode())
    except OSError as exc:
        raise UserError(f"cannot write to --out {out}: {exc.strerror or exc} (choose a writable folder)") from exc
    return out
