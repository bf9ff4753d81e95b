"""One audio clip, one prompt: the training collator (a dataset row built by ``mv2desc data build``) and
``describe`` (the same file, one segment) give byte-identical prompt text, measured block included."""

from __future__ import annotations

import re

import pytest
import torch

from conftest import REPO

SMOKE = str(REPO / "configs" / "train" / "cpu_smoke.yaml")


class _Captured(Exception):
    pass


def test_the_training_collator_and_describe_build_the_same_prompt(dataset, tmp_path, monkeypatch):
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.model import generation
    from train.__main__ import parse_train_config
    from train.data import RowDataset, TrainCollator, feature_spec, load_split, prompt_config
    from train.module import CaptionerModule

    cfg, _ = parse_train_config(["--config", SMOKE, "--data.dataset", str(dataset), "--run.out_dir", str(tmp_path),
                                 "--data.include_metadata", "false", "--run.loggers", "[csv]"])
    assert cfg.data.include_measured
    tokenizer = CaptionerModule(cfg).model.tokenizer
    spec = feature_spec(cfg.data.dataset)
    collate = TrainCollator(tokenizer, cfg.data, cfg.model.audio, spec, 0)
    row = RowDataset(load_split(cfg.data.dataset, cfg.data.train_split))[0]
    audio = dataset.parent / "m4a" / "audios" / f"{row['id']}.mp3"
    assert audio.is_file()

    seen: list[dict] = []

    def capture(model, rows, prompt_cfg, spec_, **kw):
        seen.extend(rows)
        assert prompt_cfg == prompt_config(cfg.data)
        raise _Captured

    class Loaded(torch.nn.Module):  # what describe needs of a loaded captioner before generation
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.feature_spec = spec
            self.prompt_settings = vars(prompt_config(cfg.data))

    monkeypatch.setattr(generation, "generate_descriptions", capture)
    # the same measurement: the beat tracker the dataset was built with (describe's default is the best one
    # installed, whose tempo on the same clip may differ by a BPM or two)
    tracker = spec.extraction["rhythm"]["tracker"]
    with pytest.raises(_Captured):
        describe_song(audio, Loaded(), DescribeConfig(device="cpu", beats=MusicBeatConfig(tracker=tracker)))
    assert len(seen) == 1  # a 6 s clip is one segment

    train_text = tokenizer.decode(collate.prompts.ids(row))
    describe_text = tokenizer.decode(collate.prompts.ids(seen[0]))
    assert describe_text == train_text
    block = re.search(r"Measured: [^\n]*", train_text)
    assert block, train_text
    assert f"{round(row['tempo_bpm'])} BPM" in block.group(0) and f"key {row['key']} {row['mode']}" in block.group(0)
