"""``mv2desc mv generate``'s outputs compared with what they were made from.

The principle of this module: an output is checked against its input, not its shape. Which clip shows
on which segment (each segment's clip is colour-coded), which text a rerun keeps, where a user's edit
goes when the cut changes, which texts CLIPSIM scored, which GPU a worker rendered on, and that a run
that fails late leaves the previous run's outputs as they were.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from infer.__main__ import main as mv_main
from mv2desc.media.audio import write_audio
from mv2desc.synth import SongSpec, render

SR = 22050
FPS = 8
SMALL = ["--video.width", "64", "--video.height", "48", "--video.fps", str(FPS), "--sync.render.fps", str(FPS), "--workers", "1",
         "--segments.target_bars", "2", "--segments.min_bars", "2", "--segments.max_bars", "3"]
# one colour per segment, far apart in RGB
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (230, 220, 30), (200, 40, 210), (30, 210, 220), (250, 140, 20),
           (120, 120, 120), (255, 255, 255), (90, 30, 10)]


class FixedLengthRenderer:
    """Like SVD/Wan: a clip of a fixed number of frames whatever the segment's length (short for even
    segments, long for odd ones), filled with the segment's colour, a dark square moving across it."""

    name = "fixed"
    needs_keyframe = False

    def __init__(self, short: int = 10, long: int = 70) -> None:
        self.short, self.long = short, long

    def identity(self) -> dict:
        return {"name": self.name, "fps": FPS, "short": self.short, "long": self.long}

    def render(self, request) -> np.ndarray:
        n = self.short if request.index % 2 == 0 else self.long
        frames = np.empty((n, request.height, request.width, 3), np.uint8)
        frames[:] = COLOURS[request.index % len(COLOURS)]
        for t in range(n):  # a small dark square moving right and stopping every 4 frames
            x = 4 + 3 * (t - t % 4) % (request.width - 12)
            frames[t, 10:18, x : x + 8] = 10
        return frames


def _song(path: Path, seconds: float = 12.0) -> Path:
    y = render(SongSpec(tempo_bpm=120, energy=0.7, duration_s=seconds, seed=3), SR)
    return write_audio(path, y, SR)


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def _frames(path: Path) -> np.ndarray:
    from mv2desc.media.video import iter_frames

    return np.stack(list(iter_frames(path)))


@pytest.fixture
def fixed_renderer(monkeypatch):
    import mv2desc.mvgen.pipeline as pipeline

    monkeypatch.setattr(pipeline, "build_renderer", lambda cfg: FixedLengthRenderer())


def test_each_segment_shows_its_own_clip_whatever_the_clip_length(fixed_renderer, tmp_path):
    """Item 1: clips of fixed length (shorter and longer than their segments): every output frame inside
    segment k shows colour k, and the report's spans are the segments' spans."""
    song = _song(tmp_path / "song.wav")
    out = tmp_path / "mv"
    assert mv_main(["generate", str(song), "--out", str(out), *SMALL]) == 0
    report = _report(out)
    segs = report["segments"]
    assert len(segs) >= 3
    frames = _frames(out / "mv.mp4")
    assert abs(len(frames) / FPS - 12.0) <= 1 / FPS + 1e-6
    checked = 0
    for s in segs:
        assert s["out_start_s"] == pytest.approx(s["start_s"], abs=0.5 / FPS + 1e-6)
        assert s["out_end_s"] == pytest.approx(s["end_s"], abs=0.5 / FPS + 1e-6)
        want = np.array(COLOURS[s["index"] % len(COLOURS)], float)
        for i in range(len(frames)):
            t = (i + 0.5) / FPS  # the frame's middle
            if s["start_s"] + 1 / FPS <= t <= s["end_s"] - 1 / FPS:
                got = np.median(frames[i].reshape(-1, 3), axis=0)
                assert np.abs(got - want).max() < 40, (s["index"], i, got, want)
                checked += 1
    assert checked >= 0.8 * len(frames)
    short = [s for s in segs if s["index"] % 2 == 0 and s["end_s"] - s["start_s"] > 10 / FPS * 1.25]
    assert short and all(s["fill"] and s["fill"]["mode"] == "pingpong" for s in short)  # filled from its own clip
    assert all(s["fill"] is None for s in segs if s["index"] % 2 == 1)  # a long clip is cut, not filled
    assert "reuse" not in report["sync"]


