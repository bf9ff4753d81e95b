"""``mv2desc mv generate``: the whole pipeline with the procedural renderer on short synthetic songs.

Outputs (mv.mp4 length/audio/fps, scores, storyboard, timeline), the clip cache (resume, --redo, an
edited description), the cut density, the renderer's motion stops, and one-line errors for bad input.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from infer.__main__ import main as mv_main
from mv2desc.media.audio import write_audio
from mv2desc.synth import SongSpec, render

SR = 22050
SMALL = ["--video.width", "160", "--video.height", "96", "--video.fps", "12", "--sync.render.fps", "12", "--workers", "1"]


def _song(path: Path, parts: list[tuple[float, float]], tempo: float = 120.0) -> Path:
    """A song of (energy, seconds) parts at ``tempo``."""
    y = np.concatenate([render(SongSpec(tempo_bpm=tempo, energy=e, duration_s=d, seed=k), SR) for k, (e, d) in enumerate(parts)])
    return write_audio(path, y, SR)


def _generate(song: Path, out: Path, *extra: str) -> int:
    return mv_main(["generate", str(song), "--out", str(out), *SMALL, *extra])


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("mvgen")
    song = _song(root / "song.wav", [(0.25, 8.0), (0.9, 8.0)])
    out = root / "mv"
    assert _generate(song, out, "--theme", "red neon city at night") == 0
    return {"root": root, "song": song, "out": out, "report": _report(out)}


def test_outputs_and_scores(run):
    out, report = run["out"], run["report"]
    for name in ("mv.mp4", "report.json", "storyboard.html", "timeline.otio", "segments.json"):
        assert (out / name).is_file(), name
    with av.open(str(out / "mv.mp4")) as c:
        v = c.streams.video[0]
        assert c.streams.audio, "the song is muxed in"
        assert float(v.average_rate) == pytest.approx(12.0)
        n = v.frames or sum(1 for _ in c.decode(v))
    assert abs(n / 12.0 - 16.0) <= 1 / 12.0 + 1e-6  # the song's length, +- one frame
    s = report["scores"]
    for k in ("bas_visual", "bas_music", "bhs", "palette_consistency"):
        assert s[k] is not None and 0.0 <= s[k] <= 1.0, k
    assert s["bcs"] >= 0 and s["clipsim"] is None
    assert report["describer"] == "metadata" and any("metadata-style" in n for n in report["notes"])
    sheet = report["style_sheet"]
    assert sheet["palette"][0] == [214, 40, 57]  # "red" from the theme first
    assert len(sheet["characters"]) == 2 and all(sheet["prompt_prefix"] in seg["prompt"] for seg in report["segments"])
    assert report["render"] == report["render"] | {"rendered": len(report["segments"]), "cached": 0}


def test_storyboard_is_self_contained(run):
    page = (run["out"] / "storyboard.html").read_text()
    assert "<svg" in page and "data:image/jpeg;base64," in page and "<style>" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert page.count('class="box card"') == len(run["report"]["segments"])


def test_timeline_reads_back(run):
    """Each video clip of the timeline is its segment's material, placed on the segment's span, and every
    media reference is relative to the timeline's folder and points at the file it names."""
    import opentimelineio as otio

    out, report = run["out"], run["report"]
    tl = otio.adapters.read_from_file(str(out / "timeline.otio"))
    video = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Video][0]
    audio = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio][0]
    clips = list(video.find_clips())
    segs = report["segments"]
    assert len(clips) == len(segs) and len(list(audio.find_clips())) == 1
    for clip, seg in zip(clips, segs):
        url = clip.media_reference.target_url
        assert not url.startswith(("/", "file:")), url
        assert (out / url).resolve() == Path(seg["material"]).resolve()
        placed = video.range_of_child(clip)
        assert placed.start_time.to_seconds() == pytest.approx(seg["start_s"], abs=0.5 / 12 + 1e-6)
        assert placed.end_time_exclusive().to_seconds() == pytest.approx(seg["end_s"], abs=0.5 / 12 + 1e-6)
    song_url = list(audio.find_clips())[0].media_reference.target_url
    assert (out / song_url).resolve() == run["song"].resolve()
    names = {m.name for m in audio.markers}
    assert {"beat", "downbeat"} <= names
    assert len(video.markers) == len(segs)
    assert video.duration().to_seconds() == pytest.approx(16.0, abs=0.1)


