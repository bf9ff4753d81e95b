"""Paths in configs that are relative to the repository (configs/...) work from any directory, in a
checkout and in an installed wheel alike (:data:`DATA_ROOT`).

Files that travel (captioner artifacts) record a local model folder as a *reference* (:func:`to_ref`),
never by the absolute path of the machine that wrote them:

* a folder shipped in this repository (under ``configs/`` or ``assets/``) by its repository path,
  ``configs/clap/tiny-random``: found again in whichever checkout reads the file;
* any other local folder relative to the folder of the file that records it, ``./clap`` or
  ``../models/clap`` (always with a leading ``./`` or ``../``): the file and the folder move together;
* a hub name (``laion/clap-htsat-unfused``) unchanged.

:func:`from_ref` is the inverse (a local reference -> an absolute path on this machine).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIRS = ("configs", "assets")


def _data_root() -> Path:
    """Where ``configs/`` and ``assets/`` are: the checkout (the editable source), else the installed
    package data (``mv2desc_data``, found through ``importlib.resources``)."""
    if all((REPO_ROOT / d).is_dir() for d in SHIPPED_DIRS):
        return REPO_ROOT
    from importlib.resources import files

    return Path(str(files("mv2desc_data")))


DATA_ROOT = _data_root()


def shipped(relative: str) -> Path:
    """A shipped file or folder by its repository path, e.g. ``shipped("configs/infer/procedural.yaml")``."""
    return DATA_ROOT / relative


def resolve_repo_path(path: str | Path) -> Path:
    """``path`` itself if it exists or is absolute; else the same relative path among the shipped files
    (the checkout's, or the installed package data)."""
    p = Path(path).expanduser()
    if p.exists() or p.is_absolute():
        return p
    return DATA_ROOT / p if (DATA_ROOT / p).exists() else p


def _is_relative_ref(value: str) -> bool:
    return value.replace("\\", "/").split("/")[0] in (".", "..")


def to_ref(value: str, base: str | Path) -> str:
    """How a file in folder ``base`` records the model ``value`` (a hub name or a local path, absolute or
    relative to the working directory): see the module docstring. Empty stays empty."""
    p = Path(value).expanduser()
    if not value or not (p.is_absolute() or p.exists() or _is_relative_ref(value)):
        return value  # a hub name, a repository reference (configs/...), a tiny-model name, or nothing
    p = Path(os.path.abspath(p))
    for top in SHIPPED_DIRS:
        if p.is_relative_to(DATA_ROOT / top):
            return p.relative_to(DATA_ROOT).as_posix()
    try:
        rel = Path(os.path.relpath(p, Path(base).absolute())).as_posix()
    except ValueError:  # another drive (Windows): nothing relative to say
        return str(p)
    return rel if _is_relative_ref(rel) else f"./{rel}"


def from_ref(value: str, base: str | Path | None) -> str:
    """The model a recorded reference names on this machine: ``./x`` / ``../x`` under ``base`` (the folder
    of the file that records it), ``configs/...`` / ``assets/...`` in this checkout (absolute paths);
    anything else (a hub name, an absolute path written by an older version) unchanged."""
    if _is_relative_ref(value):
        return value if base is None else os.path.normpath(Path(base).absolute() / value)
    if value and not Path(value).is_absolute() and Path(value).parts[0] in SHIPPED_DIRS and (DATA_ROOT / value).exists():
        return str(DATA_ROOT / value)
    return value
