"""The LightningModule: loss, NaN guard, throughput and memory logging, sample generations, optimiser
+ schedule, and checkpoints that hold only the trainable weights."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from mv2desc.model.builder import build_captioner
from mv2desc.paths import resolve_repo_path
from train.config import TrainConfig

log = logging.getLogger(__name__)

# Segments that wrappers insert into parameter names (FSDP, activation checkpointing, torch.compile);
# the full state dict Lightning saves has clean names.
WRAPPER_SEGMENTS = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")

# Strategies whose layers are sharded: a rank-0-only generate() would wait forever for the other ranks.
SHARDED_PARAM_STRATEGIES = ("fsdp", "deepspeed_stage_3")


def clean_param_name(name: str) -> str:
    for seg in WRAPPER_SEGMENTS:
        name = name.replace(seg, "")
    return name


def sample_generation_supported(strategy: str) -> bool:
    """Samples are generated on rank 0 only: not possible when the parameters are sharded across ranks."""
    return strategy not in SHARDED_PARAM_STRATEGIES


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
        if cfg.init_from:
            from mv2desc.model.artifact import warm_start

            warm_start(self.model, resolve_repo_path(cfg.init_from))
        self.model.train()  # train mode: dropout on, and transformers only checkpoints activations in training mode
        self.strict_loading = False  # checkpoints hold only the trainable weights (checked in on_load_checkpoint)
        self._t_batch: float | None = None
        self.sample_rows: list[dict] = []
        self.generation_collator = None
        self._samples_note_logged = False
        # token-weighted objective over a whole optimizer step (all micro-batches, all ranks): summed
        # over the step's micro-batches, reset after each optimizer step
        self._step_tokens = 0.0
        self._step_loss_sum = 0.0

    # -- names of what a checkpoint must hold ----------------------------------------------------------
    def trainable_keys(self) -> set[str]:
        return {f"model.{clean_param_name(n)}" for n, p in self.model.named_parameters() if p.requires_grad}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        keep = self.trainable_keys()
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint["mv2desc"] = {"trainable_keys": len(keep), "model_trainable": self.cfg.model_trainable}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        missing = sorted(self.trainable_keys() - set(checkpoint["state_dict"]))
        if missing:
            raise RuntimeError(f"checkpoint lacks {len(missing)} trainable tensors (e.g. {missing[:3]}): wrong config for this checkpoint?")
        extra = sorted(set(checkpoint["state_dict"]) - self.trainable_keys())
        if extra:
            raise RuntimeError(f"checkpoint holds {len(extra)} tensors this model does not train (e.g. {extra[:3]}): wrong config for this checkpoint?")

    # -- steps -----------------------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any]):
        return self.model(batch["input_ids"], batch["attention_mask"], audio=batch["audio"], labels=batch.get("labels"))

    def summed_token_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
        """(sum of the target tokens' cross-entropy, number of target tokens) for one micro-batch."""
        logits = self.model(batch["input_ids"], batch["attention_mask"], audio=batch["audio"]).logits
        target = batch["labels"][:, 1:].to(logits.device)
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
        )
        return loss, int((target != -100).sum())

    def _token_weighting(self) -> bool:
        # DeepSpeed keeps gradients in its own partitioned buffers (p.grad is not the reduced gradient), so
        # the step-level rescale cannot be applied there: it keeps the per-micro-batch token mean.
        return not self.cfg.trainer.strategy.startswith("deepspeed")

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss_sum, tokens = self.summed_token_loss(batch)
        finite = bool(torch.isfinite(loss_sum))
        # one small collective per micro-batch: every rank learns whether any rank's loss is non-finite (so
        # all ranks stop together instead of the healthy ones waiting in the gradient all-reduce), and the
        # step's token count and summed loss over all ranks
        stats = torch.tensor([0.0 if finite else 1.0, float(tokens), float(loss_sum.detach()) if finite else 0.0],
                             dtype=torch.float64, device=self.device)
        stats = self.trainer.strategy.reduce(stats, reduce_op="sum") if self.trainer.world_size > 1 else stats
        if not finite or stats[0] > 0:
            where = f"loss is {loss_sum.item()}" if not finite else "loss is non-finite on another rank"
            raise NonFiniteLossError(
                f"{where} at step {self.global_step} (batch ids {batch['ids'][:4]}): training stopped. "
                "Lower optim.lr, keep trainer.precision bf16-mixed, or check the batch's features."
            )
        self._step_tokens += float(stats[1])
        self._step_loss_sum += float(stats[2])
        bs = batch["input_ids"].shape[0]
        if not self._token_weighting():
            loss = loss_sum / max(1, tokens)
            self.log("train/loss", loss, prog_bar=True, batch_size=bs, sync_dist=False)
        else:
            # Lightning divides this by accumulate_grad_batches and DDP/FSDP average over ranks;
            # on_before_optimizer_step turns the summed gradients into the step's token-weighted mean.
            loss = loss_sum
        now = time.perf_counter()
        if self._t_batch is not None:
            tokens = float(batch["attention_mask"].sum()) * self.trainer.world_size
            self.log("train/tokens_per_s", tokens / max(1e-9, now - self._t_batch), batch_size=bs)
        self._t_batch = now
        if torch.cuda.is_available():
            self.log("train/peak_mem_gib", torch.cuda.max_memory_allocated() / 1024**3, batch_size=bs)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        tokens, loss_sum = self._step_tokens, self._step_loss_sum
        self._step_tokens, self._step_loss_sum = 0.0, 0.0
        if not self._token_weighting():
            return
        scale = self.trainer.accumulate_grad_batches * self.trainer.world_size / max(1.0, tokens)
        with torch.no_grad():
            for p in self.parameters():
                if p.grad is not None:
                    p.grad.mul_(scale)
        self.log("train/loss", loss_sum / max(1.0, tokens), prog_bar=True, batch_size=1, sync_dist=False)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        root = self._fsdp_root()
        if root is None:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        elif self.cfg.optim.grad_clip:
            # Lightning's FSDPPrecision refuses norm clipping; FSDP's own clip_grad_norm_ computes the global
            # norm over all shards (the Trainer gets no gradient_clip_val under fsdp, see train.fit)
            root.clip_grad_norm_(self.cfg.optim.grad_clip)

    def _fsdp_root(self):
        from torch.distributed.fsdp import FullyShardedDataParallel

        model = getattr(self.trainer.strategy, "model", None)
        return model if isinstance(model, FullyShardedDataParallel) else None

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.log("val/loss", self(batch).loss, prog_bar=True, batch_size=batch["input_ids"].shape[0], sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.is_global_zero or not self.sample_rows or self.generation_collator is None or self.trainer.sanity_checking:
            return
        if not sample_generation_supported(self.cfg.trainer.strategy):
            if not self._samples_note_logged:
                log.info("sample generations skipped: strategy %s shards the layers, so rank 0 cannot generate alone",
                         self.cfg.trainer.strategy)
                self._samples_note_logged = True
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
        groups = [g for g in self.model.optimizer_groups(o.lr, o.new_modules_lr, o.weight_decay, o.gates_lr) if g["params"]]
        optimizer = torch.optim.AdamW(groups, lr=o.lr, betas=(0.9, 0.999), eps=1e-8)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, o.warmup_steps, o.max_steps, o.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}
