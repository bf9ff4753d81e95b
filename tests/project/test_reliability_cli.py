"""Issue 11, command-line side: a typo, a bad value or a disk problem is one line naming the cause and
the fix (items 13 and 14), and ``mv sync`` says on the terminal when clips do not fit (item 11)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO
from mv2desc.cli import main as cli_main


def main(argv: list[str]) -> int:
    """The CLI in this process: argparse exits (SystemExit) on a bad flag, as the console script does."""
    try:
        return cli_main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _one_line(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--optim.lrr", "0.1"], "did you mean --optim.lr?"),
        (["data", "build", "--root", "r", "--out", "o", "--num_prc", "2"], "did you mean --num_proc?"),
        (["mv", "beats", "song.mp3", "--beats.trackr", "librosa"], "did you mean --beats.tracker?"),
        (["mv", "beats", "song.mp3", "--trackr", "librosa"], "did you mean --beats.tracker?"),  # a flat name: its section is found
        (["describe", "song.mp3", "--max_new_tokns", "8"], "did you mean --max_new_tokens?"),
        (["mv", "beets"], "did you mean 'beats'?"),
        (["trian"], "did you mean 'train'?"),
    ],
)
def test_item14_a_typo_is_one_line_with_a_suggestion_not_the_usage(argv, expected, capsys):
    line = _one_line(capsys, main(argv))
    assert expected in line and "usage" not in line


def test_item14_a_typo_in_the_yaml_is_one_line_too(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  lrr: 0.1\n")
    line = _one_line(capsys, main(["train", "fit", "--config", str(bad)]))
    assert "lrr" in line and "did you mean --optim.lr?" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["describe", "song.mp3", "--batch_size", "0"],
        ["eval", "run", "--checkpoint", "c", "--dataset", "d", "--batch_size", "0"],
        ["demo", "--n_tracks", "-1"],
        ["model", "summary", "--config", "model/tiny", "--batch", "0"],
        ["mv", "sync", "--video", "a.mp4", "--audio", "s.wav", "--out", "o.mp4", "--workers", "0"],
    ],
)
def test_item13_zero_or_negative_counts_are_one_line_errors(argv, capsys):
    assert "must be >= 1" in _one_line(capsys, main(argv))


def test_item13_an_unwritable_out_is_one_line(tmp_path, capsys):
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    song = write_audio(tmp_path / "song.wav", render(SongSpec(duration_s=6.0), 22050), 22050)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = _one_line(capsys, main(["mv", "beats", str(song), "--beats.tracker", "librosa", "--out", str(blocker / "beats.json")]))
    assert "cannot write or read" in line and "a-file" in line


def test_item11_sync_says_on_the_terminal_when_clips_do_not_fit(tmp_path, capsys, caplog):
    from mv2desc.media.audio import write_audio
    from mv2desc.media.video import write_video
    from mv2desc.sync.synth_video import MotionClipSpec, render_clip

    song = write_audio(tmp_path / "song.wav", np.zeros(int(4.0 * 22050), np.float32), 22050)
    clips = []
    for k in range(5):  # 15 s of clips for a 4 s song: at the smallest stretch (0.5) two start after its end
        frames, _ = render_clip(MotionClipSpec(duration_s=3.0, fps=8.0, width=96, height=64, seed=k))
        clips += ["--video", str(write_video(tmp_path / f"c{k}.mp4", frames, 8.0))]
    report = tmp_path / "r.json"
    assert main(["mv", "sync", *clips, "--audio", str(song), "--out", str(tmp_path / "o.mp4"), "--report", str(report),
                 "--beats.tracker", "librosa", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert any("did not fit" in r.message and r.levelname == "WARNING" for r in caplog.records)  # stderr, via logging
    assert any("did not fit" in w for w in json.loads(captured.out)["warnings"])
    assert json.loads(report.read_text())["dropped_clips"] == 2


def test_item11_lyrics_that_are_not_utf8_are_reported(tmp_path):
    from data_prep.music4all import read_lyrics
    from data_prep.tracks import Track

    p = tmp_path / "x.txt"
    p.write_bytes("caf\u00e9 night".encode("latin-1"))
    text, issue = read_lyrics(Track(id="x", artist="a", lyrics_path=p))
    assert issue == "lyrics_invalid_utf8" and "\ufffd" in text
    p.write_bytes("café night".encode("utf-8"))
    assert read_lyrics(Track(id="x", artist="a", lyrics_path=p)) == ("café night", None)


def test_item13_a_backbone_that_is_not_local_is_one_line(tmp_path):
    from mv2desc.errors import UserError
    from mv2desc.model.backbone import load_backbone
    from mv2desc.model.config import BackboneConfig

    with pytest.raises(UserError, match="is not available locally.*set backbone.name_or_path"):
        load_backbone(BackboneConfig(name_or_path="Qwen/Qwen2.5-VL-3B-Instruct"))


@pytest.mark.parametrize("argv", [["data", "example", "--out", "x", "--n_tracks", "-1"], ["data", "example", "--out", "x", "--duration_s", "0"]])
def test_item13_example_counts_and_durations_must_be_positive(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "must be" in _one_line(capsys, main(argv))
    assert not (tmp_path / "x").exists()


def test_item13_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import mv2desc.atomic
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    song = write_audio(tmp_path / "song.wav", render(SongSpec(duration_s=6.0), 22050), 22050)

    def full(path, value):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(mv2desc.atomic, "atomic_write_json", full)
    line = _one_line(capsys, main(["mv", "beats", str(song), "--beats.tracker", "librosa", "--out", str(tmp_path / "b.json")]))
    assert "No space left on device" in line and "b.json" in line
