"""Rows -> descriptions with a captioner: prompts, left-padded batches, batched generation.

The one generation path: ``mv2desc describe`` (segments of a song), ``mv2desc eval run`` (a dataset
split) and training's sample generations all go through :class:`GenerationCollator` and
:func:`generate_descriptions`; training's collator builds its prompts with the same
:class:`PromptBuilder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from mv2desc.data.columns import ARTIST, DESCRIPTION, GENRES, ID, LYRICS, SONG, TAGS
from mv2desc.data.measured import measured_block
from mv2desc.data.spec import FeatureSpec
from mv2desc.model.audio_batch import collate_audio, require_spec
from mv2desc.model.config import AudioEncoderConfig
from mv2desc.model.prompting import DEFAULT_INSTRUCTION, prompt_text


@dataclass
class PromptConfig:
    """How a prompt is built (saved with a trained artifact; generation reuses it).

    Args:
        include_measured: put the ``measured`` block into the prompt (:func:`mv2desc.data.measured.measured_block`:
            tempo, key and mode, loudness and its contour, onset density, the segment's place in the song),
            built the same way from a dataset row and from a describe segment. ``false``: the audio-only
            ablation.
        include_metadata: put artist, title, tags and genres into the prompt.
        include_lyrics: put a lyrics excerpt into the prompt.
        lyrics_max_chars: length of that excerpt.
        max_prompt_tokens: longer prompts are cut inside: context first, then the instruction's end; the
            template, audio placeholders and assistant opener are always kept (:class:`PromptBuilder`).
        instruction: the user instruction of every prompt.
    """

    include_measured: bool = True
    include_metadata: bool = False
    include_lyrics: bool = False
    lyrics_max_chars: int = 300
    max_prompt_tokens: int = 256
    instruction: str = DEFAULT_INSTRUCTION

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "PromptConfig":
        """From an artifact's saved prompt settings (keys this class does not know are ignored; settings
        saved before the measured block existed mean a model trained without it)."""
        names = {f.name for f in fields(cls)}
        d = dict(d or {})
        d.setdefault("include_measured", False)
        return cls(**{k: v for k, v in d.items() if k in names})


def context_text(row: dict[str, Any], cfg: PromptConfig) -> str:
    """The context of a row's prompt: the measured block first, then metadata and lyrics ("" when none).
    A prompt too long is cut from the context's end, so the measured block is the last to go."""
    parts = []
    if cfg.include_measured and (block := measured_block(row)):
        parts.append(block)
    if cfg.include_metadata:
        for label, key in (("Artist", ARTIST), ("Title", SONG)):
            if row.get(key):
                parts.append(f"{label}: {row[key]}.")
        for label, key in (("Tags", TAGS), ("Genres", GENRES)):
            if row.get(key):
                parts.append(f"{label}: {', '.join(row[key])}.")
    if cfg.include_lyrics and row.get(LYRICS):
        lyrics = row[LYRICS]
        excerpt = lyrics[: cfg.lyrics_max_chars].rsplit(" ", 1)[0] if len(lyrics) > cfg.lyrics_max_chars else lyrics
        parts.append("Lyrics: " + " / ".join(line.strip() for line in excerpt.splitlines() if line.strip()))
    return " ".join(parts)


