"""The captioner on tiny random Qwen-VL backbones (CPU): zero-init gates, gradients under
checkpointing, audio sensitivity, save/load strictness, batched generation, LoRA placement."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from conftest import REPO
from mv2desc.data.spec import DEFAULT_SPEC
from mv2desc.model.artifact import ArtifactError, load, merge, save
from mv2desc.model.audio_batch import collate_audio
from mv2desc.model.backbone import decoder_of, module_name, vision_of
from mv2desc.model.builder import build_captioner
from mv2desc.model.captioner import count_lora_modules
from mv2desc.model.config import CaptionerConfig
from mv2desc.model.prompting import encode_prompts, prompt_text

TINY = REPO / "configs" / "model" / "tiny.yaml"


def tiny_config(family: str = "qwen2_5_vl", **xattn) -> CaptionerConfig:
    cfg = CaptionerConfig.from_yaml(TINY)
    cfg.backbone.name_or_path = f"mv2desc-tiny:{family}"
    for k, v in xattn.items():
        setattr(cfg.xattn, k, v)
    return cfg


def audio_rows(seed: int, n: int = 2, duration: float = 8.0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        d = duration - i
        rows.append(
            dict(
                duration_s=d,
                egemaps_lld=rng.normal(size=(int(d / 0.05), 25)).tolist(),
                onset_env=rng.random(int(d * 43)).tolist(),
                rms=rng.random(int(d * 43)).tolist(),
                beat_times_s=list(np.arange(0.25, d, 0.5)),
                clap_windows=rng.normal(size=(1, 32)).tolist(),
                clap_window_starts_s=[0.0],
                egemaps_functionals=rng.normal(size=88).tolist(),
                clap_clip=rng.normal(size=32).tolist(),
                chroma=rng.random((int(d / DEFAULT_SPEC.tonal_hop_s), 12)).tolist(),
                tonnetz=rng.normal(scale=0.3, size=(int(d / DEFAULT_SPEC.tonal_hop_s), 6)).tolist(),
            )
        )
    return rows


def batch(model, n: int = 2, seed: int = 0, instructions=None):
    tok = model.tokenizer
    instructions = instructions or ["Describe the music video.", "Describe a music video for this song, please, in detail."][:n]
    k = model.config.xattn.prefix_tokens if model.resampler is not None else 0
    enc = encode_prompts(tok, [prompt_text(tok, t, prefix_tokens=k) for t in instructions])
    return enc, collate_audio(audio_rows(seed, len(instructions)), model.config.audio, DEFAULT_SPEC)


def set_gates(model, value: float) -> None:
    with torch.no_grad():
        for block in model.xattn.values():
            block.attn_gate.fill_(value)
            block.ffw_gate.fill_(value)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_captioner(tiny_config()).eval()


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen2_vl", "qwen3_vl"])
def test_zero_gates_equal_bare_backbone(family):
    from transformers import AutoModelForImageTextToText

    from mv2desc.qwen_vl.tiny import resolve_tiny

    m = build_captioner(tiny_config(family)).eval()
    bare = AutoModelForImageTextToText.from_pretrained(resolve_tiny(f"mv2desc-tiny:{family}")).eval()
    enc, audio = batch(m)
    with torch.no_grad():
        ref = bare(**enc).logits
        with_audio = m(**enc, audio=audio).logits
        without = m(**enc).logits
    assert torch.equal(with_audio, ref)
    assert torch.equal(without, ref)
    assert all(v == 0.0 for v in m.gates().values())


def test_audio_matters_only_when_gates_open(model):
    m = copy.deepcopy(model)
    enc, audio_a = batch(m, seed=1)
    _, audio_b = batch(m, seed=2)
    with torch.no_grad():
        assert torch.equal(m(**enc, audio=audio_a).logits, m(**enc, audio=audio_b).logits)
        set_gates(m, 0.5)
        assert not torch.allclose(m(**enc, audio=audio_a).logits, m(**enc, audio=audio_b).logits)


def test_checkpointed_step_reaches_every_trainable_parameter(model):
    m = copy.deepcopy(model).train()
    assert m.backbone.get_base_model().is_activation_checkpointing
    enc, audio = batch(m)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-2)
    for step in range(2):  # step 1 moves the gates and LoRA-B off 0; step 2 must reach everything
        opt.zero_grad()
        loss = m(**enc, audio=audio, labels=labels).loss
        loss.backward()
        if step == 0:
            opt.step()
    assert all(v != 0.0 for v in m.gates().values())
    no_grad = [n for n, p in m.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert no_grad == []
    frozen_with_grad = [n for n, p in m.named_parameters() if not p.requires_grad and p.grad is not None]
    assert frozen_with_grad == []


def test_lora_on_decoder_linears_only(model):
    base = model.backbone.get_base_model()
    decoder = decoder_of(model.backbone)
    prefix = module_name(model.backbone, decoder)
    lora_names = [n for n, _ in model.backbone.named_modules() if n.endswith(".lora_A")]
    assert lora_names and all(n.startswith(prefix + ".layers.") for n in lora_names)
    assert count_lora_modules(model.backbone) == len(decoder.layers) * 7
    vision = vision_of(model.backbone)
    assert not [n for n, _ in vision.named_modules() if "lora" in n]
    assert not any(p.requires_grad for p in vision.parameters())
    assert base.config.model_type == "qwen2_5_vl"
    counts = model.parameter_counts()
    assert counts["backbone_trainable"] == 0 and counts["lora_trainable"] > 0
    assert counts["trainable"] == counts["lora_trainable"] + counts["audio_encoder_trainable"] + counts["cross_attention_trainable"]


def test_backbone_state_dict_keys_unchanged(model):
    from transformers import AutoModelForImageTextToText

    from mv2desc.qwen_vl.tiny import resolve_tiny

    bare = AutoModelForImageTextToText.from_pretrained(resolve_tiny("mv2desc-tiny:qwen2_5_vl"))
    merged_keys = set(copy.deepcopy(model).backbone.merge_and_unload().state_dict())
    assert merged_keys == set(bare.state_dict())


def trained_copy(model):
    m = copy.deepcopy(model)
    set_gates(m, 0.3)
    with torch.no_grad():
        for n, p in m.backbone.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return m.eval()


def test_save_load_round_trip_and_tampering(model, tmp_path):
    m = trained_copy(model)
    enc, audio = batch(m)
    with torch.no_grad():
        ref = m(**enc, audio=audio).logits
    art = save(m, tmp_path / "art")
    loaded = load(art)
    with torch.no_grad():
        assert torch.equal(loaded(**enc, audio=audio).logits, ref)
    assert loaded.gates() == m.gates()

    from safetensors.torch import load_file, save_file

    audio_file = art / "audio_modules.safetensors"
    state = load_file(audio_file)
    save_file({k: v for k, v in state.items() if not k.startswith("xattn.0.")}, audio_file)
    with pytest.raises(ArtifactError, match="missing"):
        load(art)
    save_file(state, audio_file)
    adapter = art / "adapter" / "adapter_model.safetensors"
    lora = load_file(adapter)
    dropped = sorted(lora)[0]
    save_file({k: v for k, v in lora.items() if k != dropped}, adapter)
    with pytest.raises(ArtifactError, match="adapter keys"):
        load(art)


def test_merged_export_reloads(model, tmp_path):
    m = trained_copy(model)
    enc, audio = batch(m)
    with torch.no_grad():
        ref = m(**enc, audio=audio).logits
    out = merge(copy.deepcopy(m), tmp_path / "merged")
    assert (out / "backbone" / "config.json").is_file() and (out / "backbone" / "tokenizer_config.json").is_file()
    loaded = load(out)
    assert count_lora_modules(loaded.backbone) == 0
    with torch.no_grad():
        assert torch.allclose(loaded(**enc, audio=audio).logits, ref, atol=1e-5)


@pytest.mark.parametrize("fusion", ["cross", "prefix"])
def test_batched_left_padded_generation_equals_one_by_one(model, fusion):
    m = trained_copy(model) if fusion == "cross" else build_captioner(tiny_config(fusion="both")).eval()
    if fusion != "cross":
        set_gates(m, 0.3)
    enc, audio = batch(m)
    assert (enc["attention_mask"][:, 0] == 0).any()  # left padding is really exercised
    together = m.generate(**enc, audio=audio, max_new_tokens=6, min_new_tokens=6)
    tok = m.tokenizer
    for i in range(2):
        k = m.config.xattn.prefix_tokens if m.resampler is not None else 0
        instr = ["Describe the music video.", "Describe a music video for this song, please, in detail."][i]
        one = encode_prompts(tok, [prompt_text(tok, instr, prefix_tokens=k)])
        alone = m.generate(**one, audio=audio.select([i]), max_new_tokens=6, min_new_tokens=6)
        assert together[i, -6:].tolist() == alone[0, -6:].tolist()


def test_missing_streams_are_masked_not_a_different_graph(model):
    rows = audio_rows(3, 2)
    rows[1] = {"duration_s": 5.0}  # a sample with no features at all
    audio = collate_audio(rows, model.config.audio, DEFAULT_SPEC)
    tokens, mask, times = model.audio_encoder(audio)
    assert tokens.shape[:2] == mask.shape == times.shape
    assert mask[1].sum() == 1  # only the learned [AUDIO] token
    assert mask[0].sum() > 10
    assert float(times[0][mask[0]].max()) <= 8.0


def test_prefix_fusion_needs_its_placeholders():
    m = build_captioner(tiny_config(fusion="prefix")).eval()
    assert len(m.xattn) == 0 and m.resampler is not None
    tok = m.tokenizer
    enc = encode_prompts(tok, [prompt_text(tok, "Describe.", prefix_tokens=1)])
    with pytest.raises(ValueError, match="exactly 4"):
        m(**enc, audio=collate_audio(audio_rows(0, 1), m.config.audio, DEFAULT_SPEC))


def test_config_validation():
    with pytest.raises(ValueError, match="unknown keys in xattn"):
        CaptionerConfig.from_dict({"xattn": {"evry_n_layers": 2}})
    with pytest.raises(ValueError, match="audio.streams"):
        CaptionerConfig.from_dict({"audio": {"streams": ["lld", "video"]}})


def test_audio_kv_computed_once_per_generate(model):
    m = trained_copy(model)
    enc, audio = batch(m)
    calls = []
    for block in m.xattn.values():
        original = block.project_kv
        block.project_kv = lambda a, _f=original: calls.append(1) or _f(a)
    m.generate(**enc, audio=audio, max_new_tokens=5, min_new_tokens=5)
    assert len(calls) == len(m.xattn)  # once per block, not once per generated token


def test_optimizer_groups_split_lora_and_new_modules(model):
    groups = {g["name"]: g for g in model.optimizer_groups(lr=1e-4, new_modules_lr=1e-3, weight_decay=0.1, gates_lr=2e-2)}
    assert groups["lora"]["lr"] == 1e-4 and groups["new_modules"]["lr"] == 1e-3
    assert groups["new_modules_no_decay"]["weight_decay"] == 0.0
    assert groups["gates"]["lr"] == 2e-2 and groups["gates"]["weight_decay"] == 0.0
    gate_ids = {id(p) for n, p in model.named_parameters() if n.endswith(("attn_gate", "ffw_gate"))}
    assert gate_ids and gate_ids == {id(p) for p in groups["gates"]["params"]}
    default = {g["name"]: g for g in model.optimizer_groups(lr=1e-4, new_modules_lr=1e-3)}
    assert default["gates"]["lr"] == 1e-3  # unset: the new modules' rate
    n = sum(p.numel() for g in groups.values() for p in g["params"])
    assert n == model.parameter_counts()["trainable"]


def test_fully_trained_backbone_is_saved_whole(tmp_path):
    m = build_captioner(tiny_config(), trainable="full").eval()
    with torch.no_grad():
        next(p for n, p in m.backbone.named_parameters() if "layers.0.mlp" in n).add_(0.5)
    enc, audio = batch(m)
    with torch.no_grad():
        ref = m(**enc, audio=audio).logits
    out = save(m, tmp_path / "full")
    assert (out / "backbone" / "model.safetensors").is_file()
    with torch.no_grad():
        assert torch.allclose(load(out)(**enc, audio=audio).logits, ref, atol=1e-6)
