"""glibc's malloc keeps freed memory for reuse (:func:`mv2desc.procs.retain_freed_memory`), in the process
and, through the environment, in the workers it spawns; a setting the user made stays theirs. Run in
fresh interpreters: the settings are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, multiprocessing as mp, os
from mv2desc.procs import retain_freed_memory

def child(_):
    return {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}

if __name__ == "__main__":
    ok = retain_freed_memory()
    with mp.get_context("spawn").Pool(1) as pool:
        seen = pool.map(child, [0])[0]
    print(json.dumps({"ok": ok, "here": child(0), "spawned": seen}))
"""


def _run(tmp_path, env: dict) -> dict:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, str(script)], env={**base, **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_settings_reach_spawned_workers_and_keep_the_users(tmp_path):
    got = _run(tmp_path, {})
    assert got["ok"] is True
    want = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str((1 << 31) - 1), "MALLOC_TOP_PAD_": str(64 << 20)}
    assert got["here"] == want and got["spawned"] == want
    mine = _run(tmp_path, {"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert mine["spawned"]["MALLOC_TRIM_THRESHOLD_"] == "131072"  # the user's, untouched
    assert mine["spawned"]["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20)
