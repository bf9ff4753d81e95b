"""Where a command may write: never over an input, only into folders it owns, one run per folder.

Every command goes through these helpers before it writes anything:

* :func:`refuse_inputs`: an output path that is an input, holds an input (a folder), or lies inside an
  input folder is refused with one line (``mv beats SONG --out SONG`` would eat the song).
* :func:`claim_folder`: an output folder is used only when it is new, empty, or carries the command's
  marker file (written first when the folder is claimed); anything else is refused with one line,
  before anything in it is touched.
* :func:`folder_lock`: a POSIX record lock (``fcntl.lockf``) on a lock file inside the folder, naming
  its holder: a second run into the same folder gets a one-line error. The kernel drops it when its
  process ends (even by SIGKILL), so a lock is never stale; and unlike ``flock`` it is not inherited
  by forked children (a worker pool that outlives the run, such as madmom's, does not keep the folder
  locked).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from mv2desc.errors import UserError

LOCK_PREFIX = ".mv2desc-lock-"
_HELD: dict[Path, list] = {}  # lock path -> [fd, depth]: re-entrant within one process


def _resolved(p: str | os.PathLike) -> Path:
    return Path(p).expanduser().resolve()


def refuse_inputs(outputs: Mapping[str, str | os.PathLike | None], inputs: Iterable[str | os.PathLike | None]) -> None:
    """A :class:`UserError` when an output (``{flag: path}``) is an input, contains one, or lies inside an
    input folder. ``None`` entries are skipped."""
    ins = [(_resolved(p), str(p)) for p in inputs if p not in (None, "")]
    for flag, out in outputs.items():
        if out in (None, ""):
            continue
        o = _resolved(out)
        for i, given in ins:
            if o == i:
                why = "is"
            elif o in i.parents:
                why = "contains"
            elif i.is_dir() and i in o.parents:
                why = "is inside"
            else:
                continue
            raise UserError(f"{flag} {out} {why} the input {given}; choose another path (inputs are never overwritten)")


def claim_folder(out: str | os.PathLike, marker: str, command: str, *, flag: str = "--out",
                 also_ours: Callable[[Path], bool] | None = None) -> Path:
    """Create ``out``, or take it when it is empty or holds ``marker`` (or ``also_ours(out)``), writing
    ``marker`` first; else a one-line :class:`UserError`. Also checks that the folder is writable."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{flag} {out} is a file; pass a folder (it is created when missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = {p.name for p in out.iterdir()}
        if marker not in names:
            if names and not (also_ours is not None and also_ours(out)):
                raise UserError(f"{flag} {out} holds files not made by '{command}' (no {marker}); choose a new or empty "
                                "folder (nothing in it was changed)")
            with open(out / marker, "a", encoding="utf-8") as f:  # not atomic on purpose: it must appear first
                f.write(json.dumps({"written_by": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
        probe = out / f".mv2desc-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to {flag} {out}: {exc.strerror or exc} (choose a writable folder)") from exc
    return out


@contextlib.contextmanager
def folder_lock(out: str | os.PathLike, what: str, *, busy: str = "another run") -> Iterator[Path]:
    """Hold ``<out>/.mv2desc-lock-<what>`` (non-blocking, re-entrant in one process); a second holder
    gets a one-line :class:`UserError` naming the holder's pid."""
    import fcntl

    out = Path(out)
    path = out / f"{LOCK_PREFIX}{what}"
    key = path.resolve()
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield path
        finally:
            _HELD[key][1] -= 1
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc} (choose a writable folder)") from exc
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise UserError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            raise UserError(f"{out} is being written by {busy} (pid {holder} holds the lock {path}); "
                            "wait for it to finish or use another output folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = [fd, 1]
        try:
            yield path
        finally:
            del _HELD[key]
    finally:
        os.close(fd)


__all__ = ["LOCK_PREFIX", "claim_folder", "folder_lock", "refuse_inputs"]
