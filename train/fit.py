"""``mv2desc train fit``: build everything from a TrainConfig and run Lightning."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import zipfile
from pathlib import Path

import lightning as L
import yaml
from torch.utils.data import DataLoader

from mv2desc.atomic import atomic_write_bytes, atomic_write_json
from mv2desc.data.spec import FeatureSpec, FeatureSpecMismatch
from mv2desc.errors import UserError
from mv2desc.model import artifact
from mv2desc.model.backbone import decoder_of
from mv2desc.model.generation import GenerationCollator
from mv2desc.outputs import refuse_inputs
from mv2desc.paths import resolve_repo_path
from train.callbacks import AtomicCheckpointIO, EndOfTraining, LearningRateLogger, StopAfterSteps
from train.config import TrainConfig
from train.data import (
    EpochShuffleSampler,
    RowDataset,
    TrainCollator,
    check_trainable,
    feature_spec,
    load_split,
    prompt_config,
    prompt_settings,
)
from train.module import CaptionerModule
from train.strategies import build_strategy

log = logging.getLogger(__name__)


# Settings that may change when a run is resumed: they say how a job runs, logs, or is split into jobs,
# not what is trained. Any other difference is refused (UserError): the checkpoint's optimizer and
# scheduler state would silently override a new optim.lr / weight decay, a new model shape cannot load,
# and config.yaml would record values the run did not use. optim.max_steps may change to extend (or
# shorten) a run: it does take effect (the Trainer stops there and the cosine schedule is recomputed
# from it, so the learning rate moves to the new curve at the resumed step); trainer.devices and
# num_nodes may change because a cluster job does not always get the same machines (Lightning
# redistributes the checkpoint; the global batch changes with them). Both are logged when they differ.
RESUME_MAY_CHANGE = frozenset({
    "run.resume", "run.out_dir", "run.stop_after_steps", "run.ckpt_every_n_steps", "run.loggers", "run.sample_generations",
    "run.max_new_tokens", "trainer.log_every_n_steps", "trainer.val_every_n_steps", "trainer.devices", "trainer.num_nodes",
    "data.num_workers", "optim.max_steps",
})


def _step_of(path: Path) -> int:
    m = re.match(r"step(\d+)", path.name)
    return int(m.group(1)) if m else -1


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from (truncated, not a checkpoint), or None when it reads. A folder
    (DeepSpeed's checkpoint layout) is accepted when it is not empty."""
    if path.is_dir():
        return None if any(path.iterdir()) else "an empty folder"
    if path.stat().st_size == 0:
        return "an empty file"
    if not zipfile.is_zipfile(path):
        return "truncated or not a checkpoint (no zip directory)"
    import torch

    try:
        # mmap: the tensors are mapped, not read; the pickle and the archive's records are checked
        ckpt = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as exc:  # any failure to read means unreadable; the reason is reported
        return f"unreadable ({str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__})"
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        return "not a Lightning checkpoint (no state_dict)"
    return None


def resolve_resume(resume: str, out: Path) -> str | None:
    """The checkpoint to resume from: a file, or a directory (DeepSpeed writes ``last.ckpt/`` as one).
    With ``auto``: ``last.ckpt``, or when it cannot be read (a job killed while writing it) the newest
    readable ``step*.ckpt`` beside it (logged); none readable is a one-line error."""
    if resume == "none":
        return None
    if resume == "auto":
        folder = out / "checkpoints"
        steps = sorted(folder.glob("step*.ckpt"), key=lambda p: (_step_of(p), p.stat().st_mtime), reverse=True)
        found = [p for p in [folder / "last.ckpt", *steps] if p.is_file() or p.is_dir()]
        problems = []
        for path in found:
            why = checkpoint_problem(path)
            if why is None:
                if problems:
                    log.warning("%s: resuming from %s instead", "; ".join(f"{folder / name} is {w}" for name, w in problems), path)
                return str(path)
            problems.append((path.name, why))
        if problems:
            raise UserError(f"no readable checkpoint to resume from in {folder} ({'; '.join(f'{n} is {w}' for n, w in problems)}): "
                            "remove the broken files, or start over with --run.resume none or a new run.out_dir")
        return None
    path = Path(resume)
    if not (path.is_file() or path.is_dir()):
        raise UserError(f"run.resume: checkpoint not found: {resume}")
    why = checkpoint_problem(path)
    if why is not None:
        raise UserError(f"run.resume: {resume} is {why}: point run.resume at a readable checkpoint, or use auto or none")
    return resume


