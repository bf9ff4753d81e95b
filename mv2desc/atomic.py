"""Files that appear whole or not at all: write to a temporary name in the same folder, fsync, rename.

A killed process never leaves a half-written file under the final name (a reader either sees the old
file or the new one), and a failed write removes its temporary file.

The file gets the mode a plain ``open(path, "w")`` of a new file would give it, ``0o666`` less the
umask (``mkstemp`` alone makes it ``0600``, unreadable to a group or a web server). A folder made by
``mkdtemp`` and renamed into place as an output should get :func:`new_dir_mode` the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system shows it (Linux
    ``/proc/self/status``); elsewhere set and restored at once (process-wide, so under a lock)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open()`` gives a new file."""
    return 0o666 & ~current_umask()


def new_dir_mode() -> int:
    """``0o777 & ~umask``: the mode ``mkdir()`` gives a new folder."""
    return 0o777 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=p.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            with contextlib.suppress(OSError):  # a file system without modes keeps what it has
                os.fchmod(f.fileno(), new_file_mode())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_json(path: str | os.PathLike, value: Any) -> Path:
    return atomic_write_bytes(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