@pytest.mark.slow  # several generate runs
def test_cache_resume_redo_and_edit(run):
    out, song, n = run["out"], run["song"], len(run["report"]["segments"])
    assert n >= 2
    assert _generate(song, out, "--theme", "red neon city at night") == 0
    assert _report(out)["render"] | {} == _report(out)["render"] | {"rendered": 0, "cached": n}  # resumed from the cache
    assert _generate(song, out, "--theme", "red neon city at night", "--redo", "1") == 0
    r = _report(out)
    assert (r["render"]["rendered"], r["render"]["cached"]) == (1, n - 1)
    assert [s["cached"] for s in r["segments"]] == [k != 1 for k in range(n)]
    seg_file = out / "segments.json"
    data = json.loads(seg_file.read_text())
    data["segments"][0]["description"] = "A calm blue ocean at dawn, slow waves."
    seg_file.write_text(json.dumps(data))
    assert _generate(song, out, "--theme", "red neon city at night") == 0
    r = _report(out)
    assert r["render"]["rendered"] == 1 and r["segments"][0]["edited"] and not r["segments"][0]["cached"]
    assert "calm blue ocean" in r["segments"][0]["prompt"]


@pytest.mark.slow  # several generate runs
def test_two_render_workers_make_the_same_clips(run, tmp_path):
    """``--devices 2``: clips rendered in two worker processes are the same clips (same cache keys, same
    decoded frames) as rendered in this process."""
    from mv2desc.media.video import iter_frames

    out = tmp_path / "mv2"
    assert _generate(run["song"], out, "--theme", "red neon city at night", "--devices", "2") == 0
    r = _report(out)
    assert r["render"]["devices"] == 2 and r["render"]["rendered"] == len(r["segments"])
    first = {s["index"]: s for s in run["report"]["segments"]}
    for seg in r["segments"]:
        if seg["edited"] or first[seg["index"]]["edited"]:
            continue
        assert seg["cache_key"] == first[seg["index"]]["cache_key"]
        a, b = (np.stack(list(iter_frames(p))).astype(np.int16) for p in (seg["clip"], first[seg["index"]]["clip"]))
        psnr = 10 * np.log10(255.0**2 / max(float(np.mean((a - b) ** 2)), 1e-9))
        assert a.shape == b.shape and psnr > 35.0, psnr  # the same frames, up to H.264 encoding (x264 threads vary)


def test_short_song_gives_a_short_video(tmp_path):
    song = _song(tmp_path / "short.wav", [(0.6, 3.0)])
    assert _generate(song, tmp_path / "mv") == 0
    r = _report(tmp_path / "mv")
    assert len(r["segments"]) == 1 and abs(r["sync"]["output"]["duration_s"] - 3.0) <= 1 / 12 + 1e-6