def test_fill_patterns():
    from mv2desc.sync.fill import extend_frames, fill_indices

    assert fill_indices(4, 10, "pingpong").tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert fill_indices(3, 7, "loop").tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert fill_indices(1, 3, "pingpong").tolist() == [0, 0, 0]
    frames = np.arange(3)[:, None, None, None] * np.ones((3, 2, 2, 3), np.uint8)
    assert extend_frames(frames, 5, "pingpong")[:, 0, 0, 0].tolist() == [0, 1, 2, 1, 0]
    with pytest.raises(ValueError, match="fill mode"):
        fill_indices(3, 5, "bounce")


def test_span_layout_pins_clips_and_refuses_a_clip_too_short():
    from mv2desc.sync.config import MatchConfig
    from mv2desc.sync.plan import layout_spans

    cfg = MatchConfig()
    lay = layout_spans([10.0, 2.0], [(0.0, 4.0), (4.0, 7.0)], cfg, fps=8)
    assert [(s.out_start, s.out_end) for s in lay.segments] == [(0.0, 4.0), (4.0, 7.0)]
    assert lay.segments[0].src_end == 4.0 and lay.segments[1].src_end == 2.0  # cut at natural speed / stretched 1.5x
    with pytest.raises(ValueError, match="too short"):
        layout_spans([1.0], [(0.0, 4.0)], cfg)


@pytest.mark.slow  # several generate runs
def test_a_rerun_regenerates_every_description_that_was_not_edited(tmp_path):
    """Item 2: another --seed gives the new seed's text for every segment, and none is taken for an edit."""
    song = _song(tmp_path / "song.wav", 16.0)
    out = tmp_path / "mv"
    argv = ["generate", str(song), "--out", str(out), *SMALL]
    assert mv_main([*argv, "--seed", "0"]) == 0
    first = _report(out)["segments"]
    assert mv_main([*argv, "--seed", "5"]) == 0
    second = _report(out)["segments"]
    saved = json.loads((out / "segments.json").read_text())["segments"]
    assert not any(s["edited"] for s in second)
    assert [s["description"] for s in second] == [s["generated_description"] for s in saved]
    assert [s["description"] for s in second] != [s["description"] for s in first]  # the seed's own phrasing


def _edit(out: Path, index: int, text: str) -> dict:
    data = json.loads((out / "segments.json").read_text())
    data["segments"][index]["description"] = text
    (out / "segments.json").write_text(json.dumps(data, indent=2))
    return data["segments"][index]


@pytest.mark.slow  # several generate runs
def test_an_edit_follows_a_new_cut_and_nothing_is_lost(tmp_path):
    """Item 3: a different cut carries each edit to the segment overlapping it most; one that cannot be
    carried is kept in segments.rejected.json."""
    song = _song(tmp_path / "song.wav", 16.0)
    out = tmp_path / "mv"
    base = ["generate", str(song), "--out", str(out), *SMALL]
    assert mv_main(base) == 0
    old = _edit(out, 1, "A lighthouse keeper climbs the spiral stairs.")
    assert mv_main([*base, "--segments.target_bars", "4", "--segments.max_bars", "4", "--segments.min_bars", "4"]) == 0
    report = _report(out)
    segs = report["segments"]
    overlap = [max(0.0, min(old["end_s"], s["end_s"]) - max(old["start_s"], s["start_s"])) for s in segs]
    target = segs[int(np.argmax(overlap))]  # the first of the most-overlapping segments
    assert (target["start_s"], target["end_s"]) != (old["start_s"], old["end_s"])  # the cut did change
    assert target["edited"] and target["description"] == old["description"]
    assert [s["index"] for s in segs if s["edited"]] == [target["index"]]
    assert report["edits"] == [{"from": {"index": 1, "start_s": old["start_s"], "end_s": old["end_s"]}, "to": target["index"],
                                "overlap_s": pytest.approx(max(overlap), abs=1e-3), "moved": True}]
    # two edits on one new segment: the one overlapping it more wins, the other is kept aside
    data = json.loads((out / "segments.json").read_text())
    data["segments"][0]["description"] = "EDIT A"
    data["segments"][0]["start_s"], data["segments"][0]["end_s"] = 0.0, 8.0
    data["segments"][1]["description"] = "EDIT B"
    data["segments"][1]["start_s"], data["segments"][1]["end_s"] = 0.0, 1.0
    (out / "segments.json").write_text(json.dumps(data))
    assert mv_main(base) == 0
    rejected = json.loads((out / "segments.rejected.json").read_text())["entries"]
    assert [e["description"] for e in rejected] == ["EDIT B"] and "overlaps it more" in rejected[0]["reason"]
    assert any(s["description"] == "EDIT A" for s in _report(out)["segments"])


