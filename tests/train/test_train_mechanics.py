"""Training mechanics from issue 10 (rows 2, 3, 4, 9 and the suspected items), on CPU: FSDP is emulated
with a gloo process group of world size 1, DeepSpeed's directory checkpoints with a fake folder."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import pytest
import torch

from conftest import REPO
from train.__main__ import parse_train_config

SMOKE = str(REPO / "configs" / "train" / "cpu_smoke.yaml")


def smoke_cfg(*flags: str):
    cfg, _ = parse_train_config(["--config", SMOKE, "--run.loggers", "[csv]", *flags])
    return cfg


@pytest.fixture
def gloo():
    import torch.distributed as dist

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def fsdp_wrap(module):
    """What Lightning's FSDPStrategy does: the LightningModule is the FSDP root, decoder layers auto-wrapped."""
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy

    from mv2desc.model.backbone import decoder_of

    layer_cls = type(decoder_of(module.model.backbone).layers[0])
    return FullyShardedDataParallel(module, auto_wrap_policy=ModuleWrapPolicy({layer_cls}), use_orig_params=True,
                                    device_id=torch.device("cpu"))


def clean_trainable(module) -> set[str]:
    return {f"model.{n}" for n, p in module.model.named_parameters() if p.requires_grad}


# -- row 2: trainable names under FSDP / checkpoint wrappers / torch.compile --------------------------------
def test_row2_wrapper_segments_are_stripped_from_parameter_names():
    from train.module import clean_param_name

    assert clean_param_name("backbone.layers.0._fsdp_wrapped_module._checkpoint_wrapped_module.mlp.lora_A.weight") == "backbone.layers.0.mlp.lora_A.weight"
    assert clean_param_name("_orig_mod.xattn.0.attn_gate") == "xattn.0.attn_gate"


def test_row2_fsdp_checkpoint_keeps_every_trainable_tensor(gloo):
    from torch.distributed.fsdp import FullStateDictConfig, FullyShardedDataParallel, StateDictType

    from train.module import CaptionerModule

    module = CaptionerModule(smoke_cfg())
    clean = clean_trainable(module)
    assert len({k for k in clean if ".lora_" in k}) == 28
    root = fsdp_wrap(module)
    assert any("_fsdp_wrapped_module." in n for n, _ in module.model.named_parameters())  # the emulation is real
    with FullyShardedDataParallel.state_dict_type(root, StateDictType.FULL_STATE_DICT, FullStateDictConfig(rank0_only=False)):
        full = root.state_dict()
    checkpoint = {"state_dict": dict(full)}
    module.on_save_checkpoint(checkpoint)
    assert set(checkpoint["state_dict"]) == clean
    assert checkpoint["mv2desc"]["trainable_keys"] == len(clean)
    module.on_load_checkpoint(checkpoint)  # resume accepts it


# -- row 3: gradient clipping under FSDP --------------------------------------------------------------------
def test_row3_fsdp_trainer_gets_no_gradient_clip_val():
    from train.fit import clipping_kwargs

    assert clipping_kwargs("fsdp", 1.0) == {"gradient_clip_val": None}
    assert clipping_kwargs("ddp", 1.0) == {"gradient_clip_val": 1.0}
    assert clipping_kwargs("auto", 0.0) == {"gradient_clip_val": None}
    assert clipping_kwargs("deepspeed_stage_2", 0.5) == {"gradient_clip_val": 0.5}


def test_row3_module_clips_with_fsdp_clip_grad_norm(gloo):
    from train.module import CaptionerModule

    module = CaptionerModule(smoke_cfg("--optim.grad_clip", "0.5"))
    root = fsdp_wrap(module)
    trainable = [p for p in root.parameters() if p.requires_grad]
    for p in trainable:
        p.grad = torch.full_like(p, 0.1)
    before = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainable]))
    assert before > 1.0
    module.trainer = SimpleNamespace(strategy=SimpleNamespace(model=root), gradient_clip_val=None, gradient_clip_algorithm=None)
    module.configure_gradient_clipping(None, gradient_clip_val=None, gradient_clip_algorithm=None)
    after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainable]))
    assert after <= 0.5 * (1 + 1e-4)


