"""The shipped recipe learns from the music (issue: "the captioner demonstrably learns"): the small
pretrained backbone frozen, LoRA, audio encoder and gated cross-attention from gate 0, trained on
descriptions that depend on the audio. With the true (audio, description) pairs its held-out
descriptions agree with the measured tempo/energy/mode clearly more often than the same recipe trained
on deranged audio, and clearly above the split's chance level. The songs are sine tones, whose tempo / energy / mode the audio path picks
up within the test's 900 steps; on MIDI arrangements it needs longer (benchmarks/learn_from_audio.py
--generator midi|sine gives the 3-seed figures at full length)."""

from __future__ import annotations

import pytest

from train.ablation import audio_ablation

pytestmark = pytest.mark.slow  # trains the recipe twice, side by side in two processes


# With the tonal stream (feature spec /2) and its projection randomly initialised, this recipe stopped separating
# true from deranged audio (0.583 vs 0.542, chance 0.597); the projection now starts at zero
# (mv2desc.model.audio_encoder), which restores it. At 600 steps the margin over chance depended on the CPU's
# floating point (true 0.694 on one machine, 0.667 on another: energy learned, tempo and mode not yet; the
# threshold is chance + 0.08 = 0.677); at 900 steps: true 0.778 (energy 0.83, mode 0.88), shuffled 0.542
# (2026-12-04, `benchmarks/learn_from_audio.py --generator sine --steps 900 --seeds 0 --workers 2`).
def test_true_audio_beats_shuffled_audio_on_attribute_consistency(tmp_path):
    result = audio_ablation(tmp_path, steps=900, n_tracks=96, seeds=(0,), generator="sine", workers=2)
    true, shuffled = result["true_audio"][0], result["shuffled_audio"][0]
    assert true["n_test"] == shuffled["n_test"] >= 12
    print(f"held-out attribute consistency: true audio {true['attributes']:.3f}, shuffled {shuffled['attributes']:.3f}, "
          f"chance {result['chance']:.3f}; gates {true['gates']}")
    assert true["attributes"] >= shuffled["attributes"] + 0.08
    assert true["attributes"] >= result["chance"] + 0.08
    assert true["gates"]["attn_gate"] > 0.01 and true["gates"]["ffw_gate"] > 0.01  # the audio path opened
    assert len(true["example"]["prediction"].split()) >= 15  # the pretrained backbone writes sentences