class PromptBuilder:
    """Chat-template prompts (the backbone's own template), capped at ``max_prompt_tokens``.

    A prompt that is too long is shortened from the inside, never at its edges: first the context
    (metadata / lyrics; dropped altogether if need be), then the end of the instruction. The chat
    template's frame (system turn, user and assistant openers), the ``prefix_tokens`` audio
    placeholders and the closing ``<|im_start|>assistant`` opener, where generation starts, are always
    kept; a ``max_prompt_tokens`` too small for them is a ``ValueError``.
    """

    def __init__(self, tokenizer: Any, cfg: PromptConfig, prefix_tokens: int) -> None:
        self.tok, self.cfg, self.prefix_tokens = tokenizer, cfg, prefix_tokens

    def _encode(self, instruction: str, context: str) -> list[int]:
        text = prompt_text(self.tok, instruction, prefix_tokens=self.prefix_tokens, context=context)
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def ids(self, row: dict[str, Any]) -> list[int]:
        limit, instruction = self.cfg.max_prompt_tokens, self.cfg.instruction
        context = context_text(row, self.cfg)
        ids = self._encode(instruction, context)
        for _ in range(8):  # 1. shorten the context
            if len(ids) <= limit:
                return ids
            if not context:
                break
            context = context[: int(len(context) * limit / len(ids) * 0.9)]
            ids = self._encode(instruction, context)
        if context:  # still too long: drop the context
            ids = self._encode(instruction, "")
            if len(ids) <= limit:
                return ids
        minimum = len(self._encode("", ""))  # 2. shorten the instruction (keep its start)
        if minimum > limit:
            raise ValueError(
                f"max_prompt_tokens={limit} is too small: the chat template and the {self.prefix_tokens} audio "
                f"placeholders alone take {minimum} tokens; set max_prompt_tokens to at least {minimum}"
            )
        instr_ids = self.tok(instruction, add_special_tokens=False)["input_ids"]
        keep = len(instr_ids)
        while keep > 0:
            keep = max(0, keep - (len(ids) - limit))
            ids = self._encode(self.tok.decode(instr_ids[:keep]).rstrip(), "")
            if len(ids) <= limit:
                return ids
        return ids


def pad_token_ids(tokenizer: Any) -> tuple[int, int]:
    """(end-of-turn id, pad id): ``<|im_end|>`` closes a description; pad falls back to it."""
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    return eos, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos


class GenerationCollator:
    """rows -> {input_ids, attention_mask (B, L) left-padded prompts, audio: AudioBatch, ids, references}."""

    def __init__(self, tokenizer: Any, prompt_cfg: PromptConfig, audio_cfg: AudioEncoderConfig, spec: FeatureSpec, prefix_tokens: int = 0) -> None:
        self.prompts = PromptBuilder(tokenizer, prompt_cfg, prefix_tokens)
        self.audio_cfg, self.spec = audio_cfg, require_spec(spec, "GenerationCollator")
        _, self.pad = pad_token_ids(tokenizer)

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        prompts = [self.prompts.ids(r) for r in rows]
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            input_ids[i, width - len(p) :] = torch.tensor(p)
            attention[i, width - len(p) :] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "audio": collate_audio(rows, self.audio_cfg, self.spec),
            "ids": [r.get(ID, "") for r in rows],
            "references": [r.get(DESCRIPTION, "") for r in rows],
        }


def generation_collator(model: Any, prompt_cfg: PromptConfig, spec: FeatureSpec) -> GenerationCollator:
    """The collator for ``model`` (an :class:`~mv2desc.model.captioner.AudioCaptioner`)."""
    prefix = model.config.xattn.prefix_tokens if model.resampler is not None else 0
    return GenerationCollator(model.tokenizer, prompt_cfg, model.config.audio, spec, prefix)


@torch.no_grad()
def generate_batch(model: Any, batch: dict[str, Any], *, max_new_tokens: int, device: torch.device | str = "cpu") -> list[str]:
    """One collated batch -> its descriptions (greedy, special tokens dropped, whitespace stripped)."""
    ids = model.generate(
        batch["input_ids"].to(device), batch["attention_mask"].to(device), audio=batch["audio"], max_new_tokens=max_new_tokens
    )
    texts = model.tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    return [t.strip() for t in texts]


def generate_descriptions(
    model: Any,
    rows: Sequence[dict[str, Any]],
    prompt_cfg: PromptConfig,
    spec: FeatureSpec,
    *,
    batch_size: int = 8,
    max_new_tokens: int = 128,
    device: torch.device | str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Descriptions of ``rows`` (dataset rows, or ``describe``'s per-segment feature rows), in order.

    ``spec`` is the feature spec of the rows (hops, CLAP window). ``progress(n)`` is called after each
    batch with the number of rows it held.
    """
    collate = generation_collator(model, prompt_cfg, require_spec(spec, "generate_descriptions"))
    out: list[str] = []
    for start in range(0, len(rows), batch_size):
        chunk = list(rows[start : start + batch_size])
        out += generate_batch(model, collate(chunk), max_new_tokens=max_new_tokens, device=device)
        if progress is not None:
            progress(len(chunk))
    return out
