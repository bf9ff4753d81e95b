"""One captioner artifact: LoRA adapter + audio modules + config + processor/tokenizer.

    <dir>/captioner.json            config, backbone it was trained on, counts for strict checks, and the
                                    FeatureSpec of the features it was trained on (mv2desc.data.spec)
    <dir>/adapter/                  peft adapter (LoRA weights only)            [adapter artifacts]
    <dir>/backbone/                 plain backbone checkpoint, LoRA merged      [merged artifacts]
    <dir>/audio_modules.safetensors audio encoder + cross-attention (+ resampler)
    <dir>/ tokenizer + processor files + chat template

Local paths it records (the backbone folder, the CLAP folder of its feature spec) are references
(:func:`mv2desc.paths.to_ref`): a folder shipped in the repository by its repository path
(``assets/tiny-mv-lm``, ``configs/clap/tiny-random``), any other folder relative to the artifact, never
an absolute path; loading resolves them on this machine (:func:`mv2desc.paths.from_ref`).

Loading checks keys strictly (no missing, no unexpected) and the number of LoRA-wrapped modules,
so an upgrade that renames modules fails loudly instead of loading an adapter that does nothing.
The audio modules live in their own file: ``from_pretrained`` on a merged backbone would drop them.

``captioner.json`` is what makes a folder an artifact: writing one removes it first and writes it last
(atomically), so a write that fails midway (a full disk) never leaves a folder that looks finished, and
the failure is one line naming the folder and the cause. Before loading or exporting, every weights file
is opened (its header checked against its size): a truncated or garbled one is named in one line.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from mv2desc.atomic import atomic_write_json
from mv2desc.data.spec import FeatureSpec, OutdatedFeatureSpec
from mv2desc.errors import UserError
from mv2desc.model.backbone import load_backbone
from mv2desc.model.captioner import AudioCaptioner, count_lora_modules
from mv2desc.model.config import CaptionerConfig
from mv2desc.paths import from_ref, to_ref
from mv2desc.qwen_vl.processor import load_vl_processor

log = logging.getLogger(__name__)
FORMAT = "mv2desc-captioner/1"
AUDIO_FILE = "audio_modules.safetensors"
META_FILE = "captioner.json"


class ArtifactError(UserError):
    """An artifact that does not match the code or the backbone (missing/unexpected keys, counts):
    a user-facing problem, reported by the command line as one line."""


def resolve(path: str | Path) -> Path:
    """An artifact folder, or a training run folder (its ``final/``)."""
    p = Path(path)
    if (p / META_FILE).is_file():
        return p
    if (p / "final" / META_FILE).is_file():
        return p / "final"
    raise ArtifactError(f"{p} is neither a captioner artifact ({META_FILE}) nor a training run with final/")


def local_backbone(artifact_dir: str | Path) -> Path | None:
    """The local folder of the backbone an artifact was trained on, None for a hub or built-in name (an input
    that no output may overwrite)."""
    d = Path(artifact_dir)
    name = (read_meta(d).get("config") or {}).get("backbone", {}).get("name_or_path")
    path = Path(from_ref(name, d)) if isinstance(name, str) and name else None
    return path if path is not None and path.is_dir() else None


def _save_processor(model: AudioCaptioner, out: Path) -> None:
    if model.processor is not None:
        model.processor.save_pretrained(out)


def _spec_record(model: AudioCaptioner, feature_spec: FeatureSpec | None, out: Path) -> dict | None:
    spec = feature_spec if feature_spec is not None else getattr(model, "feature_spec", None)
    return spec.to_dict(base=out) if spec is not None else None


def _backbone_paths(config: dict, fn: Callable[[str], str]) -> dict:
    """``config`` (:meth:`CaptionerConfig.to_dict`) with ``fn`` applied to the backbone's local paths."""
    backbone = dict(config["backbone"])
    for key in ("name_or_path", "config_dir"):
        if backbone.get(key):
            backbone[key] = fn(backbone[key])
    return {**config, "backbone": backbone}


