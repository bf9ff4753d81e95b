"""Every file, test and Python name the docs point at exists.

In ``docs/*.md``, inline code (outside fenced blocks) is read two ways:

* a **path** (``mv2desc/data/spec.py``, ``configs/infer/``, ``tests/test_contracts.py::test_x``): a
  token whose first part is a top-level folder or file of the repository must exist; after ``::`` the
  test function must be defined in that file;
* a **dotted name** (``mv2desc.data.spec.FeatureSpec.check_model``, ``train.fit.fit``): the longest
  prefix that is a module or package must be followed by a name defined at its top level (a class, a
  function, an assignment or an import), then optionally by a name defined in that class.

Tokens with placeholders (``<name>``, ``*``, ``{...}``, ``...``) are skipped.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
TOP_DIRS = ("mv2desc", "data_prep", "train", "infer", "tests", "configs", "assets", "docs", "scripts", "benchmarks", "requirements")
TOP_FILES = ("README.md", "pyproject.toml", "setup.py")
PACKAGES = ("mv2desc", "data_prep", "train", "infer")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^[\w.\-/]+(::\w+)?$")
DOTTED = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+(?:\(\))?$")


def _tokens(path: Path) -> list[str]:
    return [t.strip() for t in INLINE.findall(FENCE.sub("", path.read_text(encoding="utf-8")))]


def _is_path(token: str) -> bool:
    if not PATH.match(token) or "." in token.split("/")[0] and token.split("::")[0] not in TOP_FILES:
        return False
    first = token.split("::")[0].split("/")[0]
    return token.split("::")[0] in TOP_FILES or (first in TOP_DIRS and "/" in token)


@cache
def _defined(path: Path) -> dict[str, set[str]]:
    """Top-level names of a module -> names defined in them (class bodies; empty for the rest)."""
    names: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            inner = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    inner.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    inner.update(t.id for t in item.targets if isinstance(t, ast.Name))
            names[node.name] = inner
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.setdefault(n.id, set())
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.setdefault(node.target.id, set())
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.setdefault((a.asname or a.name).split(".")[0], set())
    return names


def _module_file(parts: list[str]) -> Path | None:
    base = REPO.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None


def _dotted_problem(token: str) -> str | None:
    parts = token.removesuffix("()").split(".")
    for k in range(len(parts), 0, -1):
        module = _module_file(parts[:k])
        if module is None:
            continue
        rest = parts[k:]
        if not rest:
            return None
        names = _defined(module)
        if rest[0] not in names:
            # a submodule of a package counts too (mv2desc.sync.engine.sync_videos is found above)
            return f"{rest[0]!r} is not defined in {module.relative_to(REPO)}"
        if len(rest) > 1 and rest[1] not in names[rest[0]]:
            return f"{rest[0]}.{rest[1]} is not defined in {module.relative_to(REPO)}"
        if len(rest) > 2:
            return f"too deep a name: {token}"
        return None
    return f"no module for {token}"


def test_docs_exist():
    assert (REPO / "docs" / "ARCHITECTURE.md") in DOCS


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_paths_exist(doc):
    missing = []
    for token in _tokens(doc):
        if any(c in token for c in "<>*{}") or "..." in token or not _is_path(token):
            continue
        file, _, test = token.partition("::")
        target = REPO / file
        if not target.exists():
            missing.append(token)
        elif test and test not in _defined(target):
            missing.append(f"{token} (no {test} in {file})")
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_python_names_exist(doc):
    problems = [f"{t}: {p}" for t in _tokens(doc) if DOTTED.match(t) and (p := _dotted_problem(t))]
    assert not problems, f"{doc.name} names Python objects that do not exist: {problems}"


def test_the_checker_catches_a_wrong_path_and_a_wrong_name():
    assert _is_path("mv2desc/data/spec.py") and _is_path("tests/test_contracts.py::test_x") and _is_path("README.md")
    assert not _is_path("mv2desc mv generate") and not _is_path("runs/demo") and not _is_path("report.json")
    assert _dotted_problem("mv2desc.data.spec.FeatureSpec.check_model") is None
    assert _dotted_problem("mv2desc.beats.track_file") is None  # re-exported by the package
    assert _dotted_problem("mv2desc.data.spec.FeatureSpec.no_such_method")
    assert _dotted_problem("mv2desc.data.spec.no_such_name")
