"""How long MV generation's diffusion steps take on one GPU: keyframes (SDXL) and clips (SVD, Wan 2.1).

No weights can be downloaded, so the models are built from their REAL published configs (written out
below, each naming the checkpoint it follows) with RANDOM weights in bf16, directly on the GPU. Speed
and memory depend on the architecture and sizes, not on the weights' values; the frames are noise.
The renderers under test are the product's (``SDXLKeyframes``, ``SVDRenderer``, ``WanRenderer``),
handed the built pipeline instead of a checkpoint folder.

Each case is timed through ``render()``/``generate()`` at 1 step and at ``--measure-steps`` steps
(after a 1-step warm-up), so ``per_step_s`` and ``overhead_s`` (encoders, VAE decode, set-up) are
separate, and a case's full-step time is projected as ``overhead + steps x per_step`` (exact when the
case has no more steps than were measured). Cost of the defaults on an H100: about 6-8 minutes, most
of it Wan (model build and three 81-frame runs); ``--cases`` runs a subset.

    .venv/bin/python benchmarks/bench_mvgen_gpu.py --json runs/bench_mvgen_gpu.json
    .venv/bin/python benchmarks/bench_mvgen_gpu.py --tiny     # CPU check: tiny pipelines from folders

Reports, as JSON: per case seconds per clip (or keyframe), peak GPU memory, and for each keyframe x
clip pairing the projected wall time of a 3-minute song (36 clips of 5 s, one keyframe each).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the tiny pipeline builders (diffusion_fixtures)
for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_flag, "1")

from mv2desc.mvgen.diffusion.keyframes import SDXLKeyframeConfig, SDXLKeyframes  # noqa: E402
from mv2desc.mvgen.diffusion.svd import SVDConfig, SVDRenderer  # noqa: E402
from mv2desc.mvgen.diffusion.wan import WanConfig, WanRenderer  # noqa: E402
from mv2desc.mvgen.renderers.base import ClipRequest  # noqa: E402

SONG_CLIPS = 36  # a 3-minute song cut into 5 s segments
CLIP_S = 5.0

# --- real configs (random weights) -----------------------------------------------------------------
# stabilityai/stable-video-diffusion-img2vid-xt: unet/config.json (img2vid, 14 frames, is the same
# network with num_frames 14), vae/config.json, scheduler/scheduler_config.json, image_encoder (OpenCLIP ViT-H/14).
SVD_UNET = dict(
    sample_size=96, in_channels=8, out_channels=4, layers_per_block=2, num_frames=25, cross_attention_dim=1024,
    block_out_channels=(320, 640, 1280, 1280), num_attention_heads=(5, 10, 20, 20), transformer_layers_per_block=1,
    down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 3 + ("DownBlockSpatioTemporal",),
    up_block_types=("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * 3,
    addition_time_embed_dim=256, projection_class_embeddings_input_dim=768,
)
SVD_VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
               layers_per_block=2, latent_channels=4, sample_size=768, scaling_factor=0.18215, force_upcast=True)
SVD_SCHEDULER = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, interpolation_type="linear",
                     num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
                     timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
VIT_H_14 = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16, image_size=224,
                patch_size=14, projection_dim=1024, hidden_act="gelu", layer_norm_eps=1e-5)

# Wan-AI/Wan2.1-I2V-14B-480P-Diffusers: transformer/config.json, vae (AutoencoderKLWan's defaults are the
# Wan 2.1 VAE), text_encoder (umt5-xxl encoder), image_encoder (CLIP ViT-H/14), scheduler (UniPC, flow shift 3).
WAN_I2V_14B = dict(
    patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, in_channels=36, out_channels=16, text_dim=4096,
    freq_dim=256, ffn_dim=13824, num_layers=40, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
    image_dim=1280, added_kv_proj_dim=5120, rope_max_seq_len=1024,
)
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64, relative_attention_num_buckets=32,
                relative_attention_max_distance=128, feed_forward_proj="gated-gelu", tie_word_embeddings=False)
WAN_SCHEDULER = dict(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=3.0)

# stabilityai/stable-diffusion-xl-base-1.0: unet, vae, text_encoder (CLIP ViT-L/14), text_encoder_2 (OpenCLIP bigG/14), scheduler.
SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(5, 10, 20),
    transformer_layers_per_block=(1, 2, 10), cross_attention_dim=2048, use_linear_projection=True,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
)
SDXL_VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=1024,
                scaling_factor=0.13025, force_upcast=True)
CLIP_L_TEXT = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, hidden_act="quick_gelu",
                   projection_dim=768, vocab_size=49408, max_position_embeddings=77)
CLIP_BIGG_TEXT = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20, hidden_act="gelu",
                      projection_dim=1280, vocab_size=49408, max_position_embeddings=77)
SDXL_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading",
                      interpolation_type="linear", prediction_type="epsilon")


@contextmanager
def building_on(device: str, dtype: Any):
    """Create parameters directly on ``device`` in ``dtype``: a 14B model never exists in float32."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(old)


