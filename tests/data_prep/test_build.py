"""End to end: Music4All-layout fixture with bad entries -> dataset; shards + merge; resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, build_argv
from data_prep.__main__ import main as data_main
from data_prep.__main__ import parse_build_config
from data_prep.build import build_shard
from data_prep.example import BAD_IDS, make_example
from data_prep.merge import merge

GOOD = 8
KEPT_BAD = ("truncated", "non-ascii", "empty-lyrics")
EXPECTED_ROWS = GOOD + len(KEPT_BAD)


@pytest.fixture(scope="module")
def m4a(tmp_path_factory) -> Path:
    return make_example(tmp_path_factory.mktemp("m4a"), GOOD, duration_s=6.0, seed=1, with_bad_entries=True)


@pytest.fixture(scope="module")
def reference(m4a, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    assert data_main(["build", *build_argv(m4a, out)]) == 0
    return out


def tables(out: Path) -> dict:
    from datasets import load_from_disk

    dd = load_from_disk(str(out / "dataset"))
    return {split: dd[split].data.table.combine_chunks() for split in dd}


def test_build_report_and_rows(reference, capsys):
    report = json.loads((reference / "report.json").read_text(encoding="utf-8"))
    assert report["skipped"] == {
        "corrupt_audio": 1, "duplicate_id": 1, "empty_audio": 1, "malformed_row": 1, "missing_artist": 1, "missing_audio": 1,
    }
    assert report["degraded"]["empty_lyrics"] == 1
    assert report["degraded"]["no_lyrics"] >= 1
    assert all(report["reasons"][k] for k in report["skipped"])
    manifest = json.loads((reference / "manifest.json").read_text(encoding="utf-8"))
    assert sum(s["clips"] for s in manifest["splits"].values()) == EXPECTED_ROWS
    feats = manifest["features"]
    assert feats["opensmile"]["sample_rate"] == 16000 and feats["opensmile"]["version"]
    assert feats["clap"]["sample_rate"] == 48000 and feats["rhythm"]["sample_rate"] == 22050
    # no half-written leftovers
    assert not list(reference.rglob(".tmp-*"))


def test_rows_content(reference):
    from datasets import load_from_disk

    dd = load_from_disk(str(reference / "dataset"))
    rows = {r["id"]: r for split in dd for r in dd[split]}
    assert set(rows) >= {BAD_IDS[k] for k in KEPT_BAD}
    assert not set(rows) & {BAD_IDS[k] for k in ("zero-byte", "text-as-mp3", "no-audio")}
    trunc = rows[BAD_IDS["truncated"]]
    assert 2.0 < trunc["duration_s"] < 5.0  # kept, shorter
    assert rows[BAD_IDS["empty-lyrics"]]["lyrics"] is None
    for r in rows.values():
        assert r["description_source"] == "metadata" and len(r["description"]) > 50
        assert f"{r['tempo_bpm']:.0f} BPM" in r["description"]
        assert len(r["egemaps_functionals"]) == 88
        assert len(r["egemaps_lld"][0]) == 25
        assert len(r["clap_clip"]) == 32 and len(r["clap_windows"]) >= 1
        assert len(r["onset_env"]) == len(r["rms"]) > 100
        assert r["split"] in ("train", "validation", "test")
    info = json.loads(dd["train"].info.description)
    assert info["features"]["clap"]["model"].endswith("tiny-random")


def test_splits_artist_disjoint(reference):
    from datasets import load_from_disk

    from data_prep.splits import normalise_artist

    dd = load_from_disk(str(reference / "dataset"))
    artists = {s: {normalise_artist(a) for a in dd[s]["artist"]} for s in dd}
    assert not artists["train"] & artists["validation"]
    assert not artists["train"] & artists["test"]
    assert not artists["validation"] & artists["test"]
    for s in dd:
        assert set(dd[s]["split"]) <= {s}


def test_reloads_without_this_project(reference, tmp_path):
    code = textwrap.dedent(
        f"""
        import glob, sys
        import datasets, pandas
        dd = datasets.load_from_disk({str(reference / 'dataset')!r})
        df = pandas.concat([pandas.read_parquet(f) for f in sorted(glob.glob({str(reference / 'parquet' / '*.parquet')!r}))])
        assert sum(len(dd[s]) for s in dd) == len(df) == {EXPECTED_ROWS}
        assert len(df.iloc[0]["egemaps_functionals"]) == 88
        assert not [m for m in sys.modules if m.split(".")[0] in ("mv2desc", "data_prep")]
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.slow  # several full builds
def test_shards_merge_equal_single_build(m4a, reference, tmp_path):
    out = tmp_path / "sharded"
    for i, procs in ((0, "2"), (1, "1")):
        assert data_main(["build", *build_argv(m4a, out), "--num-shards", "2", "--shard-index", str(i), "--num-proc", procs]) == 0
    assert not (out / "dataset").exists()  # shards alone do not make a dataset
    assert data_main(["merge", "--out", str(out)]) == 0
    ref, got = tables(reference), tables(out)
    assert set(ref) == set(got)
    for split in ref:
        assert got[split].equals(ref[split]), split
    m_ref = json.loads((reference / "manifest.json").read_text(encoding="utf-8"))
    m_got = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for key in ("splits", "features", "config", "catalog_tracks"):
        assert m_got[key] == m_ref[key], key
    r_ref = json.loads((reference / "report.json").read_text(encoding="utf-8"))
    r_got = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert r_got["skipped"] == r_ref["skipped"] and r_got["degraded"] == r_ref["degraded"]


def test_merge_refuses_incomplete_shard_set(m4a, tmp_path, capsys):
    out = tmp_path / "half"
    assert data_main(["build", *build_argv(m4a, out), "--num-shards", "3", "--shard-index", "1"]) == 0
    assert data_main(["merge", "--out", str(out)]) == 2
    assert "missing [0, 2]" in capsys.readouterr().err


@pytest.mark.slow  # several full builds
def test_killed_build_resumes_without_recomputing(m4a, reference, tmp_path):
    out = tmp_path / "resumed"
    cmd = [str(Path(sys.executable).with_name("mv2desc")), "data", "build", *build_argv(m4a, out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cache = out / "cache"

    def finished_entries() -> int:  # in-flight temp files (".tmp-*") are not entries
        return sum(1 for p in cache.glob("features-*/*/*.npz") if not p.name.startswith(".tmp-"))

    deadline = time.time() + 240
    try:
        while time.time() < deadline and finished_entries() < 3:
            assert proc.poll() is None, "the build finished before it could be interrupted"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = finished_entries()
    assert 3 <= done_before < EXPECTED_ROWS
    assert not (out / "dataset").exists()
    config, _ = parse_build_config(build_argv(m4a, out))
    summary = build_shard(config)
    assert summary.cached == done_before
    assert summary.computed == EXPECTED_ROWS - done_before
    merge(out)
    ref, got = tables(reference), tables(out)
    for split in ref:
        assert got[split].equals(ref[split]), split
