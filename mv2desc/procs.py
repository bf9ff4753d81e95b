"""Signals and worker processes: every command stops on Ctrl-C or SIGTERM, and no worker outlives it.

* :func:`interrupts`: while a command runs, SIGINT and SIGTERM raise :class:`Interrupted` (a
  ``KeyboardInterrupt`` naming the signal) in the main thread; :func:`exit_code` is 130 / 143. The
  signal is also remembered (:func:`raise_if_interrupted`): an interrupt raised where Python swallows
  exceptions (a ``__del__``, a ctypes or Cython callback) is raised again at the next check.
* :func:`init_worker`: the first thing every worker process runs. It ignores SIGINT (Ctrl-C reaches
  the whole process group; the parent stops its pool, so no worker prints a traceback), takes
  SIGTERM's default action (dies at once) and dies with its parent (:func:`die_with_parent`).
* :func:`worker_pool`: a ``ProcessPoolExecutor`` of such workers whose workers are terminated, not
  waited for, when an exception (an interrupt, an error) leaves the block.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1
_PENDING: list[int] = []  # signals received since the handlers were installed


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived (``signum``)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(f"signal {signal.Signals(signum).name}")
        self.signum = int(signum)

    def __reduce__(self) -> tuple:  # raised in a pool worker, it is pickled back to the parent
        return (Interrupted, (self.signum,))


def exit_code(exc: BaseException) -> int:
    """128 + the signal: 130 for Ctrl-C (and a plain KeyboardInterrupt), 143 for SIGTERM."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


def signal_name(exc: BaseException) -> str:
    return signal.Signals(getattr(exc, "signum", signal.SIGINT)).name


def on_signal(signum: int, frame: Any) -> None:
    """The handler :func:`interrupts` installs: remember the signal, raise :class:`Interrupted`."""
    _PENDING.append(signum)
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread inside the block (the previous
    handlers are restored after it). Elsewhere than in the main thread nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def pending() -> int | None:
    """The signal received (and maybe swallowed) since :func:`clear_pending`, else None."""
    return _PENDING[-1] if _PENDING else None


