"""Issue 11, the data app: nothing a user owns is overwritten, outputs appear whole, one build per
folder, 0 clips is an error, NaN is never stored, interrupts stop the build, no orphan workers,
a broken environment is one line before the first clip."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, build_argv
from data_prep import outdir
from data_prep.__main__ import main as data_main
from data_prep.example import make_example

MV2DESC = str(Path(sys.executable).with_name("mv2desc"))


@pytest.fixture(scope="module")
def m4a(tmp_path_factory) -> Path:
    return make_example(tmp_path_factory.mktemp("m4a") / "root", 4, duration_s=6.0, seed=5)


def cache_entries(out: Path) -> list[Path]:
    return [p for p in (out / "cache").glob("features-*/*/*.npz") if not p.name.startswith(".tmp-")]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- items 2, 3: nothing a user owns is overwritten ---------------------------------------------------
def test_build_refuses_a_folder_that_is_not_ours(m4a, tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "dataset").mkdir(parents=True)
    (out / "dataset" / "notes.txt").write_text("my work", encoding="utf-8")
    (out / "parquet").mkdir()
    (out / "parquet" / "x.parquet").write_bytes(b"PAR1")
    (out / "report.json").write_text('{"mine": 1}', encoding="utf-8")
    (out / "manifest.json").write_text('{"mine": 2}', encoding="utf-8")
    before = tree(out)
    assert data_main(["build", *build_argv(m4a, out)]) == 2
    line = one_line_error(capsys)
    assert str(out) in line and "new or empty" in line
    assert tree(out) == before and sorted(p.name for p in out.iterdir()) == ["dataset", "manifest.json", "parquet", "report.json"]
    assert data_main(["merge", "--out", str(out), "--inputs", str(tmp_path)]) == 2  # merge obeys the same rule
    assert tree(out) == before


def test_example_refuses_a_non_empty_folder(tmp_path, capsys):
    root = tmp_path / "m4a"
    root.mkdir()
    (root / "id_information.csv").write_text("id\tartist\tsong\talbum_name\nmine\tMe\tSong\tAlbum\n", encoding="utf-8")
    before = tree(root)
    assert data_main(["example", "--out", str(root), "--n_tracks", "1", "--duration_s", "3"]) == 2
    assert str(root) in one_line_error(capsys)
    assert tree(root) == before


# -- item 7: 0 clips is an error, and publishes nothing ------------------------------------------------
def test_comma_separated_rows_fail_with_the_reason(tmp_path, capsys):
    root = make_example(tmp_path / "m4a", 2, duration_s=3.0)
    info = root / "id_information.csv"
    lines = info.read_text(encoding="utf-8").splitlines()
    info.write_text("\n".join([lines[0]] + [line.replace("\t", ",") for line in lines[1:]]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert data_main(["build", *build_argv(root, out)]) == 2
    line = one_line_error(capsys)
    assert "no usable track" in line and "malformed_row" in line and "tab-separated" in line
    assert not (out / "dataset").exists() and not (out / "manifest.json").exists()


def test_build_where_every_clip_is_skipped_fails(tmp_path, capsys):
    root = make_example(tmp_path / "m4a", 2, duration_s=3.0)
    for mp3 in (root / "audios").glob("*.mp3"):
        mp3.write_bytes(b"")
    out = tmp_path / "out"
    assert data_main(["build", *build_argv(root, out)]) == 2
    line = one_line_error(capsys)
    assert "no clip was built" in line and "2 empty_audio" in line
    assert not (out / "dataset").exists() and not (out / "manifest.json").exists()


# -- item 5: one build per folder; outputs published as one unit --------------------------------------
def test_second_concurrent_build_is_refused_naming_the_lock(m4a, tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom data_prep import outdir\nout = outdir.claim(sys.argv[1])\n"
         "with outdir.locked(out, 'shard-00000-of-00001'):\n    print('locked', flush=True)\n    time.sleep(120)\n",
         str(out)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert data_main(["build", *build_argv(m4a, out)]) == 2
        line = one_line_error(capsys)
        assert f"pid {holder.pid}" in line and ".mv2desc-lock-shard-00000-of-00001" in line and "another build" in line
        assert not cache_entries(out) and not (out / "shards").exists()
    finally:
        holder.kill()
        holder.wait()


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (publish has no cleanup handlers)."""


def _published(out: Path) -> int | None:
    """Rows of the finished build a reader sees (None: no finished build); checks it is one unit."""
    import pyarrow.parquet as pq
    from datasets import load_from_disk

    if not (out / "manifest.json").is_file():
        return None
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    clips = sum(s["clips"] for s in manifest["splits"].values())
    dd = load_from_disk(str(out / "dataset"))
    assert sum(len(dd[s]) for s in dd) == clips
    assert sorted(f"parquet/{p.name}" for p in (out / "parquet").iterdir()) == sorted(manifest["files"]["parquet"])
    assert sum(pq.ParquetFile(out / f).metadata.num_rows for f in manifest["files"]["parquet"]) == clips
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["degraded"].get("no_metadata", 0) == 0 and "skipped" in report
    return clips


