"""Tiny, randomly initialised Qwen-VL checkpoints built from configs (tests, the no-weights demo).

They are written to a folder with ``save_pretrained`` and read back with ``from_pretrained``, so
every caller exercises the real loading path. The tokenizer is a small byte-level BPE trained on
a fixed corpus (deterministic) with Qwen-VL's special tokens and a Qwen-VL-style chat template:
with the real 151k vocabulary a tiny model's step costs ~60x more (embedding and LM head).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]

# Renders messages exactly as Qwen2-VL / Qwen2.5-VL's template does for text and image parts (a
# default system turn, "<|im_start|>role\n ... <|im_end|>\n", images as vision-start/pad/end): no
# whitespace control that would strip the newline after "<|im_start|>role", so tests see the real
# "<|im_start|>assistant\n" boundary. Written for this project (the tiny checkpoint needs no video).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = """A singer stands in a red room under a bright spotlight while the band plays behind her.
The camera pans across a crowd of dancers in a neon-lit warehouse at night.
Close-up of a guitar, fingers sliding along the strings, shallow depth of field.
Slow motion shot of rain on a window, city lights blurred in the distance.
The music video opens on an empty street at dawn, then cuts to the drummer.
Fast cuts between the band, the crowd and abstract coloured shapes, matching the beat.
Describe this frame from a music video in one sentence.
Write one paragraph that describes the whole music video.
Describe the music video for this song.
A melancholic music video for the slow, soft A minor song by the artist (70 BPM).
A bright music video for the fast, high-energy C major song (160 BPM).
The video for this song is melancholic and moderately energetic, cut to a mid-tempo E minor groove at 96 BPM.
Set to an upbeat D major track at 124 BPM, this high-energy music video has a bright feel.
It shows a band performing on a smoky stage intercut with the singer on empty streets.
It shows dancers in a neon-lit club with light beams sweeping the crowd.
It shows the artist rapping to the camera on city rooftops and street corners.
It shows the singer with an acoustic guitar in open fields and wooden interiors.
It shows musicians in a dim lounge with warm spotlights.
It shows slow sweeping shots of landscapes and an orchestra in a grand hall.
It shows the singer performing choreography on bright colourful studio sets.
Filmed with a mostly static camera with gentle drifts and long, lingering shots that dissolve into each other every few bars.
Filmed with smooth tracking shots and steady cuts every bar.
Filmed with a restless handheld camera with quick pushes and whip pans and rapid-fire cuts on every beat.
Cuts that land on the beat. The palette is cool blue and grey tones with deep shadows.
The palette is warm golden and saturated colours. Recurring images echo the lyrics: river, night, fire.
Style: guitar, energetic, live, synth, dance, club, acoustic, calm, smooth, late night, heavy, dreamy.
C C# D D# E F F# G G# A A# B major minor BPM 0 1 2 3 4 5 6 7 8 9
"""


def make_tiny_tokenizer(out_dir: str | os.PathLike, vocab_size: int = 1024, corpus: list[str] | None = None):
    """A byte-level BPE with Qwen-VL special tokens and chat template, saved to ``out_dir``, trained on
    ``corpus`` (lines; default: the small built-in corpus)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tk.train_from_iterator(corpus if corpus is not None else _CORPUS.splitlines() * 4, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>", additional_special_tokens=SPECIAL_TOKENS[1:]
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out_dir)
    return tok


FAMILIES = ("qwen2_5_vl", "qwen2_vl", "qwen3_vl")


def tiny_config(family: str, tok, *, hidden: int = 64, layers: int = 2):
    """A tiny config of ``family`` whose special-token ids match ``tok``."""
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig, Qwen3VLConfig

    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    head_dim = hidden // 4
    text = dict(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )
    tokens = dict(
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    half = head_dim // 2  # mrope sections split the rotary half-dimension (t, h, w) as Qwen-VL's 16/24/24 of 64 do
    mrope = [half // 4, 3 * half // 8, half - half // 4 - 3 * half // 8]
    if family == "qwen2_5_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e4, "mrope_section": mrope}
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden, patch_size=14,
                      window_size=56, fullatt_block_indexes=[1])
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **tokens)
    if family == "qwen2_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e4, "mrope_section": mrope}
        vision = dict(depth=2, embed_dim=32, hidden_size=hidden, num_heads=2, mlp_ratio=2, patch_size=14,
                      spatial_merge_size=2, temporal_patch_size=2)
        return Qwen2VLConfig(text_config=text, vision_config=vision, **tokens)
    if family == "qwen3_vl":
        text["head_dim"] = head_dim
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e4, "mrope_section": [4, 2, 2], "mrope_interleaved": True}
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden, patch_size=16,
                      num_position_embeddings=64, deepstack_visual_indexes=[0])
        return Qwen3VLConfig(text_config=text, vision_config=vision, **tokens)
    raise ValueError(f"unknown tiny family {family!r}; choose from {FAMILIES}")


def make_tiny_qwen_vl(
    out_dir: str | os.PathLike, family: str = "qwen2_5_vl", seed: int = 0, *, corpus: list[str] | None = None,
    vocab_size: int = 1024, hidden: int = 64, layers: int = 2,
) -> Path:
    """Write a tiny random ``family`` checkpoint (weights, tokenizer, image-only processor) to ``out_dir``;
    the tokenizer is trained on ``corpus`` (default: the built-in one)."""
    import torch
    from transformers import AutoModelForImageTextToText
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from mv2desc.qwen_vl.processor import ImageOnlyQwen2VLProcessor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = make_tiny_tokenizer(out, vocab_size, corpus)
    config = tiny_config(family, tok, hidden=hidden, layers=layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForImageTextToText.from_config(config).eval()
    for key in ("eos_token_id", "pad_token_id", "bos_token_id"):
        setattr(model.generation_config, key, getattr(config.get_text_config(), key))
    model.save_pretrained(out)
    patch = 16 if family == "qwen3_vl" else 14
    ip = Qwen2VLImageProcessorPil(patch_size=patch, merge_size=2, temporal_patch_size=2, min_pixels=4 * patch * patch, max_pixels=64 * patch * patch)
    ImageOnlyQwen2VLProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE).save_pretrained(out)
    return out


TINY_PREFIX = "mv2desc-tiny:"


def resolve_tiny(name_or_path: str, cache_dir: str | os.PathLike | None = None) -> str:
    """``mv2desc-tiny:<family>[@seed]`` -> a folder holding that checkpoint (built once, then reused)."""
    if not name_or_path.startswith(TINY_PREFIX):
        return name_or_path
    spec = name_or_path[len(TINY_PREFIX) :]
    family, _, seed = spec.partition("@")
    seed_i = int(seed or 0)
    key = hashlib.sha1(json.dumps([family, seed_i, _CORPUS, CHAT_TEMPLATE]).encode()).hexdigest()[:12]
    base = Path(cache_dir or os.environ.get("MV2DESC_CACHE", Path.home() / ".cache" / "mv2desc"))
    out = base / f"tiny-{family}-{seed_i}-{key}"
    if not (out / "config.json").is_file() or not (out / "model.safetensors").is_file():
        tmp = base / f".tmp-{out.name}-{os.getpid()}"
        make_tiny_qwen_vl(tmp, family, seed_i)
        try:
            tmp.rename(out)
        except OSError:  # another process won the race: use its copy
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return str(out)
