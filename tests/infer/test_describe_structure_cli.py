"""``mv2desc describe SONG --structure --lyrics FILE``: the command line around structure and lyrics.

A song of known form (A B A B, one tempo, the product's librosa tracker): stdout stays one valid JSON
document holding the sections and each segment's section and lines; ``--structure`` prints the table
on stderr; a malformed LRC is one ``error:`` line naming the file's line, and nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mv2desc.cli import main
from mv2desc.media.audio import write_audio
from mv2desc.structure.synth_songs import PASSAGES, known_song

ONE_TEMPO = {k: replace(v, tempo_bpm=120.0) for k, v in PASSAGES.items()}  # the librosa tracker follows one tempo


@pytest.fixture(scope="module")
def abab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("abab")
    song = known_song("ABAB", 6, passages=ONE_TEMPO)  # 12 s sections
    path = write_audio(tmp / "abab.wav", song.y, song.sr)
    lrc = tmp / "abab.lrc"
    lrc.write_text("[00:05.00]in the first verse\n[00:06.00]\n[00:17.50]a chorus line\n[00:18.50]\n"
                   "[00:41.00]the last chorus\n[00:42.00]\n", encoding="utf-8")
    return {"song": song, "path": path, "lrc": lrc, "tmp": tmp}


def test_structure_and_lyrics_in_the_json_and_the_table_on_stderr(abab, capsys):
    out = abab["tmp"] / "d.json"
    assert main(["describe", str(abab["path"]), "--structure", "--lyrics", str(abab["lrc"]), "--beats.tracker", "librosa",
                 "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)  # stdout: the JSON alone
    assert d == json.loads(out.read_text())
    sections = d["structure"]["sections"]
    assert [s["label"] for s in sections] == ["A", "B", "A", "B"]
    for s, (a, _) in zip(sections, abab["song"].spans):
        assert s["start_s"] == pytest.approx(a, abs=2.0)  # within a bar of the join
    table = captured.err.strip().splitlines()
    assert table[0].startswith("structure: 4 sections")
    assert [line.split()[:2] for line in table[1:5]] == [[s["label"], s["name"]] for s in sections]
    # every line in the segment that holds it; every segment names its section
    for seg in d["segments"]:
        assert seg["section"]["label"] in {"A", "B"}
        for line in seg["lyrics"]:
            assert seg["start_s"] <= 0.5 * (line["start_s"] + line["end_s"]) < seg["end_s"]
    texts = [line["text"] for seg in d["segments"] for line in seg["lyrics"]]
    assert texts == ["in the first verse", "a chorus line", "the last chorus"]
    assert d["lyrics"]["timed"] is True and len(d["lyrics"]["lines"]) == 3


def test_malformed_lrc_is_one_line_naming_the_line_and_nothing_is_written(abab, capsys):
    bad = abab["tmp"] / "bad.lrc"
    bad.write_text("[00:01.00]fine\n[00:02.00]also fine\n[00:03.x0]broken stamp\n", encoding="utf-8")
    out = abab["tmp"] / "never.json"
    assert main(["describe", str(abab["path"]), "--lyrics", str(bad), "--out", str(out), "--beats.tracker", "librosa"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and f"{bad}:3:" in err[0] and "malformed LRC" in err[0], err
    assert not out.exists()


def test_the_structure_flag_and_the_structure_settings_parse_apart():
    from infer.command_configs import DescribeCommand
    from infer.describe_cmd import structure_flag
    from mv2desc.app import parse_config

    cfg, _ = parse_config(DescribeCommand, structure_flag(["s.wav", "--structure", "--structure.kernel_bars", "6", "--lyrics", "l.lrc"]),
                          "p", positional=("song",))
    assert cfg.show_structure and cfg.structure.kernel_bars == 6 and cfg.lyrics == "l.lrc" and cfg.song == "s.wav"
    assert cfg.describe_config().structure.kernel_bars == 6 and cfg.describe_config().sections
    cfg, _ = parse_config(DescribeCommand, structure_flag(["--structure", "false", "s.wav", "--sections", "false"]), "p",
                          positional=("song",))
    assert not cfg.show_structure and not cfg.sections


def test_no_sections_prints_no_structure(abab, capsys):
    assert main(["describe", str(abab["path"]), "--sections", "false", "--structure", "--beats.tracker", "librosa", "-q"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["structure"] is None
    assert "not analysed" in captured.err
