"""Reruns of ``mv2desc mv generate``: the song's analyses, its descriptions and the assembled video come
from the cache when nothing changed (the expensive functions are not called, ``mv.mp4`` has the same
frames), an edited segment changes that segment's frames only, and a damaged cache entry is rebuilt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mv2desc.describe.song as describe_module
import mv2desc.mvgen.assembly as assembly
from infer.__main__ import main as mv_main
from mv2desc.analysis_cache import AnalysisStore
from mv2desc.media.audio import write_audio
from mv2desc.media.video import iter_frames
from mv2desc.sync.visual_beats import measure_file_pieces, visual_beats_of_pieces
from mv2desc.synth import SongSpec, render

SR = 22050
FPS = 12
SMALL = ["--video.width", "96", "--video.height", "64", "--video.fps", str(FPS), "--sync.render.fps", str(FPS), "--workers", "1"]


class Spy:
    """Counts the calls of a module function (and still calls it)."""

    def __init__(self, monkeypatch, module, name: str) -> None:
        self.calls = 0
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)


def _frames(path: Path) -> np.ndarray:
    return np.stack(list(iter_frames(path))).astype(np.int16)


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("rerun")
    y = np.concatenate([render(SongSpec(tempo_bpm=120.0, energy=e, duration_s=8.0, seed=k), SR) for k, e in enumerate((0.3, 0.9))])
    song = write_audio(root / "song.wav", y, SR)
    out = root / "mv"
    assert mv_main(["generate", str(song), "--out", str(out), *SMALL]) == 0
    return {"song": song, "out": out, "report": _report(out), "frames": _frames(out / "mv.mp4")}


def _rerun(first: dict, monkeypatch) -> tuple[dict, Spy, Spy]:
    describe, assemble = Spy(monkeypatch, describe_module, "_describe_song"), Spy(monkeypatch, assembly, "assemble_incremental")
    assert mv_main(["generate", str(first["song"]), "--out", str(first["out"]), *SMALL]) == 0
    return _report(first["out"]), describe, assemble


def test_first_run_computes_everything(first):
    cache = first["report"]["from_cache"]
    assert cache["describe"] == cache["beats"] == cache["assembly"] == cache["motion_piece"] == "computed"
    assert set(first["report"]["cpu_s"]) >= {"describe", "clips", "assembly", "scores", "total"}


def test_rerun_with_nothing_changed_reuses_everything(first, monkeypatch):
    report, describe, assemble = _rerun(first, monkeypatch)
    assert describe.calls == 0 and assemble.calls == 0  # descriptions and the assembly are not redone
    assert report["from_cache"]["describe"] == report["from_cache"]["beats"] == report["from_cache"]["assembly"] == "cached"
    assert report["render"]["cached"] == len(report["segments"])
    assert [s["description"] for s in report["segments"]] == [s["description"] for s in first["report"]["segments"]]
    assert np.array_equal(_frames(first["out"] / "mv.mp4"), first["frames"])  # the same video, frame for frame
    assert report["scores"] == first["report"]["scores"]


def test_damaged_entries_are_rebuilt_not_trusted(first, monkeypatch):
    analysis = first["out"] / "cache" / "analysis"
    damaged = [*analysis.glob("describe/*.bin"), *analysis.glob("beats/*.bin"), *analysis.glob("assembly/*.mp4"),
               *analysis.glob("visual_beats/*.bin"), sorted(analysis.glob("chunks/*.mp4"))[0]]
    for path in damaged:
        blob = bytearray(path.read_bytes())
        blob[-5] ^= 0xFF  # one flipped byte: the seal (checksum) no longer matches
        path.write_bytes(bytes(blob))
    report, describe, assemble = _rerun(first, monkeypatch)
    assert describe.calls == 1 and assemble.calls == 1
    assert report["from_cache"]["describe"] == report["from_cache"]["beats"] == report["from_cache"]["assembly"] == "computed"
    assert [s["description"] for s in report["segments"]] == [s["description"] for s in first["report"]["segments"]]
    assert report["sync"]["chunks"]["reused"].count(False) == 1  # the damaged chunk alone was encoded again
    # the same frames: bit for bit where a chunk was reused; within the encoder's noise in the re-encoded one
    # (x264 through PyAV is not bit-reproducible run to run: drift of a few levels within a GOP)
    rebuilt = _frames(first["out"] / "mv.mp4")
    assert rebuilt.shape == first["frames"].shape and np.abs(rebuilt - first["frames"]).mean(axis=(1, 2, 3)).max() < 8.0
    assert sum(np.array_equal(a, b) for a, b in zip(rebuilt, first["frames"])) >= len(rebuilt) // 3
    report, describe, _ = _rerun(first, monkeypatch)  # rebuilt entries are good again
    assert describe.calls == 0 and report["from_cache"]["describe"] == "cached"


def test_edited_segment_changes_only_its_frames(first, monkeypatch):
    seg_path = first["out"] / "segments.json"
    data = json.loads(seg_path.read_text())
    assert len(data["segments"]) >= 2
    k = len(data["segments"]) - 1
    data["segments"][k]["description"] = "A bright yellow desert under a blazing sun, slow pan."
    seg_path.write_text(json.dumps(data))
    before = _frames(first["out"] / "mv.mp4")
    report, describe, _ = _rerun(first, monkeypatch)
    assert describe.calls == 0 and report["from_cache"]["describe"] == "cached"  # the edit is applied to the cached descriptions
    assert report["render"]["rendered"] == 1 and report["segments"][k]["edited"]
    after = _frames(first["out"] / "mv.mp4")
    assert after.shape == before.shape
    start = round(report["segments"][k]["out_start_s"] * FPS)
    diff = np.abs(after - before).mean(axis=(1, 2, 3))
    assert diff[start:].min() > 3.0  # the edited segment shows another clip
    assert np.array_equal(after[:start], before[:start])  # the others keep their frames, bit for bit
    assert report["sync"]["chunks"]["reused"] == [k2 != k for k2 in range(len(report["segments"]))]
    # the output's motion: the unchanged segments' pieces from the cache, the edited one measured on the new
    # mv.mp4; the figures are those of a measurement of the whole new file from scratch
    n = len(report["segments"])
    assert report["from_cache"]["motion_piece"] == f"{n - 1} of {n} cached"
    fresh = measure_file_pieces(first["out"] / "mv.mp4", [(round(s["out_start_s"] * FPS), round((s["out_end_s"] - s["out_start_s"]) * FPS))
                                                          for s in report["segments"]])
    beats = visual_beats_of_pieces(fresh, FPS)
    assert report["sync"]["visual_beats_after_s"] == [round(float(t), 4) for t in beats.times_s]


def test_store_checks_type_and_seal(tmp_path):
    store = AnalysisStore(tmp_path)
    key = store.key("song", {"a": 1})
    assert store.load("beats", key) is None and store.summary() == {"beats": "computed"}
    store.store("beats", key, {"x": 1})
    assert store.load("beats", key, dict) == {"x": 1}
    assert store.load("beats", key, list) is None  # another type: not used
    assert store.load("describe", key) is None  # another kind under the same key: a miss
    path = store.path("beats", key)
    path.write_bytes(path.read_bytes()[:-3])  # truncated
    assert store.load("beats", key, dict) is None
    assert store.get_or_make("beats", key, lambda: {"x": 2}, dict) == {"x": 2}
    assert store.load("beats", key, dict) == {"x": 2}
    assert store.load("describe", store.key("other")) is None
    summary = store.summary()  # per kind over its lookups: beats 2 of its 6 lookups were hits
    assert summary == {"beats": "2 of 6 cached", "describe": "computed"}, summary