def full_sdxl(device: str):
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from diffusion_fixtures import clip_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with building_on(device, torch.bfloat16):
        unet = UNet2DConditionModel(**SDXL_UNET)
        vae = AutoencoderKL(**SDXL_VAE)
        te1 = CLIPTextModel(CLIPTextConfig(**CLIP_L_TEXT))
        te2 = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_BIGG_TEXT))
    # a byte-alphabet CLIP tokenizer: the real one cannot be fetched; prompts are padded to 77 tokens either way
    return StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=clip_tokenizer(),
                                     tokenizer_2=clip_tokenizer(), unet=unet, scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER))


def full_svd(device: str):
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    with building_on(device, torch.bfloat16):
        unet = UNetSpatioTemporalConditionModel(**SVD_UNET)
        vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
        image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**VIT_H_14))
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
                                        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))


def full_wan(device: str):
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from diffusion_fixtures import t5_like_tokenizer
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    with building_on(device, torch.bfloat16):
        transformer = WanTransformer3DModel(**WAN_I2V_14B)
        text_encoder = UMT5EncoderModel(UMT5Config(**UMT5_XXL))
    with building_on(device, torch.float32):  # as the renderer loads them (the Wan authors' advice)
        vae = AutoencoderKLWan()
        image_encoder = CLIPVisionModel(CLIPVisionConfig(**VIT_H_14))
    # a byte-level tokenizer stands in for umt5's: prompts are padded to 512 tokens either way
    return WanImageToVideoPipeline(tokenizer=t5_like_tokenizer(), text_encoder=text_encoder, vae=vae,
                                   scheduler=UniPCMultistepScheduler(**WAN_SCHEDULER), image_processor=CLIPImageProcessor(crop_size=224, size=224),
                                   image_encoder=image_encoder, transformer=transformer)


def tiny_builders(paths: dict[str, Path]) -> dict[str, Callable[[str], Any]]:
    """Load the tiny pipelines from their folders once per family (the renderers' own loader)."""
    import torch
    from diffusers import StableDiffusionXLPipeline, StableVideoDiffusionPipeline, WanImageToVideoPipeline

    from mv2desc.mvgen.diffusion.loading import load_pipeline

    classes = {"sdxl": StableDiffusionXLPipeline, "svd": StableVideoDiffusionPipeline, "wan": WanImageToVideoPipeline}
    return {family: (lambda device, f=family: load_pipeline(classes[f], str(paths[f]), dtype=torch.float32, config_key=f).to(device))
            for family in classes}


# --- cases -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    family: str  # "sdxl" | "svd" | "wan": which pipeline it runs on
    cfg: Any
    note: str


def full_cases() -> list[Case]:
    svd = SVDConfig(decode_chunk_size=8)
    wan = WanConfig()
    sdxl = SDXLKeyframeConfig(width=1024, height=1024)
    return [
        Case("sdxl_30", "sdxl", sdxl, "SDXL base 1024x1024, 30 steps, guidance 5"),
        Case("sdxl_4", "sdxl", replace(sdxl, steps=4, guidance=0.0, chain_strength=0.5), "few-step SDXL 1024x1024, 4 steps, no CFG"),
        Case("svd_14", "svd", replace(svd, num_frames=14), "SVD 14 frames 1024x576, 25 steps"),
        Case("svd_25", "svd", svd, "SVD-XT 25 frames 1024x576, 25 steps"),
        Case("wan_40", "wan", wan, "Wan 2.1 I2V 14B 480p, 81 frames, 40 steps, guidance 5"),
        Case("wan_4", "wan", replace(wan, steps=4, guidance=1.0), "Wan 2.1 I2V 14B 480p, 81 frames, 4 steps (distilled LoRA preset, fused: same cost)"),
    ]


def tiny_cases(paths: dict[str, Path]) -> list[Case]:
    svd = SVDConfig(name_or_path=str(paths["svd"]), width=32, height=32, decode_chunk_size=4)
    wan = WanConfig(name_or_path=str(paths["wan"]), num_frames=9, width=64, height=48)
    sdxl = SDXLKeyframeConfig(name_or_path=str(paths["sdxl"]), width=64, height=64)
    return [
        Case("sdxl_30", "sdxl", sdxl, "tiny SDXL 64x64, 30 steps"),
        Case("sdxl_4", "sdxl", replace(sdxl, steps=4, guidance=0.0, chain_strength=0.5), "tiny SDXL 64x64, 4 steps"),
        Case("svd_14", "svd", replace(svd, num_frames=3), "tiny SVD 3 frames 32x32, 25 steps"),
        Case("svd_25", "svd", replace(svd, num_frames=5), "tiny SVD 5 frames 32x32, 25 steps"),
        Case("wan_40", "wan", wan, "tiny Wan 9 frames 64x48, 40 steps"),
        Case("wan_4", "wan", replace(wan, steps=4, guidance=1.0), "tiny Wan 9 frames 64x48, 4 steps"),
    ]