def save(model: AudioCaptioner, out_dir: str | Path, extra: dict | None = None, feature_spec: FeatureSpec | None = None) -> Path:
    """Write the adapter artifact (LoRA + audio modules + config + processor) to ``out_dir``.
    ``extra``: JSON-able settings travelling with the model (e.g. the prompt settings it was trained with).
    ``feature_spec``: the features it was trained on (default: ``model.feature_spec`` when loaded from an artifact)."""
    out = Path(out_dir)
    # full fine-tuning, or a model loaded from a merged artifact: an adapter alone would lose (or point
    # by path at) the trained backbone, so the backbone is written whole
    if _backbone_trained(model) or getattr(model, "merged_backbone", False):
        return merge(model, out, extra=extra, feature_spec=feature_spec)
    n_lora = count_lora_modules(model.backbone)
    with _writing(out):
        if n_lora:
            model.backbone.save_pretrained(out / "adapter")
        save_file({k: v.detach().contiguous().cpu() for k, v in model.audio_state_dict().items()}, out / AUDIO_FILE)
        _save_processor(model, out)
        meta = {
            "format": FORMAT,
            "config": _backbone_paths(model.config.to_dict(), lambda v: to_ref(v, out)),
            "backbone": to_ref(model.config.backbone.name_or_path, out),
            "merged": False,
            "num_lora_modules": n_lora,
            "num_audio_tensors": len(model.audio_state_dict()),
            "feature_spec": _spec_record(model, feature_spec, out),
            "extra": extra or {},
        }
        atomic_write_json(out / META_FILE, meta)  # last: only now is the folder an artifact
    return out


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Write an artifact into ``out``: its ``captioner.json`` goes first (the caller writes it last), and a
    failed write (full disk, permissions, a read-only folder) is one :class:`ArtifactError`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / META_FILE).unlink(missing_ok=True)
        yield
    except (OSError, SafetensorError) as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        cause = (exc.strerror if isinstance(exc, OSError) else None) or str(exc).strip() or type(exc).__name__
        raise ArtifactError(f"cannot write the captioner artifact {out}: {where}{cause}; free space (or fix permissions) and "
                            f"write it again (the folder has no {META_FILE}, so nothing takes it for a finished artifact)") from exc


def _backbone_trained(model: AudioCaptioner) -> bool:
    return any(p.requires_grad for n, p in model.backbone.named_parameters() if "lora_" not in n)


def merge(model: AudioCaptioner, out_dir: str | Path, extra: dict | None = None, feature_spec: FeatureSpec | None = None) -> Path:
    """Merge LoRA into the backbone and write a plain backbone checkpoint (+ processor, tokenizer, chat
    template) under ``out_dir/backbone`` with the audio modules beside it. Consumes ``model``'s LoRA."""
    out = Path(out_dir)
    if count_lora_modules(model.backbone):
        model.backbone = model.backbone.merge_and_unload()
    with _writing(out):
        model.backbone.save_pretrained(out / "backbone")
        _save_processor(model, out / "backbone")
        _save_processor(model, out)
        save_file({k: v.detach().contiguous().cpu() for k, v in model.audio_state_dict().items()}, out / AUDIO_FILE)
        meta = {
            "format": FORMAT,
            "config": _backbone_paths(model.config.to_dict(), lambda v: to_ref(v, out)),
            "backbone": "backbone",
            "merged": True,
            "num_lora_modules": 0,
            "num_audio_tensors": len(model.audio_state_dict()),
            "feature_spec": _spec_record(model, feature_spec, out),
            "extra": extra or {},
        }
        atomic_write_json(out / META_FILE, meta)  # last: only now is the folder an artifact
    return out


def read_meta(artifact_dir: str | Path) -> dict:
    p = Path(artifact_dir) / META_FILE
    if not p.is_file():
        raise ArtifactError(f"{artifact_dir} is not a captioner artifact (no {META_FILE})")
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{p} is damaged (not readable JSON: {exc}); copy the whole artifact folder again, "
                            "or export it again from its training run") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ArtifactError(f"{p}: unsupported format {found!r} (this code reads {FORMAT})")
    return meta


def _has(d: Path, name: str) -> bool:
    f = d / name
    return f.is_file() and f.stat().st_size > 0