# -- row 4: DeepSpeed writes last.ckpt as a directory -------------------------------------------------------
def test_row4_resume_accepts_a_checkpoint_directory(tmp_path):
    from mv2desc.errors import UserError
    from train.fit import resolve_resume

    last = tmp_path / "checkpoints" / "last.ckpt"
    (last / "checkpoint").mkdir(parents=True)
    (last / "latest").write_text("checkpoint")
    assert resolve_resume("auto", tmp_path) == str(last)
    assert resolve_resume(str(last), tmp_path) == str(last)
    assert resolve_resume("none", tmp_path) is None
    assert resolve_resume("auto", tmp_path / "fresh") is None
    with pytest.raises(UserError, match="checkpoint not found"):
        resolve_resume(str(tmp_path / "nope.ckpt"), tmp_path)


# -- row 9: the objective is the token-weighted mean over the whole optimizer step --------------------------
def first_step_grads(cfg, rows, collate, batch_size: int, accumulate: int):
    """Gradients handed to the optimizer at the first step (a no-op SGD records them), and the logged loss."""
    import lightning as L
    from torch.utils.data import DataLoader

    from train.module import CaptionerModule

    L.seed_everything(0, verbose=False)
    module = CaptionerModule(cfg)
    captured: dict[str, torch.Tensor] = {}

    class Capture(torch.optim.SGD):
        def step(self, closure=None):
            out = closure() if closure is not None else None
            captured.update({n: p.grad.detach().clone() for n, p in module.named_parameters() if p.grad is not None})
            return out

    module.configure_optimizers = lambda: Capture([p for p in module.parameters() if p.requires_grad], lr=0.0)
    loader = DataLoader(rows, batch_size=batch_size, shuffle=False, collate_fn=collate)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=1, accumulate_grad_batches=accumulate, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, loader)
    return captured, float(trainer.callback_metrics["train/loss"])


def test_row9_batch_2_equals_two_accumulated_batches_of_1(dataset, tmp_path):
    from train.data import RowDataset, TrainCollator, feature_spec, load_split
    from train.module import CaptionerModule

    # targets uncut (the smoke preset's 128 tokens would cut every row to the same length)
    cfg = smoke_cfg("--data.dataset", str(dataset), "--run.out_dir", str(tmp_path), "--run.sample_generations", "0",
                    "--data.max_target_tokens", "1024")
    model = CaptionerModule(cfg).model
    spec = feature_spec(cfg.data.dataset)
    collate = TrainCollator(model.tokenizer, cfg.data, cfg.model.audio, spec, 0)
    ds = RowDataset(load_split(cfg.data.dataset, cfg.data.train_split))
    all_rows = [ds[i] for i in range(len(ds))]
    n = [int((collate([r])["labels"] != -100).sum()) for r in all_rows]
    # two rows whose target lengths differ most: the per-micro-batch mean weights them differently
    i, j = min(range(len(n)), key=n.__getitem__), max(range(len(n)), key=n.__getitem__)
    assert n[i] != n[j]
    rows = [all_rows[i], all_rows[j]]
    g2, loss2 = first_step_grads(cfg, rows, collate, batch_size=2, accumulate=1)
    g11, loss11 = first_step_grads(cfg, rows, collate, batch_size=1, accumulate=2)
    assert g2 and set(g2) == set(g11)
    assert loss2 == pytest.approx(loss11, abs=1e-5)
    for name in g2:
        torch.testing.assert_close(g11[name], g2[name], rtol=1e-4, atol=1e-5, msg=name)


