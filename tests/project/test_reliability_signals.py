"""Issue 18, hangs and signals: the demo refuses a user's folder at once; SIGINT (Ctrl-C, to the whole
process group) and SIGTERM stop ``mv generate`` within seconds with exit 130 / 143, one line, no
traceback, no worker left; a SIGKILLed run's workers die with it; the next run resumes from the cache.

The commands run as subprocesses in their own process group. ``mv generate`` goes through
``mv2desc.cli.main`` (what the console script runs) from a small wrapper that makes each clip take a
second (a sleep in the procedural renderer, which draws each segment into its chunk in the assembly's
workers), so the render stage lasts long enough to be interrupted.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mv2desc.media.audio import write_audio
from mv2desc.procs import group_members
from mv2desc.synth import SongSpec, render

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups read from /proc"),
              pytest.mark.slow]  # kills running pipelines and waits for them

MV2DESC = str(Path(sys.executable).with_name("mv2desc"))
# six 2 s segments (one bar each at 120 bpm), small frames, two render workers, madmom's pool of two
GENERATE = ["--devices", "2", "--video.width", "160", "--video.height", "96", "--video.fps", "12", "--sync.render.fps", "12",
            "--segments.target_bars", "1", "--segments.min_bars", "1", "--segments.max_bars", "1", "--sync.music.networks", "2"]
SLOW_CLIPS = """\
import sys, time
from mv2desc.mvgen.renderers import procedural
_frames = procedural.ProceduralRenderer.frames  # what the pipeline encodes (mv2desc.mvgen.renderers.base.clip_frames)
def slow(self, request):
    time.sleep(0.5)
    yield from _frames(self, request)
procedural.ProceduralRenderer.frames = slow
from mv2desc.cli import main
sys.exit(main())
"""


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("signals")
    path = write_audio(root / "song.wav", render(SongSpec(tempo_bpm=120.0, energy=0.6, duration_s=12.0, seed=3), 22050), 22050)
    wrapper = root / "slow_clips.py"
    wrapper.write_text(SLOW_CLIPS)
    return {"song": path, "wrapper": wrapper}


def _clips(out: Path) -> int:
    """Clips cached whole: a clip file's seal (``clips/<key>.json``) is written after its MP4, and so is a
    drawn clip's segment chunk's (``analysis/chunks/<key>.sha256``; the procedural renderer draws into them)."""
    files = (out / "cache" / "clips").glob("*.json")
    chunks = (out / "cache" / "analysis" / "chunks").glob("*.sha256")
    return sum(1 for p in [*files, *chunks] if not p.name.startswith("."))


class Run:
    """``mv generate`` (clips slowed) in its own process group, output in files."""

    def __init__(self, song: dict, out: Path, tag: str) -> None:
        self.err_path, self.out_path = out.parent / f"{tag}.stderr", out.parent / f"{tag}.stdout"
        with open(self.err_path, "w") as err, open(self.out_path, "w") as stdout:
            self.proc = subprocess.Popen([sys.executable, str(song["wrapper"]), "mv", "generate", str(song["song"]), "--out", str(out),
                                          *GENERATE], stdout=stdout, stderr=err, start_new_session=True)
        self.out = out

    def rendering(self, timeout: float = 180.0) -> None:
        """Wait until the render stage has cached a clip more than there were (workers running)."""
        before = _clips(self.out)
        deadline = time.monotonic() + timeout
        while _clips(self.out) <= before:
            assert self.proc.poll() is None, f"ended before a clip was rendered: {self.stderr()}"
            assert time.monotonic() < deadline, "no clip rendered in time"
            time.sleep(0.05)
        assert len(group_members(self.proc.pid)) >= 3, "render workers expected"

    def stop(self, sig: int, *, group: bool) -> tuple[int, float]:
        """Send ``sig`` (to the group, as Ctrl-C does, or to the main process) -> (exit code, seconds to exit)."""
        t0 = time.monotonic()
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        rc = self.proc.wait(timeout=30)
        return rc, time.monotonic() - t0

    def group_gone(self, within_s: float = 5.0) -> list[int]:
        deadline = time.monotonic() + within_s
        while (left := group_members(self.proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def stderr(self) -> str:
        return self.err_path.read_text()

    def kill(self) -> None:
        if group_members(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait()


# -- item 3 -------------------------------------------------------------------------------------------
def test_demo_refuses_a_users_folder_at_once(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own notes")
    t0 = time.monotonic()
    proc = subprocess.Popen([MV2DESC, "demo", "--out", str(mine)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 2 and time.monotonic() - t0 < 30
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: ") and str(mine) in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]  # nothing written, not even the marker


# -- item 4 -------------------------------------------------------------------------------------------
def test_sigint_and_sigterm_stop_mv_generate_and_the_rerun_resumes(song, tmp_path):
    out = tmp_path / "mv"
    for tag, sig, group, code in (("ctrl-c", signal.SIGINT, True, 130), ("sigterm", signal.SIGTERM, False, 143)):
        run = Run(song, out, tag)
        try:
            run.rendering()
            rc, took = run.stop(sig, group=group)
            left = run.group_gone()
        finally:
            run.kill()
        err = run.stderr()
        assert (rc, "Traceback" in err, "KeyboardInterrupt" in err) == (code, False, False), err
        assert took < 10, f"{tag}: {took:.1f} s to stop"
        assert err.strip().splitlines()[-1].startswith("interrupted"), err
        assert not left, f"{tag}: processes of the run still alive: {left}"
    cached = _clips(out)
    run = Run(song, out, "rerun")
    try:
        assert run.proc.wait(timeout=300) == 0, run.stderr()
    finally:
        run.kill()
    summary = json.loads(run.out_path.read_text())
    assert summary["render"]["cached"] >= cached >= 2  # each interrupted run cached a clip at least
    assert summary["render"]["rendered"] + summary["render"]["cached"] == summary["segments"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed interrupt, on purpose
def test_an_interrupt_swallowed_on_the_way_still_stops_the_command(capsys):
    """Python prints and drops an exception raised in a ctypes (or Cython) callback or a ``__del__``: a
    Ctrl-C arriving there must still end the command with 130, not let it finish with 0."""
    from mv2desc.app import run

    @ctypes.CFUNCTYPE(None)
    def callback():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):  # the handler runs here, its KeyboardInterrupt is swallowed
            pass

    assert run(lambda: callback() or 0) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("interrupted")
    from mv2desc.procs import pending, raise_if_interrupted

    assert pending() is None  # answered by the exit code: library code run after the command does not see it again
    raise_if_interrupted()


def test_ctrl_c_turned_into_sys_exit_by_a_library_is_still_130(capsys):
    """Lightning's ``Trainer.fit`` catches KeyboardInterrupt and calls ``sys.exit(1)``."""
    from mv2desc.app import run

    def fit() -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            sys.exit(1)
        return 0

    assert run(fit) == 130
    assert "interrupted (SIGINT)" in capsys.readouterr().err


# -- item 5 -------------------------------------------------------------------------------------------
def test_render_workers_die_with_a_killed_main_process(song, tmp_path):
    run = Run(song, tmp_path / "mv", "sigkill")
    try:
        run.rendering()
        run.stop(signal.SIGKILL, group=False)
        left = run.group_gone()
    finally:
        run.kill()
    assert not left, f"workers outlived their killed parent: {left}"
