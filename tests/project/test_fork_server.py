"""Workers from :func:`mv2desc.procs.fork_server_context` start with the preloaded modules imported (the
server imported them once), and once :func:`mv2desc.procs.stop_fork_server` has waited for the server,
their CPU time counts in this process's ``RUSAGE_CHILDREN`` (what ``time`` reports for a command). Run
in a fresh interpreter: the fork server is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, resource, sys, time
from concurrent.futures import ProcessPoolExecutor
from mv2desc.procs import fork_server_context, init_worker, stop_fork_server

def job(_):
    t = time.process_time()
    while time.process_time() - t < 0.4:  # burn 0.4 CPU-s
        pass
    return "colorsys" in sys.modules, os.getppid()

if __name__ == "__main__":
    ctx = fork_server_context(["colorsys"])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with ProcessPoolExecutor(2, mp_context=ctx, initializer=init_worker, initargs=(os.getpid(),)) as pool:
        results = list(pool.map(job, range(2)))
    mid = resource.getrusage(resource.RUSAGE_CHILDREN)
    import multiprocessing
    sleeper = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    sleeper.start()  # forked while the server runs: it holds the server's "alive" pipe too
    t = time.time()
    stop_fork_server()
    stop_s = time.time() - t
    sleeper.terminate(); sleeper.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = lambda r: r.ru_utime + r.ru_stime
    with ProcessPoolExecutor(1, mp_context=fork_server_context([]), initializer=init_worker, initargs=(os.getpid(),)) as pool:
        control = pool.submit(job, 0).result()[0]  # a new server, nothing preloaded
    stop_fork_server()
    print(json.dumps({"stop_s": stop_s, "control": control, "preloaded": [r[0] for r in results], "parents": [r[1] for r in results], "me": os.getpid(),
                      "before_stop": cpu(mid) - cpu(before), "after_stop": cpu(after) - cpu(before)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server (POSIX)")
def test_workers_start_warm_and_their_cpu_counts_once_the_server_is_stopped(tmp_path):
    # the sleeper also counts once reaped (terminated: next to no CPU), so the figures are lower bounds
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True, timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["preloaded"] == [True, True]  # imported by the server, before any job asked for it
    assert got["control"] is False  # and only because it was preloaded
    assert all(p != got["me"] for p in got["parents"])  # the workers are the server's children, not ours
    assert got["before_stop"] < 0.3  # not counted while the server runs ...
    assert got["after_stop"] >= 0.7  # ... and counted once it was waited for (2 x 0.4 CPU-s)
    assert got["stop_s"] < 10  # a process forked meanwhile (holding the server's pipe) does not keep it waiting
