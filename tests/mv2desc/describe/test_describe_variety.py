"""describe reports how varied its texts are, measured on the texts it returns and the audio it measured."""

from __future__ import annotations

import numpy as np

from mv2desc.media.audio import write_audio
from mv2desc.synth import SongSpec, render


def test_describe_reports_distinct_texts_and_identical_neighbours(tmp_path):
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.describe.segments import SegmentConfig
    from mv2desc.describe.song import DescribeConfig, describe_song
    from mv2desc.metrics.agreement import text_variety

    sr = 22050
    y = np.concatenate([render(SongSpec(tempo_bpm=120, energy=e, duration_s=8.0, seed=k), sr) for k, e in enumerate((0.15, 0.9))])
    path = write_audio(tmp_path / "two_halves.wav", y, sr)
    cfg = DescribeConfig(segments=SegmentConfig(single_max_s=4, target_bars=2, min_bars=1, max_bars=4), beats=MusicBeatConfig(tracker="librosa"))
    result = describe_song(path, None, cfg).to_dict()
    texts = [s["description"] for s in result["segments"]]
    v = result["variety"]
    assert v["n"] == len(texts) >= 2
    assert v["distinct"] == len(set(" ".join(t.split()) for t in texts))
    assert v == text_variety(texts, [{k: s[k] for k in ("tempo_bpm", "rms_db_mean", "mode")} for s in result["segments"]])
    assert v["identical_neighbours_differing"] == 0  # the metadata describer never repeats a text across a change
