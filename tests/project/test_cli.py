"""The console script: dispatch, env report, one-line errors with non-zero exits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_argv
from mv2desc.cli import main as cli_main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mv2desc")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_help_lists_commands(capsys):
    assert cli_main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("data", "demo", "env"):
        assert f"  {name}" in out


def test_unknown_command_suggests(capsys):
    assert cli_main(["dtaa"]) == 2
    assert "did you mean 'data'" in capsys.readouterr().err


def test_env_reports_versions():
    proc = run_cli("env")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    for pkg in ("torch", "transformers", "peft", "lightning", "diffusers", "librosa", "opensmile"):
        assert info["packages"][pkg], pkg
    assert info["python"].startswith("3.11")
    assert info["cuda_available"] in (True, False)
    assert info["torchvision_installed"] is False


def test_python_m_data_prep_runs():
    proc = subprocess.run([sys.executable, "-m", "data_prep", "--help"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "build" in proc.stdout


def test_missing_root_is_one_line_error(tmp_path):
    proc = run_cli("data", "build", *build_argv(tmp_path / "nope", tmp_path / "out"))
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith("error: Music4All root not found"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_required_table_is_clear(tmp_path):
    (tmp_path / "m4a" / "audios").mkdir(parents=True)
    proc = run_cli("data", "build", *build_argv(tmp_path / "m4a", tmp_path / "out"))
    assert proc.returncode == 2
    assert "id_information.csv not found" in proc.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--features.clap.windw_s", "3"], "windw_s"),  # a typo in a key
        (["--splits.train", "-1"], "split ratios must be >= 0"),  # an invalid value
        (["--description.source", "youtube"], "source"),  # not one of the choices
        (["--num-shards", "2", "--shard-index", "2"], "shard_index < num_shards"),
    ],
)
def test_config_errors_name_the_problem(tmp_path, flags, message):
    from data_prep.example import make_example

    root = make_example(tmp_path / "m4a", 1, duration_s=3.0)
    proc = run_cli("data", "build", *build_argv(root, tmp_path / "out"), *flags)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / "dataset").exists()


def test_config_file_typo_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  clapp:\n    window_s: 5\n", encoding="utf-8")
    proc = run_cli("data", "build", "--config", str(bad), "--root", str(tmp_path), "--out", str(tmp_path / "o"))
    assert proc.returncode != 0
    assert "clapp" in proc.stderr


# Every subcommand with options: `--help` gives each option's meaning and default, in the underscore spelling.
HELP_COMMANDS = [
    ["mv", "beats"], ["mv", "sync"], ["mv", "score"], ["eval", "run"], ["eval", "score"], ["export"],
    ["model", "summary"], ["demo"], ["data", "build"], ["data", "merge"], ["data", "example"], ["train", "fit"],
]


def help_text(capsys, command: list[str]) -> str:
    try:
        code = cli_main([*command, "--help"])
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None), command
    return capsys.readouterr().out


def option_entries(text: str) -> list[str]:
    """The help's option entries ('  --name METAVAR  help ...' plus its continuation lines), one string each."""
    entries: list[list[str]] = []
    current = None
    for line in text.splitlines():
        if re.match(r"^ {2,4}-", line):
            current = [line.strip()]
            entries.append(current)
        elif current is not None and line.startswith(" " * 8) and line.strip():
            current.append(line.strip())
        else:
            current = None
    return [" ".join(entry) for entry in entries]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_shows_each_options_default(capsys, command):
    entries = option_entries(help_text(capsys, command))
    assert len(entries) > 1, entries
    for entry in entries:
        flag = entry.split()[0].rstrip(",")
        if flag in ("-h", "--config", "--print_config") or " CONFIG " in f" {entry} ":
            continue  # help itself, and jsonargparse's "a YAML for this section" options
        assert "default" in entry or "required" in entry, f"{' '.join(command)}: {entry}"


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_spells_flags_with_underscores(capsys, command):
    text = help_text(capsys, command)
    assert not re.findall(r"--[a-z]+-[a-z]", text), text


@pytest.mark.parametrize("app", ["data", "train", "eval", "model", "mv"])
def test_usage_spells_flags_with_underscores(capsys, app):
    assert cli_main([app, "--help"]) == 0
    assert not re.findall(r"--[a-z]+-[a-z]", capsys.readouterr().out)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", [["data", "--help"], ["mv", "sync", "--help"], ["--help"]], ids=" ".join)
def test_help_into_a_closed_pipe_is_quiet(command, unbuffered):
    """`mv2desc data --help | head -1`: the reader goes away; no BrokenPipeError traceback."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "mv2desc.cli", *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=env)
    proc.stdout.close()  # before the child writes (its start-up takes far longer): the write hits a closed pipe
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 141), err.decode()
    assert b"Traceback" not in err and b"Exception ignored" not in err, err.decode()


def test_help_read_partly_is_quiet():
    proc = subprocess.Popen([sys.executable, "-m", "mv2desc.cli", "data", "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout.readline().startswith(b"usage:")
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 141), err.decode()
    assert b"Traceback" not in err, err.decode()
