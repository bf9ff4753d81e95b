"""Shipped presets (issue 19 item 1): listed with their summaries, found by name from any folder, a typo
answered with the closest name; the wheel carries every file of configs/ and assets/."""

from __future__ import annotations

import pytest

from mv2desc.cli import main as cli
from mv2desc.errors import UserError
from mv2desc.paths import DATA_ROOT
from mv2desc.presets import presets, resolve_config


def test_every_yaml_preset_is_listed_with_its_first_comment_line(capsys):
    rows = presets()
    on_disk = sorted(p.relative_to(DATA_ROOT).as_posix() for p in (DATA_ROOT / "configs").glob("*/*.yaml"))
    assert sorted(r.ref for r in rows) == on_disk
    assert all(r.summary for r in rows)
    assert cli(["presets", "infer"]) == 0
    out = capsys.readouterr().out
    assert all(f"{r.name:<18} {r.summary}" in out for r in presets("infer")) and "cpu_smoke" not in out


def test_config_by_name_path_or_kind_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    want = str(DATA_ROOT / "configs/infer/procedural.yaml")
    assert resolve_config("procedural") == want
    assert resolve_config("infer/procedural") == want
    assert resolve_config("configs/infer/procedural.yaml") == want
    mine = tmp_path / "mine.yaml"
    mine.write_text("seed: 3\n")
    assert resolve_config(str(mine)) == str(mine)
    with pytest.raises(UserError, match="did you mean 'procedural'"):
        resolve_config("procedurl")


def test_generate_and_train_parse_a_preset_name():
    from mv2desc.app import parse_config
    from mv2desc.mvgen.config import GenerateConfig

    cfg, _ = parse_config(GenerateConfig, ["--config", "sdxl_svd", "--song", "s.wav", "--out", "o"], "mv2desc mv generate", "")
    assert cfg.renderer == "svd" and cfg.video.width == 1024


def test_setup_ships_every_config_and_asset_file():
    """setup.py maps configs/ and assets/ into the wheel's mv2desc_data package, all files (**/*)."""
    import ast
    from pathlib import Path

    from mv2desc.paths import REPO_ROOT

    tree = ast.parse((REPO_ROOT / "setup.py").read_text())
    data = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "DATA")
    mapping = ast.literal_eval(data.value)
    assert sorted(mapping.values()) == ["assets", "configs"]
    assert all((REPO_ROOT / folder).is_dir() for folder in mapping.values())
    assert Path(REPO_ROOT / "mv2desc_data" / "__init__.py").is_file()
