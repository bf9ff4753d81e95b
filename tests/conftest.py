"""Shared fixtures. Hub access is off for every test (nothing may download)."""

from __future__ import annotations

import os

for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_flag] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# tiny random checkpoints (mv2desc-tiny:...) are built once per test session, not in the user's cache
import tempfile  # noqa: E402

os.environ.setdefault("MV2DESC_CACHE", tempfile.mkdtemp(prefix="mv2desc-test-cache-"))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY_CLAP = REPO / "configs" / "clap" / "tiny-random"


@pytest.fixture(scope="session", autouse=True)
def _librosa_jit() -> None:
    """librosa's first beat-tracker call JIT-compiles (~35 s cold); pay it once per session."""
    from data_prep.build import warm_up_librosa

    warm_up_librosa()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def build_argv(root: Path, out: Path, *extra: str) -> list[str]:
    """A fast build: 6 s clips, tiny random CLAP, metadata descriptions."""
    return [
        "--config", str(REPO / "configs/data/demo.yaml"),
        "--root", str(root), "--out", str(out),
        "--features.clap.name_or_path", str(TINY_CLAP),
        *extra,
    ]


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """A tiny built dataset (8 synthetic 6 s tracks), shared read-only by the training tests."""
    from data_prep.__main__ import main as data_main
    from data_prep.example import make_example

    d = tmp_path_factory.mktemp("traindata")
    root = make_example(d / "m4a", 8, duration_s=6.0, seed=3)
    assert data_main(["build", *build_argv(root, d / "data")]) == 0
    return d / "data"
