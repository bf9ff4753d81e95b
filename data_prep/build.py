"""``mv2desc data build``: catalog -> per-clip features + descriptions (cached) -> one shard ->
(single-shard builds) the final dataset."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from data_prep import outdir, shards
from data_prep.config import BuildConfig
from data_prep.merge import FinalSummary, merge
from data_prep.music4all import load_catalog, read_lyrics
from data_prep.process_clip import (
    ClipOutcome,
    ClipProcessor,
    caches,
    init_worker,
    install_interrupt_handlers,
    restore_handlers,
    run_in_worker,
    worker_extractor,
)
from data_prep.report import BuildReport
from data_prep.splits import assign_splits
from data_prep.tracks import Track
from mv2desc.atomic import atomic_write_json
from mv2desc.audio.features import AcousticFeatureExtractor
from mv2desc.data.schema import FEATURES, to_row
from mv2desc.errors import UserError
from mv2desc.outputs import refuse_inputs
from mv2desc.procs import fork_server_context, stop_fork_server, stop_pool

log = logging.getLogger(__name__)
ROW_GROUP = 64
PROBE_CLIPS = 4  # the first clips all failing inside the extractors = a broken environment: stop


@dataclass
class ShardSummary:
    shard_dir: Path
    clips: int
    ok: int
    computed: int
    cached: int
    skipped: Counter
    wall_s: float


def warm_up_librosa() -> None:
    """Compile (or load from numba's on-disk cache) librosa's beat tracker once, before workers start."""
    import librosa
    import numpy as np

    y = np.zeros(22050 * 2, dtype=np.float32)
    y[::11025] = 1.0
    librosa.beat.beat_track(y=y, sr=22050)


def _track_columns(track: Track, root: Path) -> dict:
    m = track.metadata
    return {
        "id": track.id,
        "artist": track.artist,
        "song": track.song,
        "album": track.album,
        "lang": track.lang,
        "tags": track.tags,
        "genres": track.genres,
        "spotify_id": m.get("spotify_id"),
        "release": m.get("release"),
        "popularity": m.get("popularity"),
        "danceability": m.get("danceability"),
        "energy": m.get("energy"),
        "spotify_key": m.get("key"),
        "spotify_mode": m.get("mode"),
        "valence": m.get("valence"),
        "spotify_tempo": m.get("tempo"),
        "duration_ms": m.get("duration_ms"),
        "audio_path": track.audio_path.relative_to(root).as_posix() if track.audio_path else None,
    }


def _outcomes(config: BuildConfig, todo: list[Track]):
    """``(outcomes in completion order, the pool or None, (extractor info, FeatureSpec))``.

    The environment check (:func:`check_environment`) uses the extractors that process the clips: in
    this process without workers, else in the first worker (its first task), so no extractor (CLAP's
    weights, openSMILE) is built only to be dropped. Workers are a ProcessPoolExecutor, not a
    multiprocessing.Pool: a worker that dies (or an initializer that fails) ends the build with
    BrokenProcessPool instead of being respawned forever; finished clips are cached, so the rerun resumes."""
    if config.num_proc == 1 or len(todo) <= 1:
        processor = ClipProcessor(config)
        return map(processor, todo), None, check_environment(processor.extractor)
    # not fork: torch/OpenMP thread pools do not survive a fork; a fork server that only imported and
    # compiled what every worker needs (data_prep.worker_preload): its workers start warm
    ctx = fork_server_context(["data_prep.worker_preload"])
    pool = ProcessPoolExecutor(min(config.num_proc, len(todo)), mp_context=ctx, initializer=init_worker,
                               initargs=(config, os.getpid()))
    try:
        environment = pool.submit(worker_environment)
        futures = [pool.submit(run_in_worker, track) for track in todo]
        env = environment.result()
    except BaseException as exc:
        stop_pool(pool)
        stop_fork_server()
        if isinstance(exc, BrokenProcessPool):  # a worker was killed or crashed while the environment was checked
            raise _worker_died(None) from exc
        if isinstance(exc, Exception):
            raise _environment_error(exc) from exc
        raise
    return (f.result() for f in as_completed(futures)), pool, env


def check_environment(extractor: AcousticFeatureExtractor) -> tuple[dict, object]:
    """Build every extractor before the first clip (models loadable offline, packages working): a
    broken environment is one clear error, not every clip counted as ``extractor_error``.
    -> (extractor info, FeatureSpec)."""
    try:
        return extractor.info(), extractor.spec()
    except Exception as exc:
        raise _environment_error(exc) from exc


def worker_environment() -> tuple[dict, object]:
    """:func:`check_environment` on a worker's own extractors (the worker's first task), then librosa's
    beat tracker compiled (or loaded from numba's on-disk cache) there once."""
    extractor = worker_extractor()
    out = extractor.info(), extractor.spec()
    warm_up_librosa()
    return out


def _worker_died(n_done: int | None) -> UserError:
    when = f" after {n_done} clips" if n_done is not None else ""
    return UserError(
        f"a worker process died (killed by the system, e.g. out of memory, or crashed){when}; "
        f"finished clips are cached: rerun the same command (with fewer --num_proc if memory is short) to resume"
    )


def _environment_error(exc: BaseException) -> UserError:
    first = (str(exc).strip().splitlines() or [""])[0]
    return UserError(
        f"the feature extractors cannot be built, so no clip was processed ({type(exc).__name__}: {first}); "
        f"check features.clap.name_or_path (a local folder when offline) and the installed packages"
    )


def build_shard(config: BuildConfig, finish=None):
    """Compute (or reuse from the cache) this shard's clips and write ``shards/<name>/``. The output
    folder must be new, empty or ours (:mod:`data_prep.outdir`); the shard is locked while it is built.
    SIGINT and SIGTERM stop the build (KeyboardInterrupt); worker processes end with it.
    -> the :class:`ShardSummary`, or ``finish(summary)`` run with the lock still held."""
    root = Path(config.root)
    refuse_inputs({"--out": config.out}, [config.root, config.videos])
    catalog_report = BuildReport()  # problems of the tables: every shard sees the same ones
    catalog = load_catalog(root, catalog_report, config.videos)
    if not catalog:
        raise UserError(f"no usable track in {root} ({catalog_report.summary_line()}); nothing was built")
    out = outdir.claim(config.out)
    previous = install_interrupt_handlers((signal.SIGINT, signal.SIGTERM))
    try:
        with outdir.locked(out, shards.shard_name(config.shard_index, config.num_shards)):
            summary = _build_shard(config, catalog, catalog_report)
            return finish(summary) if finish is not None else summary
    finally:
        restore_handlers(previous)


def _build_shard(config: BuildConfig, catalog: list[Track], catalog_report: BuildReport) -> ShardSummary:
    t_start = time.time()
    out = Path(config.out)
    root = Path(config.root)
    report = BuildReport()  # problems of this shard's clips
    if config.limit is not None:
        catalog = catalog[: config.limit]
    split_of = assign_splits({t.id: t.artist for t in catalog}, config.splits)
    todo = [t for t in catalog if shards.owns(t.id, config.num_shards, config.shard_index)]
    name = shards.shard_name(config.shard_index, config.num_shards)
    log.info("catalog: %d tracks in %s; shard %s owns %d", len(catalog), root, name, len(todo))
    feature_cache, description_cache = caches(config)
    results, pool, (info, spec) = _outcomes(config, todo)
    ok_ids: set[str] = set()
    computed = cached = 0
    cpu = Counter()
    probe: list[ClipOutcome] = []
    try:
        with tqdm(total=len(todo), unit="clip", desc=f"features+descriptions [{name}]", dynamic_ncols=True,
                  mininterval=0.5 if sys.stderr.isatty() else 30.0) as bar:  # logs to a file: a line every 30 s
            for outcome in results:
                _account(outcome, report)
                if len(probe) < min(PROBE_CLIPS, len(todo)):
                    probe.append(outcome)
                    if len(probe) == min(PROBE_CLIPS, len(todo)) and all(o.reason == "extractor_error" for o in probe):
                        raise UserError(
                            f"the first {len(probe)} clips all failed inside the feature extractors, e.g. {probe[0].id}: "
                            f"{probe[0].detail}; stopped (a broken environment, not bad clips)"
                        )
                if outcome.ok:
                    ok_ids.add(outcome.id)
                    cached += outcome.features_cached
                    computed += not outcome.features_cached
                    cpu.update(outcome.cpu_s)
                bar.update(1)
                bar.set_postfix(ok=len(ok_ids), skipped=sum(report.skipped.values()), refresh=False)
    except BrokenProcessPool as exc:  # a worker was killed (the OOM killer, a signal) or crashed
        stop_pool(pool)
        raise _worker_died(len(ok_ids)) from exc
    except BaseException:
        if pool is not None:  # do not wait for in-flight clips (SIGTERM, Ctrl-C, a stopping error)
            stop_pool(pool)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            stop_fork_server()  # waited for: its workers' CPU time counts as this command's
    shard_dir = out / "shards" / name
    tmp_dir = out / "shards" / f".tmp-{name}"  # the shard is locked: a leftover is a killed build's
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    n_rows = _write_records(tmp_dir / shards.RECORDS, [t for t in todo if t.id in ok_ids], split_of, root, feature_cache, description_cache)
    atomic_write_json(tmp_dir / shards.REPORT, {"catalog": catalog_report.to_json(), "clips": report.to_json()})
    atomic_write_json(
        tmp_dir / shards.COMPLETE,
        {
            "shard_index": config.shard_index,
            "num_shards": config.num_shards,
            "content_fingerprint": config.content_fingerprint(),
            "rows": n_rows,
            "catalog_tracks": len(catalog),
            "features": info,
            "feature_spec": spec.to_dict(),
            "config": _config_record(config),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        },
    )
    if shard_dir.exists():
        shutil.rmtree(shard_dir)
    tmp_dir.rename(shard_dir)
    wall = time.time() - t_start
    log.info("shard %s: %d rows (%d computed, %d from cache), %d skipped, %.1f s", name, n_rows, computed, cached, sum(report.skipped.values()), wall)
    return ShardSummary(shard_dir, len(todo), len(ok_ids), computed, cached, report.skipped + catalog_report.skipped, wall)


def _account(outcome: ClipOutcome, report: BuildReport) -> None:
    if not outcome.ok:
        report.skip(outcome.reason, outcome.id, outcome.detail)
        return
    for reason, detail in outcome.degraded:
        report.degrade(reason, outcome.id, detail)


def _write_records(path: Path, tracks: list[Track], split_of: dict[str, str], root: Path, feature_cache, description_cache) -> int:
    """Rows sorted by id, streamed in row groups (a shard never has to fit in memory)."""
    schema = FEATURES.arrow_schema
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict] = []
        for track in sorted(tracks, key=lambda t: t.id):
            features = feature_cache.get(track.id)
            description = description_cache.get(track.id)
            if features is None or description is None:
                raise RuntimeError(f"cache entry for {track.id!r} vanished during the build")
            lyrics, _ = read_lyrics(track)
            values = {
                **_track_columns(track, root),
                "split": split_of[track.id],
                "lyrics": lyrics,
                "duration_s": features.duration_s,
                "source_sample_rate": features.source_sample_rate,
                **features.values,
                **description,
            }
            batch.append(to_row(values))
            if len(batch) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def build(config: BuildConfig) -> ShardSummary | FinalSummary:
    """Build this process's shard; with a single shard, also write the final dataset."""
    if config.num_shards == 1:  # merged while the shard is still locked: no second build in between
        return build_shard(config, finish=lambda summary: merge(Path(config.out), [str(summary.shard_dir)]))
    summary = build_shard(config)
    print(
        f"shard {config.shard_index}/{config.num_shards}: {summary.ok} clips ok, {sum(summary.skipped.values())} skipped "
        f"-> {summary.shard_dir}. When every shard is done: mv2desc data merge --out {config.out}"
    )
    return summary


def _config_record(config: BuildConfig) -> dict:
    from dataclasses import asdict

    d = asdict(config)
    for k in ("num_proc", "num_shards", "shard_index", "out"):
        d.pop(k)
    return d
