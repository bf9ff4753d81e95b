"""Training data: dataset rows -> chat prompts + description targets + audio tensors.

Training batches are right-padded with labels only on the description tokens (and the closing
end-of-turn token); generation batches are left-padded prompts.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from mv2desc.data import columns as c
from mv2desc.data.spec import FeatureSpec
from mv2desc.errors import UserError
from mv2desc.model.audio_batch import collate_audio, require_spec
from mv2desc.model.config import AudioEncoderConfig
from mv2desc.model.generation import PromptBuilder, PromptConfig, pad_token_ids
from train.config import DataConfig

log = logging.getLogger(__name__)
IGNORE = -100


def dataset_root(path: str | Path) -> tuple[Path, Path]:
    """(folder with manifest.json, folder for load_from_disk) from either of them."""
    p = Path(path)
    if (p / "manifest.json").is_file() and (p / "dataset").is_dir():
        return p, p / "dataset"
    if (p.parent / "manifest.json").is_file() and (p / "dataset_dict.json").is_file():
        return p.parent, p
    raise UserError(f"{p} is not a dataset written by `mv2desc data build` (no manifest.json + dataset/)")


def feature_spec(path: str | Path) -> FeatureSpec:
    """The dataset's :class:`FeatureSpec` (manifest.json); a missing or unreadable one is a one-line error."""
    manifest_dir, _ = dataset_root(path)
    try:
        return FeatureSpec.from_manifest(manifest_dir)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise UserError(f"{manifest_dir / 'manifest.json'}: {exc}") from exc


