"""The LightningModule: loss, NaN guard, throughput and memory logging, sample generations, optimiser
+ schedule, and checkpoints that hold only the trainable weights."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from mv2desc.model.builder import build_captioner
from train.config import TrainConfig


class NonFiniteLossError(RuntimeError):
    """Training stopped on a NaN/inf loss (the message says where and what to try)."""


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """LR multiplier: linear 0 -> 1 over ``warmup`` steps, then cosine 1 -> ``min_ratio`` at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class CaptionerModule(L.LightningModule):
    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = build_captioner(cfg.model, trainable=cfg.model_trainable, seed=cfg.run.seed)
        self.model.train()  # train mode: dropout on, and transformers only checkpoints activations in training mode
        self.strict_loading = False  # checkpoints hold only the trainable weights (checked in on_load_checkpoint)
        self._t_batch: float | None = None
        self.sample_rows: list[dict] = []
        self.generation_collator = None

    # -- names of what a checkpoint must hold ----------------------------------------------------------
    def trainable_keys(self) -> set[str]:
        return {f"model.{n}" for n, p in self.model.named_parameters() if p.requires_grad}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        keep = self.trainable_keys()
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint["mv2desc"] = {"trainable_keys": len(keep), "model_trainable": self.cfg.model_trainable}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        missing = sorted(self.trainable_keys() - set(checkpoint["state_dict"]))
        if missing:
            raise RuntimeError(f"checkpoint lacks {len(missing)} trainable tensors (e.g. {missing[:3]}): wrong config for this checkpoint?")

    # -- steps -----------------------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any]):
        return self.model(batch["input_ids"], batch["attention_mask"], audio=batch["audio"], labels=batch.get("labels"))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self(batch).loss
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"loss is {loss.item()} at step {self.global_step} (batch ids {batch['ids'][:4]}): training stopped. "
                "Lower optim.lr, keep trainer.precision bf16-mixed, or check the batch's features."
            )
        bs = batch["input_ids"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=bs, sync_dist=False)
        now = time.perf_counter()
        if self._t_batch is not None:
            tokens = float(batch["attention_mask"].sum()) * self.trainer.world_size
            self.log("train/tokens_per_s", tokens / max(1e-9, now - self._t_batch), batch_size=bs)
        self._t_batch = now
        if torch.cuda.is_available():
            self.log("train/peak_mem_gib", torch.cuda.max_memory_allocated() / 1024**3, batch_size=bs)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.log("val/loss", self(batch).loss, prog_bar=True, batch_size=batch["input_ids"].shape[0], sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.is_global_zero or not self.sample_rows or self.generation_collator is None or self.trainer.sanity_checking:
            return
        from mv2desc.model.generation import generate_batch

        batch = self.generation_collator(self.sample_rows)
        texts = generate_batch(self.model, batch, max_new_tokens=self.cfg.run.max_new_tokens, device=self.device)
        path = Path(self.cfg.run.out_dir) / "samples.jsonl"
        with open(path, "a", encoding="utf-8") as f:
            for i, text in enumerate(texts):
                f.write(json.dumps({"step": self.global_step, "id": batch["ids"][i], "prediction": text, "reference": batch["references"][i]}, ensure_ascii=False) + "\n")

    # -- optimiser -------------------------------------------------------------------------------------
    def configure_optimizers(self):
        o = self.cfg.optim
        groups = [g for g in self.model.optimizer_groups(o.lr, o.new_modules_lr, o.weight_decay) if g["params"]]
        optimizer = torch.optim.AdamW(groups, lr=o.lr, betas=(0.9, 0.999), eps=1e-8)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, o.warmup_steps, o.max_steps, o.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}