def test_a_malformed_segments_file_is_one_line_and_left_alone(tmp_path, capsys):
    song = _song(tmp_path / "song.wav", 8.0)
    out = tmp_path / "mv"
    assert mv_main(["generate", str(song), "--out", str(out), *SMALL]) == 0
    text = (out / "segments.json").read_text().replace('"description": "', '"description": "oops', 1).replace(",\n", "\n", 1)
    (out / "segments.json").write_text(text)
    capsys.readouterr()
    assert mv_main(["generate", str(song), "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "segments.json:" in err and "not valid JSON" in err, err
    line, col = err.split("segments.json:")[1].split(":")[:2]
    assert line.isdigit() and col.isdigit()
    assert (out / "segments.json").read_text() == text


def test_edits_of_another_song_are_kept_aside(tmp_path):
    a, b = _song(tmp_path / "a.wav", 8.0), _song(tmp_path / "b.wav", 9.0)
    out = tmp_path / "mv"
    assert mv_main(["generate", str(a), "--out", str(out), *SMALL]) == 0
    _edit(out, 0, "My precious hand-written shot.")
    assert mv_main(["generate", str(b), "--out", str(out), *SMALL]) == 0
    kept = json.loads((out / "segments.rejected.json").read_text())["entries"]
    assert kept[0]["description"] == "My precious hand-written shot." and "another song" in kept[0]["reason"]


@pytest.mark.slow  # several generate runs
def test_a_late_failure_leaves_the_previous_outputs_whole(tmp_path, monkeypatch, capsys):
    """Item 4: a run that fails after assembly publishes nothing; a bad clip model fails before rendering."""
    import mv2desc.mvgen.storyboard as storyboard

    song = _song(tmp_path / "song.wav", 8.0)
    out = tmp_path / "mv"
    argv = ["generate", str(song), "--out", str(out), *SMALL]
    assert mv_main(argv) == 0
    names = ("mv.mp4", "report.json", "storyboard.html", "timeline.otio")
    before = {n: (out / n).read_bytes() for n in names}

    def boom(**_):
        raise RuntimeError("late failure")

    monkeypatch.setattr(storyboard, "render_storyboard", boom)
    with pytest.raises(RuntimeError, match="late failure"):
        mv_main([*argv, "--seed", "3"])
    assert {n: (out / n).read_bytes() for n in names} == before
    assert not list(out.glob(".staging-*"))
    monkeypatch.undo()
    clips = sorted((out / "cache" / "clips").glob("*.mp4"))
    assert mv_main([*argv, "--seed", "4", "--scores.clip_model", str(tmp_path / "no-clip")]) == 2
    assert "clip_model" in capsys.readouterr().err
    assert sorted((out / "cache" / "clips").glob("*.mp4")) == clips  # nothing rendered


def test_a_killed_runs_staging_folder_is_removed(tmp_path):
    from mv2desc.mvgen.outdir import MARKER, prepare_out_dir

    out = tmp_path / "mv"
    out.mkdir()
    (out / MARKER).write_text("{}")
    dead = out / ".staging-999999999-abc"
    dead.mkdir()
    (dead / "mv.mp4").write_bytes(b"half")
    live = out / f".staging-{os.getpid()}-xyz"
    live.mkdir()
    prepare_out_dir(out)
    assert not dead.exists() and live.exists()


def _tiny_clip(root: Path) -> Path:
    from diffusion_fixtures import clip_tokenizer
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    cfg = CLIPConfig(text_config={"vocab_size": 1000, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "max_position_embeddings": 77},
                     vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
                                    "image_size": 32, "patch_size": 8}, projection_dim=16)
    CLIPModel(cfg).save_pretrained(root)
    proc = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
                         tokenizer=clip_tokenizer())
    proc.save_pretrained(root)
    return root


