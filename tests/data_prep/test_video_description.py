"""The ``video`` MV-description source: alignment, shots, keyframes, prompts, tiny-model plumbing, errors.

Everything runs on a synthetic music video (hard cuts at known times, a synth soundtrack) and a tiny
random Qwen2.5-VL built here, so the tests check the plumbing, not the prose.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from mv2desc.offline import default_offline

default_offline()  # before transformers is imported anywhere

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from conftest import REPO  # noqa: E402
from data_prep.tracks import Track  # noqa: E402
from data_prep.video import (  # noqa: E402
    VideoDescriber,
    VideoDescriptionConfig,
    VideoDescriptionError,
    fingerprint_payload,
)
from data_prep.video.align import locate_clip, normalized_xcorr  # noqa: E402
from data_prep.video.keyframes import shot_keyframes  # noqa: E402
from data_prep.video.prompts import build_fusion_prompt, load_prompts, parse_prompts  # noqa: E402
from data_prep.video.shots import detect_shots, merge_short_shots, select_shots, shots_from_cuts  # noqa: E402
from mv2desc.media.audio import load_audio, write_audio  # noqa: E402
from mv2desc.synth import SongSpec, render  # noqa: E402
from video_fixtures import (  # noqa: E402
    _shot_colour,
    make_music_video,
    make_tiny_causal_lm,
    make_tiny_qwen_vl,
)

CLIP_OFFSET_S = 5.3
CLIP_S = 8.0
CUTS_S = (2.5, 7.5, 10.0, 12.5, 16.0)
FPS = 12
MEASURED = {"tempo_bpm": 120.0, "key": "A", "mode": "minor", "rms_db_mean": -20.0}
DEFAULT_PROMPTS = REPO / "configs" / "prompts" / "video_description.yaml"


@pytest.fixture(scope="module")
def mv(tmp_path_factory):
    """The synthetic music video, its 8 s MP3 clip at 5.3 s, and the broken variants."""
    d = tmp_path_factory.mktemp("mv")
    video = make_music_video(d / "mv.mp4", duration_s=20.0, fps=FPS, cuts_s=CUTS_S)
    sr = video.sample_rate
    clip_y = video.soundtrack[int(round(CLIP_OFFSET_S * sr)) : int(round((CLIP_OFFSET_S + CLIP_S) * sr))]
    write_audio(d / "clip.mp3", clip_y, sr)
    silent = make_music_video(d / "silent.mp4", duration_s=12.0, fps=FPS, with_audio=False)
    short = make_music_video(d / "short.mp4", duration_s=5.0, fps=FPS, cuts_s=(2.0,))
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    lyrics = d / "lyrics.txt"
    lyrics.write_text("First line of the song\n\nSecond line, louder\nThird line\n", encoding="utf-8")
    return {
        "video": video.path,
        "cuts": video.cuts_s,
        "clip": load_audio(d / "clip.mp3"),
        "silent": silent.path,
        "short": short.path,
        "corrupt": corrupt,
        "lyrics": lyrics,
    }


@pytest.fixture(scope="module")
def tiny_vl(tmp_path_factory) -> Path:
    return make_tiny_qwen_vl(tmp_path_factory.mktemp("tiny_qwen_vl"))


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny_lm"))


def _track(lyrics: Path | None = None) -> Track:
    return Track(
        id="TRK001",
        artist="The Synthetics",
        song="Square Dance",
        album="Test Patterns",
        tags=["electronic", "dance"],
        genres=["synthpop"],
        lyrics_path=lyrics,
    )


def _cfg(model: Path, **kw) -> VideoDescriptionConfig:
    base = dict(
        captioner=str(model),
        prompts=str(DEFAULT_PROMPTS),
        device="cpu",
        dtype="float32",
        min_shot_s=0.5,
        caption_max_new_tokens=6,
        fuse_max_new_tokens=10,
        caption_batch_size=2,
    )
    return VideoDescriptionConfig(**{**base, **kw})


# ---------------------------------------------------------------------------------------------- config


def test_config_defaults_and_asdict():
    cfg = VideoDescriptionConfig()
    d = asdict(cfg)
    assert d["captioner"] == "Qwen/Qwen2.5-VL-7B-Instruct" and d["fuser"] == "same"
    assert cfg.fuser_is_captioner
    assert VideoDescriptionConfig(**d) == cfg


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"device": "tpu"}, "video.device must be one of"),
        ({"dtype": "int8"}, "video.dtype must be one of"),
        ({"align_feature": "mfcc"}, "video.align_feature must be one of"),
        ({"max_shots": 0}, "video.max_shots must be an integer >= 1"),
        ({"min_align_score": 1.5}, "video.min_align_score must be in [-1, 1]"),
        ({"captioner": " "}, "video.captioner must be"),
        ({"frame_max_pixels": 10}, "video.frame_max_pixels"),
    ],
)
def test_config_rejects_bad_values(kw, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        VideoDescriptionConfig(**kw)


# ---------------------------------------------------------------------------------------------- prompts


def test_default_prompts_file_is_valid():
    p = load_prompts(DEFAULT_PROMPTS)
    assert p.system and p.caption and "{shot_captions}" in p.fusion
    # the default path (relative) resolves from any working directory
    assert replace(load_prompts(VideoDescriptionConfig().prompts), source="") == replace(p, source="")


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"colour": "x"}, "unknown keys"),
        ({"fusion": None}, "missing keys"),
        ({"fusion": "Captions: {shot_captions} by {singer}"}, "unknown placeholders"),
        ({"fusion": "Describe the video of {artist}."}, "must contain {shot_captions}"),
        ({"caption": "Describe frame {n_shots}."}, "caption prompt takes no placeholders"),
        ({"fusion": "Captions: {shot_captions} {"}, "malformed braces"),
    ],
)
def test_prompts_validation(edit, message):
    data = yaml.safe_load(DEFAULT_PROMPTS.read_text())
    for k, v in edit.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_prompts(data, "test.yaml")


def test_fusion_prompt_has_captions_metadata_and_measures(mv):
    cfg = VideoDescriptionConfig(prompts=str(DEFAULT_PROMPTS))
    prompts = load_prompts(DEFAULT_PROMPTS)
    shots = [(5.3, 7.5), (7.5, 10.0)]
    caps = ["a red room", "a green  street\nat night"]
    text = build_fusion_prompt(_track(mv["lyrics"]), caps, MEASURED, cfg, prompts, shots=shots)
    for needle in (
        "1. (5.3-7.5 s) a red room",
        "2. (7.5-10.0 s) a green street at night",
        "The Synthetics",
        "Square Dance",
        "electronic, dance",
        "synthpop",
        "120 BPM",
        "A minor",
        "-20.0 dB",
        "First line of the song / Second line, louder / Third line",
    ):
        assert needle in text, needle
    # metadata and lyrics switched off, acoustic attributes missing -> the "missing" text
    off = replace(cfg, include_metadata=False, include_lyrics=False)
    text = build_fusion_prompt(_track(mv["lyrics"]), caps, {}, off, prompts, shots=shots)
    assert "The Synthetics" not in text and "First line" not in text and "BPM" in text
    assert "artist: unknown" in text and "tempo: unknown BPM" in text
    # no shot times: numbered captions only
    assert "1. a red room" in build_fusion_prompt(_track(), caps, MEASURED, cfg, prompts)


def test_music_info_placeholder_lists_known_values_only():
    prompts = parse_prompts({"system": "", "caption": "Describe.", "fusion": "{shot_captions}\n{music_info}"})
    text = build_fusion_prompt(_track(), ["x"], {"tempo_bpm": 99.6}, VideoDescriptionConfig(), prompts, shots=[(0, 1)])
    assert "- artist: The Synthetics" in text and "- tempo bpm: 100" in text and "key" not in text


def test_fingerprint_follows_prompts(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(DEFAULT_PROMPTS.read_text())
    cfg = VideoDescriptionConfig(prompts=str(p))
    a = fingerprint_payload(cfg)
    p.write_text(DEFAULT_PROMPTS.read_text().replace("one paragraph", "two paragraphs"))
    b = fingerprint_payload(cfg)
    assert a["config"] == b["config"] and a["prompts_sha256"] != b["prompts_sha256"]


# ---------------------------------------------------------------------------------------------- alignment


def test_normalized_xcorr_matches_brute_force():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 50)), rng.standard_normal((3, 12))
    got = normalized_xcorr(x, t)
    want = [np.corrcoef((x[:, k : k + 12] - x[:, k : k + 12].mean(1, keepdims=True)).ravel(),
                        (t - t.mean(1, keepdims=True)).ravel())[0, 1] for k in range(39)]  # fmt: skip
    assert got.shape == (39,)
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert normalized_xcorr(x, x[:, 20:32])[20] == pytest.approx(1.0)


@pytest.mark.parametrize("feature", ["onset", "chroma"])
def test_alignment_recovers_offset(mv, feature):
    offset_s, score = locate_clip(mv["clip"], mv["video"], feature=feature)
    assert abs(offset_s - CLIP_OFFSET_S) < 0.05
    assert score > 0.8


def test_alignment_of_unrelated_clip_scores_low(mv):
    y = render(SongSpec(tempo_bpm=97, key="D", mode="major", duration_s=CLIP_S, seed=5), 44100)
    _, score = locate_clip((y, 44100), mv["video"])
    assert score < 0.4


# ---------------------------------------------------------------------------------------------- shots, keyframes


def test_shots_found_at_known_cuts(mv):
    start, end = CLIP_OFFSET_S, CLIP_OFFSET_S + CLIP_S
    shots = detect_shots(mv["video"], start, end, min_shot_s=0.5)
    expected = shots_from_cuts([c for c in mv["cuts"] if start < c < end], start, end)
    assert len(shots) == len(expected) == 4
    for (a, b), (ea, eb) in zip(shots, expected):
        assert abs(a - ea) <= 1.0 / FPS + 1e-6 and abs(b - eb) <= 1.0 / FPS + 1e-6
    # the last shot (0.8 s) is merged into its neighbour at min_shot_s = 1
    merged = detect_shots(mv["video"], start, end, min_shot_s=1.0)
    assert len(merged) == 3 and merged[-1][1] == pytest.approx(end) and merged[-1][0] == pytest.approx(10.0, abs=0.1)


def test_merge_and_select_shots():
    shots = [(0.0, 0.3), (0.3, 4.0), (4.0, 4.5), (4.5, 5.0), (5.0, 9.0)]
    merged = merge_short_shots(shots, 1.0)
    assert merged[0][0] == 0.0 and merged[-1][1] == 9.0  # still covers the span
    assert all(b - a >= 1.0 for a, b in merged)
    assert all(m[1] == n[0] for m, n in zip(merged, merged[1:]))
    assert merge_short_shots([(0.0, 0.2)], 1.0) == [(0.0, 0.2)]
    assert select_shots(shots, 2) == [(0.3, 4.0), (5.0, 9.0)]
    assert select_shots(shots, 10) == shots


def test_keyframes_show_each_shot(mv):
    shots = [(5.3, 7.5), (7.5, 10.0), (10.0, 12.5)]
    frames = shot_keyframes(mv["video"], shots, max_pixels=80 * 60)
    assert len(frames) == 3
    for i, im in zip((1, 2, 3), frames):  # shot index in the video: 1 after the 2.5 s cut, ...
        assert im.mode == "RGB" and im.size[0] * im.size[1] <= 80 * 60
        corner = np.asarray(im)[2, 2].astype(int)
        assert np.abs(corner - np.array(_shot_colour(i))).max() <= 6


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "which, reason",
    [
        ("silent", "video_no_audio"),
        ("corrupt", "video_unreadable"),
        ("short", "video_too_short"),
        ("nonexistent", "video_missing"),
    ],
)
def test_describe_errors(mv, which, reason):
    describer = VideoDescriber(_cfg(Path("/nonexistent-model")))  # never loaded: fails before captioning
    path = mv.get(which, Path("/nonexistent/video.mp4"))
    with pytest.raises(VideoDescriptionError) as info:
        describer.describe(_track(), mv["clip"], path, MEASURED)
    assert info.value.reason == reason


def test_describe_align_failed(mv):
    y = render(SongSpec(tempo_bpm=97, key="D", mode="major", duration_s=CLIP_S, seed=5), 44100)
    describer = VideoDescriber(_cfg(Path("/nonexistent-model")))
    with pytest.raises(VideoDescriptionError) as info:
        describer.describe(_track(), (y, 44100), mv["video"], MEASURED)
    assert info.value.reason == "video_align_failed"


# ---------------------------------------------------------------------------------------------- tiny models


def test_tiny_qwen_vl_describes_deterministically(mv, tiny_vl):
    from data_prep.video.models import clear_model_cache

    cfg = _cfg(tiny_vl)
    first = VideoDescriber(cfg).describe(_track(mv["lyrics"]), mv["clip"], mv["video"], MEASURED)
    assert abs(first.offset_s - CLIP_OFFSET_S) < 0.05 and first.align_score > 0.8
    assert len(first.shots) == len(first.shot_captions) == first.n_shots_detected == 4
    assert all(isinstance(c, str) and c.strip() for c in first.shot_captions)
    assert first.text.strip()
    assert "The Synthetics" in first.prompt and "First line of the song" in first.prompt
    assert first.captioner == first.fuser == str(tiny_vl)
    clear_model_cache()  # reload from disk: same weights, same greedy output
    second = VideoDescriber(cfg).describe(_track(mv["lyrics"]), mv["clip"], mv["video"], MEASURED)
    assert asdict(first) == asdict(second)
    # max_shots keeps the longest shots
    capped = VideoDescriber(replace(cfg, max_shots=2)).describe(_track(), mv["clip"], mv["video"], MEASURED)
    assert capped.shots == [(7.5, 10.0), (10.0, 12.5)] and capped.n_shots_detected == 4


def test_batched_captions_match_single(mv, tiny_vl):
    """Left padding: captioning images of different sizes in one batch = one at a time."""
    from data_prep.video.models import load_captioner

    vl = load_captioner(str(tiny_vl), "cpu", "float32")
    frames = shot_keyframes(mv["video"], [(5.3, 7.5), (7.5, 10.0)], max_pixels=160 * 120)
    images = [frames[0], frames[1].resize((56, 84))]  # different token counts -> padding
    prompts = load_prompts(DEFAULT_PROMPTS)
    batched = vl.caption(images, prompts.system, prompts.caption, batch_size=2, max_new_tokens=6)
    single = [vl.caption([im], prompts.system, prompts.caption, batch_size=1, max_new_tokens=6)[0] for im in images]
    assert batched == single


def test_separate_fuser_model(mv, tiny_vl, tiny_lm):
    cfg = _cfg(tiny_vl, fuser=str(tiny_lm), max_shots=2)
    out = VideoDescriber(cfg).describe(_track(), mv["clip"], mv["video"], MEASURED)
    assert out.fuser == str(tiny_lm) and out.captioner == str(tiny_vl)
    assert out.text.strip() and len(out.shot_captions) == 2
