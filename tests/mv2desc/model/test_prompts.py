"""Prompts: the tiny chat template renders like Qwen's, and truncation keeps the template's frame (issue 10)."""

from __future__ import annotations

import pytest

from mv2desc.model.captioner import PREFIX_TOKEN
from mv2desc.model.generation import PromptBuilder, PromptConfig
from mv2desc.model.prompting import DEFAULT_INSTRUCTION, prompt_text

QWEN_FRAME_START = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
QWEN_FRAME_END = "<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    from mv2desc.qwen_vl.tiny import make_tiny_tokenizer

    return make_tiny_tokenizer(tmp_path_factory.mktemp("tiny-tok"))


# ---------------------------------------------------------------- row 13: the tiny chat template


def test_row13_tiny_template_renders_like_qwen(tok):
    messages = [{"role": "user", "content": "Describe the music video for this song."}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == QWEN_FRAME_START + "Describe the music video for this song." + QWEN_FRAME_END


def test_row13_tiny_template_text_parts_and_turns_like_qwen(tok):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": " this."}]},
        {"role": "assistant", "content": "A song."},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nDescribe this.<|im_end|>\n"
        "<|im_start|>assistant\nA song.<|im_end|>\n"
    )


def test_row13_prompt_text_ends_at_qwen_assistant_boundary(tok):
    text = prompt_text(tok, "Describe it.", prefix_tokens=2)
    assert text == QWEN_FRAME_START + PREFIX_TOKEN * 2 + "Describe it." + QWEN_FRAME_END


def test_row13_cached_tiny_checkpoint_serves_the_template(tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    from mv2desc.qwen_vl import tiny

    monkeypatch.setattr(tiny, "make_tiny_qwen_vl", lambda out, family, seed: _fake_checkpoint(out, tiny))
    first = tiny.resolve_tiny("mv2desc-tiny:qwen2_5_vl", cache_dir=tmp_path)
    monkeypatch.setattr(tiny, "CHAT_TEMPLATE", tiny.CHAT_TEMPLATE + "{# changed #}")
    assert tiny.resolve_tiny("mv2desc-tiny:qwen2_5_vl", cache_dir=tmp_path) != first  # a new template is a new cache entry
    served = AutoTokenizer.from_pretrained(first)
    text = served.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    assert text == QWEN_FRAME_START + "x" + QWEN_FRAME_END


def _fake_checkpoint(out, tiny):
    """Only the tokenizer (what the template lives in) and the files resolve_tiny checks for."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True)
    tok = tiny.make_tiny_tokenizer(out)
    tok.chat_template = tiny.CHAT_TEMPLATE
    tok.save_pretrained(out)
    (out / "config.json").write_text("{}")
    (out / "model.safetensors").write_bytes(b"")
    return out


# ---------------------------------------------------------------- row 12: truncation keeps the frame


def _frame_ids(tok, prefix: int) -> tuple[list[int], list[int]]:
    head = tok(QWEN_FRAME_START + PREFIX_TOKEN * prefix, add_special_tokens=False)["input_ids"]
    tail = tok(QWEN_FRAME_END, add_special_tokens=False)["input_ids"]
    return head, tail


LONG_INSTRUCTION = " ".join([DEFAULT_INSTRUCTION] * 12)
LONG_ROW = {"artist": "The Band", "song": "A Song", "tags": ["rock", "live"] * 20, "lyrics": "la la la " * 200}


@pytest.mark.parametrize("prefix", [0, 4, 16])
@pytest.mark.parametrize("limit", [60, 80, 120, 256])
@pytest.mark.parametrize(
    ("instruction", "row", "meta"),
    [(DEFAULT_INSTRUCTION, LONG_ROW, True), (LONG_INSTRUCTION, {}, False), (LONG_INSTRUCTION, LONG_ROW, True)],
    ids=["long-context", "long-instruction", "both"],
)
def test_row12_truncation_keeps_frame_placeholders_and_assistant_opener(tok, prefix, limit, instruction, row, meta):
    cfg = PromptConfig(include_metadata=meta, include_lyrics=meta, lyrics_max_chars=2000, max_prompt_tokens=limit, instruction=instruction)
    ids = PromptBuilder(tok, cfg, prefix).ids(row)
    head, tail = _frame_ids(tok, prefix)
    pad = tok.convert_tokens_to_ids(PREFIX_TOKEN)
    assert len(ids) <= limit
    assert ids[: len(head)] == head  # system turn, user opener and every audio placeholder
    assert ids[-len(tail) :] == tail  # generation starts right after "<|im_start|>assistant\n"
    assert ids.count(pad) == prefix
    text = tok.decode(ids)
    assert text.count("<|im_start|>") == 3 and text.count("<|im_end|>") == 2


def test_row12_instruction_is_cut_at_its_end_after_the_context(tok):
    cfg = PromptConfig(include_metadata=True, max_prompt_tokens=60, instruction=LONG_INSTRUCTION)
    text = tok.decode(PromptBuilder(tok, cfg, 8).ids({"artist": "The Band", "song": "A Song"}))
    assert "Artist:" not in text  # the context goes first
    body = text[len(QWEN_FRAME_START + PREFIX_TOKEN * 8) : -len(QWEN_FRAME_END)]
    assert body and LONG_INSTRUCTION.startswith(body)  # then the end of the instruction


def test_row12_short_prompt_is_untouched(tok):
    cfg = PromptConfig(include_metadata=True, max_prompt_tokens=256)
    row = {"artist": "The Band", "song": "A Song"}
    ids = PromptBuilder(tok, cfg, 4).ids(row)
    expected = prompt_text(tok, cfg.instruction, prefix_tokens=4, context="Artist: The Band. Title: A Song.")
    assert ids == tok(expected, add_special_tokens=False)["input_ids"]


def test_row12_limit_below_the_frame_is_a_clear_error(tok):
    head, tail = _frame_ids(tok, 32)
    minimum = len(head) + len(tail)
    with pytest.raises(ValueError, match=rf"max_prompt_tokens=20 .*at least {minimum}"):
        PromptBuilder(tok, PromptConfig(max_prompt_tokens=20), 32).ids({})
    assert len(PromptBuilder(tok, PromptConfig(max_prompt_tokens=minimum), 32).ids({})) == minimum
