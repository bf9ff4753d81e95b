"""Issue 10's captioner rows, each with the test that failed before its fix: scalar gates (1), a merged
artifact exported without --merge (5), prefix fusion with beams (6), a stale audio context (7), the
blocks' activations under checkpointing (10), and the bottleneck block of the real presets."""

from __future__ import annotations

import copy
import shutil

import pytest
import torch
from test_captioner import batch, set_gates, tiny_config

from conftest import REPO
from mv2desc.model.artifact import load, merge, save
from mv2desc.model.builder import build_captioner
from mv2desc.model.config import CaptionerConfig
from mv2desc.model.gated_xattn import GatedCrossAttentionBlock


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_captioner(tiny_config()).eval()


def test_row1_no_scalar_parameters_so_fsdp_can_wrap_the_blocks(model):
    scalars = [n for n, p in model.named_parameters() if p.ndim == 0]
    assert scalars == []
    assert all(v == 0.0 for v in model.gates().values())


def test_row1_artifacts_with_scalar_gates_still_load(model, tmp_path):
    from safetensors.torch import load_file, save_file

    out = save(copy.deepcopy(model), tmp_path / "a")
    state = load_file(out / "audio_modules.safetensors")
    old = {k: (v.reshape(()) if k.endswith("_gate") else v) for k, v in state.items()}  # the former 0-dim gates
    save_file(old, out / "audio_modules.safetensors")
    assert all(v == 0.0 for v in load(out).gates().values())


def test_row5_exporting_a_merged_artifact_without_merge_keeps_it_self_contained(model, tmp_path):
    m = copy.deepcopy(model)
    set_gates(m, 0.3)
    enc, audio = batch(m)
    with torch.no_grad():
        ref = m(**enc, audio=audio).logits
    src = merge(m, tmp_path / "merged")
    exported = save(load(src), tmp_path / "export")  # what `mv2desc export` does without --merge
    shutil.move(str(src), str(tmp_path / "moved"))  # the source folder goes away
    assert (exported / "backbone" / "model.safetensors").is_file()
    with torch.no_grad():
        assert torch.allclose(load(exported)(**enc, audio=audio).logits, ref, atol=1e-5)


@pytest.mark.parametrize("fusion", ["prefix", "both"])
def test_row6_prefix_fusion_generates_with_beams_and_several_sequences(fusion):
    torch.manual_seed(1)
    m = build_captioner(tiny_config(fusion=fusion)).eval()
    enc, audio = batch(m)
    beams = m.generate(enc["input_ids"], enc["attention_mask"], audio=audio, max_new_tokens=3, num_beams=2)
    seqs = m.generate(enc["input_ids"], enc["attention_mask"], audio=audio, max_new_tokens=3, do_sample=True, num_return_sequences=3)
    assert beams.shape[0] == 2 and seqs.shape[0] == 6


def test_row7_no_audio_context_survives_a_forward(model):
    m = copy.deepcopy(model)
    set_gates(m, 0.5)
    enc, audio = batch(m, seed=3)
    with torch.no_grad():
        bare = m.backbone(**enc).logits
    m.train()
    m(**enc, audio=audio, labels=enc["input_ids"]).loss.backward()  # a grad-enabled forward
    with torch.no_grad():
        assert torch.equal(m.backbone(**enc).logits, bare)  # a later plain call sees no audio
    with pytest.raises(Exception):
        m(**enc, audio=audio, labels=enc["input_ids"][:, :2])  # a forward that raises (bad labels)
    with torch.no_grad():
        assert torch.equal(m.backbone(**enc).logits, bare)


def test_row7_a_text_batch_that_does_not_expand_the_audio_batch_is_an_error():
    block = GatedCrossAttentionBlock(16, 2)
    kv = block.project_kv(torch.randn(3, 5, 16))
    mask = torch.ones(3, 5, dtype=torch.bool)
    assert block(torch.randn(6, 4, 16), kv, mask).shape == (6, 4, 16)  # 2 beams per sample
    for rows in (2, 4):  # fewer rows than samples (reps would be 0), or not a multiple
        with pytest.raises(ValueError, match="does not expand"):
            block(torch.randn(rows, 4, 16), kv, mask)