def clear_pending() -> None:
    _PENDING.clear()


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` again when a signal came and its exception was swallowed on the way."""
    if _PENDING:
        raise Interrupted(_PENDING[-1])


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(pgid: int) -> list[int]:
    """Living (not zombie) processes of process group ``pgid`` (Linux: read from ``/proc``)."""
    alive = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(p.name))
    return alive


def dead_writers_files(folder: Path, prefix: str) -> list[Path]:
    """Entries ``<prefix><pid>-*`` in ``folder`` whose writing process no longer exists (leftovers of a
    killed run: never finished, safe to remove)."""
    out = []
    for p in folder.glob(f"{prefix}*"):
        pid = p.name[len(prefix):].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            out.append(p)
    return out


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """A worker must not outlive the process ``parent_pid`` that started it (a SIGKILLed parent leaves no
    orphan). On Linux the kernel sends SIGTERM when the worker's direct parent dies (prctl
    PR_SET_PDEATHSIG); everywhere, a daemon thread exits the process once it is re-parented. A worker
    forked by multiprocessing's fork server has the server as its direct parent (the server exits with
    ``parent_pid``); it also checks that ``parent_pid`` itself is alive."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    direct = os.getppid()

    def gone() -> bool:
        if os.getppid() != direct:  # re-parented: the direct parent died
            return True
        if direct == parent_pid:
            return False
        try:  # started through a fork server: is the pool's owner alive?
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    if direct == 1 or gone():  # died before the prctl
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if gone():
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def fork_server_context(preload: list[str]) -> Any:
    """A multiprocessing context whose workers fork from a server process that imported ``preload``
    first (each worker inherits those modules instead of importing them again), or "spawn" where there
    is no fork server (Windows). The server has run nothing but imports, so it holds no thread pool
    (torch's, OpenMP's) that a fork would break. Stop it with :func:`stop_fork_server`."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx


def stop_fork_server() -> None:
    """Stop this process's fork server, if it runs, and wait for it (call it once the pool that used it
    has shut down). Its workers are its children, not this process's: only once it is waited for do
    their CPU time and its own count in this process's ``getrusage(RUSAGE_CHILDREN)`` (what ``time``
    reports for the command). The server is told by SIGTERM: the pipe whose closing would ask it to stop
    is also held by any process forked while it ran (a long-lived pool's worker), and waiting for that
    would never end. Then the stop method CPython's own tests use (``ForkServer._stop``) reaps it."""
    import multiprocessing.forkserver as fs

    server = getattr(fs, "_forkserver", None)
    pid, stop = getattr(server, "_forkserver_pid", None), getattr(server, "_stop", None)
    if pid is None or stop is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    stop()


def init_worker(parent_pid: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> None:
    """A worker process's setup: SIGINT ignored, SIGTERM kills, dies with ``parent_pid``; then
    ``initializer(*initargs)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the parent's raising handler
    _PENDING.clear()
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: cancel the jobs not started, terminate the workers (a second later, kill)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for p in workers:
        p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in workers:
        p.join(1.0)
        if p.exitcode is None:
            p.kill()
            p.join(1.0)


# glibc's malloc settings (mallopt's parameters and the environment variables it reads at start-up)
_MALLOC = {"MALLOC_MMAP_THRESHOLD_": (-3, 32 << 20), "MALLOC_TRIM_THRESHOLD_": (-1, (1 << 31) - 1), "MALLOC_TOP_PAD_": (-2, 64 << 20)}


def retain_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse in this process and in the processes it starts.

    By default glibc hands memory back to the kernel as soon as a few MB are free at the top of the heap,
    and serves every block over a moving threshold (128 kB, growing to at most 32 MB) by a fresh mapping;
    the next allocation then faults its pages in again, and the kernel zeroes each one. The product's
    work is made of such blocks (a 1280x720 frame is 2.7 MB, a spectrogram tens of MB, CLAP's
    activations larger), and on the project's VMs page zeroing was a quarter of ``describe``'s CPU time.
    Here blocks up to 32 MB come from the heap, which is never trimmed and grows 64 MB at a time, so
    freed memory is reused without faults (``mv2desc data build``, 24 clips, 2 workers: 15-21 CPU-s of
    kernel time against 9-13); larger blocks are still mapped and unmapped. The heap keeps its
    high-water mark of blocks under 32 MB, as jemalloc or tcmalloc would.

    Applied with ``mallopt`` here and through the environment for processes started later (spawned
    workers read it at start-up; forked ones inherit the settings). A setting already in the
    environment is the user's and is left as it is. Returns False where glibc's ``mallopt`` is not there."""
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    for name, (param, value) in _MALLOC.items():
        if name not in os.environ:
            os.environ[name] = str(value)
            mallopt(param, value)
    return True


CODEC_THREADS_ENV = "MV2DESC_CODEC_THREADS"


def codec_threads() -> int:
    """Threads an FFmpeg encoder or decoder of this process may use: a pool worker's share of the cores
    (:func:`thread_share`), else 0 (FFmpeg's choice: as many as the cores)."""
    try:
        return max(0, int(os.environ.get(CODEC_THREADS_ENV, "0")))
    except ValueError:
        return 0


@contextlib.contextmanager
def thread_share(n: int) -> Iterator[None]:
    """Inside the block, OpenCV's parallel loops and FFmpeg's codecs (:func:`codec_threads`) use at most
    ``n`` threads: in this process and in the processes started meanwhile (forked: they inherit it;
    spawned: through ``OPENCV_FOR_THREADS_NUM``, read when they import OpenCV, and
    ``MV2DESC_CODEC_THREADS``). Set here, in the parent: a forked child that resizes the OpenCV thread pool
    it inherited waits forever for threads it does not have."""
    cv2 = sys.modules.get("cv2")
    names = ("OPENCV_FOR_THREADS_NUM", CODEC_THREADS_ENV)
    before_env, before = {k: os.environ.get(k) for k in names}, cv2.getNumThreads() if cv2 is not None else None
    os.environ.update({k: str(n) for k in names})
    if cv2 is not None:
        cv2.setNumThreads(n)
    try:
        yield
    finally:
        for k, v in before_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if cv2 is not None:
            cv2.setNumThreads(before)


@contextlib.contextmanager
def worker_pool(n: int, context: Any, initializer: Callable[..., Any] | None = None,
                initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """``ProcessPoolExecutor(n)`` of :func:`init_worker` workers (start method ``context``). An
    exception leaving the block (Ctrl-C, SIGTERM, an error) stops the workers without waiting for
    their jobs; otherwise the block's end waits for them, as ``with ProcessPoolExecutor`` does.

    Each worker gets its share of the cores for OpenCV's and FFmpeg's own threads (``cpu_count // n``, at
    least 1; :func:`thread_share`): ``n`` workers each running them on every core oversubscribe the cores
    (2 workers on 2 cores: OpenCV's threads cost the assembly of a 207 s 1280x720 video 10 % more CPU,
    39.1 -> 36.4 s wall, mean of 4 and 3 runs; x264 at 1280x720 ``ultrafast``, two encodes at once:
    5.0 ms a frame with its own threads, 4.0 with one)."""
    share = max(1, (os.cpu_count() or 1) // max(1, n))
    with thread_share(share):  # a fork pool starts all its workers at the first job, inside this block
        pool = ProcessPoolExecutor(n, mp_context=context, initializer=init_worker,
                                   initargs=(os.getpid(), initializer, initargs))
        try:
            yield pool
        except BaseException:
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)


__all__ = ["CODEC_THREADS_ENV", "Interrupted", "clear_pending", "codec_threads", "die_with_parent", "exit_code", "fork_server_context", "init_worker", "interrupts", "on_signal", "pending",
           "raise_if_interrupted", "retain_freed_memory", "signal_name", "stop_fork_server", "stop_pool", "thread_share", "worker_pool"]