def missing_files(artifact_dir: str | Path, meta: dict | None = None) -> list[str]:
    """The files (relative to the artifact) that a complete artifact has and this one lacks (or has empty):
    config, audio modules, tokenizer + chat template, and the adapter or the merged backbone's weights."""
    d = Path(artifact_dir)
    meta = read_meta(d) if meta is None else meta
    need: list[str] = [AUDIO_FILE, "tokenizer_config.json"]
    missing = [n for n in need if not _has(d, n)]
    if not (_has(d, "tokenizer.json") or _has(d, "vocab.json")):
        missing.append("tokenizer.json")
    template = _has(d, "chat_template.jinja") or _has(d, "chat_template.json")
    if not template and _has(d, "tokenizer_config.json"):
        try:
            template = "chat_template" in json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            template = False
    if not template:
        missing.append("chat_template.jinja")
    if meta.get("merged"):
        b = d / "backbone"
        missing += [f"backbone/{n}" for n in ("config.json",) if not _has(b, n)]
        if _has(b, "model.safetensors.index.json"):
            index = json.loads((b / "model.safetensors.index.json").read_text(encoding="utf-8"))
            missing += sorted({f"backbone/{n}" for n in index.get("weight_map", {}).values() if not _has(b, n)})
        elif not (_has(b, "model.safetensors") or _has(b, "pytorch_model.bin")):
            missing.append("backbone/model.safetensors")
    elif meta.get("num_lora_modules"):
        missing += [f"adapter/{n}" for n in ("adapter_config.json", "adapter_model.safetensors") if not _has(d / "adapter", n)]
    return missing


def damaged_files(artifact_dir: str | Path, meta: dict | None = None) -> list[tuple[str, str]]:
    """(file relative to the artifact, why) for each of its safetensors weights files that is there but does
    not open (truncated, garbled, not safetensors): only headers are read, checked against the file size."""
    d = Path(artifact_dir)
    meta = read_meta(d) if meta is None else meta
    names = [AUDIO_FILE]
    if meta.get("merged"):
        b = d / "backbone"
        if _has(b, "model.safetensors.index.json"):
            index = json.loads((b / "model.safetensors.index.json").read_text(encoding="utf-8"))
            names += sorted({f"backbone/{n}" for n in index.get("weight_map", {}).values()})
        else:
            names.append("backbone/model.safetensors")
    elif meta.get("num_lora_modules"):
        names.append("adapter/adapter_model.safetensors")
    damaged = []
    for name in names:
        if not (d / name).is_file() or not name.endswith(".safetensors"):
            continue
        try:
            with safe_open(str(d / name), framework="pt"):
                pass
        except SafetensorError as exc:
            damaged.append((name, str(exc).removeprefix("Error while deserializing header: ")))
    return damaged


def check_complete(artifact_dir: str | Path, meta: dict | None = None) -> dict:
    """The artifact's metadata when every file it needs is there and every weights file opens; otherwise a
    one-line :class:`ArtifactError` naming the missing or damaged ones (checked before loading or exporting
    anything)."""
    d = Path(artifact_dir)
    meta = read_meta(d) if meta is None else meta
    missing = missing_files(d, meta)
    if missing:
        raise ArtifactError(f"incomplete captioner artifact {d}: missing {', '.join(missing)} "
                            "(copy the whole artifact folder, or export it again from its training run)")
    damaged = damaged_files(d, meta)
    if damaged:
        raise ArtifactError(f"damaged captioner artifact {d}: "
                            + "; ".join(f"{d / name} is damaged (truncated or not a safetensors file: {why})" for name, why in damaged)
                            + " (copy the whole artifact folder again, or export it again from its training run)")
    return meta