def test_row10_block_activations_are_recomputed_under_checkpointing(model):
    """With checkpointing on, the blocks' feed-forward hidden activations (a width nothing else has)
    are not kept for backward: the block runs inside its own checkpoint."""
    m = build_captioner(tiny_config(ffn_mult=3.0)).train()
    width = int(m.xattn["0"].ffw[0].out_features)
    enc, audio = batch(m)
    saved: list[tuple[int, ...]] = []

    def pack(t):
        saved.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = m(**enc, audio=audio, labels=enc["input_ids"]).loss
    assert not [s for s in saved if s and s[-1] == width]
    loss.backward()
    assert all(p.grad is not None for n, p in m.xattn.named_parameters())


def test_bottleneck_blocks_keep_exact_identity_at_gate_zero():
    torch.manual_seed(2)
    full = build_captioner(tiny_config()).eval()
    thin = build_captioner(tiny_config(inner_dim=16)).eval()
    enc, audio = batch(thin)
    with torch.no_grad():
        assert torch.equal(thin(**enc, audio=audio).logits, thin.backbone(**enc).logits)
        set_gates(thin, 0.5)
        assert not torch.equal(thin(**enc, audio=audio).logits, thin.backbone(**enc).logits)
    assert thin.parameter_counts()["cross_attention"] < full.parameter_counts()["cross_attention"] / 2


REAL_PRESETS = [p for d in ("model", "train") for p in sorted((REPO / "configs" / d).glob("*.yaml")) if "Qwen/" in p.read_text()]


@pytest.mark.parametrize("preset", REAL_PRESETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_real_presets_train_under_3_percent(preset):
    from mv2desc.model.summary import summarize

    s = summarize(CaptionerConfig.from_yaml(preset))
    p = s["parameters"]
    assert p["trainable"] / p["total"] < 0.03, (preset, p["trainable"] / p["total"])


def test_row8_a_cut_description_gets_no_end_of_turn_and_the_cut_is_logged(model, caplog):
    import logging

    from mv2desc.data.spec import DEFAULT_SPEC
    from train.config import DataConfig
    from train.data import IGNORE, TrainCollator

    collate = TrainCollator(model.tokenizer, DataConfig(max_target_tokens=6), model.config.audio, DEFAULT_SPEC)
    long = {"id": "long", "description": "a slow dark video with rain on the windows and a lonely walk at night"}
    short = {"id": "short", "description": "a dark video"}
    with caplog.at_level(logging.WARNING, logger="train.data"):
        out = collate([long, short])
    eos = model.tokenizer.convert_tokens_to_ids("<|im_end|>")
    targets = [row[row != IGNORE].tolist() for row in out["labels"]]
    assert len(targets[0]) == 6 and eos not in targets[0]
    assert targets[1][-1] == eos
    assert any("long" in r.message and "max_target_tokens=6" in r.message for r in caplog.records)
    assert collate.truncated == 1


def test_row10_the_memory_estimate_counts_the_blocks_activations_and_states_per_part():
    from mv2desc.model.summary import summarize

    cfg = CaptionerConfig.from_yaml(REPO / "configs" / "model" / "qwen2.5-vl-7b.yaml")
    on = summarize(cfg)["memory_estimate_gib"]
    cfg.gradient_checkpointing = False
    off = summarize(cfg)["memory_estimate_gib"]
    assert 0 < on["xattn_activations"] < off["xattn_activations"]
    assert on["audio_kv"] > 0
    parts = on["trainable_states_by_part"]
    assert set(parts) == {"lora", "backbone", "audio_encoder", "cross_attention"}
    assert sum(parts.values()) == pytest.approx(on["trainable_states"], abs=0.05)
