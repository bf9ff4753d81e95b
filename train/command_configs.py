"""The configs of ``mv2desc eval run|score``, ``mv2desc export`` and ``mv2desc model summary``
(``train fit``'s is :class:`train.config.TrainConfig`), read by :func:`mv2desc.app.parse_config`."""

from __future__ import annotations

from dataclasses import dataclass, field

from mv2desc.model.config import CaptionerConfig
from mv2desc.validation import at_least


def given(name: str, value: str | None) -> None:
    """A required path is not empty (``--out ""``)."""
    if not value:
        raise ValueError(f"{name} is required (got an empty path)")


@dataclass
class EvalRunCommand:
    """Generate descriptions for a dataset split with a trained captioner, then score them (writes
    predictions.jsonl and metrics.json).

    Args:
        checkpoint: a captioner artifact, or a training run folder (uses its final/).
        dataset: a folder written by ``mv2desc data build``.
        split: dataset split to describe: train, validation or test.
        out: output folder; none = ``<artifact>/../eval-<split>``.
        batch_size: rows generated per batch.
        max_new_tokens: longest description generated, in tokens.
        device: "auto" (CUDA if available, else CPU), "cpu", "cuda" or "cuda:N".
        backbone: backbone name/path if it moved since training.
        limit: only the first N rows of the split; none = all.
    """

    checkpoint: str
    dataset: str
    split: str = "test"
    out: str | None = None
    batch_size: int = 8
    max_new_tokens: int = 128
    device: str = "auto"
    backbone: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        given("checkpoint", self.checkpoint)
        given("dataset", self.dataset)
        given("split", self.split)
        at_least("batch_size", self.batch_size, 1)
        at_least("max_new_tokens", self.max_new_tokens, 1)
        if self.limit is not None:
            at_least("limit", self.limit, 1)


@dataclass
class EvalScoreCommand:
    """Score predictions against references: BLEU-1..4, METEOR, ROUGE-L, CIDEr, BERTScore, attribute
    consistency (docs/metrics.md), printed as JSON.

    Args:
        predictions: JSONL, one ``{"prediction": ..., "reference": str | [str, ...]}`` a line (optional
            ``"attributes"``: the audio's measured tempo_bpm, rms_db_mean, mode).
        bertscore_model: local checkpoint for BERTScore (e.g. a copy of roberta-large); none = skipped.
        bertscore_layers: BERTScore layer; none = bert-score's for the folder name, else the last.
        attributes_config: a YAML of the attribute-consistency bins and word lists; none = the built-in
            ones (configs/metrics/attributes.yaml).
        out: also write the metrics JSON here.
    """

    predictions: str
    bertscore_model: str | None = None
    bertscore_layers: int | None = None
    attributes_config: str | None = None
    out: str | None = None

    def __post_init__(self) -> None:
        given("predictions", self.predictions)


@dataclass
class ExportCommand:
    """Export a trained captioner: the adapter artifact, or with ``merge`` a merged model.

    Args:
        checkpoint: an artifact folder or a training run folder (uses its final/).
        out: output folder: new, empty, or an earlier export.
        merge: merge LoRA into the backbone and write a full checkpoint.
        backbone: backbone name/path if it moved since training.
    """

    checkpoint: str
    out: str
    merge: bool = False
    backbone: str | None = None

    def __post_init__(self) -> None:
        given("checkpoint", self.checkpoint)
        given("out", self.out)


@dataclass
class ModelSummaryCommand:
    """Parameters per part of a captioner preset + a training-memory estimate, as JSON (``--config
    configs/model/X.yaml`` or a preset name: its ``model:`` section is ``model``).

    Args:
        model: the captioner (backbone, audio encoder, cross-attention, LoRA).
        batch: batch size for the memory estimate.
        seq_len: text tokens per sample for the memory estimate.
        audio_tokens: audio tokens per sample for the memory estimate.
    """

    model: CaptionerConfig = field(default_factory=CaptionerConfig)
    batch: int = 4
    seq_len: int = 1024
    audio_tokens: int = 300

    def __post_init__(self) -> None:
        at_least("batch", self.batch, 1)
        at_least("seq_len", self.seq_len, 1)
        at_least("audio_tokens", self.audio_tokens, 0)
