"""No output path may eat an input (issue 18, item 1): every subcommand's output options are walked.

For each command that reads files and writes files, its output option is pointed at one of its inputs
(the same file, or a folder holding it, or a folder inside it): the command must refuse with one line
before anything is written, and the input must be byte-for-byte what it was. A test also checks that
this table covers every subcommand the console script dispatches to.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mv2desc.cli import main as cli
from mv2desc.media.audio import write_audio
from mv2desc.media.video import write_video
from mv2desc.outputs import refuse_inputs

# subcommand -> builder(tmp folder, fixtures) -> (argv, the input that must survive)
Case = Callable[[Path, dict], tuple[list[str], Path]]
CASES: dict[str, list[Case]] = {
    "mv beats": [lambda d, f: (["mv", "beats", str(f["song"]), "--out", str(f["song"])], f["song"])],
    "mv score": [lambda d, f: (["mv", "score", "--video", str(f["video"]), "--out", str(f["video"])], f["video"])],
    "mv sync": [
        lambda d, f: (["mv", "sync", "--video", str(f["video"]), "--audio", str(f["song"]), "--out", str(f["video"])], f["video"]),
        lambda d, f: (["mv", "sync", "--video", str(f["video"]), "--audio", str(f["song"]), "--out", str(d / "o.mp4"),
                       "--report", str(f["song"])], f["song"]),
    ],
    "mv generate": [lambda d, f: (["mv", "generate", str(f["song"]), "--out", str(f["song"].parent)], f["song"])],
    "describe": [
        lambda d, f: (["describe", str(f["song"]), "--out", str(f["song"]), "--overwrite"], f["song"]),
        lambda d, f: (["describe", str(f["song"]), "--captioner", str(f["captioner"]), "--out", str(f["captioner"] / "d.json")],
                      f["captioner"]),
    ],
    "eval score": [lambda d, f: (["eval", "score", "--predictions", str(f["predictions"]), "--out", str(f["predictions"])],
                                 f["predictions"])],
    "eval run": [lambda d, f: (["eval", "run", "--checkpoint", str(f["captioner"]), "--dataset", str(f["dataset"]), "--out",
                                str(f["dataset"])], f["dataset"])],
    "export": [
        lambda d, f: (["export", "--checkpoint", str(f["captioner"]), "--out", str(f["captioner"])], f["captioner"]),
        lambda d, f: (["export", "--checkpoint", str(f["captioner"]), "--out", str(f["captioner"] / "adapter")], f["captioner"]),
    ],
    "train fit": [lambda d, f: (["train", "fit", "--config", "configs/train/cpu_smoke.yaml", "--data.dataset", str(f["dataset"]),
                                 "--run.out_dir", str(f["dataset"])], f["dataset"])],
    "data build": [lambda d, f: (["data", "build", "--root", str(f["dataset"]), "--out", str(f["dataset"])], f["dataset"])],
}
# subcommands with no input file an output could eat (what they write is checked elsewhere)
NO_FILE_INPUTS = {
    "data example": "writes a synthetic folder, reads nothing (refuses a non-empty --out)",
    "data merge": "merges the shards of --out itself by design; refuses folders it does not own",
    "demo": "reads only shipped assets; refuses a --out it did not make",
    "env": "prints versions",
    "presets": "prints the shipped presets",
    "model summary": "prints parameter counts",
}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, repo) -> dict:
    d = tmp_path_factory.mktemp("inputs")
    songs = d / "songs"
    songs.mkdir()
    sr = 22050
    t = np.arange(4 * sr) / sr
    song = write_audio(songs / "song.wav", (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 0.5 < 0.1)).astype(np.float32), sr)
    frames = np.zeros((24, 32, 32, 3), np.uint8)
    frames[:, :, :, 0] = np.linspace(0, 255, 24, dtype=np.uint8)[:, None, None]
    video = write_video(d / "clip.mp4", frames, 12)
    predictions = d / "predictions.jsonl"
    predictions.write_text('{"prediction": "a slow song", "reference": "a slow song"}\n')
    captioner = d / "captioner"
    shutil.copytree(repo / "assets" / "demo-captioner", captioner)
    dataset = d / "dataset"
    dataset.mkdir()
    (dataset / "precious.txt").write_text("the user's own file")
    return {"song": song, "video": video, "predictions": predictions, "captioner": captioner, "dataset": dataset}


def _subcommands() -> set[str]:
    from mv2desc.cli import COMMANDS

    names = set()
    for name, (module, _) in COMMANDS.items():
        sub = getattr(importlib.import_module(module), "COMMANDS", None)
        names |= {f"{name} {s}" for s in sub} if isinstance(sub, dict) else {name}
    return names


def test_every_subcommand_is_walked():
    assert _subcommands() == set(CASES) | set(NO_FILE_INPUTS)


@pytest.mark.parametrize("case", [(name, k) for name, cases in CASES.items() for k in range(len(cases))],
                         ids=lambda c: f"{c[0].replace(' ', '-')}-{c[1]}")
def test_an_output_that_is_an_input_is_refused(case, inputs, tmp_path, capsys, monkeypatch, repo):
    monkeypatch.chdir(repo)
    name, k = case
    argv, victim = CASES[name][k](tmp_path, inputs)
    before = _digest(victim)
    capsys.readouterr()
    assert cli(argv) == 2, argv
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "inputs are never overwritten" in err, (argv, err)
    assert _digest(victim) == before, f"{victim} changed"


def test_refuse_inputs_rules(tmp_path):
    from mv2desc.errors import UserError

    song = tmp_path / "a" / "song.wav"
    song.parent.mkdir()
    song.write_bytes(b"x")
    refuse_inputs({"--out": tmp_path / "b" / "out.json"}, [song, None])  # elsewhere: fine
    for out, why in ((song, "is the input"), (tmp_path / "a", "contains the input"), (tmp_path, "contains the input")):
        with pytest.raises(UserError, match=why):
            refuse_inputs({"--out": out}, [song])
    with pytest.raises(UserError, match="is inside the input"):
        refuse_inputs({"--out": tmp_path / "a" / "sub"}, [tmp_path / "a"])
