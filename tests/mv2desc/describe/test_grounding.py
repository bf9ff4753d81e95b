"""Grounding: a captioner's stated tempo, key and mode never contradict the values measured on the
segment and printed beside the text; the model's own text and every rewrite are kept."""

from __future__ import annotations

import random

import pytest
import torch

from mv2desc.describe.grounding import ground_text, grounding_summary
from mv2desc.metrics.agreement import agreement_shares, compare, fact_spans, stated_facts

MEASURED = {"tempo_bpm": 104.2, "key": "D", "mode": "minor"}


@pytest.mark.parametrize(("text", "expected", "facts"), [
    ("An upbeat C major track at 140 BPM, neon lights pulsing.", "An upbeat D minor track at 104 BPM, neon lights pulsing.",
     ["key", "bpm"]),
    ("Dancers at 120-130 beats per minute under major chords.", "Dancers at 104 BPM under minor chords.", ["bpm", "mode"]),
    ("A B-flat minor drone, Major lift at the end.", "A D minor drone, Minor lift at the end.", ["key", "mode"]),
])
def test_contradicted_facts_become_the_measured_ones(text, expected, facts):
    grounded, fixes = ground_text(text, MEASURED)
    assert grounded == expected
    assert [f.fact for f in fixes] == facts
    assert [f.stated for f in fixes] == [text[s.start:s.end] for s in fact_spans(text) if s.fact in facts][: len(fixes)]
    assert all(v in (True, None) for v in compare(stated_facts(grounded), MEASURED).values())


@pytest.mark.parametrize("text", [
    "A brooding minor-key groove at 100 bpm in D minor.",  # 100 is within 8 % of 104.2
    "Rain on glass, slow camera, no stated tempo or key.",
    "It is not in F# major and not at 150 BPM: a dark drone.",  # negated statements are not statements
])
def test_agreeing_silent_or_negated_texts_are_left_alone(text):
    grounded, fixes = ground_text(text, MEASURED)
    assert grounded == text and fixes == []


def test_no_measured_tempo_means_no_bpm_claim():
    grounded, fixes = ground_text("Lanterns sway at 90 BPM.", {"tempo_bpm": 0.0, "key": "A", "mode": "major"})
    assert grounded == "Lanterns sway at a free tempo." and fixes[0].fact == "bpm"
    assert stated_facts(grounded).bpm is None


def test_grounded_texts_agree_by_the_benchmark_reading_on_random_claims():
    rng = random.Random(0)
    tonics = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    texts, refs = [], []
    for _ in range(300):
        parts = [rng.choice(["A neon street", "Waves at dusk", "A crowd"])]
        if rng.random() < 0.8:
            parts.append(f"at {rng.randint(60, 180)} BPM")
        if rng.random() < 0.6:
            parts.append(f"in {rng.choice(tonics)} {rng.choice(['major', 'minor'])}")
        elif rng.random() < 0.5:
            parts.append(f"with {rng.choice(['major', 'minor'])} chords")
        texts.append(", ".join(parts) + ".")
        refs.append({"tempo_bpm": float(rng.randint(60, 180)), "key": rng.choice(tonics[:1] + ["D", "F#", "A#"]),
                     "mode": rng.choice(["major", "minor"])})
    before = agreement_shares(texts, refs)
    assert before["bpm"]["agree"] < 0.5 and before["mode"]["agree"] < 0.8  # the random claims do contradict
    grounded = [ground_text(t, r) for t, r in zip(texts, refs)]
    after = agreement_shares([g for g, _ in grounded], refs)
    for fact in ("bpm", "mode", "key"):
        assert after[fact]["agree"] == 1.0 and after[fact]["contradictions"] == 0
        assert after[fact]["states"] == before[fact]["states"]  # nothing added, nothing removed
    summary = grounding_summary([f for _, f in grounded])
    assert summary["segments"] == 300 and summary["corrections"]["bpm"] == before["bpm"]["contradictions"]
    assert summary["corrected_segments"] == sum(bool(f) for _, f in grounded)


def _describe_with(dataset, ground: bool):
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.model.generation import PromptConfig
    from train.data import feature_spec

    spec = feature_spec(dataset)

    class Loaded(torch.nn.Module):  # what describe needs of a loaded captioner besides generation
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.feature_spec = spec
            self.prompt_settings = vars(PromptConfig())

    audio = next((dataset.parent / "m4a" / "audios").glob("*.mp3"))
    cfg = DescribeConfig(device="cpu", beats=MusicBeatConfig(tracker=spec.extraction["rhythm"]["tracker"]), ground_facts=ground)
    return describe_song(audio, Loaded(), cfg)


def test_describe_grounds_the_captioner_and_keeps_its_text(dataset, monkeypatch):
    from mv2desc.model import generation

    written: list[str] = []

    def generate(model, rows, prompt_cfg, spec, **kw):  # a model that gets every fact wrong
        out = []
        for r in rows:
            wrong_key = "C#" if r["key"] != "C#" else "G"
            wrong_mode = "major" if r["mode"] == "minor" else "minor"
            out.append(f"A rooftop chase in {wrong_key} {wrong_mode} at {round(r['tempo_bpm'] * 1.5)} BPM, strobes on every kick.")
        written.extend(out)
        kw.get("progress", lambda n: None)(len(rows))
        return out

    monkeypatch.setattr(generation, "generate_descriptions", generate)
    result = _describe_with(dataset, ground=True)
    assert written and len(result.segments) == len(written)
    for seg, model_text in zip(result.segments, written):
        assert seg.model_text == model_text
        assert seg.description == (f"A rooftop chase in {seg.key} {seg.mode} at {round(seg.tempo_bpm)} BPM, strobes on every kick.")
        assert [c.fact for c in seg.corrections] == ["key", "bpm"]
        d = seg.to_dict()
        assert d["model_text"] == model_text and d["corrections"][1]["written"] == f"{round(seg.tempo_bpm)} BPM"
    assert result.grounding == {"segments": len(written), "corrected_segments": len(written),
                                "corrections": {"bpm": len(written), "key": len(written), "mode": 0}}
    assert "contradicted the measurement and were corrected" in result.note
    assert result.to_dict()["grounding"]["corrected_segments"] == len(written)

    written.clear()
    raw = _describe_with(dataset, ground=False)
    assert [s.description for s in raw.segments] == written
    assert all(s.model_text is None and not s.corrections for s in raw.segments) and raw.grounding is None