def test_bad_inputs_are_one_line(tmp_path, capsys):
    good = _song(tmp_path / "s.wav", [(0.5, 3.0)])
    (tmp_path / "noise.mp3").write_text("not audio")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "holiday.jpg").write_bytes(b"x")
    (tmp_path / "file.txt").write_text("x")
    cases = [
        ([str(tmp_path / "missing.mp3"), "--out", str(tmp_path / "a")], "missing_audio"),
        ([str(tmp_path / "noise.mp3"), "--out", str(tmp_path / "b")], "corrupt_audio"),
        ([str(good), "--out", str(tmp_path / "theirs")], "not made by"),
        ([str(good), "--out", str(tmp_path / "file.txt")], "is a file"),
        ([str(good), "--out", str(tmp_path / "file.txt" / "sub")], "cannot write"),
        ([str(good), "--out", str(tmp_path / "c"), "--renderer", "procedurl"], "renderer"),
        ([str(good), "--out", str(tmp_path / "d"), "--vidoe.fps", "3"], "did you mean --video.fps"),
    ]
    for argv, needle in cases:
        assert mv_main(["generate", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and needle in err and "\n" not in err, (argv, err)
    assert (tmp_path / "theirs" / "holiday.jpg").read_bytes() == b"x"  # never touched
    assert not (tmp_path / "a").exists()


def test_cut_density_follows_the_music():
    from mv2desc.beats import MusicBeats
    from mv2desc.describe.segments import SegmentConfig, segment_song

    y = np.concatenate([render(SongSpec(tempo_bpm=120, energy=0.1, duration_s=32, seed=0), SR),
                        render(SongSpec(tempo_bpm=120, energy=1.0, duration_s=32, seed=1), SR)])
    beats = np.arange(0.0, 64.0, 0.5)
    music = MusicBeats(120.0, beats, beats[::4], "librosa", 64.0)
    cfg = SegmentConfig(single_max_s=6, target_bars=4, min_bars=2, max_bars=8, max_s=20, follow_music=1.0)
    segs = segment_song(64.0, music, cfg, audio=(y, SR))
    assert segs[0].start_s == 0 and segs[-1].end_s == 64.0
    assert all(2 <= s.bars <= 8 for s in segs) and all(np.isclose(s.start_s % 2.0, 0) for s in segs)
    sparse = [s for s in segs if s.end_s <= 32.0]
    dense = [s for s in segs if s.start_s >= 32.0]
    assert len(dense) > len(sparse)  # more cuts where the music is denser
    assert any(np.isclose(s.start_s, 32.0) for s in segs)  # the section boundary is a cut
    fixed = segment_song(64.0, music, SegmentConfig(single_max_s=6, target_bars=4, min_bars=2, max_bars=8, max_s=20))
    assert {s.bars for s in fixed[:-1]} == {4}  # without audio: the fixed target, as before


def test_procedural_motion_stops_on_beats(tmp_path):
    from mv2desc.media.video import write_video
    from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest
    from mv2desc.mvgen.renderers.procedural import ProceduralRenderer
    from mv2desc.sync.visual_beats import visual_beats_of_file

    r = ProceduralRenderer()
    assert isinstance(r, ClipRenderer) and not r.needs_keyframe
    beats = tuple(np.arange(0.5, 6.0, 0.5))
    req = ClipRequest(index=0, prompt="p", description="a calm blue ocean at dawn", duration_s=6.0, fps=24, width=192,
                      height=112, seed=3, energy=0.6, beats_s=beats, onsets_s=beats, palette=((20, 20, 30), (200, 100, 50)))
    frames = r.render(req)
    assert frames.shape == (144, 112, 192, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames, r.render(req))  # deterministic
    assert np.array_equal(np.stack(list(r.frames(req))), frames)  # the stream the pipeline encodes: the same frames
    vb = visual_beats_of_file(write_video(tmp_path / "c.mp4", frames, 24), None)
    stops = np.array(beats[::2])  # "calm": a stop every second beat
    assert len(vb.times_s) >= 0.8 * len(stops)
    assert np.all(np.min(np.abs(vb.times_s[:, None] - stops[None, :]), axis=1) <= 1 / 24 + 1e-6)


def test_palette_consistency_range():
    from mv2desc.mvgen.scores import palette_consistency

    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    blue = np.zeros((8, 8, 3), np.uint8)
    blue[..., 2] = 200
    assert palette_consistency([[red], [red]]) == pytest.approx(1.0)
    assert palette_consistency([[red], [blue]]) == pytest.approx(0.0)
    assert palette_consistency([[red]]) == 1.0


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium on this machine")
def test_storyboard_screenshot(run, tmp_path):
    from conftest import REPO

    png = tmp_path / "storyboard.png"
    subprocess.run(["bash", str(REPO / "scripts/screenshot_storyboard.sh"), str(run["out"] / "storyboard.html"), str(png)],
                   check=True, timeout=120, capture_output=True)
    assert png.stat().st_size > 10_000


def test_a_downbeat_next_to_the_start_makes_no_sliver_segment():
    """A downbeat 10 ms into the song (the tracker's first beat) is not a cut: no segment shorter than a
    quarter bar (it would be empty on a video's frame grid)."""
    from mv2desc.beats import MusicBeats
    from mv2desc.describe.segments import SegmentConfig, segment_song

    beats = np.arange(0.01, 8.0, 0.5)
    music = MusicBeats(120.0, beats, beats[::4], "librosa", 8.0)
    segs = segment_song(8.0, music, SegmentConfig(single_max_s=6, target_bars=1, min_bars=1, max_bars=2))
    assert segs[0].start_s == 0.0 and segs[-1].end_s == 8.0
    assert min(s.duration_s for s in segs) >= 0.5 and len(segs) >= 3, segs


def test_a_streamed_clip_is_cached_with_its_frame_count_and_frames(tmp_path):
    """clip_frames hands the pipeline the procedural renderer's stream (one frame at a time) and a
    render-only renderer's array; the cache stores either with the right count, frame for frame."""
    from mv2desc.media.video import read_frames
    from mv2desc.mvgen.cache import ClipCache
    from mv2desc.mvgen.renderers.base import ClipRequest, clip_frames
    from mv2desc.mvgen.renderers.procedural import ProceduralRenderer

    req = ClipRequest(index=1, prompt="p", description="red squares in a storm", duration_s=1.5, fps=12, width=96,
                      height=64, seed=5, energy=0.8, beats_s=(0.5, 1.0), onsets_s=(0.5,), palette=((200, 30, 30),))
    r = ProceduralRenderer()
    stream = clip_frames(r, req)
    assert not isinstance(stream, np.ndarray)

    class ArrayOnly:
        name, needs_keyframe = "array-only", False

        def identity(self) -> dict:
            return {}

        def render(self, request):
            return r.render(request)

    assert isinstance(clip_frames(ArrayOnly(), req), np.ndarray)
    cache = ClipCache(tmp_path / "cache", preset="ultrafast")
    for key, frames in (("streamed", stream), ("array", clip_frames(ArrayOnly(), req))):
        path = cache.store_clip(key, frames, 12.0, crf=0)
        assert cache.has_clip(key)
        assert json.loads(cache.seal_path(key).read_text())["frames"] == 18
        decoded = read_frames(path)
        assert decoded.shape == (18, 64, 96, 3)
        assert np.abs(decoded.astype(int) - r.render(req).astype(int)).mean() < 3.0  # crf 0: the frames drawn
