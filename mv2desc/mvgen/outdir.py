"""The output folder: made by this command or refused, and files that appear whole.

A folder is used when it does not exist, is empty, or holds the marker file this command writes
(``.mv2desc-generate``); anything else is refused with one line, so a user's files are never
overwritten (the project's one rule, :mod:`mv2desc.outputs`). Outputs are staged and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

from mv2desc.outputs import claim_folder

MARKER = ".mv2desc-generate"


def _remove_dead_stages(out: Path) -> None:
    """Staging folders (``.staging-<pid>-*``) left by killed runs: never published, removed."""
    import shutil

    from mv2desc.procs import dead_writers_files

    for stage in dead_writers_files(out, ".staging-"):
        shutil.rmtree(stage, ignore_errors=True)


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """Create or reuse ``path`` (:func:`mv2desc.outputs.claim_folder`) and drop killed runs' staging
    folders; raises :class:`UserError`."""
    out = claim_folder(path, MARKER, "mv2desc mv generate")
    _remove_dead_stages(out)
    return out
