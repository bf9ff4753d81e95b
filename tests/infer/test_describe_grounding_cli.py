"""`mv2desc describe --captioner`: a text stating a tempo against the measurement is corrected in the JSON,
the model's own text kept, and the count on stderr is the JSON's; `--ground_facts false` keeps the text."""

from __future__ import annotations

import json

import numpy as np

from conftest import REPO
from mv2desc.cli import main
from mv2desc.media.audio import write_audio


def test_describe_prints_and_writes_the_grounding(tmp_path, monkeypatch, capsys):
    from mv2desc.model import generation
    from mv2desc.synth import SongSpec, render

    def generate(model, rows, prompt_cfg, spec, **kw):  # a captioner that always says 200 BPM
        return [f"Searchlights sweep a rooftop at 200 BPM, segment {k}." for k in range(len(rows))]

    monkeypatch.setattr(generation, "generate_descriptions", generate)
    song = write_audio(tmp_path / "song.wav", render(SongSpec(tempo_bpm=100.0, duration_s=20.0, seed=3), 22050), 22050)
    argv = ["describe", str(song), "--captioner", str(REPO / "assets" / "demo-captioner"), "--beats.tracker", "librosa",
            "--device", "cpu"]

    assert main([*argv, "--out", str(tmp_path / "grounded.json")]) == 0
    out = capsys.readouterr()
    written = json.loads((tmp_path / "grounded.json").read_text(encoding="utf-8"))
    segs = written["segments"]
    assert segs and all(s["model_text"].startswith("Searchlights sweep a rooftop at 200 BPM") for s in segs)
    assert all(f"at {round(s['tempo_bpm'])} BPM" in s["description"] for s in segs)
    assert written["grounding"]["corrected_segments"] == len(segs)
    assert f"grounding: {len(segs)} of {len(segs)} texts stated a tempo, key or mode" in out.err

    assert main([*argv, "--ground_facts", "false", "--out", str(tmp_path / "raw.json")]) == 0
    raw = json.loads((tmp_path / "raw.json").read_text(encoding="utf-8"))
    assert [s["description"] for s in raw["segments"]] == [s["model_text"] for s in segs]
    assert raw["grounding"] is None and "grounding:" not in capsys.readouterr().err
    assert np.isclose(raw["tempo_bpm"], written["tempo_bpm"])