def load_split(path: str | Path, split: str):
    """One split of the dataset (only that one is opened). An empty split -- which ``datasets`` writes
    without data files and cannot load back -- is returned as an empty Dataset with its columns."""
    from datasets import Dataset, DatasetInfo, load_from_disk

    _, data_dir = dataset_root(path)
    try:
        names = json.loads((data_dir / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        state = json.loads((data_dir / split / "state.json").read_text(encoding="utf-8")) if split in names else {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{data_dir} is not a readable dataset ({exc}): rebuild it with mv2desc data build") from exc
    if split not in names:
        raise UserError(f"split {split!r} not in {data_dir} (has {names})")
    if not state.get("_data_files"):
        features = DatasetInfo.from_directory(str(data_dir / split)).features
        return Dataset.from_dict({k: [] for k in features or {}}, features=features)
    return load_from_disk(str(data_dir / split))


def check_trainable(split, name: str, dataset: str | Path) -> None:
    """Refuse a training split that would train nothing, or train the model to say nothing: no rows, no
    description column, or only empty descriptions (one-line :class:`UserError`). Some empty ones: a warning."""
    where = f"split {name!r} of {dataset}"
    if len(split) == 0:
        raise UserError(f"{where} has no rows, so there is nothing to train on: rebuild the dataset with clips in that split "
                        "(mv2desc data build), or set data.train_split to a split that has rows")
    if c.DESCRIPTION not in split.column_names:
        raise UserError(f"{where} has no 'description' column: rebuild it with mv2desc data build")
    empty = sum(1 for d in split[c.DESCRIPTION] if not (d or "").strip())
    if empty == len(split):
        raise UserError(f"every description in {where} is empty ({empty} rows): the model would learn to say nothing; "
                        "rebuild the dataset with a description source that yields text (data build's description.source)")
    if empty:
        log.warning("%d of %d descriptions in %s are empty: those rows teach the model to stop at once", empty, len(split), where)


def derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation with no fixed point (n >= 2): nobody keeps their own audio."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g).tolist()
    return [perm[(perm.index(i) + 1) % n] for i in range(n)]


class RowDataset(Dataset):
    """Rows of one split as dicts (only the columns the model and prompts use). With
    ``audio_shuffle_seed`` every row carries another row's audio (the shuffled-audio control)."""

    # the measured attributes travel with the row (for attribute consistency), never with shuffled audio
    # (and with the prompt's measured block: mv2desc.data.measured)
    MEASURED = tuple(dict.fromkeys((*c.ATTRIBUTE_COLUMNS.values(), *c.PROMPT_MEASURED_COLUMNS)))
    COLUMNS = (c.ID, c.ARTIST, c.SONG, c.TAGS, c.GENRES, c.LYRICS, c.DESCRIPTION, *c.AUDIO_COLUMNS, *MEASURED)

    def __init__(self, split, audio_shuffle_seed: int | None = None) -> None:
        self.split = split.select_columns([c for c in self.COLUMNS if c in split.column_names])
        self.audio_from = derangement(len(self.split), audio_shuffle_seed) if audio_shuffle_seed is not None and len(self.split) > 1 else None

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.split[int(i)]
        if self.audio_from is not None:
            other = self.split[self.audio_from[int(i)]]
            row.update({k: other[k] for k in c.AUDIO_COLUMNS if k in other})
        return row


class EpochShuffleSampler(Sampler[int]):
    """A permutation that depends only on (seed, epoch): a resumed run sees the same order.
    Lightning calls ``set_epoch``; under DDP it swaps in a DistributedSampler with the same property."""

    def __init__(self, n: int, seed: int, shuffle: bool = True) -> None:
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def prompt_config(cfg: DataConfig) -> PromptConfig:
    """The prompt part of the data config."""
    return PromptConfig(**{f.name: getattr(cfg, f.name) for f in fields(PromptConfig)})


def prompt_settings(cfg: DataConfig) -> dict[str, Any]:
    """The prompt settings a model was trained with (saved in its artifact; generation reuses them)."""
    return asdict(prompt_config(cfg))


class TrainCollator:
    """rows -> {input_ids, attention_mask, labels (B, L), audio: AudioBatch}; right padding."""

    def __init__(self, tokenizer: Any, data_cfg: DataConfig, audio_cfg: AudioEncoderConfig, spec: FeatureSpec, prefix_tokens: int = 0) -> None:
        self.tok = tokenizer
        self.prompts = PromptBuilder(tokenizer, prompt_config(data_cfg), prefix_tokens)
        self.cfg = data_cfg
        self.audio_cfg = audio_cfg
        self.spec = require_spec(spec, "TrainCollator")
        self.eos, self.pad = pad_token_ids(tokenizer)
        self.truncated = 0

    def target_ids(self, row: dict[str, Any]) -> list[int]:
        """The description's tokens + ``<|im_end|>``; a description longer than ``max_target_tokens`` is
        cut and gets **no** end-of-turn (the model must not learn to stop mid-sentence), and the cut is
        logged (the first few by id, then a count every 100)."""
        t = self.tok(row[c.DESCRIPTION], add_special_tokens=False)["input_ids"]
        if len(t) <= self.cfg.max_target_tokens:
            return t + [self.eos]
        self.truncated += 1
        if self.truncated <= 3 or self.truncated % 100 == 0:
            log.warning("description of %s has %d tokens > data.max_target_tokens=%d: cut, without end-of-turn (%d cut so far)",
                        row.get(c.ID, "?"), len(t), self.cfg.max_target_tokens, self.truncated)
        return t[: self.cfg.max_target_tokens]

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        seqs, labels = [], []
        for row in rows:
            p = self.prompts.ids(row)
            t = self.target_ids(row)
            seqs.append(p + t)
            labels.append([IGNORE] * len(p) + t)
        width = max(len(s) for s in seqs)
        input_ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        lab = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        for i, (seq, target) in enumerate(zip(seqs, labels)):
            input_ids[i, : len(seq)] = torch.tensor(seq)
            attention[i, : len(seq)] = 1
            lab[i, : len(target)] = torch.tensor(target)
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": lab,
            "audio": collate_audio(rows, self.audio_cfg, self.spec),
            "ids": [r[c.ID] for r in rows],
        }


def steps_per_epoch(n_rows: int, batch_size: int, world: int, grad_accum: int) -> int:
    return max(1, math.ceil(math.ceil(n_rows / world) / batch_size) // grad_accum)