@pytest.mark.slow  # several generate runs
def test_clipsim_scores_each_segment_against_its_own_shot(tmp_path):
    """Item 5: the text each segment is scored against is its own shot (a word prefix that fits 77 CLIP
    tokens), not the style sheet's truncated prefix."""
    from transformers import AutoProcessor

    from mv2desc.mvgen.style import StyleSheet

    model = _tiny_clip(tmp_path / "clip")
    song = _song(tmp_path / "song.wav", 12.0)
    out = tmp_path / "mv"
    argv = ["generate", str(song), "--out", str(out), *SMALL, "--scores.clip_model", str(model), "--scores.device", "cpu"]
    assert mv_main(argv) == 0
    shots = ["a red car", "a green boat drifting on a lake", "a blue kite over the dunes"]
    for k, shot in enumerate(shots[: len(_report(out)["segments"])]):
        _edit(out, k, shot)
    assert mv_main(argv) == 0
    report = _report(out)
    tok = AutoProcessor.from_pretrained(model).tokenizer
    texts = [s["clip_text"] for s in report["segments"]]
    for s, text in zip(report["segments"], texts):
        shot = StyleSheet.shot(s["description"])
        assert shot.startswith(text) and text and len(tok(text)["input_ids"]) <= 77
        assert s["clipsim"] is not None
    assert texts[: len(shots)] == shots[: len(texts)]  # short shots are scored whole
    assert len(set(texts)) == len(texts)
    assert report["scores"]["clipsim"] == pytest.approx(np.mean([s["clipsim"] for s in report["segments"]]), abs=1e-3)
    assert report["scores"]["clipsim_style"] is not None


class EnvColourRenderer:
    """Paints each frame with the GPU id its worker process sees (CUDA_VISIBLE_DEVICES) times 40."""

    name = "env"
    needs_keyframe = False

    def identity(self) -> dict:
        return {"name": self.name}

    def render(self, request) -> np.ndarray:
        value = int(os.environ.get("CUDA_VISIBLE_DEVICES", "0")) * 40
        return np.full((2, request.height, request.width, 3), value, np.uint8)


def test_render_workers_use_the_visible_gpus_in_order(tmp_path, monkeypatch):
    """Item 7: with CUDA_VISIBLE_DEVICES=4,5 worker k renders on the k-th visible GPU; too many devices or
    none at all is a one-line error."""
    import torch

    from mv2desc.errors import UserError
    from mv2desc.mvgen.cache import ClipCache
    from mv2desc.mvgen.render_pool import ClipJob, gpu_ids, render_clips
    from mv2desc.mvgen.renderers.base import ClipRequest

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert gpu_ids(2) == ["4", "5"]
    with pytest.raises(UserError, match=r"--devices 3: only 2 GPU\(s\) visible \(CUDA_VISIBLE_DEVICES=4,5\)"):
        gpu_ids(3)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(UserError, match="sees no GPU"):
        gpu_ids(2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert gpu_ids(2) == ["0", "1"]

    cache = ClipCache(tmp_path / "cache")
    jobs = [ClipJob(f"k{i}", ClipRequest(index=i, prompt="p", description="d", duration_s=1.0, fps=4, width=16, height=16, seed=i))
            for i in range(6)]
    render_clips(jobs, EnvColourRenderer, cache, fps=4, crf=0, devices=2, gpus=["4", "5"])
    seen = {int(round(float(_frames(cache.clip_path(j.key)).mean()) / 40)) for j in jobs}
    assert seen <= {4, 5} and seen


def test_devices_without_a_gpu_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    song = _song(tmp_path / "song.wav", 4.0)
    code = mv_main(["generate", str(song), "--out", str(tmp_path / "mv"), "--renderer", "svd", "--devices", "2"])
    assert code == 2 and "sees no GPU" in capsys.readouterr().err
    assert not (tmp_path / "mv").exists()
