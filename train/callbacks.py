"""Callbacks: learning rate to the loggers, a check that every DDP rank ends with the same weights, and
checkpoint files that appear whole or not at all."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO

from mv2desc.atomic import atomic_write_bytes
from mv2desc.errors import UserError

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file beside the target, then renamed (Lightning's own writer
    stages them in the system temp folder and copies them over, leaving a truncated ``last.ckpt`` when the
    disk fills). A failed write is one :class:`UserError` naming the checkpoint and the cause; the
    checkpoint that was there before stays whole."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"storage_options are not supported by {type(self).__name__}")
        try:
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            atomic_write_bytes(Path(path), buffer.getvalue())
        except OSError as exc:
            raise UserError(f"cannot write checkpoint {path}: {exc.strerror or exc}; free space (or fix permissions) and rerun "
                            "the same command (it resumes from the last checkpoint written whole)") from exc


def replicas_comparable(strategy) -> bool:
    """Whether every rank holds the full trainable weights, so equal checksums mean equal replicas: true
    for DDP-like strategies (and DeepSpeed ZeRO-2), false under FSDP (each rank holds a shard) and
    ZeRO-3 (parameters are partitioned: local tensors are empty placeholders)."""
    from lightning.pytorch.strategies import FSDPStrategy

    if isinstance(strategy, FSDPStrategy):
        return False
    return not bool(getattr(strategy, "zero_stage_3", False))


class LearningRateLogger(L.Callback):
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        opt = trainer.optimizers[0] if trainer.optimizers else None
        if opt is not None:
            for g in opt.param_groups:
                pl_module.log(f"lr/{g.get('name', 'group')}", g["lr"], batch_size=1)


class EndOfTraining(L.Callback):
    """At the end of training: all-gather a checksum of the trainable weights (replicas must agree), and
    hand the final step and that verdict back through callback_metrics (the only state that spawn/fork
    launchers return to the launching process)."""

    def __init__(self) -> None:
        self.consistent: bool | None = None
        self.checksums: list[float] = []

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.callback_metrics["run/global_step"] = torch.tensor(float(trainer.global_step))
        if not replicas_comparable(trainer.strategy):
            log.info("end-of-training weight checksum skipped: %s shards the parameters across ranks", type(trainer.strategy).__name__)
            return
        with torch.no_grad():
            local = torch.stack([p.detach().double().sum() for p in pl_module.model.parameters() if p.requires_grad]).sum()
        gathered = pl_module.all_gather(local.to(pl_module.device)).reshape(-1).cpu().tolist()
        self.checksums = [float(x) for x in gathered]
        self.consistent = all(abs(x - self.checksums[0]) <= 1e-9 * max(1.0, abs(self.checksums[0])) for x in self.checksums)
        # callback_metrics travel back to the launching process (spawn/fork launchers), callback state does not
        trainer.callback_metrics["ranks/consistent"] = torch.tensor(float(self.consistent))
        trainer.callback_metrics["run/global_step"] = torch.tensor(float(trainer.global_step))
        if not self.consistent:
            raise RuntimeError(f"DDP ranks ended with different weights (checksums {self.checksums})")


class StopAfterSteps(L.Callback):
    """End the job after ``steps`` optimizer steps, right after the step checkpoint saved there (a
    multiple of run.ckpt_every_n_steps); the next job resumes from it and sees the same batches."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.steps and trainer.global_step >= self.steps:
            trainer.should_stop = True