def test_publication_killed_at_every_step_is_old_none_or_new(m4a, tmp_path, monkeypatch):
    old, new = tmp_path / "old", tmp_path / "new"
    assert data_main(["build", *build_argv(m4a, old, "--limit", "2")]) == 0
    assert data_main(["build", *build_argv(m4a, new)]) == 0  # only its finished shard is used below
    new_shard = str(next((new / "shards").glob("shard-*")))
    assert _published(old) == 2 and _published(new) == 4
    real_rename, real_write = outdir._rename, outdir.atomic_write_json
    seen = []
    for k in range(20):
        work = tmp_path / f"work{k}"
        shutil.copytree(old, work)
        calls = [0]

        def step(fn, *args, k=k, calls=calls):
            if calls[0] == k:
                raise Killed
            calls[0] += 1
            return fn(*args)

        monkeypatch.setattr(outdir, "_rename", lambda a, b: step(real_rename, a, b))
        monkeypatch.setattr(outdir, "atomic_write_json", lambda p, v: step(real_write, p, v))
        try:
            data_main(["merge", "--out", str(work), "--inputs", new_shard])
            finished = True
        except Killed:
            finished = False
        monkeypatch.setattr(outdir, "_rename", real_rename)
        monkeypatch.setattr(outdir, "atomic_write_json", real_write)
        seen.append(_published(work))  # the old build, no build, or the new one: never a mix
        assert seen[-1] in (2, None, 4)
        assert data_main(["merge", "--out", str(work), "--inputs", new_shard]) == 0  # the rerun publishes
        assert _published(work) == 4
        assert not [p.name for p in work.iterdir() if p.name.startswith((".tmp-", ".old-"))]
        shutil.rmtree(work)
        if finished:
            break
    assert seen[0] == 2 and seen[-1] == 4 and None in seen  # every step was interrupted once


def test_rebuild_into_our_own_folder_works(m4a, tmp_path):
    out = tmp_path / "out"
    assert data_main(["build", *build_argv(m4a, out, "--limit", "2")]) == 0
    assert (out / outdir.MARKER).is_file()
    assert data_main(["build", *build_argv(m4a, out)]) == 0
    assert _published(out) == 4


# -- item 1: NaN is a failure; an interrupt stops the build, nothing half-valid cached ---------------
def test_opensmile_nan_is_an_error_not_zeros():
    import numpy as np

    from mv2desc.audio.feature_config import OpenSmileSettings
    from mv2desc.audio.opensmile_features import OpenSmileExtractor
    from mv2desc.errors import MediaError

    ex = OpenSmileExtractor(OpenSmileSettings())
    y = (0.1 * __import__("numpy").random.default_rng(0).normal(size=16000 * 3)).astype("float32")
    assert len(ex(y)["egemaps_functionals"]) == 88  # valid audio: finite values
    real = ex.levels

    def with_nan(signal_, sr):
        func, lld = real(signal_, sr)
        return np.full_like(func, np.nan), lld

    ex.levels = with_nan
    with pytest.raises(MediaError) as info:
        ex(y)
    assert info.value.reason == "extractor_nan"


