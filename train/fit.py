"""``mv2desc train fit``: build everything from a TrainConfig and run Lightning."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import lightning as L
import yaml
from torch.utils.data import DataLoader

from mv2desc.data.spec import FeatureSpecMismatch
from mv2desc.errors import UserError
from mv2desc.model import artifact
from mv2desc.model.backbone import decoder_of
from mv2desc.model.generation import GenerationCollator
from train.callbacks import EndOfTraining, LearningRateLogger, StopAfterSteps
from train.config import TrainConfig
from train.data import EpochShuffleSampler, RowDataset, TrainCollator, feature_spec, load_split, prompt_config, prompt_settings
from train.module import CaptionerModule
from train.strategies import build_strategy

log = logging.getLogger(__name__)


def resolve_resume(resume: str, out: Path) -> str | None:
    """The checkpoint to resume from: a file, or a directory (DeepSpeed writes ``last.ckpt/`` as one)."""
    if resume == "none":
        return None
    if resume == "auto":
        last = out / "checkpoints" / "last.ckpt"
        return str(last) if last.is_file() or last.is_dir() else None
    if not (Path(resume).is_file() or Path(resume).is_dir()):
        from mv2desc.errors import UserError

        raise UserError(f"run.resume: checkpoint not found: {resume}")
    return resume


def clipping_kwargs(strategy: str, grad_clip: float | None) -> dict:
    """Trainer gradient-clipping arguments. Under fsdp, Lightning's FSDPPrecision refuses norm clipping:
    the Trainer gets none and CaptionerModule.configure_gradient_clipping calls FSDP's clip_grad_norm_."""
    if strategy == "fsdp":
        return {"gradient_clip_val": None}
    return {"gradient_clip_val": grad_clip or None}


def _loggers(cfg: TrainConfig, out: Path) -> list:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger

    # one version folder per job, so a resumed job never overwrites the metrics of the one before
    job = f"job-{len(list((out / 'logs' / 'csv').glob('job-*'))) if (out / 'logs' / 'csv').is_dir() else 0:03d}"
    made = []
    for name in cfg.run.loggers:
        if name == "csv":
            made.append(CSVLogger(out / "logs", name="csv", version=job))
        elif name == "tensorboard":
            made.append(TensorBoardLogger(out / "logs", name="tensorboard", version=job, default_hp_metric=False))
        elif name == "wandb":
            made.append(WandbLogger(save_dir=str(out), project="mv2desc"))
    return made


def fit(cfg: TrainConfig) -> dict:
    # The dataset <-> model contract, checked before anything heavy: widths and streams must match
    # (one-line error naming the field); hops and the CLAP window are adopted from the dataset.
    spec = feature_spec(cfg.data.dataset)
    try:
        spec.check_model(cfg.model.audio)
    except FeatureSpecMismatch as exc:
        raise UserError(str(exc)) from exc
    log.info("feature spec: streams %s, CLAP window %.1f s / hop %.1f s, LLD hop %.3f s, rhythm hop %.4f s (from the dataset)",
             list(spec.streams), spec.clap_window_s, spec.clap_hop_s, spec.lld_hop_s, spec.rhythm_hop_s)
    out = Path(cfg.run.out_dir)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.run.seed, workers=True, verbose=False)
    (out / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False), encoding="utf-8")

    module = CaptionerModule(cfg)
    model = module.model
    prefix = cfg.model.xattn.prefix_tokens if model.resampler is not None else 0
    collate = TrainCollator(model.tokenizer, cfg.data, cfg.model.audio, spec, prefix)
    train_ds = RowDataset(load_split(cfg.data.dataset, cfg.data.train_split), cfg.data.audio_shuffle_seed)
    sampler = EpochShuffleSampler(len(train_ds), cfg.run.seed, cfg.data.shuffle)
    train_loader = DataLoader(train_ds, batch_size=cfg.data.batch_size, sampler=sampler, collate_fn=collate,
                              num_workers=cfg.data.num_workers, drop_last=False)
    val_loader = None
    if cfg.data.val_split:
        val_ds = RowDataset(load_split(cfg.data.dataset, cfg.data.val_split))
        if len(val_ds):
            val_loader = DataLoader(val_ds, batch_size=cfg.data.batch_size, shuffle=False, collate_fn=collate, num_workers=cfg.data.num_workers)
            module.sample_rows = [val_ds[i] for i in range(min(cfg.run.sample_generations, len(val_ds)))]
            module.generation_collator = GenerationCollator(model.tokenizer, prompt_config(cfg.data), cfg.model.audio, spec, prefix)

    end_check = EndOfTraining()
    from lightning.pytorch.callbacks import ModelCheckpoint

    ckpt = ModelCheckpoint(dirpath=out / "checkpoints", filename="step{step:06d}", auto_insert_metric_name=False,
                           every_n_train_steps=cfg.run.ckpt_every_n_steps, save_last=True, save_top_k=1)
    t = cfg.trainer
    layer_cls = type(decoder_of(model.backbone).layers[0])
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=build_strategy(t.strategy, layer_cls),
        precision=t.precision, max_steps=cfg.optim.max_steps, accumulate_grad_batches=cfg.optim.grad_accum,
        **clipping_kwargs(t.strategy, cfg.optim.grad_clip), logger=_loggers(cfg, out) or False,
        callbacks=[ckpt, LearningRateLogger(), end_check, StopAfterSteps(cfg.run.stop_after_steps)], log_every_n_steps=t.log_every_n_steps,
        val_check_interval=(t.val_every_n_steps * cfg.optim.grad_accum) if t.val_every_n_steps and val_loader else None,
        check_val_every_n_epoch=None if t.val_every_n_steps and val_loader else 1,
        num_sanity_val_steps=0, deterministic=t.deterministic, default_root_dir=str(out), enable_model_summary=False,
    )
    resume = resolve_resume(cfg.run.resume, out)
    if resume:
        log.info("resuming from %s", resume)
    start = time.time()
    trainer.fit(module, train_loader, val_loader, ckpt_path=resume)
    wall = time.time() - start
    summary = {
        "global_step": int(trainer.callback_metrics.get("run/global_step", trainer.global_step)),
        "wall_s": round(wall, 2),
        "resumed_from": resume,
        "world_size": trainer.world_size,
        "ranks_consistent": bool(trainer.callback_metrics["ranks/consistent"]) if "ranks/consistent" in trainer.callback_metrics else None,
        "train_loss": float(trainer.callback_metrics.get("train/loss", float("nan"))),
        "parameters": model.parameter_counts(),
    }
    if trainer.is_global_zero:
        artifact.save(model, out / "final", extra={"data": prompt_settings(cfg.data)}, feature_spec=spec)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"trained {summary['global_step']} steps in {wall:.1f} s -> {out / 'final'} (checkpoints: {out / 'checkpoints'})")
    return summary
