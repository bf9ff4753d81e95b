"""Load an exported captioner and generate one greedy description (shared by tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mv2desc.data.spec import DEFAULT_SPEC
from mv2desc.model import artifact
from mv2desc.model.audio_batch import collate_audio
from mv2desc.model.prompting import encode_prompts, prompt_text


def generate_once(path: Path, max_new_tokens: int = 8) -> list[int]:
    model = artifact.load(path)
    rng = np.random.default_rng(0)
    row = {"duration_s": 6.0, "egemaps_functionals": rng.normal(size=88).tolist(), "clap_clip": rng.normal(size=32).tolist()}
    enc = encode_prompts(model.tokenizer, [prompt_text(model.tokenizer)])
    out = model.generate(**enc, audio=collate_audio([row], model.config.audio, DEFAULT_SPEC), max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens)
    return out[0, enc["input_ids"].shape[1] :].tolist()
