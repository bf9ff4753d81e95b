"""End to end with description.source=video: a track with a music video is described from it (tiny
random Qwen2.5-VL), the others fall back to the metadata source, and every row says which."""

from __future__ import annotations

import json

import pytest

from conftest import build_argv
from data_prep.__main__ import main as data_main
from data_prep.example import make_example
from mv2desc.media.audio import write_audio
from video_fixtures import make_music_video, make_tiny_qwen_vl

OFFSET_S, CLIP_S = 4.0, 8.0


@pytest.fixture(scope="module")
def video_build(tmp_path_factory):
    d = tmp_path_factory.mktemp("vsrc")
    root = make_example(d / "m4a", 3, duration_s=CLIP_S, seed=2)
    ids = sorted(p.stem for p in (root / "audios").glob("*.mp3"))
    video = make_music_video(d / "videos" / f"{ids[0]}.mp4", duration_s=18.0, cuts_s=(2.0, 6.5, 9.0, 14.0))
    sr = video.sample_rate
    clip = video.soundtrack[int(OFFSET_S * sr) : int((OFFSET_S + CLIP_S) * sr)]
    write_audio(root / "audios" / f"{ids[0]}.mp3", clip, sr)  # the clip is an excerpt of the video's soundtrack
    (d / "videos" / f"{ids[1]}.mp4").write_bytes(b"not a video")  # a broken video: falls back
    model = make_tiny_qwen_vl(d / "tiny_vl")
    out = d / "out"
    argv = build_argv(
        root, out, "--videos", str(d / "videos"), "--description.source", "video",
        "--description.video.captioner", str(model), "--description.video.device", "cpu",
        "--description.video.caption_max_new_tokens", "4", "--description.video.fuse_max_new_tokens", "6",
        "--description.video.max_shots", "3",
    )
    assert data_main(["build", *argv]) == 0
    return out, ids


def test_rows_record_their_source(video_build):
    from datasets import load_from_disk

    out, ids = video_build
    dd = load_from_disk(str(out / "dataset"))
    rows = {r["id"]: r for s in dd for r in dd[s]}
    v = rows[ids[0]]
    assert v["description_source"] == "video"
    assert v["description"].strip()
    assert v["video_offset_s"] == pytest.approx(OFFSET_S, abs=0.06)
    assert 1 <= len(v["shots"]) <= 3 and len(v["shot_captions"]) == len(v["shots"])
    assert all(-0.1 <= s <= e <= CLIP_S + 0.1 for s, e in v["shots"])  # clip time
    assert "tiny_vl" in v["description_model"]
    for other in ids[1:]:
        assert rows[other]["description_source"] == "metadata"
        assert rows[other]["shots"] == [] and rows[other]["video_offset_s"] is None
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["degraded"]["video_fallback_metadata"] == 2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sum(s["description_sources"].get("video", 0) for s in manifest["splits"].values()) == 1


def test_no_fallback_skips_with_reason(video_build, tmp_path, capsys):
    out, ids = video_build
    cfg = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["config"]
    root = cfg["root"]
    argv = build_argv(
        root, tmp_path / "strict", "--description.source", "video", "--description.fallback_to_metadata", "false",
        "--description.video.captioner", cfg["description"]["video"]["captioner"],
    )
    # no videos at all: every row skipped -> no dataset is published, and the error says why
    assert data_main(["build", *argv]) == 2
    assert "no_video" in capsys.readouterr().err
    assert not (tmp_path / "strict" / "manifest.json").exists()
    shard_reports = list((tmp_path / "strict" / "shards").glob("shard-*/report.json"))
    assert len(shard_reports) == 1
    assert json.loads(shard_reports[0].read_text(encoding="utf-8"))["clips"]["skipped"] == {"no_video": 3}
