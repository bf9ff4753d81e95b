"""The training configuration: one YAML in configs/train/ holds data, model, optimisation, trainer and run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mv2desc.model.config import CaptionerConfig
from mv2desc.model.prompting import DEFAULT_INSTRUCTION


@dataclass
class DataConfig:
    """What is trained on and how prompts and targets are built.

    Args:
        dataset: folder written by `mv2desc data build` (its dataset/ subfolder or the folder itself).
        train_split: split to train on.
        val_split: split to validate on ("" = no validation).
        batch_size: samples per device per step.
        num_workers: DataLoader workers.
        shuffle: shuffle the training split (seeded by run.seed and the epoch: reproducible on resume).
        include_measured: put the measured block (tempo, key and mode, loudness and contour, onset density,
            position) into the prompt, as ``describe`` does (``false``: the audio-only ablation).
        include_metadata: put artist, title, tags and genres into the prompt.
        include_lyrics: put a lyrics excerpt into the prompt.
        lyrics_max_chars: length of that excerpt.
        max_prompt_tokens: longer prompts are cut (the instruction is kept; context is shortened first).
        max_target_tokens: longer descriptions are cut (reported in the log).
        instruction: the user instruction of every prompt.
        audio_shuffle_seed: control experiment: pair every training description with another clip's
            audio (a seeded derangement); None = the true pairs.
    """

    dataset: str = "runs/demo/data"
    train_split: str = "train"
    val_split: str = "validation"
    batch_size: int = 4
    num_workers: int = 0
    shuffle: bool = True
    include_measured: bool = True
    include_metadata: bool = False
    include_lyrics: bool = False
    lyrics_max_chars: int = 300
    max_prompt_tokens: int = 256
    max_target_tokens: int = 256
    instruction: str = DEFAULT_INSTRUCTION
    audio_shuffle_seed: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.batch_size}")


@dataclass
class OptimConfig:
    """AdamW with linear warmup and cosine decay.

    Args:
        lr: learning rate of LoRA (or of the backbone when model_trainable=full).
        new_modules_lr: learning rate of the audio encoder and cross-attention (default: lr).
        gates_lr: learning rate of the cross-attention's tanh gates (default: new_modules_lr). The gates
            start at 0 and the cross-attention learns nothing until they move; Adam moves them by about
            this rate per step, so the presets set it 10x new_modules_lr (benchmarks/learn_from_audio.py measures why).
        weight_decay: AdamW weight decay (not on gates, norms and biases).
        warmup_steps: linear warmup optimizer steps.
        max_steps: total optimizer steps.
        min_lr_ratio: the cosine ends at lr * min_lr_ratio.
        grad_accum: micro-batches per optimizer step.
        grad_clip: gradient-norm clip (0 = off).
    """

    lr: float = 2e-4
    new_modules_lr: float | None = 1e-4
    gates_lr: float | None = None
    weight_decay: float = 0.0
    warmup_steps: int = 50
    max_steps: int = 1000
    min_lr_ratio: float = 0.1
    grad_accum: int = 1
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.max_steps < 1 or self.grad_accum < 1 or self.warmup_steps < 0 or (self.gates_lr is not None and self.gates_lr <= 0):
            raise ValueError("optim: need lr > 0, gates_lr > 0 (or unset), max_steps >= 1, grad_accum >= 1, warmup_steps >= 0")


@dataclass
class TrainerConfig:
    """Where and how it runs.

    Args:
        accelerator: "auto", "cpu", "gpu".
        devices: devices per node ("auto" or a number).
        num_nodes: machines.
        strategy: "auto", "ddp", "ddp_spawn", "ddp_notebook", "fsdp", "deepspeed_stage_2", "deepspeed_stage_3".
        precision: "bf16-mixed" (default), "32-true", "16-mixed" (refused unless allow_fp16).
        allow_fp16: permit fp16 (NaN-prone with Qwen models; bf16 is the default for a reason).
        val_every_n_steps: validate every N optimizer steps (0 = once per epoch).
        log_every_n_steps: log every N optimizer steps.
        deterministic: torch deterministic algorithms.
    """

    accelerator: str = "auto"
    devices: str | int = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "bf16-mixed"
    allow_fp16: bool = False
    val_every_n_steps: int = 0
    log_every_n_steps: int = 10
    deterministic: bool = False

    def __post_init__(self) -> None:
        if "16-mixed" == self.precision or self.precision.startswith("16") or "fp16" in self.precision:
            if not self.allow_fp16:
                raise ValueError("fp16 precision is refused (Qwen models overflow to NaN in fp16): use bf16-mixed, or set trainer.allow_fp16: true")


@dataclass
class RunConfig:
    """Outputs, checkpoints, logging.

    Args:
        out_dir: the run folder (config.yaml, checkpoints/, logs/, samples.jsonl, final/).
        seed: global seed.
        resume: "auto" (continue from the newest checkpoint in out_dir), "none", or a checkpoint path.
            A broken last.ckpt falls back to the newest readable step*.ckpt (logged). Resuming with a
            configuration that differs from the run's config.yaml is refused, except for the keys in
            train.fit.RESUME_MAY_CHANGE (run/logging cadence, stop_after_steps, devices, optim.max_steps).
        ckpt_every_n_steps: save a checkpoint (last.ckpt) every N optimizer steps. Resuming is exact from a
            checkpoint at an epoch boundary; from mid-epoch Lightning restarts that epoch's data (it warns).
        stop_after_steps: end this job after N optimizer steps with a checkpoint, as a wall-time-limited
            cluster job would (0 = run to optim.max_steps); the schedule still follows optim.max_steps.
        loggers: any of "csv", "tensorboard", "wandb".
        sample_generations: validation samples whose generations are written to samples.jsonl.
        max_new_tokens: length of sample generations.
    """

    out_dir: str = "runs/train"
    seed: int = 0
    resume: str = "auto"
    ckpt_every_n_steps: int = 100
    stop_after_steps: int = 0
    loggers: list[str] = field(default_factory=lambda: ["csv", "tensorboard"])
    sample_generations: int = 2
    max_new_tokens: int = 64

    def __post_init__(self) -> None:
        if self.ckpt_every_n_steps < 1:
            raise ValueError(f"run.ckpt_every_n_steps must be >= 1, got {self.ckpt_every_n_steps}")
        if self.stop_after_steps % self.ckpt_every_n_steps:
            raise ValueError("run.stop_after_steps must be a multiple of run.ckpt_every_n_steps (the job ends on a checkpoint)")
        bad = [x for x in self.loggers if x not in ("csv", "tensorboard", "wandb")]
        if bad:
            raise ValueError(f"run.loggers: unknown {bad} (choose from csv, tensorboard, wandb)")


@dataclass
class TrainConfig:
    """Fine-tune the captioner.

    Args:
        data: dataset and prompts.
        model: the captioner (backbone, audio encoder, cross-attention, LoRA).
        model_trainable: "lora" (LoRA + new modules), "full" (whole decoder + new modules; tiny
            models trained from scratch), or "new_modules" (backbone frozen, no LoRA).
        optim: optimiser and schedule.
        trainer: devices, strategy, precision.
        run: outputs and logging.
        init_from: a captioner adapter artifact (a run's final/) whose LoRA and audio weights this run
            starts from, to fine-tune it further (its model settings and feature spec must match); "" =
            LoRA and audio modules start fresh. A resumed run continues from its checkpoint instead.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: CaptionerConfig = field(default_factory=CaptionerConfig)
    model_trainable: Literal["lora", "full", "new_modules"] = "lora"
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    init_from: str = ""
