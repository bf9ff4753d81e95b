"""Issue 19, item 2: one config front-end for every command.

Every command of ``mv2desc`` parses a dataclass config through :func:`mv2desc.app.parse_config`, so each
one takes ``--config YAML``, ``--print_config`` (the resolved YAML, exit 0), ``-q``/``-v``, and answers a
typo with one "did you mean" line; no command declares an argparse default (the dataclass holds it,
once); and the BAS width is written once in the library.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from mv2desc.cli import COMMANDS
from mv2desc.cli import main as cli_main


def _command_paths() -> list[list[str]]:
    """Every leaf of the console script's dispatch tree: ``["data", "build"]``, ``["export"]``, ..."""
    paths = []
    for name, (module, _) in COMMANDS.items():
        sub = getattr(importlib.import_module(module), "COMMANDS", None)
        paths += [[name, s] for s in sub] if isinstance(sub, dict) else [[name]]
    return paths


COMMAND_PATHS = _command_paths()


def _call(argv: list[str]) -> int:
    """The CLI in this process; ``--help`` and ``--print_config`` end in ``SystemExit(0)``, as in the console script."""
    try:
        return cli_main(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)


def test_the_tree_is_walked():
    assert len(COMMAND_PATHS) >= 16, COMMAND_PATHS
    for expected in (["mv", "beats"], ["mv", "sync"], ["eval", "score"], ["data", "merge"], ["describe"], ["demo"], ["env"]):
        assert expected in COMMAND_PATHS


@pytest.mark.parametrize("command", COMMAND_PATHS, ids=" ".join)
def test_every_command_prints_its_resolved_config(command, capsys):
    assert _call([*command, "-q", "--print_config"]) == 0, capsys.readouterr().err
    printed = yaml.safe_load(capsys.readouterr().out)
    assert isinstance(printed, dict) and printed["quiet"] is True, printed