def make_runner(case: Case, pipeline: Any) -> tuple[Callable[[int], Any], int]:
    """A function ``steps -> output`` through the product's renderer, and the case's full step count."""
    rng = np.random.default_rng(0)
    if case.family == "sdxl":
        def run(steps: int) -> Any:
            gen = SDXLKeyframes(replace(case.cfg, steps=steps, chain_strength=1.0), pipeline=pipeline)
            return gen.generate("a singer on a neon stage, wide shot", negative_prompt="blurry", width=case.cfg.width,
                                height=case.cfg.height, seed=0)
        return run, case.cfg.steps
    cls = SVDRenderer if case.family == "svd" else WanRenderer
    keyframe = rng.integers(0, 256, (case.cfg.height, case.cfg.width, 3), dtype=np.uint8)
    request = ClipRequest(index=0, prompt="a singer on a neon stage, the camera circles her", negative_prompt="blurry, static",
                          description="a singer", duration_s=CLIP_S, fps=float(case.cfg.fps), width=case.cfg.width,
                          height=case.cfg.height, seed=0, energy=0.7, keyframe=keyframe)

    def run(steps: int) -> Any:
        return cls(replace(case.cfg, steps=steps), pipeline=pipeline).render(request)
    return run, case.cfg.steps


def timed(fn: Callable[[], Any], cuda: bool) -> float:
    import torch

    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(case: Case, pipeline: Any, measure_steps: int, cuda: bool) -> dict:
    import torch

    run, full = make_runner(case, pipeline)
    timed(lambda: run(1), cuda)  # warm-up: kernels, allocator, lazy imports
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t1 = timed(lambda: run(1), cuda)
    k = max(2, min(full, measure_steps))
    tk = timed(lambda: run(k), cuda)
    per_step = max(0.0, (tk - t1) / (k - 1))
    overhead = max(0.0, t1 - per_step)
    seconds = tk if k == full else overhead + full * per_step
    out = {"case": case.name, "note": case.note, "steps": full, "measured_steps": [1, k], "measured_s": [round(t1, 3), round(tk, 3)],
           "per_step_s": round(per_step, 4), "overhead_s": round(overhead, 3), "seconds": round(seconds, 3),
           "projected": k != full}
    if cuda:
        out["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def song_projection(results: dict[str, dict]) -> list[dict]:
    """Every keyframe x clip pairing: 36 clips, each with its own keyframe."""
    rows = []
    for kf in (r for r in results.values() if r["case"].startswith("sdxl")):
        for clip in (r for r in results.values() if not r["case"].startswith("sdxl")):
            per_clip = kf["seconds"] + clip["seconds"]
            rows.append({"keyframes": kf["case"], "clips": clip["case"], "seconds_per_clip": round(per_clip, 2),
                         "song_minutes": round(SONG_CLIPS * per_clip / 60, 2), "under_10_min": SONG_CLIPS * per_clip <= 600})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random pipelines from folders (a CPU check of this script)")
    parser.add_argument("--cases", default="", help="comma-separated subset: sdxl_30,sdxl_4,svd_14,svd_25,wan_40,wan_4")
    parser.add_argument("--measure-steps", type=int, default=3, help="the second timing's step count (>= 2); full steps if fewer")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    if not args.tiny and not cuda:
        print("error: full-size models need a GPU (use --tiny for the CPU check)", file=sys.stderr)
        return 2
    if args.tiny and not cuda:
        torch.set_num_threads(1)  # tiny tensors gain nothing from intra-op threads; on a shared CPU they spin
    with tempfile.TemporaryDirectory(prefix="bench-mvgen-") as tmp:
        if args.tiny:
            from diffusion_fixtures import save_tiny_all

            paths = save_tiny_all(Path(tmp))
            cases, builders = tiny_cases(paths), tiny_builders(paths)
        else:
            cases, builders = full_cases(), {"sdxl": full_sdxl, "svd": full_svd, "wan": full_wan}
        wanted = {c for c in args.cases.split(",") if c}
        unknown = wanted - {c.name for c in cases}
        if unknown:
            print(f"error: unknown cases {sorted(unknown)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if not wanted or c.name in wanted]
        results: dict[str, dict] = {}
        build_s: dict[str, float] = {}
        for family in dict.fromkeys(c.family for c in cases):  # one family's model in memory at a time
            t0 = time.perf_counter()
            pipeline = builders[family]("cuda" if cuda else "cpu")
            build_s[family] = round(time.perf_counter() - t0, 1)
            for case in (c for c in cases if c.family == family):
                results[case.name] = measure(case, pipeline, args.measure_steps, cuda)
                print(json.dumps(results[case.name]), file=sys.stderr, flush=True)
            del pipeline
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()
    report = {
        "device": torch.cuda.get_device_name() if cuda else "cpu", "tiny": args.tiny, "torch": torch.__version__,
        "dtype": "bfloat16 (VAE and image encoder of Wan in float32)" if cuda else "float32",
        "model_build_s": build_s, "cases": list(results.values()),
        "song": {"clips": SONG_CLIPS, "clip_s": CLIP_S, "pairings": song_projection(results)},
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
