"""Opening media files: existence and emptiness checks, then PyAV, with :class:`MediaError` reasons."""

from __future__ import annotations

import os
from pathlib import Path

import av

from mv2desc.errors import MediaError


def check_file(path: str | os.PathLike, kind: str) -> Path:
    """``path`` as a Path; ``MediaError(missing_<kind> | empty_<kind>)`` when absent or zero bytes."""
    p = Path(path)
    if p.is_dir():
        raise MediaError(f"missing_{kind}", f"{p} is a folder, not a {kind} file; pass the file itself")
    if not p.is_file():
        raise MediaError(f"missing_{kind}", f"no such file: {p}")
    if p.stat().st_size == 0:
        raise MediaError(f"empty_{kind}", f"zero-byte file: {p}")
    return p


def open_input(path: str | os.PathLike, kind: str) -> av.container.InputContainer:
    """Open a checked file for reading; ``MediaError(corrupt_<kind>)`` when FFmpeg cannot open it."""
    p = check_file(path, kind)
    try:
        return av.open(str(p), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"corrupt_{kind}", f"cannot open {p}: {exc}") from exc
