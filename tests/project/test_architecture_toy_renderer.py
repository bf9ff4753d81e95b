"""docs/ARCHITECTURE.md "Add a renderer", followed step by step: a toy renderer (solid frames whose
colour encodes the segment index) is written, registered with one call, selected with ``--renderer toy``
on ``mv2desc mv generate``, and every frame of the written ``mv.mp4`` is compared with the colour of the
segment it lies in. A rerun renders nothing (the renderer's ``identity()`` is part of the cache key)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mv2desc.media.audio import write_audio
from mv2desc.mvgen.renderers.base import ClipRequest
from mv2desc.synth import SongSpec, render

FPS = 8
SMALL = ["--video.width", "64", "--video.height", "48", "--video.fps", str(FPS), "--sync.render.fps", str(FPS), "--workers", "1",
         "--segments.target_bars", "2", "--segments.min_bars", "2", "--segments.max_bars", "3"]
# one colour per segment index, far apart in RGB
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (230, 220, 30), (200, 40, 210), (30, 210, 220), (250, 140, 20),
           (120, 120, 120), (255, 255, 255), (90, 30, 10)]


# -- step 1: a class with the ClipRenderer interface (mv2desc/mvgen/renderers/base.py) ------------------
class ToyRenderer:
    """Solid frames in the segment's colour: ``COLOURS[index]``, one frame per ``1 / fps`` of the segment."""

    name = "toy"
    needs_keyframe = False  # draws its own frames: the pipeline makes no SDXL keyframe

    def __init__(self, version: int = 1) -> None:
        self.version = version

    def identity(self) -> dict:
        return {"renderer": self.name, "version": self.version}  # everything that changes the frames

    def render(self, request: ClipRequest) -> np.ndarray:
        n = max(1, round(request.duration_s * request.fps))
        frames = np.empty((n, request.height, request.width, 3), np.uint8)
        frames[:] = COLOURS[request.index % len(COLOURS)]
        return frames


# -- step 2: one registration ---------------------------------------------------------------------------
@pytest.fixture
def toy():
    from mv2desc.mvgen.renderers import register_renderer, renderer_names, unregister_renderer

    register_renderer("toy", lambda cfg: ToyRenderer())
    assert "toy" in renderer_names()
    yield
    unregister_renderer("toy")  # other tests see the built-in names only


def _song(path: Path, seconds: float = 12.0) -> Path:
    y = render(SongSpec(tempo_bpm=120, energy=0.7, duration_s=seconds, seed=3), 22050)
    return write_audio(path, y, 22050)


def _frames(path: Path) -> np.ndarray:
    from mv2desc.media.video import iter_frames

    return np.stack(list(iter_frames(path)))


# -- step 3: --renderer toy ---------------------------------------------------------------------------
def test_a_registered_toy_renderer_makes_the_video_and_each_segment_shows_its_colour(toy, tmp_path, capsys):
    from mv2desc.cli import main

    song, out = _song(tmp_path / "song.wav"), tmp_path / "mv"
    assert main(["mv", "generate", str(song), "--out", str(out), "--renderer", "toy", *SMALL]) == 0
    summary = json.loads(capsys.readouterr().out)
    report = json.loads((out / "report.json").read_text())
    assert report["renderer"] == {"name": "toy", "identity": {"renderer": "toy", "version": 1}, "needs_keyframe": False}
    assert report["config"]["renderer"] == "toy"
    segs = report["segments"]
    assert len(segs) >= 3 and summary["render"]["rendered"] == len(segs) == summary["segments"]
    assert not list((out / "cache").rglob("*.png"))  # no keyframe was made

    frames = _frames(out / "mv.mp4")
    assert abs(len(frames) / FPS - 12.0) <= 1 / FPS + 1e-6  # the whole song
    checked = 0
    for s in segs:
        want = np.array(COLOURS[s["index"] % len(COLOURS)], float)
        for i in range(len(frames)):
            t = (i + 0.5) / FPS  # the frame's middle; a frame beside a cut may blend two clips
            if s["out_start_s"] + 1 / FPS <= t <= s["out_end_s"] - 1 / FPS:
                got = np.median(frames[i].reshape(-1, 3), axis=0)
                assert np.abs(got - want).max() < 40, (s["index"], i, got, want)
                checked += 1
        # the segment's span in mv.mp4 is its span in the song
        assert s["out_start_s"] == pytest.approx(s["start_s"], abs=0.5 / FPS + 1e-6)
        assert s["out_end_s"] == pytest.approx(s["end_s"], abs=0.5 / FPS + 1e-6)
    assert checked >= 0.7 * len(frames)

    # the clip cache keys on identity(): the same command again renders nothing
    assert main(["mv", "generate", str(song), "--out", str(out), "--renderer", "toy", *SMALL]) == 0
    again = json.loads((out / "report.json").read_text())
    assert again["render"]["rendered"] == 0 and again["render"]["cached"] == len(segs)


# -- the registry's rules ---------------------------------------------------------------------------------
def test_registry_names_and_errors(toy):
    from mv2desc.mvgen.config import GenerateConfig
    from mv2desc.mvgen.renderers import build_renderer, register_renderer, renderer_names, unregister_renderer

    assert renderer_names()[:3] == ("procedural", "svd", "wan")
    cfg = GenerateConfig(renderer="toy")
    assert isinstance(build_renderer(cfg), ToyRenderer)
    assert cfg.diffusion_configs()[1] is None  # no svd/wan options for it (it reads GenerateConfig itself)
    with pytest.raises(ValueError, match=r"renderer must be one of procedural, svd, wan, toy; got 'tyo' \(did you mean 'toy'\?\)"):
        GenerateConfig(renderer="tyo")
    with pytest.raises(ValueError, match="already registered"):
        register_renderer("toy", lambda cfg: ToyRenderer())
    register_renderer("toy", lambda cfg: ToyRenderer(version=2), replace=True)
    assert build_renderer(cfg).identity()["version"] == 2
    with pytest.raises(ValueError, match="built in"):
        register_renderer("procedural", lambda cfg: ToyRenderer(), replace=True)
    with pytest.raises(ValueError, match="built in"):
        unregister_renderer("svd")
    register_renderer("not-a-renderer", lambda cfg: object())
    try:
        with pytest.raises(TypeError, match="lacks the ClipRenderer interface"):
            build_renderer(GenerateConfig(renderer="not-a-renderer"))
    finally:
        unregister_renderer("not-a-renderer")


def test_unknown_renderer_is_one_line_on_the_command_line(tmp_path, capsys):
    from mv2desc.cli import main

    song = _song(tmp_path / "song.wav", 4.0)
    assert main(["mv", "generate", str(song), "--out", str(tmp_path / "mv"), "--renderer", "toy"]) == 2  # not registered here
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "renderer must be one of procedural, svd, wan; got 'toy'" in err and "\n" not in err
    assert not (tmp_path / "mv").exists()


def test_registering_and_building_a_renderer_loads_no_torch_or_diffusers():
    code = ("import sys\n"
            "from mv2desc.mvgen.config import GenerateConfig\n"
            "from mv2desc.mvgen.renderers import build_renderer, register_renderer\n"
            "class R:\n    name = 'r'\n    needs_keyframe = False\n"
            "    def identity(self): return {}\n    def render(self, request): return None\n"
            "register_renderer('r', lambda cfg: R())\n"
            "build_renderer(GenerateConfig(renderer='r'))\n"
            "build_renderer(GenerateConfig())\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
