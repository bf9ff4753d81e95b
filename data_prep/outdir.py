"""The output folder of ``data build`` / ``data merge``: whose it is, who writes it, how results appear.

Ownership (nothing a user owns is overwritten or deleted). A build writes only into a folder that is

* new (it is created here), or empty, or
* marked as ours: it holds :data:`MARKER` (``.mv2desc-build``), written first whenever a build creates
  or claims a folder, or, for folders written before the marker existed, a ``manifest.json`` of our
  format.

Anything else is refused with a one-line :class:`UserError` naming the folder and the fix, before
anything in it is touched.

Locks. A POSIX record lock (:func:`mv2desc.outputs.folder_lock`) on ``.mv2desc-lock-<what>`` inside the folder: one build per shard and one
publication at a time (a second gets a one-line error naming the lock). The kernel drops the lock
when its process ends, even by SIGKILL, so a lock is never stale; the lock files themselves stay.

Publication (:func:`publish`). The new ``dataset/``, ``parquet/`` and ``report.json`` are written in
full under ``.tmp-publish-<pid>/``; then ``manifest.json`` is removed, each new item is renamed into
place (the previous one renamed aside to ``.old-*``), and ``manifest.json`` is written last.
``manifest.json`` is the commit marker, and readers key on it (``mv2desc train`` needs
``manifest.json`` + ``dataset/``). After a kill at any point a reader sees exactly one of:

* the previous build, whole (killed while staging; the ``.tmp-publish-*`` leftover is ignored);
* no ``manifest.json``: no finished build (killed during the renames). Rerunning the same command
  resumes from the cache and publishes;
* the new build, whole (killed after the manifest was written; ``.old-*`` leftovers are ignored).

Leftover ``.tmp-publish-*`` and ``.old-*`` entries are removed by the next publication.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from mv2desc.atomic import atomic_write_json
from mv2desc.outputs import claim_folder, folder_lock

MARKER = ".mv2desc-build"
MANIFEST = "manifest.json"
PUBLISHED = ("dataset", "parquet", "report.json")  # renamed into place before MANIFEST, in this order
FORMAT_PREFIX = "mv2desc-dataset/"



def _is_legacy_build(out: Path) -> bool:
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and str(manifest.get("format", "")).startswith(FORMAT_PREFIX)


def claim(out: str | os.PathLike) -> Path:
    """Make ``out`` ours (create it, or mark an empty one) or refuse; also checks it is writable."""
    return claim_folder(out, MARKER, "mv2desc data build", also_ours=_is_legacy_build)


def locked(out: Path, what: str) -> contextlib.AbstractContextManager[Path]:
    """Hold ``<out>/.mv2desc-lock-<what>`` (non-blocking; a second holder gets a one-line error)."""
    return folder_lock(out, what, busy="another build")


def staging_dir(out: Path) -> Path:
    """A fresh ``.tmp-publish-<pid>/`` (call with the publish lock held)."""
    _remove_leftovers(out)
    stage = Path(out) / f".tmp-publish-{os.getpid()}"
    stage.mkdir()
    return stage


def _remove_leftovers(out: Path) -> None:
    for p in Path(out).iterdir():
        if p.name.startswith((".tmp-publish-", ".old-")):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _rename(src: Path, dst: Path) -> None:  # one place for every rename of a publication (tests interpose here)
    os.rename(src, dst)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(out: Path, stage: Path, manifest: dict) -> None:
    """Swap ``stage``'s dataset/, parquet/, report.json into ``out``, then commit ``manifest.json``."""
    out = Path(out)
    old_manifest = out / MANIFEST
    if old_manifest.exists():
        _rename(old_manifest, out / f".old-{MANIFEST}")  # from here: no finished build until the commit
        _fsync_dir(out)
    for name in PUBLISHED:
        dst = out / name
        if dst.exists() or dst.is_symlink():
            _rename(dst, out / f".old-{name}")
        _rename(stage / name, dst)
    _fsync_dir(out)
    atomic_write_json(old_manifest, manifest)  # the commit
    _remove_leftovers(out)
