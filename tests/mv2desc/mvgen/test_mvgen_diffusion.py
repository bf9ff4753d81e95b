"""Diffusion keyframes and clip renderers on tiny random pipelines loaded from folders (the real
``from_pretrained`` path): shapes and dtypes through the interfaces, chaining, energy -> motion,
identities, last frames, LoRA, and the errors a user sees."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mv2desc.errors import UserError
from mv2desc.mvgen.diffusion.keyframes import SDXLKeyframeConfig, SDXLKeyframes
from mv2desc.mvgen.diffusion.registry import RENDERER_CONFIGS, build_keyframes, build_renderer
from mv2desc.mvgen.diffusion.svd import SVDConfig
from mv2desc.mvgen.diffusion.wan import WanConfig
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest, KeyframeGenerator

pytest.importorskip("diffusers")

W, H = 64, 48  # the video's frame size in these tests (models work at 64x64 or 32x32 and are fitted to it)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a busy shared CPU they spin: use one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """Tiny SDXL, SVD, Wan 2.1 and Wan 2.2-style pipelines and a Wan LoRA, built once per session."""
    from diffusion_fixtures import save_tiny_all, save_tiny_wan_lora

    root = tmp_path_factory.mktemp("tiny-diffusion")
    paths = save_tiny_all(root)
    paths["wan_lora"] = save_tiny_wan_lora(paths["wan"], root / "wan-lora")
    return paths


def _image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def _request(**over) -> ClipRequest:
    values = dict(index=0, prompt="a singer in a red room, neon light", negative_prompt="blurry", description="a singer",
                  duration_s=2.0, fps=8.0, width=W, height=H, seed=7, energy=0.6, keyframe=_image(0))
    return ClipRequest(**{**values, **over})


def _svd_cfg(tiny, **over) -> SVDConfig:
    return SVDConfig(**{"name_or_path": str(tiny["svd"]), "num_frames": 3, "steps": 2, "width": 32, "height": 32,
                        "decode_chunk_size": 3, **over})


def _wan_cfg(tiny, kind: str = "wan", **over) -> WanConfig:
    return WanConfig(**{"name_or_path": str(tiny[kind]), "num_frames": 5, "steps": 2, "width": 64, "height": 48, **over})


# --- keyframes ---------------------------------------------------------------------------------

def test_sdxl_keyframes_text_and_chained(tiny):
    gen = build_keyframes(SDXLKeyframeConfig(name_or_path=str(tiny["sdxl"]), steps=2))
    assert isinstance(gen, KeyframeGenerator)
    a = gen.generate("a red room", negative_prompt="blurry", width=W, height=H, seed=1)
    again = gen.generate("a red room", negative_prompt="blurry", width=W, height=H, seed=1)
    chained = gen.generate("a red room", negative_prompt="", width=W, height=H, seed=1, reference=_image(3))
    for img in (a, chained):
        assert img.shape == (H, W, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(a, again)  # a seed is a keyframe
    assert not np.array_equal(a, chained)  # the reference conditions the still
    assert gen._img2img.unet is gen._pipe.unet  # img2img shares the weights


def test_sdxl_draw_size_is_fitted_to_the_asked_size(tiny):
    gen = SDXLKeyframes(SDXLKeyframeConfig(name_or_path=str(tiny["sdxl"]), steps=1, width=64, height=64, chain_strength=1.0))
    assert gen.generate("x", negative_prompt="", width=40, height=24, seed=0).shape == (24, 40, 3)


# --- SVD ---------------------------------------------------------------------------------------

def test_svd_renders_uint8_frames_through_the_interface(tiny):
    renderer = build_renderer("svd", _svd_cfg(tiny))
    assert isinstance(renderer, ClipRenderer) and renderer.name == "svd" and renderer.needs_keyframe
    frames = renderer.render(_request())
    assert frames.shape == (3, H, W, 3) and frames.dtype == np.uint8
    with pytest.raises(ValueError, match="needs a keyframe"):
        renderer.render(_request(keyframe=None))


def test_energy_maps_to_motion_bucket_monotonically():
    cfg = SVDConfig(motion_buckets=(60, 200))
    buckets = [cfg.motion_bucket(e) for e in np.linspace(0.0, 1.0, 21)]
    assert buckets[0] == 60 and buckets[-1] == 200
    assert all(b2 >= b1 for b1, b2 in zip(buckets, buckets[1:])) and len(set(buckets)) > 10
    assert SVDConfig(motion_buckets=[10, 20]).motion_buckets == (10, 20)  # YAML lists are accepted


# --- Wan ---------------------------------------------------------------------------------------

def test_wan_renders_uint8_frames_and_ignores_a_last_frame_it_cannot_use(tiny, caplog):
    renderer = build_renderer("wan", _wan_cfg(tiny))
    assert isinstance(renderer, ClipRenderer) and renderer.name == "wan" and renderer.needs_keyframe
    frames = renderer.render(_request())
    assert frames.shape == (5, H, W, 3) and frames.dtype == np.uint8
    assert renderer.last_frame_mode == "unsupported"  # Wan 2.1 I2V embeds one image
    with caplog.at_level("WARNING"):
        with_last = renderer.render(_request(last_frame=_image(9)))
    np.testing.assert_array_equal(frames, with_last)
    assert "takes no last frame" in caplog.text


def test_wan22_style_model_uses_the_last_frame(tiny):
    renderer = build_renderer("wan", _wan_cfg(tiny, "wan22"))
    assert renderer.last_frame_mode == "optional"
    plain = renderer.render(_request())
    with_last = renderer.render(_request(last_frame=_image(9)))
    assert with_last.shape == plain.shape == (5, H, W, 3)
    assert not np.array_equal(plain, with_last)


def test_wan_distilled_preset_fuses_its_lora(tiny):
    cfg = WanConfig.distilled(str(tiny["wan_lora"] / "pytorch_lora_weights.safetensors"), name_or_path=str(tiny["wan"]),
                              num_frames=5, width=64, height=48)
    assert (cfg.steps, cfg.guidance) == (4, 1.0)
    cfg = dataclasses.replace(cfg, steps=2)
    fused = build_renderer("wan", cfg).render(_request())
    plain = build_renderer("wan", dataclasses.replace(cfg, lora=None)).render(_request())
    assert fused.shape == (5, H, W, 3) and not np.array_equal(fused, plain)


# --- identity, errors, configs -----------------------------------------------------------------

@pytest.mark.parametrize("make, change", [
    (lambda: SDXLKeyframes(SDXLKeyframeConfig()), {"steps": 20}),
    (lambda: build_renderer("svd", SVDConfig()), {"motion_buckets": (10, 90)}),
    (lambda: build_renderer("wan", WanConfig()), {"lora_scale": 0.5}),
])
def test_identity_follows_settings_that_change_frames(make, change):
    base = make()
    ident = base.identity()
    json.dumps(ident)  # hashed into cache keys
    assert ident["name_or_path"] and ident["diffusers"]
    cfg = base.cfg
    assert type(base)(dataclasses.replace(cfg, **change)).identity() != ident
    assert type(base)(dataclasses.replace(cfg, cpu_offload=True)).identity() == ident  # memory only


@pytest.mark.parametrize("build", [
    lambda: build_renderer("svd", SVDConfig(name_or_path="/nonexistent/models/svd")),
    lambda: build_renderer("wan", WanConfig()),  # a hub id that is not on this machine (hub-offline)
    lambda: build_keyframes(SDXLKeyframeConfig(name_or_path="stabilityai/sdxl-turbo")),
])
def test_a_missing_model_is_one_line_user_error(build):
    with pytest.raises(UserError) as info:
        build().load()
    msg = str(info.value)
    assert "\n" not in msg and "hf download" in msg and "name_or_path" in msg


def test_a_wrong_kind_of_model_or_lora_is_a_user_error(tiny):
    with pytest.raises(UserError, match="StableVideoDiffusionPipeline"):
        build_renderer("svd", SVDConfig(name_or_path=str(tiny["sdxl"]))).load()
    with pytest.raises(UserError, match="LoRA"):
        build_renderer("wan", _wan_cfg(tiny, lora="/nonexistent/distill.safetensors")).load()


@pytest.mark.parametrize("make, match", [
    (lambda: WanConfig(num_frames=80), "4k\\+1"),
    (lambda: WanConfig(width=830), "multiple of 16"),
    (lambda: WanConfig(lora_scale=0), "lora_scale"),
    (lambda: SVDConfig(motion_buckets=(200, 60)), "motion_buckets"),
    (lambda: SVDConfig(min_guidance=3.0, max_guidance=1.0), "guidance"),
    (lambda: SVDConfig(steps=0), "steps"),
    (lambda: SDXLKeyframeConfig(width=1024), "both width and height"),
    (lambda: SDXLKeyframeConfig(chain_strength=0.0), "chain_strength"),
    (lambda: SDXLKeyframeConfig(steps=1, chain_strength=0.5), "no step"),
    (lambda: SDXLKeyframeConfig(dtype="fp8"), "dtype"),
])
def test_config_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_presets_and_registry():
    turbo = SDXLKeyframeConfig.turbo()
    assert (turbo.name_or_path, turbo.steps, turbo.guidance) == ("stabilityai/sdxl-turbo", 4, 0.0)
    assert RENDERER_CONFIGS == {"svd": SVDConfig, "wan": WanConfig}
    with pytest.raises(ValueError, match="unknown diffusion renderer"):
        build_renderer("procedural", SVDConfig())
    with pytest.raises(TypeError):
        build_renderer("wan", SVDConfig())


def test_importing_the_registry_loads_no_torch_or_diffusers():
    code = ("import sys, mv2desc.mvgen.diffusion.registry; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the whole `mv generate` pipeline on tiny diffusion models -----------------------------------

def test_mv_generate_with_svd_chained_keyframes_resumes_from_the_cache(tiny, tmp_path):
    """SDXL keyframes, each made from the previous clip's last frame, SVD clips, beat-synced MP4; a rerun
    renders nothing and makes no keyframe again."""
    from infer.__main__ import main as mv_main
    from mv2desc.media.audio import write_audio
    from mv2desc.media.video import probe_video
    from mv2desc.synth import SongSpec, render

    song = write_audio(tmp_path / "song.wav", render(SongSpec(tempo_bpm=120, energy=0.7, duration_s=8.0), 22050), 22050)
    argv = ["generate", str(song), "--out", str(tmp_path / "mv"), "--renderer", "svd", "--chain", "true",
            "--video.width", str(W), "--video.height", str(H), "--video.fps", "8", "--sync.render.fps", "8", "--workers", "1",
            "--keyframes.name_or_path", str(tiny["sdxl"]), "--keyframes.steps", "2", "--keyframes.chain_strength", "0.5",
            "--diffusion.name_or_path", str(tiny["svd"]), "--diffusion.num_frames", "4", "--diffusion.steps", "2",
            "--diffusion.width", "32", "--diffusion.height", "32", "--diffusion.decode_chunk_size", "4",
            "--segments.target_bars", "2", "--segments.min_bars", "2", "--segments.max_bars", "4"]
    assert mv_main(argv) == 0
    report = json.loads((tmp_path / "mv" / "report.json").read_text())
    assert report["renderer"]["name"] == "svd" and report["render"]["rendered"] == report["render"]["clips"] >= 2
    info = probe_video(tmp_path / "mv" / "mv.mp4")
    assert abs(info.n_frames / info.fps - 8.0) <= 1.0 / info.fps + 1e-6 and info.has_audio
    keyframes = sorted((tmp_path / "mv" / "cache" / "keyframes").glob("*.png"))
    assert len(keyframes) == report["render"]["clips"]
    assert mv_main(argv) == 0
    again = json.loads((tmp_path / "mv" / "report.json").read_text())
    assert again["render"]["rendered"] == 0 and again["render"]["cached"] == report["render"]["clips"]
    assert sorted((tmp_path / "mv" / "cache" / "keyframes").glob("*.png")) == keyframes  # same chain, same keys


def test_mv_generate_with_svd_shows_each_segment_its_own_clip(tiny, tmp_path):
    """Issue 17 item 1 on a real (tiny) SVD: fixed 4-frame clips, segments of 2 s and more. Every output
    frame inside segment k is nearest to a frame of segment k's own clip (not another segment's), and the
    report's spans are the segments' spans: no carousel."""
    from infer.__main__ import main as mv_main
    from mv2desc.media.audio import write_audio
    from mv2desc.media.video import iter_frames
    from mv2desc.synth import SongSpec, render

    song = write_audio(tmp_path / "song.wav", render(SongSpec(tempo_bpm=120, energy=0.7, duration_s=8.0), 22050), 22050)
    out = tmp_path / "mv"
    argv = ["generate", str(song), "--out", str(out), "--renderer", "svd",
            "--video.width", str(W), "--video.height", str(H), "--video.fps", "8", "--sync.render.fps", "8", "--workers", "1",
            "--keyframes.name_or_path", str(tiny["sdxl"]), "--keyframes.steps", "2",
            "--diffusion.name_or_path", str(tiny["svd"]), "--diffusion.num_frames", "4", "--diffusion.steps", "2",
            "--diffusion.width", "32", "--diffusion.height", "32", "--diffusion.decode_chunk_size", "4",
            "--segments.target_bars", "1", "--segments.min_bars", "1", "--segments.max_bars", "2"]
    assert mv_main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    segs = report["segments"]
    assert len(segs) >= 3 and report["sync"]["output"]["resample"] == "flow"  # 8 fps clips, flow frames
    clips = [np.stack(list(iter_frames(s["clip"]))).astype(np.int16) for s in segs]
    assert all(len(c) == 4 for c in clips)
    video = np.stack(list(iter_frames(out / "mv.mp4"))).astype(np.int16)
    checked = 0
    for k, s in enumerate(segs):
        assert s["out_start_s"] == pytest.approx(s["start_s"], abs=1 / 16 + 1e-6)
        assert s["out_end_s"] == pytest.approx(s["end_s"], abs=1 / 16 + 1e-6)
        assert s["fill"] and s["fill"]["clip_frames"] == 4
        for i in range(len(video)):
            t = (i + 0.5) / 8
            if not s["start_s"] + 1 / 8 <= t <= s["end_s"] - 1 / 8:
                continue
            dist = [min(float(np.abs(video[i] - f).mean()) for f in c) for c in clips]
            assert int(np.argmin(dist)) == k, (k, i, dist)
            checked += 1
    assert checked >= len(video) // 2
