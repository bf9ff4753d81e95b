"""Tiny, randomly initialised diffusers pipelines (SDXL, SVD, Wan 2.1 I2V) written to folders.

Built the way diffusers' own fast tests build them (tiny UNets / transformer / VAEs / text and image
encoders from config dicts), saved with ``save_pretrained`` and read back by the renderers with
``from_pretrained(path)``, so tests and ``benchmarks/bench_mvgen_gpu.py --tiny`` run the real loading
path with no download. Tokenizers are built offline: a byte-alphabet CLIP BPE (no merges, so every
string tokenizes to characters) and, for Wan, a byte-level BPE wrapped as ``PreTrainedTokenizerFast``
standing in for UMT5's sentencepiece tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import torch

CLIP_SPECIALS = ("<|startoftext|>", "<|endoftext|>")
TEXT_VOCAB = 1000  # >= the tiny tokenizers' sizes (514 CLIP, 259 Wan)


def clip_tokenizer():
    """CLIP BPE over the 256-symbol byte alphabet, with and without CLIP's ``</w>`` suffix, no merges."""
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = [*alphabet, *(c + "</w>" for c in alphabet), *CLIP_SPECIALS]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def t5_like_tokenizer():
    """A byte-level BPE with T5's specials (``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2), ``</s>`` appended."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate([*specials, *sorted(pre_tokenizers.ByteLevel.alphabet())])}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=512)


def _clip_text_config(**extra):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-05,
                          num_attention_heads=4, num_hidden_layers=2, pad_token_id=1, vocab_size=TEXT_VOCAB,
                          hidden_act="gelu", **extra)


def tiny_sdxl_pipeline():
    """SDXL with diffusers' fast-test component sizes (UNet 32/64 channels, VAE x2, two 32-d CLIP encoders)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1), projection_class_embeddings_input_dim=80, cross_attention_dim=64, norm_num_groups=1,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear",
                                       timestep_spacing="leading")
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, sample_size=128,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    text_encoder = CLIPTextModel(_clip_text_config())
    text_encoder_2 = CLIPTextModelWithProjection(_clip_text_config(projection_dim=32))
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=clip_tokenizer(),
        tokenizer_2=clip_tokenizer(), unet=unet, scheduler=scheduler,
    )


def tiny_svd_pipeline():
    """SVD with the sizes of diffusers' fast test; the image encoder takes 224 px (patch 32) because the
    pipeline resizes PIL/numpy input to 224 before encoding it."""
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32, num_attention_heads=8, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32,
    )
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, interpolation_type="linear",
                                       num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                       steps_offset=1, timestep_spacing="leading", timestep_type="continuous", trained_betas=None,
                                       use_karras_sigmas=True)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], latent_channels=4)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224, patch_size=32,
        intermediate_size=37,
    ))
    feature_extractor = CLIPImageProcessor(crop_size=224, size=224)
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=feature_extractor)


def tiny_wan_i2v_pipeline():
    """Wan 2.1 I2V with diffusers' fast-test sizes: 2-layer transformer (2 heads x 12), base-dim-3 VAE, tiny
    UMT5 encoder, 4-d CLIP vision encoder (its hidden size is the transformer's ``image_dim``)."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    tokenizer = t5_like_tokenizer()
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                               relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                                               decoder_start_token_id=0))
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16, text_dim=32,
        freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        image_dim=4, added_kv_proj_dim=24,  # as the real I2V model: image keys/values at the hidden width (2 x 12)
    )
    image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2,
                                                     image_size=32, intermediate_size=16, patch_size=4))
    image_processor = CLIPImageProcessor(crop_size=32, size=32)
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                                   scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), image_processor=image_processor,
                                   image_encoder=image_encoder, transformer=transformer)


def tiny_wan22_i2v_pipeline():
    """Wan 2.2 I2V style: no image encoder (``image_dim=None``); first and last frames condition the latents."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    tokenizer = t5_like_tokenizer()
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                               relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                                               decoder_start_token_id=0))
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16, text_dim=32,
        freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    return WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                                   scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), transformer=transformer)


def save_tiny_wan_lora(wan_dir: Path, out: Path) -> Path:
    """A random rank-2 LoRA on the tiny Wan transformer's attention, saved as diffusers saves Wan LoRAs
    (``pytorch_lora_weights.safetensors``): stands in for a step-distilled LoRA."""
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    out = Path(out)
    if not (out / "pytorch_lora_weights.safetensors").exists():
        torch.manual_seed(1)
        transformer = WanTransformer3DModel.from_pretrained(Path(wan_dir) / "transformer")
        transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False))
        WanImageToVideoPipeline.save_lora_weights(out, transformer_lora_layers=get_peft_model_state_dict(transformer))
    return out


BUILDERS = {"sdxl": tiny_sdxl_pipeline, "svd": tiny_svd_pipeline, "wan": tiny_wan_i2v_pipeline, "wan22": tiny_wan22_i2v_pipeline}


def save_tiny(kind: str, root: Path) -> Path:
    """Build the tiny ``kind`` pipeline ("sdxl", "svd", "wan") and save it under ``root/kind`` (once)."""
    out = Path(root) / f"tiny-{kind}"
    if not (out / "model_index.json").exists():
        BUILDERS[kind]().save_pretrained(out)
    return out


def save_tiny_all(root: Path) -> dict[str, Path]:
    return {kind: save_tiny(kind, root) for kind in BUILDERS}
