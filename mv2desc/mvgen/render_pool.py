"""Rendering the clips that are not cached: in this process, or one worker process per device.

With ``devices > 1`` each worker process gets one device and builds its renderer once: GPU renderers
get the k-th GPU the user made visible (:func:`gpu_ids`: worker k sees only ``CUDA_VISIBLE_DEVICES``'s
k-th entry, so ``CUDA_VISIBLE_DEVICES=4,5 --devices 2`` renders on GPUs 4 and 5); procedural
renderers simply use one CPU worker each;
clips are handed out one at a time, so a slow clip does not hold the others back. Each finished clip
is written to the cache at once: an interrupted run keeps every clip it finished.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass

from mv2desc.errors import UserError
from mv2desc.mvgen.cache import ClipCache
from mv2desc.mvgen.renderers.base import ClipRenderer, ClipRequest, clip_frames
from mv2desc.procs import raise_if_interrupted, worker_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipJob:
    """One clip to render: its cache key and request."""

    key: str
    request: ClipRequest


_worker: dict = {}


def gpu_ids(n: int) -> list[str]:
    """The GPU of each of ``n`` render workers: the first ``n`` devices the user made visible
    (``CUDA_VISIBLE_DEVICES``'s entries, else ``0..count-1``). A :class:`UserError` when torch sees no
    GPU or fewer than ``n``: a GPU renderer never falls back to the CPU silently."""
    import torch

    count = torch.cuda.device_count()
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    visible = [x.strip() for x in env.split(",") if x.strip()] if env is not None else [str(k) for k in range(count)]
    visible = visible[:count]
    shown = f" (CUDA_VISIBLE_DEVICES={env})" if env is not None else ""
    if not visible:
        raise UserError(f"--devices {n}: torch sees no GPU{shown}; drop --devices to render in one process")
    if n > len(visible):
        raise UserError(f"--devices {n}: only {len(visible)} GPU(s) visible{shown}; use --devices {len(visible)} or fewer")
    return visible[:n]


def _init_worker(factory: Callable[[], ClipRenderer], slots, cache_root: str, fps: float, crf: int, preset: str = "veryfast") -> None:
    device = slots.get()
    if device.startswith("cuda:"):  # before the renderer (and torch's CUDA) starts in this process
        os.environ["CUDA_VISIBLE_DEVICES"] = device.removeprefix("cuda:")
    _worker.update(renderer=factory(), cache=ClipCache(cache_root, preset), fps=fps, crf=crf, device=device)


def _render_in_worker(job: ClipJob) -> tuple[str, str]:
    frames = clip_frames(_worker["renderer"], job.request)
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
    gpus: list[str] | None = None,
    start_method: str = "fork",
    on_done: Callable[[ClipJob], None] | None = None,
) -> None:
    """Render and cache every job. ``factory`` builds the renderer (in each worker when ``devices > 1``);
    ``gpus``: the GPU ids of the workers (:func:`gpu_ids`), None for CPU workers; ``on_done(job)``
    runs in this process after each clip is cached (progress bars)."""
    if not jobs:
        return
    if devices <= 1 or len(jobs) == 1:
        renderer = factory()
        for job in jobs:
            cache.store_clip(job.key, clip_frames(renderer, job.request), fps, crf)
            if on_done:
                on_done(job)
            raise_if_interrupted()
        return
    ctx = multiprocessing.get_context(start_method)
    slots = ctx.SimpleQueue()  # inherited by the workers (no manager process that could outlive this one)
    n = min(devices, len(jobs))
    if gpus is not None and len(gpus) < n:
        raise ValueError(f"{n} workers need {n} GPU ids, got {gpus}")
    for d in range(n):
        slots.put(f"cuda:{gpus[d]}" if gpus is not None else f"cpu:{d}")
    by_key = {j.key: j for j in jobs}
    # workers ignore Ctrl-C and die with this process; an interrupt or error here terminates them
    with worker_pool(n, ctx, _init_worker, (factory, slots, str(cache.root), fps, crf, cache.preset)) as pool:
        futures = [pool.submit(_render_in_worker, j) for j in jobs]
        for fut in as_completed(futures):
            key, device = fut.result()
            log.debug("clip %s rendered on %s", key, device)
            if on_done:
                on_done(by_key[key])
            raise_if_interrupted()