def test_print_config_shows_positionals_nested_flags_and_repeated_lists(capsys):
    assert _call(["mv", "beats", "song.mp3", "--beats.tracker", "librosa", "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["song"] == "song.mp3" and printed["beats"]["tracker"] == "librosa"
    from mv2desc.beats import MusicBeatConfig

    assert printed["beats"]["min_bpm"] == MusicBeatConfig().min_bpm  # the default comes from the library's dataclass
    assert _call(["mv", "sync", "--video", "a.mp4", "--video", "b.mp4", "c.mp4", "--audio", "s.wav", "--out", "o.mp4",
                  "--metrics.sigma_s", "0.1", "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["video"] == ["a.mp4", "b.mp4", "c.mp4"] and printed["metrics"]["sigma_s"] == 0.1


def test_a_config_yaml_round_trips(tmp_path, capsys):
    """What --print_config prints is a valid --config: the same config comes back."""
    from infer.command_configs import DescribeCommand
    from mv2desc.app import parse_config

    argv = ["song.mp3", "--segments.target_bars", "6", "--beats.tracker", "librosa", "--overwrite", "--out", "d.json"]
    assert _call(["describe", *argv, "--print_config"]) == 0
    saved = tmp_path / "describe.yaml"
    saved.write_text(capsys.readouterr().out, encoding="utf-8")
    direct, _ = parse_config(DescribeCommand, argv, "mv2desc describe", positional=("song",))
    again, _ = parse_config(DescribeCommand, ["--config", str(saved)], "mv2desc describe", positional=("song",))
    assert again == direct and direct.overwrite and direct.segments.target_bars == 6 and direct.beats.tracker == "librosa"


def test_what_a_person_types_is_read():
    from data_prep.command_configs import ExampleCommand, MergeCommand
    from infer.command_configs import DescribeCommand, SyncCommand
    from mv2desc.app import parse_config

    cfg, log = parse_config(SyncCommand, ["--video", "a.mp4", "--audio", "s.wav", "--video", "b.mp4", "--out", "o.mp4", "-q",
                                          "--match.prefer_downbeats", "false", "--render.fps", "0"], "p")
    assert cfg.video == ["a.mp4", "b.mp4"] and log.quiet and not cfg.match.prefer_downbeats
    assert cfg.sync_config().render.fps == 0 and cfg.sync_config().music == cfg.beats
    cfg, _ = parse_config(MergeCommand, ["--out", "o", "--inputs", "a", "b"], "p")
    assert cfg.inputs == ["a", "b"]
    cfg, _ = parse_config(ExampleCommand, ["--with-bad-entries", "--out", "x"], "p")  # a bool flag alone; dashes or underscores
    assert cfg.with_bad_entries and cfg.out == "x"
    cfg, _ = parse_config(DescribeCommand, ["--overwrite", "--beats.tracker", "librosa", "song.mp3"], "p", positional=("song",))
    assert cfg.song == "song.mp3" and cfg.overwrite  # the bare word after the flags is SONG


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["mv", "sync", "--video", "a.mp4", "--audio", "s.wav", "--out", "o.mp4", "--beats.trackr", "librosa"], "--beats.tracker"),
        (["mv", "score", "--video", "v.mp4", "--sigma_s", "0.1"], "--metrics.sigma_s"),  # the flat name of an older version
        (["describe", "song.mp3", "--segments.target_bar", "4"], "--segments.target_bars"),
        (["eval", "run", "--checkpoint", "c", "--dataset", "d", "--max_new_tokns", "8"], "--max_new_tokens"),
        (["eval", "score", "--predictions", "p.jsonl", "--bertscore_modl", "m"], "--bertscore_model"),
        (["export", "--checkpoint", "c", "--out", "o", "--backbon", "b"], "--backbone"),
        (["model", "summary", "--seq_lenn", "8"], "--seq_len"),
        (["data", "merge", "--out", "o", "--inputz", "a"], "--inputs"),
        (["data", "example", "--out", "o", "--n_trakcs", "2"], "--n_tracks"),
        (["demo", "--train_stepz", "2"], "--train_steps"),
    ],
)
def test_a_typo_is_one_line_with_a_suggestion(argv, suggestion, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _call(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and f"did you mean {suggestion}" in err[0], err
    assert not list(tmp_path.iterdir())  # nothing was written


def _py_files() -> list[Path]:
    files = [REPO / "mv2desc" / "cli.py"]
    for package in ("infer", "train", "data_prep"):
        files += sorted((REPO / package).rglob("*.py"))
    return files


def test_no_command_declares_an_argparse_default():
    """Defaults live once, in the dataclasses; a command that declared ``add_argument(..., default=...)``
    would repeat (and drift from) one."""
    found = []
    for path in _py_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"
                    and any(k.arg == "default" for k in node.keywords)):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, found


def test_argparse_helpers_are_gone():
    import mv2desc.app as app

    for name in ("argument_parser", "positive_int", "positive_float", "OneLineErrorParser"):
        assert not hasattr(app, name), name
    assert not (REPO / "infer" / "beat_options.py").exists()


def _sigma_literals(path: Path) -> list[int]:
    """Lines where a name holding "sigma" gets the literal 0.05: a parameter default, an assignment, a keyword, a dict entry."""
    def is_005(node) -> bool:
        return isinstance(node, ast.Constant) and node.value == 0.05

    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            positional = [*a.posonlyargs, *a.args]
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
            lines += [d.lineno for arg, d in pairs if d is not None and "sigma" in arg.arg.lower() and is_005(d)]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if any("sigma" in n.lower() for n in names) and is_005(node.value):
                lines.append(node.lineno)
        elif isinstance(node, ast.keyword) and node.arg and "sigma" in node.arg.lower() and is_005(node.value):
            lines.append(node.value.lineno)
        elif isinstance(node, ast.Dict):
            lines += [v.lineno for k, v in zip(node.keys, node.values)
                      if isinstance(k, ast.Constant) and "sigma" in str(k.value).lower() and is_005(v)]
    return lines


def test_the_bas_width_is_written_once():
    found = {}
    for package in ("mv2desc", "infer", "train", "data_prep", "benchmarks"):
        for path in sorted((REPO / package).rglob("*.py")):
            if lines := _sigma_literals(path):
                found[str(path.relative_to(REPO))] = lines
    assert list(found) == ["mv2desc/sync/metrics.py"] and len(found["mv2desc/sync/metrics.py"]) == 1, found
    from mv2desc.sync import metrics
    from mv2desc.sync.config import MetricConfig

    assert MetricConfig().sigma_s == metrics.BAS_SIGMA_S
    for fn in (metrics.bas_visual, metrics.bas_music, metrics.sync_scores):
        assert inspect.signature(fn).parameters["sigma_s"].default == metrics.BAS_SIGMA_S, fn.__name__


def test_help_renders_the_dataclass_docs(capsys):
    assert _call(["mv", "sync", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--video", "--beats.tracker", "--visual.flow_height", "--match.matcher", "--render.fps", "--metrics.sigma_s",
                 "--workers", "--print_config", "-q, --quiet"):
        assert flag in text, flag
    assert "BAS Gaussian width" in text and "processes for the clips' optical flow" in text
