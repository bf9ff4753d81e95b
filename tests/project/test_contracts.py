"""The library owns the contracts: one media layer, one beat API, one FeatureSpec, apps that never
import each other, song -> segment descriptions, plain-data caches."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO
from mv2desc.beats import MusicBeatConfig, MusicBeats, track_beats, track_file
from mv2desc.data.spec import DEFAULT_SPEC, FeatureSpec, FeatureSpecMismatch
from mv2desc.describe.segments import SegmentConfig, segment_song
from mv2desc.errors import MediaError, UserError
from mv2desc.media.audio import load_audio, normalize_level, write_audio
from mv2desc.model.audio_batch import collate_audio
from mv2desc.model.config import AudioEncoderConfig
from mv2desc.synth import SongSpec, render

APPS = ("data_prep", "train", "infer")


# -- package boundaries --------------------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", [*APPS, "mv2desc"])
def test_no_app_imports_another_app_and_the_library_imports_none(package):
    forbidden = set(APPS) - {package}
    offenders = {
        str(p.relative_to(REPO)): sorted(_imports(p) & forbidden)
        for p in sorted((REPO / package).rglob("*.py"))
        if _imports(p) & forbidden
    }
    assert offenders == {}, f"{package} imports {offenders} (the CLI's command table names apps as strings only)"


def _library_imports() -> dict[str, dict[str, list[str]]]:
    """``{unit: {imported unit: ["file:line", ...]}}`` over the library: a unit is a subpackage
    (``mv2desc/audio/``) or a top-level module (``mv2desc/paths.py``). Every import counts, at any depth
    (inside a function too), absolute or relative."""
    lib = REPO / "mv2desc"
    units = {p.name for p in lib.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    units |= {p.stem for p in lib.glob("*.py") if p.stem != "__init__"}

    def unit_of(dotted: str) -> str | None:
        parts = dotted.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == "mv2desc" and parts[1] in units else None

    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(lib.rglob("*.py")):
        rel = path.relative_to(lib)
        if rel.parts == ("__init__.py",):
            continue
        me = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        package = ["mv2desc", *rel.parts[:-1]]  # the package a relative import starts from
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] if base == "mv2desc" else [base]
            for target in targets:
                other = unit_of(target)
                if other is not None and other != me:
                    graph.setdefault(me, {}).setdefault(other, []).append(f"{rel}:{node.lineno}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_librarys_subpackages_form_no_import_cycle():
    """A layer imports only layers below it; a function-level import does not hide a cycle (issue 19 item 4:
    ``data.spec`` imported ``audio`` inside a method while ``audio`` imported ``data``)."""
    lib = REPO / "mv2desc"
    subpackages = {p.name for p in lib.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    graph = _library_imports()
    assert "data" in graph.get("audio", {}) and "data" in graph.get("model", {})  # the scan sees imports
    offenders = {
        " <-> ".join(comp): {f"{a} -> {b}": graph[a][b][:3] for a in comp for b in comp if b in graph.get(a, {})}
        for comp in _cycles(graph)
        if set(comp) & subpackages
    }
    assert offenders == {}, f"import cycles through the library's subpackages (move the shared piece into the lower layer): {offenders}"


# -- media layer -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stereo(tmp_path_factory) -> dict:
    """A 20 s stereo song at an ordinary level, and the same song 30 dB quieter, as FLAC (lossless)."""
    d = tmp_path_factory.mktemp("stereo")
    y = render(SongSpec(tempo_bpm=126.0, duration_s=20.0, energy=0.7, seed=4), 44100)
    st = np.stack([y, 0.6 * np.roll(y, 7)])
    loud = write_audio(d / "loud.flac", st, 44100)
    quiet = write_audio(d / "quiet.flac", st * 10 ** (-30 / 20), 44100)
    return {"dir": d, "loud": loud, "quiet": quiet, "samples": st}


def test_one_decoder_channels_and_the_documented_downmix(stereo, tmp_path):
    both, sr = load_audio(stereo["loud"], channels=None)
    mono, _ = load_audio(stereo["loud"])
    assert both.shape[0] == 2 and sr == 44100 and mono.shape == (both.shape[1],)
    np.testing.assert_allclose(mono, both.mean(axis=0), atol=1e-7)  # mean of channels, not FFmpeg's 0.707 matrix
    one = write_audio(tmp_path / "mono.wav", stereo["samples"][0], 44100)
    dup, _ = load_audio(one, channels=2)
    assert dup.shape[0] == 2 and np.array_equal(dup[0], dup[1])
    part, sr16 = load_audio(stereo["loud"], 16000, channels=2, offset_s=2.0, max_duration_s=1.5)
    assert sr16 == 16000 and part.shape == (2, 24000)


def test_media_errors_have_reasons(tmp_path):
    bad = tmp_path / "text.mp3"
    bad.write_text("not audio")
    (tmp_path / "empty.mp3").write_bytes(b"")
    for path, reason in ((tmp_path / "nope.mp3", "missing_audio"), (tmp_path / "empty.mp3", "empty_audio"), (bad, "corrupt_audio")):
        with pytest.raises(MediaError) as err:
            load_audio(path)
        assert err.value.reason == reason


def test_level_normalisation_targets_rms_and_keeps_peaks_and_silence():
    y = (0.01 * np.sin(np.linspace(0, 200, 44100))).astype(np.float32)
    z = normalize_level(y)
    assert 20 * np.log10(np.sqrt(np.mean(z**2))) == pytest.approx(-20.0, abs=0.01)
    spike = np.zeros(1000, np.float32)
    spike[10] = 0.5
    assert np.abs(normalize_level(spike)).max() <= 1.0 + 1e-6
    assert not normalize_level(np.zeros(100, np.float32)).any()


# -- one beat API ------------------------------------------------------------------------------------
def test_a_quiet_stereo_copy_gives_the_same_beats(stereo):
    cfg = MusicBeatConfig(tracker="librosa")
    loud, quiet = track_file(stereo["loud"], cfg), track_file(stereo["quiet"], cfg)
    assert len(loud.beats_s) > 30
    assert len(quiet.beats_s) == len(loud.beats_s)
    assert np.abs(quiet.beats_s - loud.beats_s).max() < 0.012  # within one onset frame
    y, sr = load_audio(stereo["quiet"], channels=None)
    direct = track_beats(y, sr, cfg)  # (2, n) in: downmixed and normalised inside, same as track_file
    assert np.array_equal(direct.beats_s, quiet.beats_s)


def test_mv_beats_and_mv_sync_report_identical_beats_for_a_quiet_stereo_song(stereo, tmp_path, capsys):
    from infer.__main__ import main as mv_main
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    clips = []
    for k in range(2):
        frames, _ = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=96, height=64, seed=20 + k))
        clips.append(write_video(tmp_path / f"c{k}.mp4", frames, 8.0))
    for tracker in ("librosa", "auto"):
        assert mv_main(["beats", str(stereo["quiet"]), "--beats.tracker", tracker]) == 0
        beats = json.loads(capsys.readouterr().out)
        report = tmp_path / f"report-{tracker}.json"
        args = ["sync", "--video", str(clips[0]), "--video", str(clips[1]), "--audio", str(stereo["quiet"]),
                "--out", str(tmp_path / f"mv-{tracker}.mp4"), "--report", str(report), "--beats.tracker", tracker]
        assert mv_main(args) == 0
        capsys.readouterr()
        music = json.loads(report.read_text())["music"]
        assert music["beats"] == beats["beats"] and music["downbeats"] == beats["downbeats"] and len(beats["beats"]) > 30


# -- FeatureSpec ----------------------------------------------------------------------------------------
def test_feature_spec_round_trips_and_names_the_first_mismatch():
    spec = FeatureSpec(clap_dim=32, clap_window_s=5.0, clap_hop_s=2.5, versions={"librosa": "x"})
    assert FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(FeatureSpecMismatch, match="clap_window_s: the captioner has 10.0, the dataset has 5.0"):
        DEFAULT_SPEC.require_same(FeatureSpec(clap_dim=512, clap_window_s=5.0, clap_hop_s=5.0), "the captioner", "the dataset")
    DEFAULT_SPEC.require_same(FeatureSpec(versions={"librosa": "other"}, clap_model="/elsewhere"), "a", "b")  # recorded only
    with pytest.raises(FeatureSpecMismatch, match=r"model.audio.clap_dim is 512 .* clap_dim=32 \(set --model.audio.clap_dim 32\)"):
        spec.check_model(AudioEncoderConfig())
    with pytest.raises(FeatureSpecMismatch, match=r"streams wants \['clap'\]"):
        FeatureSpec(streams=("lld", "functionals", "rhythm", "tonal")).check_model(AudioEncoderConfig(clap_dim=32))
    spec.check_model(AudioEncoderConfig(clap_dim=32))


def test_clap_token_times_follow_the_datasets_window():
    from mv2desc.model.audio_encoder import AudioEncoder

    cfg = AudioEncoderConfig(dim=16, heads=2, layers=1, clap_dim=4, streams=["clap"], token_hop_s=1.0, max_tokens=8)
    row = {"duration_s": 8.0, "clap_windows": np.ones((3, 4), np.float32), "clap_window_starts_s": [0.0, 2.0, 4.0], "clap_clip": [0.5] * 4}
    enc = AudioEncoder(cfg, 8).eval()
    with torch.no_grad():
        _, _, t = enc(collate_audio([row], cfg, FeatureSpec(clap_dim=4, clap_window_s=4.0, clap_hop_s=2.0)))
        _, _, t10 = enc(collate_audio([row], cfg, FeatureSpec(clap_dim=4)))
    # tokens: [AUDIO], clap clip, 3 windows (centres = start + window/2, capped at the clip), frames
    assert t[0, 2:5].tolist() == [2.0, 4.0, 6.0]
    assert t10[0, 2:5].tolist() == [4.0, 4.0, 4.0]  # 10 s windows on an 8 s clip: all at its middle


def _fake_dataset(root: Path, spec: FeatureSpec) -> Path:
    (root / "dataset").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"feature_spec": spec.to_dict()}))
    return root


def test_train_fit_refuses_a_model_that_cannot_read_the_dataset_in_one_line(tmp_path, capsys):
    from mv2desc.cli import main

    data = _fake_dataset(tmp_path / "data", FeatureSpec(clap_dim=64))
    argv = ["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset", str(data),
            "--run.out_dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: model.audio.clap_dim is 32 but the dataset's feature spec has clap_dim=64 (set --model.audio.clap_dim 64)"]
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_dataset_without_a_spec_is_a_one_line_error(tmp_path):
    from train.data import feature_spec

    (tmp_path / "dataset").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps({"features": {}}))
    with pytest.raises(UserError, match="no feature_spec .* rebuild"):
        feature_spec(tmp_path)


def test_feature_cache_entries_are_plain_data(tmp_path):
    from data_prep.clip_cache import DescriptionCache, FeatureCache
    from mv2desc.audio.features import ClipFeatures

    fc = FeatureCache(tmp_path / "f")
    values = {"tempo_bpm": 120.5, "key": "A", "egemaps_lld": np.ones((3, 25), np.float32), "beat_times_s": np.zeros(0, np.float32)}
    fc.put("id/ü", ClipFeatures(30.0, 44100, values, {"decode": 0.1}))
    got = fc.get("id/ü")
    assert got.values["tempo_bpm"] == 120.5 and got.values["key"] == "A" and got.values["egemaps_lld"].shape == (3, 25)
    assert fc.get("other") is None
    with np.load(fc.path("id/ü"), allow_pickle=False) as z:  # readable without unpickling anything
        assert "v:egemaps_lld" in z.files
    dc = DescriptionCache(tmp_path / "d")
    dc.put("x", {"description": "a video", "degraded": ["r", "d"]})
    assert json.loads(dc.path("x").read_text())["value"]["description"] == "a video"


# -- segments -------------------------------------------------------------------------------------------
def _beats(duration: float, bpm: float, beats_per_bar: int = 4, downbeats: bool = True) -> MusicBeats:
    b = np.arange(0.3, duration, 60.0 / bpm)
    return MusicBeats(bpm, b, b[::beats_per_bar] if downbeats else np.zeros(0), "test", duration)


def _covers(segments, duration: float) -> None:
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(duration)
    assert all(a.end_s == b.start_s for a, b in zip(segments, segments[1:]))


def test_a_30_s_clip_is_one_segment():
    segs = segment_song(30.0, _beats(30.0, 120))
    assert [(s.start_s, s.end_s) for s in segs] == [(0.0, 30.0)]


@pytest.mark.parametrize("bpm", [72.0, 120.0, 175.0])
def test_a_long_song_is_cut_on_downbeats_within_the_bar_bounds(bpm):
    cfg = SegmentConfig()
    beats = _beats(183.0, bpm)
    segs = segment_song(183.0, beats, cfg)
    _covers(segs, 183.0)
    down = set(np.round(beats.downbeats_s, 9))
    assert all(round(s.start_s, 9) in down for s in segs[1:])
    assert all(s.duration_s <= cfg.max_s + 1e-9 for s in segs)
    assert all(s.bars <= cfg.max_bars for s in segs)
    assert all(s.bars >= cfg.min_bars for s in segs[:-1])


def test_segments_without_downbeats_or_beats_still_cover_the_song():
    _covers(segment_song(100.0, _beats(100.0, 128, downbeats=False)), 100.0)
    segs = segment_song(100.0, MusicBeats(0.0, np.zeros(0), np.zeros(0), "test", 100.0))
    _covers(segs, 100.0)
    assert all(s.duration_s <= 30.0 for s in segs)


def test_bars_longer_than_max_s_are_split_on_time():
    segs = segment_song(200.0, _beats(200.0, 60.0, beats_per_bar=40), SegmentConfig(max_s=20.0, min_bars=1, target_bars=1))
    _covers(segs, 200.0)
    assert all(s.duration_s <= 20.0 + 1e-9 for s in segs)


# -- song -> descriptions ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_song(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("long")
    y = render(SongSpec(tempo_bpm=132.0, key="E", mode="minor", energy=0.8, duration_s=100.0, seed=2), 44100)
    return write_audio(d / "song.mp3", np.stack([y, y]) * 0.5, 44100)


def test_describe_without_a_captioner_covers_the_song_and_says_how_it_wrote(long_song, tmp_path, capsys):
    from mv2desc.cli import main

    out = tmp_path / "d.json"
    assert main(["describe", str(long_song), "--out", str(out), "--beats.tracker", "librosa"]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads(out.read_text())
    assert printed == written
    assert written["describer"] == "metadata" and "no captioner" in written["note"] and written["captioner"] is None
    segs = written["segments"]
    assert len(segs) >= 4
    assert segs[0]["start_s"] == 0.0 and segs[-1]["end_s"] == pytest.approx(written["duration_s"], abs=1e-3)
    assert written["duration_s"] == pytest.approx(100.0, abs=0.1)
    assert all(a["end_s"] == b["start_s"] for a, b in zip(segs, segs[1:]))
    assert all(s["end_s"] - s["start_s"] <= 30.0 + 1e-6 and s["description"] for s in segs)
    assert written["tempo_bpm"] == pytest.approx(132.0, rel=0.03)
    assert "132 BPM" in segs[1]["description"] or "131 BPM" in segs[1]["description"] or "133 BPM" in segs[1]["description"]
    # the user's file is never overwritten without --overwrite
    assert main(["describe", str(long_song), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["describe", "/nonexistent/song.mp3"], "missing_audio"),
        (["describe", "{song}", "--captioner", "/nonexistent"], "neither a captioner artifact"),
        (["describe", "{song}", "--segments.min_bars", "9", "--segments.target_bars", "8"], "min_bars <= target_bars"),
    ],
)
def test_describe_bad_input_is_one_line(argv, message, long_song, capsys):
    from mv2desc.cli import main

    assert main([a.format(song=long_song) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_env_shows_the_active_tracker_and_its_licence(monkeypatch):
    from mv2desc.beats import madmom_backend
    from mv2desc.env_info import collect

    info = collect()["beat_tracker"]
    assert info["auto"] == ("madmom" if madmom_backend.available() else "librosa")
    monkeypatch.setattr(madmom_backend, "available", lambda: False)  # a licence-clean install
    clean = collect()["beat_tracker"]
    assert clean == {"auto": "librosa", "madmom_installed": False, "weights_licence": "none (no learned weights; librosa is ISC)"}
    with pytest.raises(ValueError, match=r'pip install "\.\[madmom\]"'):
        track_beats(np.zeros(44100, np.float32), 44100, MusicBeatConfig(tracker="madmom"))


def test_a_dataset_built_with_another_clap_window_trains_with_its_token_times(tmp_path):
    from conftest import build_argv
    from data_prep.__main__ import main as data_main
    from data_prep.example import make_example
    from mv2desc.model.audio_encoder import AudioEncoder
    from train.data import RowDataset, feature_spec, load_split

    root = make_example(tmp_path / "m4a", 3, duration_s=9.0, seed=8)
    assert data_main(["build", *build_argv(root, tmp_path / "data", "--features.clap.window_s", "4", "--features.clap.hop_s", "2",
                                          "--splits.train", "1", "--splits.validation", "0", "--splits.test", "0")]) == 0
    spec = feature_spec(tmp_path / "data")
    assert (spec.clap_window_s, spec.clap_hop_s) == (4.0, 2.0)
    row = RowDataset(load_split(tmp_path / "data", "train"))[0]
    cfg = AudioEncoderConfig(dim=16, heads=2, layers=1, clap_dim=spec.clap_dim, streams=["clap"], token_hop_s=1.0, max_tokens=16)
    spec.check_model(cfg)
    with torch.no_grad():
        _, mask, t = AudioEncoder(cfg, 8).eval()(collate_audio([row], cfg, spec))
    starts = row["clap_window_starts_s"]
    assert len(starts) == 4  # 9 s in 4 s windows every 2 s: 0, 2, 4 and 5 (the last aligned to the end)
    assert t[0, 2 : 2 + len(starts)].tolist() == pytest.approx([s + 2.0 for s in starts])