def _flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def _as_saved(cfg: TrainConfig) -> dict:
    """The config as config.yaml holds it (the YAML round trip makes tuples lists, as when read back)."""
    return yaml.safe_load(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))


def check_resume_config(cfg: TrainConfig, resume: str) -> None:
    """Refuse to resume ``resume`` with a configuration that differs from the one its run was started with
    (the run's ``config.yaml`` beside ``checkpoints/``), except in :data:`RESUME_MAY_CHANGE`: a one-line
    :class:`UserError` listing the differing keys and what to do."""
    saved_path = Path(resume).parent.parent / "config.yaml"
    if not saved_path.is_file():
        log.warning("resuming %s: no config.yaml beside its checkpoints/, so the configuration cannot be compared", resume)
        return
    try:
        saved = _flatten(yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {})
    except yaml.YAMLError as exc:
        raise UserError(f"{saved_path} is not readable YAML ({str(exc).splitlines()[0]}): cannot check the resumed run's configuration") from exc
    new = _flatten(_as_saved(cfg))
    default = _flatten(_as_saved(TrainConfig()))
    missing = object()
    refused, allowed = [], []
    for key in sorted(set(saved) | set(new)):
        old_v, new_v = saved.get(key, missing), new.get(key, missing)
        if old_v is missing and new_v == default.get(key, missing):
            continue  # a setting added since that run was started, at its default: the run had the same
        if old_v == new_v:
            continue
        if key == "data.dataset" and old_v is not missing and Path(str(old_v)).resolve() == Path(str(new_v)).resolve():
            continue
        text = f"{key}: {'(absent)' if old_v is missing else old_v!r} -> {'(absent)' if new_v is missing else new_v!r}"
        (allowed if key in RESUME_MAY_CHANGE else refused).append(text)
    if refused:
        raise UserError(
            f"resuming {resume} with a configuration that differs from its run's {saved_path} ({'; '.join(refused)}): "
            "the checkpoint was trained with the old values; use a new run.out_dir for the new configuration, "
            "or --run.resume none to start over in this one"
        )
    if allowed:
        log.warning("resuming with changed run settings: %s", "; ".join(allowed))


SPEC_FILE = "feature_spec.json"  # the FeatureSpec of the dataset a run trains on, beside its config.yaml


def check_resume_features(spec: FeatureSpec, dataset: str, resume: str) -> None:
    """Refuse to resume ``resume`` on a dataset whose features differ from those its run was trained on (the
    run's :data:`SPEC_FILE`; e.g. the dataset folder rebuilt with another CLAP window): one line naming the
    field. A run started before the file existed is resumed with a warning."""
    run = Path(resume).parent.parent
    saved_path = run / SPEC_FILE
    if not saved_path.is_file():
        log.warning("resuming %s: no %s beside its checkpoints/, so the dataset's features cannot be compared", resume, SPEC_FILE)
        return
    try:
        saved = FeatureSpec.from_dict(json.loads(saved_path.read_text(encoding="utf-8")), base=run)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise UserError(f"{saved_path} is not a readable feature spec ({exc}): cannot check the resumed run's features") from exc
    try:
        saved.require_same(spec, f"the run {run}", f"dataset {dataset}")
    except FeatureSpecMismatch as exc:
        raise UserError(f"cannot resume {resume}: {exc}; the checkpoint was trained on the run's features: use a dataset "
                        "built with the run's feature settings, or a new run.out_dir (or --run.resume none) for this one") from exc


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


def check_init_from(path: str, spec, dataset: str) -> Path:
    """The warm-start artifact (returned) exists, is complete and was trained on features of the dataset's spec."""
    art = artifact.resolve(resolve_repo_path(path))
    their = artifact.artifact_spec(artifact.check_complete(art), art)
    if their is None:
        raise UserError(f"init_from {art} records no feature spec (made by an older version), so nothing shows it was "
                        "trained on this dataset's features: retrain it with this version, or drop --init_from")
    try:
        their.require_same(spec, f"init_from {art}", f"dataset {dataset}")
    except FeatureSpecMismatch as exc:
        raise UserError(str(exc)) from exc
    return art