def test_nan_clip_is_skipped_and_not_cached(m4a, tmp_path, monkeypatch):
    import numpy as np

    from mv2desc.audio import features

    real = features.AcousticFeatureExtractor.extract
    calls = []

    def extract(self, y, sr, cpu=None):
        out = real(self, y, sr, cpu)
        calls.append(1)
        if len(calls) == 2:  # the second clip: an extractor hands back NaN
            features.check_finite("opensmile", {"egemaps_functionals": np.full(88, np.nan, np.float32)})
        return out

    monkeypatch.setattr(features.AcousticFeatureExtractor, "extract", extract)
    out = tmp_path / "out"
    assert data_main(["build", *build_argv(m4a, out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["skipped"] == {"extractor_nan": 1}
    assert len(cache_entries(out)) == 3


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed interrupt, on purpose
def test_interrupt_swallowed_by_a_ctypes_callback_stops_the_build(m4a, tmp_path, monkeypatch, capsys):
    """openSMILE runs Python callbacks through ctypes: a KeyboardInterrupt raised there is printed and
    swallowed. The build must still stop (exit 130) and not cache the interrupted clip."""
    from mv2desc.audio import features

    real = features.AcousticFeatureExtractor.extract_file
    calls = []

    @ctypes.CFUNCTYPE(None)
    def callback():  # like openSMILE's: an exception raised here never reaches the caller
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):
            pass

    def extract_file(self, path):
        result = real(self, path)
        calls.append(path)
        if len(calls) == 2:
            callback()
        return result

    monkeypatch.setattr(features.AcousticFeatureExtractor, "extract_file", extract_file)
    out = tmp_path / "out"
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a job started with '&'
    assert data_main(["build", *build_argv(m4a, out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert len(cache_entries(out)) == 1  # the first clip; the interrupted one is not cached
    assert not (out / "dataset").exists()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


# -- item 6: workers die with their parent; SIGTERM is Ctrl-C ----------------------------------------
def _build_workers(parent) -> list:
    """The build's worker processes: children of its fork server (or spawned children where there is none)."""
    servers = [c for c in parent.children() if "forkserver" in " ".join(c.cmdline())]
    spawned = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
    return spawned + [w for server in servers for w in server.children()]


@pytest.mark.slow  # kills build workers
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_end_with_the_build(tmp_path, sig):
    psutil = pytest.importorskip("psutil")
    root = make_example(tmp_path / "m4a", 6, duration_s=6.0, seed=9)
    out = tmp_path / "out"
    proc = subprocess.Popen([MV2DESC, "data", "build", *build_argv(root, out, "--num_proc", "2")], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    parent = psutil.Process(proc.pid)
    workers: list = []
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not (len(workers) >= 2 and cache_entries(out)):
            assert proc.poll() is None, proc.stderr.read()
            workers = _build_workers(parent)
            time.sleep(0.1)
        assert len(workers) >= 2 and cache_entries(out)
        everyone = parent.children(recursive=True)
        os.kill(proc.pid, sig)
        rc = proc.wait(timeout=60)
        if sig == signal.SIGTERM:
            assert rc == 143, proc.stderr.read()
        gone, alive = psutil.wait_procs(everyone, timeout=10)
        alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, [p.cmdline() for p in alive]
    finally:
        for p in psutil.Process(os.getpid()).children(recursive=True):
            if p.pid == proc.pid or p in workers:
                p.kill()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- item 12: a broken environment is one line, before the first clip ---------------------------------
@pytest.mark.parametrize("num_proc", ["1", "2"])  # 2: the check runs in the first worker, as its first task
def test_unloadable_model_stops_before_the_first_clip(m4a, tmp_path, capsys, num_proc):
    out = tmp_path / "out"
    argv = [*build_argv(m4a, out, "--num_proc", num_proc), "--features.clap.name_or_path", str(tmp_path / "no-such-clap")]
    assert data_main(["build", *argv]) == 2
    assert "feature extractors cannot be built" in one_line_error(capsys)
    assert not cache_entries(out) and not (out / "shards").exists()


def test_unwritable_out_is_one_line(m4a, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert data_main(["build", *build_argv(m4a, blocker / "out")]) == 2
    assert "cannot write to --out" in one_line_error(capsys)
    assert data_main(["build", *build_argv(m4a, blocker)]) == 2
    assert "is a file" in one_line_error(capsys)


def test_extractor_failing_on_every_clip_stops_with_its_error(m4a, tmp_path, monkeypatch, capsys):
    from mv2desc.audio import features

    def broken(self, path):
        raise RuntimeError("libfoo.so: cannot open shared object file")

    monkeypatch.setattr(features.AcousticFeatureExtractor, "extract_file", broken)
    out = tmp_path / "out"
    assert data_main(["build", *build_argv(m4a, out)]) == 2
    line = one_line_error(capsys)
    assert "first 4 clips all failed" in line and "libfoo.so" in line
    assert not (out / "dataset").exists()


# -- item 13: a worker killed by the system (the OOM killer) is one line (resuming: test_build.py) -----
@pytest.mark.slow  # kills build workers
def test_a_killed_worker_is_one_line(tmp_path):
    psutil = pytest.importorskip("psutil")
    root = make_example(tmp_path / "m4a", 6, duration_s=6.0, seed=9)
    out = tmp_path / "out"
    argv = [MV2DESC, "data", "build", *build_argv(root, out, "--num_proc", "2")]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    parent = psutil.Process(proc.pid)
    try:
        deadline = time.time() + 240
        workers: list = []
        while time.time() < deadline and not (workers and cache_entries(out)):
            assert proc.poll() is None, proc.stderr.read()
            workers = _build_workers(parent)
            time.sleep(0.1)
        assert workers and cache_entries(out)
        workers[0].kill()  # as the OOM killer would
        rc = proc.wait(timeout=120)
        err = [line for line in proc.stderr.read().splitlines() if line.startswith("error: ")]
        assert rc == 2 and len(err) == 1 and "worker process died" in err[0], err
    finally:  # only the build and its workers: this process's other children (multiprocessing's resource
        # tracker, ...) must live on, or later fork-based tests deadlock
        if proc.poll() is None:
            for p in [*parent.children(recursive=True), parent]:
                p.kill()
            proc.wait()
    assert not (out / "manifest.json").exists()
