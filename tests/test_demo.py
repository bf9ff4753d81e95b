"""``mv2desc demo``: the whole product on embedded defaults, composed through the CLI, ends with a
dataset, a captioner, scored predictions and a new song described segment by segment."""

from __future__ import annotations

import json

import pytest

from mv2desc.cli import main
from mv2desc.data.spec import FeatureSpec


def test_demo_runs_end_to_end_and_writes_what_it_says(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--n_tracks", "8", "--num_proc", "1", "--train_steps", "2", "--song_s", "40"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    spec = FeatureSpec.from_manifest(out / "data")
    meta = json.loads((out / "train" / "final" / "captioner.json").read_text())
    assert FeatureSpec.from_dict(meta["feature_spec"]) == spec
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["n"] == sum(1 for _ in open(out / "eval" / "predictions.jsonl"))
    described = json.loads((out / "describe" / "descriptions.json").read_text())
    assert described["describer"] == "captioner" and described["duration_s"] == pytest.approx(40.0, abs=0.1)
    segs = described["segments"]
    assert len(segs) >= 2 and segs[0]["start_s"] == 0.0 and segs[-1]["end_s"] == pytest.approx(described["duration_s"], abs=1e-3)
    for step in ("data example", "data build", "train fit", "eval run", "describe"):
        assert f"[demo] mv2desc {step}" in printed
    assert "not fluent" in printed  # the demo says what its tiny captioner's text is worth