# -- suspected items -----------------------------------------------------------------------------------------
def test_suspected_a_resume_refuses_extra_tensors():
    from train.module import CaptionerModule

    module = CaptionerModule(smoke_cfg())
    state = {k: v for k, v in module.state_dict().items() if k in clean_trainable(module)}
    module.on_load_checkpoint({"state_dict": dict(state)})
    frozen = next(k for k in module.state_dict() if k not in state)
    with pytest.raises(RuntimeError, match=r"holds 1 tensors this model does not train .*" + frozen.split(".")[-2]):
        module.on_load_checkpoint({"state_dict": {**state, frozen: torch.zeros(1)}})


def test_suspected_b_no_rank0_sample_generation_with_sharded_layers(caplog):
    from train.module import CaptionerModule, sample_generation_supported

    assert not sample_generation_supported("fsdp") and not sample_generation_supported("deepspeed_stage_3")
    assert all(sample_generation_supported(s) for s in ("auto", "ddp", "ddp_notebook", "deepspeed_stage_2"))
    module = CaptionerModule(smoke_cfg("--trainer.strategy", "fsdp"))
    module.sample_rows = [{}]
    module.generation_collator = lambda rows: pytest.fail("rank 0 must not generate alone under fsdp")
    module.trainer = SimpleNamespace(is_global_zero=True, sanity_checking=False)
    with caplog.at_level(logging.INFO, logger="train.module"):
        module.on_validation_epoch_end()
    assert "sample generations skipped" in caplog.text


def test_suspected_c_weight_checksum_only_where_replicas_hold_full_weights(caplog):
    from lightning.pytorch.strategies import DDPStrategy, FSDPStrategy

    from train.callbacks import EndOfTraining, replicas_comparable

    assert replicas_comparable(DDPStrategy()) and replicas_comparable(SimpleNamespace(zero_stage_3=False))
    assert not replicas_comparable(FSDPStrategy()) and not replicas_comparable(SimpleNamespace(zero_stage_3=True))
    trainer = SimpleNamespace(strategy=FSDPStrategy(), callback_metrics={}, global_step=7)
    cb = EndOfTraining()
    with caplog.at_level(logging.INFO, logger="train.callbacks"):
        cb.on_train_end(trainer, SimpleNamespace())  # would touch pl_module.model if it computed a checksum
    assert cb.consistent is None and "ranks/consistent" not in trainer.callback_metrics
    assert float(trainer.callback_metrics["run/global_step"]) == 7
    assert "checksum skipped" in caplog.text


def test_suspected_d_nan_on_one_ddp_rank_stops_every_rank(dataset, tmp_path, monkeypatch):
    import train.data as data_mod
    import train.module as module_mod
    from train.fit import fit

    markers = tmp_path / "markers"
    markers.mkdir()
    original = data_mod.TrainCollator.__call__

    def poisoned(self, rows):
        import torch.distributed as dist

        batch = original(self, rows)
        if dist.is_available() and dist.is_initialized() and dist.get_rank() == 1:
            batch["audio"].functionals[:] = float("nan")
        return batch

    class Marked(module_mod.NonFiniteLossError):
        def __init__(self, message: str) -> None:
            import torch.distributed as dist

            (markers / f"rank{dist.get_rank()}").write_text(message)
            super().__init__(message)

    monkeypatch.setattr(data_mod.TrainCollator, "__call__", poisoned)
    monkeypatch.setattr(module_mod, "NonFiniteLossError", Marked)
    cfg = smoke_cfg("--data.dataset", str(dataset), "--run.out_dir", str(tmp_path / "ddp"), "--trainer.devices", "2",
                    "--trainer.strategy", "ddp_notebook", "--data.batch_size", "1", "--data.shuffle", "false",
                    "--optim.max_steps", "2", "--run.sample_generations", "0", "--data.val_split", "")
    with pytest.raises(Exception, match="loss is"):
        fit(cfg)
    assert "loss is nan at step 0" in (markers / "rank1").read_text()
    assert "non-finite on another rank at step 0" in (markers / "rank0").read_text()
