"""Shared fixtures. Hub access is off for every test (nothing may download)."""

from __future__ import annotations

import os

for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_flag] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# tiny random checkpoints (mv2desc-tiny:...) are built once per test session, not in the user's cache
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

if "MV2DESC_CACHE" not in os.environ:  # ours: removed when the session ends (it holds ~60 MB of tiny checkpoints)
    os.environ["MV2DESC_CACHE"] = tempfile.mkdtemp(prefix="mv2desc-test-cache-")
    atexit.register(shutil.rmtree, os.environ["MV2DESC_CACHE"], ignore_errors=True)

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


# The fast tier (``-m "not slow"``) stays under 3 minutes on 2 cores. Besides the tests marked slow in
# their own files, these modules and tests run in the full suite only: each costs 2.5-30 s (its own time
# or a module fixture's; ``pytest --durations`` on 2 cores, 2026-12-04). The fast tier keeps their
# subjects' unit tests.
FULL_SUITE_ONLY = (
    "tests/data_prep/test_build.py::",
    "tests/data_prep/test_build_video_source.py::",
    "tests/data_prep/test_reliability_data.py::",
    "tests/data_prep/test_video_align.py::",
    "tests/infer/test_describe_grounding_cli.py::",
    "tests/mv2desc/beats/test_beats_hard.py::",
    "tests/mv2desc/describe/test_describe_cache.py::test_store_describes_once_per_content_and_settings",
    "tests/mv2desc/describe/test_describe_structure.py::",
    "tests/mv2desc/describe/test_grounding.py::test_describe_",
    "tests/mv2desc/media/test_song.py::test_mv_generate_decodes_the_song_once_and_detects_onsets_once",
    "tests/mv2desc/media/test_song.py::test_song_beats_equal_track_file",
    "tests/mv2desc/metrics/test_attribute_consistency.py::test_score_captions_and_eval_score_report_it",
    "tests/mv2desc/metrics/test_metrics.py::test_golden_",
    "tests/mv2desc/mvgen/test_mv_generate.py::",
    "tests/mv2desc/mvgen/test_mv_generate_content.py::",
    "tests/mv2desc/mvgen/test_mv_rerun_cache.py::",
    "tests/mv2desc/mvgen/test_mv_structure_lyrics.py::",
    "tests/mv2desc/mvgen/test_mvgen_diffusion.py::test_mv_generate_",
    "tests/mv2desc/sync/test_sync_output.py::",
    "tests/project/test_architecture_toy_renderer.py::",
    "tests/project/test_contracts.py::",
    "tests/project/test_output_permissions.py::",
    "tests/train/test_train.py::test_describe_a_long_stereo_song_with_the_trained_captioner",
)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.nodeid.startswith(FULL_SUITE_ONLY):
            item.add_marker(pytest.mark.slow)
