"""Artist-disjoint splits and the Music4All reader's handling of bad rows."""

from __future__ import annotations

import pytest

from data_prep.example import BAD_IDS, make_example
from data_prep.music4all import find_videos, load_catalog, read_lyrics
from data_prep.report import BuildReport
from data_prep.splits import SplitConfig, assign_splits, normalise_artist
from mv2desc.errors import UserError


def catalog_ids(n_artists: int = 60, per_artist: int = 5) -> dict[str, str]:
    return {f"t{a:03d}_{k}": f"Artist {a}" for a in range(n_artists) for k in range(per_artist)}


def test_splits_are_artist_disjoint_and_near_ratios():
    ids = catalog_ids()
    split = assign_splits(ids, SplitConfig(0.8, 0.1, 0.1, seed=3))
    artists = {s: {ids[i] for i, sp in split.items() if sp == s} for s in ("train", "validation", "test")}
    assert not artists["train"] & artists["validation"]
    assert not artists["train"] & artists["test"]
    assert not artists["validation"] & artists["test"]
    n = len(ids)
    counts = {s: sum(1 for v in split.values() if v == s) for s in artists}
    assert abs(counts["train"] / n - 0.8) <= 5 / n + 1e-9
    assert abs(counts["test"] / n - 0.1) <= 5 / n + 1e-9


def test_splits_deterministic_and_seeded():
    ids = catalog_ids()
    a = assign_splits(ids, SplitConfig(seed=1))
    assert a == assign_splits(dict(reversed(list(ids.items()))), SplitConfig(seed=1))
    assert a != assign_splits(ids, SplitConfig(seed=2))


def test_artist_spelling_variants_stay_together():
    ids = {"a": "The  Band", "b": "the band", "c": "THE BAND ", "d": "Other"}
    split = assign_splits(ids, SplitConfig(0.5, 0.5, 0.0))
    assert split["a"] == split["b"] == split["c"]
    assert normalise_artist("Ｂｊöｒｋ") == normalise_artist("björk")


def test_zero_ratio_split_stays_empty():
    split = assign_splits(catalog_ids(10, 2), SplitConfig(0.5, 0.5, 0.0))
    assert "test" not in split.values()


def test_bad_split_config():
    with pytest.raises(ValueError, match="split ratios"):
        SplitConfig(train=-0.1)


def test_catalog_counts_bad_rows(tmp_path):
    root = make_example(tmp_path / "m4a", 4, duration_s=2.5, with_bad_entries=True)
    report = BuildReport()
    tracks = load_catalog(root, report)
    ids = {t.id for t in tracks}
    assert report.skipped["malformed_row"] == 1
    assert report.skipped["duplicate_id"] == 1
    assert report.skipped["missing_artist"] == 1
    assert BAD_IDS["non-ascii"] in ids
    assert report.degraded["bad_metadata_value"] == 1
    t = next(t for t in tracks if t.id == BAD_IDS["non-ascii"])
    assert t.metadata["danceability"] is None and t.metadata["energy"] == 0.5
    assert t.artist == "Bjørk-ish Ensemble"
    empty = next(t for t in tracks if t.id == BAD_IDS["empty-lyrics"])
    assert read_lyrics(empty) == (None, "empty_lyrics")
    assert [t.id for t in tracks] == sorted(ids)


def test_catalog_errors(tmp_path):
    with pytest.raises(UserError, match="root not found"):
        load_catalog(tmp_path / "missing", BuildReport())
    (tmp_path / "audios").mkdir()
    (tmp_path / "id_information.csv").write_text("id,artist,song\nx,y,z\n", encoding="utf-8")
    with pytest.raises(UserError, match="tab-separated"):
        load_catalog(tmp_path, BuildReport())


def test_video_table_and_folder(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "abc.mp4").write_bytes(b"x")
    (tmp_path / "v" / "notes.txt").write_text("x")
    assert find_videos(str(tmp_path / "v")) == {"abc": tmp_path / "v" / "abc.mp4"}
    table = tmp_path / "videos.tsv"
    table.write_text("id\tpath\nabc\tv/abc.mp4\n", encoding="utf-8")
    assert find_videos(str(table)) == {"abc": tmp_path / "v" / "abc.mp4"}
    (tmp_path / "bad.csv").write_text("id,url\nabc,http://x\n", encoding="utf-8")
    with pytest.raises(UserError, match="'id' and 'path'"):
        find_videos(str(tmp_path / "bad.csv"))
