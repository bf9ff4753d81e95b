"""``mv2desc demo``: the whole product on embedded defaults, composed through the CLI, ends with a
dataset, a captioner warm-started from the shipped demo artifact, scored predictions (with attribute
consistency) and a music video of a new song, with its storyboard and timeline."""

from __future__ import annotations

import json

import pytest

from mv2desc.cli import main
from mv2desc.data.spec import FeatureSpec

pytestmark = pytest.mark.slow  # the whole demo end to end


def test_demo_runs_end_to_end_and_writes_what_it_says(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--n_tracks", "8", "--num_proc", "1", "--train_steps", "2", "--song_s", "24"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    spec = FeatureSpec.from_manifest(out / "data")
    meta = json.loads((out / "train" / "final" / "captioner.json").read_text())
    assert FeatureSpec.from_dict(meta["feature_spec"]) == spec
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["n"] == sum(1 for _ in open(out / "eval" / "predictions.jsonl"))
    assert 0.0 <= metrics["attributes"]["overall"]["score"] <= 1.0
    report = json.loads((out / "mv" / "report.json").read_text())
    assert report["describer"] == "captioner"
    assert report["sync"]["output"]["duration_s"] == pytest.approx(24.0, abs=0.1)
    assert all(len(s["description"].split()) >= 8 for s in report["segments"])  # sentences, not fragments
    for name in ("mv.mp4", "storyboard.html", "timeline.otio"):
        assert (out / "mv" / name).stat().st_size > 0
    for k, step in enumerate(("data example", "data build", "train fit", "eval run", "mv generate"), start=1):
        assert f"[demo {k}/5] mv2desc {step}" in printed
    assert f"attribute consistency {metrics['attributes']['overall']['score']:.2f}" in printed  # measured, next to chance
    assert f"BAS {report['scores']['bas_visual']:.3f} measured on the MP4" in printed
    g = report["song"]["grounding"]  # the captioner's texts, grounded in the measurement: the count printed is the written one
    assert f"{g['corrected_segments']} of {len(report['segments'])} texts stated a tempo, key or mode" in printed
    corrected = [s for s in report["segments"] if s["corrections"]]
    assert len(corrected) == g["corrected_segments"] and all(s["model_text"] != s["description"] for s in corrected)
    assert "What to expect" in printed and "Next, with real weights on a GPU" in printed