def load(artifact_dir: str | Path, backbone: str | None = None, *, device: torch.device | str = "cpu", trainable: bool = False) -> AudioCaptioner:
    """Rebuild the captioner from an artifact on top of ``backbone`` (name or path; default: the one it
    was trained on). Any key mismatch raises :class:`ArtifactError`."""
    from peft import PeftModel, get_peft_model_state_dict

    d = Path(artifact_dir)
    meta = check_complete(d)
    spec = artifact_spec(meta, d)  # an artifact of features of an older version: refused before anything is built
    config = CaptionerConfig.from_dict(_backbone_paths(meta["config"], lambda v: from_ref(v, d)))
    if meta["merged"]:
        config.backbone.name_or_path = str(d / "backbone")
        config.backbone.random_init = False
    elif backbone is not None:
        config.backbone.name_or_path = backbone
        config.backbone.random_init = False
    device = torch.device(device)
    base = load_backbone(config.backbone, device=device)
    if meta["num_lora_modules"]:
        base = PeftModel.from_pretrained(base, d / "adapter", is_trainable=trainable)
        n = count_lora_modules(base)
        if n != meta["num_lora_modules"]:
            raise ArtifactError(f"LoRA wraps {n} modules in this backbone, the artifact was trained with {meta['num_lora_modules']}")
        saved = set(load_file(d / "adapter" / "adapter_model.safetensors"))
        expected = set(get_peft_model_state_dict(base))
        if saved != expected:
            raise ArtifactError(
                f"adapter keys do not match the model: missing {sorted(expected - saved)[:5]}, unexpected {sorted(saved - expected)[:5]}"
            )
    processor = load_vl_processor(str(d))
    with torch.device(device):
        model = AudioCaptioner(config, base, processor)
    try:
        model.load_audio_state_dict(load_file(d / AUDIO_FILE, device=str(device)))
    except KeyError as exc:
        raise ArtifactError(str(exc)) from exc
    model.feature_spec = spec
    model.merged_backbone = bool(meta["merged"])  # its backbone lives only in this artifact: save() copies it
    if trainable:
        model.set_trainable()
    else:
        model.requires_grad_(False)
    return model.eval()


def artifact_spec(meta: dict, artifact_dir: str | Path) -> FeatureSpec | None:
    """The FeatureSpec recorded in the ``captioner.json`` of ``artifact_dir`` (None for artifacts made
    before it), its CLAP folder resolved on this machine. An artifact trained on features of an older
    version (:class:`~mv2desc.data.spec.OutdatedFeatureSpec`) is refused with one line: retrain it."""
    record = meta.get("feature_spec")
    if record is None:
        return None
    try:
        return FeatureSpec.from_dict(record, base=artifact_dir)
    except OutdatedFeatureSpec as exc:
        raise ArtifactError(f"the captioner {artifact_dir} was trained on features of an older version "
                            f"({exc.format}, without {exc.lacks}): retrain it with `mv2desc train fit` on a dataset "
                            "rebuilt with `mv2desc data build`") from None
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"unreadable feature_spec in {META_FILE}: {exc}") from exc


def warm_start(model: AudioCaptioner, artifact_dir: str | Path) -> dict:
    """Copy an adapter artifact's trained weights (LoRA + audio modules) into a freshly built ``model`` of
    the same configuration, to fine-tune it further (``train fit --init_from``). A different model
    configuration, a merged artifact or any key or shape mismatch is an :class:`ArtifactError`.
    Returns the artifact's metadata."""
    from peft import set_peft_model_state_dict

    d = resolve(artifact_dir)
    meta = check_complete(d)
    artifact_spec(meta, d)  # an artifact of features of an older version: refused with its one line
    if meta["merged"]:
        raise ArtifactError(f"{d} is a merged artifact: warm-start from an adapter artifact (its training run's final/)")
    # the backbone folders compared as the paths they name here: the artifact's references resolved
    # against it, ours (absolute, or relative to the working directory or repository) made absolute alike
    theirs = _backbone_paths(meta["config"], lambda v: from_ref(v, d))
    ours = _backbone_paths(model.config.to_dict(), lambda v: from_ref(to_ref(v, d), d))
    theirs, ours = ({k: v for k, v in c.items() if k != "gradient_checkpointing"} for c in (theirs, ours))
    if theirs != ours:
        diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
        raise ArtifactError(f"cannot start from {d}: its model config differs in {diff} (use the artifact's own model settings)")
    if meta["num_lora_modules"]:
        if count_lora_modules(model.backbone) != meta["num_lora_modules"]:
            raise ArtifactError(f"{d} has LoRA on {meta['num_lora_modules']} modules, this model on {count_lora_modules(model.backbone)}")
        device = next(model.parameters()).device
        state = load_file(d / "adapter" / "adapter_model.safetensors", device=str(device))
        result = set_peft_model_state_dict(model.backbone, state)
        unexpected = list(getattr(result, "unexpected_keys", []) or [])
        if unexpected:
            raise ArtifactError(f"adapter keys of {d} do not fit this model: {unexpected[:5]}")
    try:
        model.load_audio_state_dict(load_file(d / AUDIO_FILE, device=str(next(model.parameters()).device)))
    except KeyError as exc:
        raise ArtifactError(str(exc)) from exc
    log.info("warm start from %s: LoRA (%d modules) and audio modules loaded", d, meta["num_lora_modules"])
    return meta
