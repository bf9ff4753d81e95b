"""Rendering the clips that are not cached: in this process, or one worker process per device.

With ``devices > 1`` each worker process gets one device (``CUDA_VISIBLE_DEVICES`` set before the
renderer is built; procedural renderers simply use one CPU worker each) and builds its renderer once;
clips are handed out one at a time, so a slow clip does not hold the others back. Each finished clip
is written to the cache at once: an interrupted run keeps every clip it finished.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from mv2desc.mvgen.cache import ClipCache
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipJob:
    """One clip to render: its cache key and request."""

    key: str
    request: ClipRequest


_worker: dict = {}


def _init_worker(factory: Callable[[], ClipRenderer], slots, cache_root: str, fps: float, crf: int) -> None:
    device = slots.get()
    os.environ["CUDA_VISIBLE_DEVICES"] = str(device)
    _worker.update(renderer=factory(), cache=ClipCache(cache_root), fps=fps, crf=crf, device=device)


def _render_in_worker(job: ClipJob) -> tuple[str, int]:
    frames = _worker["renderer"].render(job.request)
    _worker["cache"].store_clip(job.key, frames, _worker["fps"], _worker["crf"])
    return job.key, _worker["device"]


def render_clips(
    jobs: list[ClipJob],
    factory: Callable[[], ClipRenderer],
    cache: ClipCache,
    *,
    fps: float,
    crf: int,
    devices: int = 1,
    start_method: str = "fork",
    on_done: Callable[[ClipJob], None] | None = None,
) -> None:
    """Render and cache every job. ``factory`` builds the renderer (in each worker when ``devices > 1``);
    ``on_done(job)`` runs in this process after each clip is cached (progress bars)."""
    if not jobs:
        return
    if devices <= 1 or len(jobs) == 1:
        renderer = factory()
        for job in jobs:
            cache.store_clip(job.key, renderer.render(job.request), fps, crf)
            if on_done:
                on_done(job)
        return
    ctx = multiprocessing.get_context(start_method)
    slots = ctx.Manager().Queue()
    n = min(devices, len(jobs))
    for d in range(n):
        slots.put(d)
    by_key = {j.key: j for j in jobs}
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                             initargs=(factory, slots, str(cache.root), fps, crf)) as pool:
        futures = [pool.submit(_render_in_worker, j) for j in jobs]
        for fut in as_completed(futures):
            key, device = fut.result()
            log.debug("clip %s rendered on device %d", key, device)
            if on_done:
                on_done(by_key[key])