def fit(cfg: TrainConfig) -> dict:
    out = Path(cfg.run.out_dir)
    refuse_inputs({"--run.out_dir": out}, [cfg.data.dataset])  # the warm-start artifact once it is resolved, below
    # The dataset <-> model contract, checked before anything heavy: widths and streams must match
    # (one-line error naming the field); hops and the CLAP window are adopted from the dataset.
    spec = feature_spec(cfg.data.dataset)
    try:
        spec.check_model(cfg.model.audio)
    except FeatureSpecMismatch as exc:
        raise UserError(str(exc)) from exc
    log.info("feature spec: streams %s, CLAP window %.1f s / hop %.1f s, LLD hop %.3f s, rhythm hop %.4f s (from the dataset)",
             list(spec.streams), spec.clap_window_s, spec.clap_hop_s, spec.lld_hop_s, spec.rhythm_hop_s)
    # refused before anything is written or built: nothing to train on, or only empty targets
    train_split = load_split(cfg.data.dataset, cfg.data.train_split)
    check_trainable(train_split, cfg.data.train_split, cfg.data.dataset)
    if cfg.init_from:
        refuse_inputs({"--run.out_dir": out}, [check_init_from(cfg.init_from, spec, cfg.data.dataset)])
    # the checkpoint to resume (falling back past a broken last.ckpt), checked against the config and the
    # features its run was started with before config.yaml and feature_spec.json are replaced by these
    resume = resolve_resume(cfg.run.resume, out)
    if resume:
        check_resume_config(cfg, resume)
        check_resume_features(spec, cfg.data.dataset, resume)
    L.seed_everything(cfg.run.seed, workers=True, verbose=False)
    module = CaptionerModule(cfg)  # before anything is written: a backbone that cannot load leaves no run folder
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "config.yaml", yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False).encode("utf-8"))
    atomic_write_json(out / SPEC_FILE, spec.to_dict(base=out))

    model = module.model
    prefix = cfg.model.xattn.prefix_tokens if model.resampler is not None else 0
    collate = TrainCollator(model.tokenizer, cfg.data, cfg.model.audio, spec, prefix)
    train_ds = RowDataset(train_split, cfg.data.audio_shuffle_seed)
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
                           every_n_train_steps=cfg.run.ckpt_every_n_steps, save_last=True, save_top_k=1,
                           enable_version_counter=False)  # always last.ckpt: a resumed copy of a run never keeps a stale one
    t = cfg.trainer
    layer_cls = type(decoder_of(model.backbone).layers[0])
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=build_strategy(t.strategy, layer_cls),
        precision=t.precision, max_steps=cfg.optim.max_steps, accumulate_grad_batches=cfg.optim.grad_accum,
        **clipping_kwargs(t.strategy, cfg.optim.grad_clip), logger=_loggers(cfg, out) or False, plugins=[AtomicCheckpointIO()],
        callbacks=[ckpt, LearningRateLogger(), end_check, StopAfterSteps(cfg.run.stop_after_steps)], log_every_n_steps=t.log_every_n_steps,
        val_check_interval=(t.val_every_n_steps * cfg.optim.grad_accum) if t.val_every_n_steps and val_loader else None,
        check_val_every_n_epoch=None if t.val_every_n_steps and val_loader else 1,
        num_sanity_val_steps=0, deterministic=t.deterministic, default_root_dir=str(out), enable_model_summary=False,
    )
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
        # written whole or refused with one line (a full disk): a final/ without captioner.json is no artifact
        artifact.save(model, out / "final", extra={"data": prompt_settings(cfg.data)}, feature_spec=spec)
        try:
            atomic_write_json(out / "summary.json", summary)
        except OSError as exc:
            raise UserError(f"cannot write {out / 'summary.json'}: {exc.strerror or exc} (free space or fix permissions)") from exc
        print(f"trained {summary['global_step']} steps in {wall:.1f} s -> {out / 'final'} (checkpoints: {out / 'checkpoints'})")
    return summary
