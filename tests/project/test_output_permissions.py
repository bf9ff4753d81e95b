"""Outputs respect the umask like a plain ``open()`` (issue 17, item 8): with umask 022 a report is
0644, with 027 it is 0640, never the 0600 that ``mkstemp`` gives."""

from __future__ import annotations

import builtins
import json
import os
import stat

import numpy as np
import pytest

from mv2desc.atomic import atomic_write_bytes, atomic_write_json

UMASKS = [(0o022, 0o644), (0o027, 0o640)]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=UMASKS, ids=["umask022", "umask027"])
def umask(request):
    mask, file_mode = request.param
    old = os.umask(mask)
    try:
        yield mask, file_mode
    finally:
        os.umask(old)


def test_atomic_writes_get_the_mode_open_would_give(umask, tmp_path):
    mask, file_mode = umask
    with open(tmp_path / "plain.txt", "w") as f:
        f.write("x")
    assert _mode(tmp_path / "plain.txt") == file_mode  # the reference: what open() does
    assert _mode(atomic_write_bytes(tmp_path / "a.bin", b"data")) == file_mode
    assert _mode(atomic_write_json(tmp_path / "sub" / "report.json", {"k": 1})) == file_mode
    old = tmp_path / "old.json"  # a file left 0600 by an earlier version is fixed by the next write
    old.write_text("{}")
    old.chmod(0o600)
    assert _mode(atomic_write_json(old, {"k": 2})) == file_mode and json.loads(old.read_text()) == {"k": 2}
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_umask_is_read_without_changing_it(umask, monkeypatch):
    from mv2desc.atomic import current_umask, new_dir_mode, new_file_mode

    mask, file_mode = umask
    assert current_umask() == mask
    assert os.umask(mask) == mask  # still set
    real_open = builtins.open

    def no_proc(file, *a, **kw):
        if str(file).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", no_proc)
    assert current_umask() == mask  # the set-and-restore fallback
    assert os.umask(mask) == mask
    assert new_file_mode() == file_mode and new_dir_mode() == 0o777 & ~mask


def test_cache_keyframes_and_clips_respect_the_umask(umask, tmp_path):
    from mv2desc.mvgen.cache import ClipCache

    _, file_mode = umask
    cache = ClipCache(tmp_path / "cache")
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    assert _mode(cache.store_keyframe("k", frames[0])) == file_mode
    assert _mode(cache.store_clip("k", frames, 8.0, crf=30)) == file_mode


def test_generate_out_folder_marker_respects_the_umask(umask, tmp_path):
    from mv2desc.mvgen.outdir import MARKER, prepare_out_dir

    _, file_mode = umask
    out = prepare_out_dir(tmp_path / "out")
    assert _mode(out / MARKER) == file_mode


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    path = tmp_path_factory.mktemp("song") / "song.wav"
    write_audio(path, render(SongSpec(tempo_bpm=120.0, duration_s=12.0, seed=3), 22050), 22050)
    return path


def test_mv_beats_and_describe_out_files_respect_the_umask(umask, song, tmp_path, capsys):
    from infer.__main__ import main as mv_main
    from infer.describe_cmd import main as describe_main

    _, file_mode = umask
    assert mv_main(["beats", str(song), "--out", str(tmp_path / "beats.json")]) == 0
    assert describe_main([str(song), "--out", str(tmp_path / "descriptions.json")]) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "beats.json").read_text())["beats"]
    assert json.loads((tmp_path / "descriptions.json").read_text())["segments"]
    assert _mode(tmp_path / "beats.json") == file_mode
    assert _mode(tmp_path / "descriptions.json") == file_mode
