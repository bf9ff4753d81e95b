"""Does the captioner listen? The shipped recipe (frozen pretrained backbone + LoRA + audio encoder +
cross-attention with gates at 0) trained twice per seed on a dataset whose descriptions depend on the
audio: once with the true (audio, description) pairs, once with the audio deranged among the training
rows. Both are scored on the held-out, artist-disjoint test split (true pairs): BLEU-4, CIDEr and
attribute consistency (tempo, energy, mode implied by the text vs measured on the audio), with the
split's chance level. Only the audio path can tell the two runs apart."""

from __future__ import annotations

import statistics
from pathlib import Path

from mv2desc.data.columns import ATTRIBUTES
from mv2desc.errors import UserError
from mv2desc.paths import shipped
from train.__main__ import parse_train_config
from train.evaluate import generate_split
from train.fit import fit

RECIPE = shipped("configs/train/audio_ablation.yaml")


def build_audio_dependent_dataset(
    out: Path, n_tracks: int = 96, duration_s: float = 8.0, num_proc: int = 2, generator: str = "midi"
) -> Path:
    """Synthetic songs of distinct tempo / energy / mode (``generator``: ``midi`` arrangements or ``sine`` tones, as
    ``mv2desc data example --generator``) -> metadata-source descriptions without lyric
    motifs, title or artist (none of them is in the audio) -> an artist-disjoint dataset with a test split."""
    from mv2desc.cli import main as mv2desc  # the data app, through its command line (apps never import apps)

    root = out / "music4all"
    if not (root / "id_information.csv").is_file():
        _check(mv2desc(["data", "example", "--out", str(root), "--n_tracks", str(n_tracks), "--duration_s", str(duration_s), "--seed", "7",
                              "--generator", generator]))
    if not (out / "data" / "manifest.json").is_file():
        _check(mv2desc(
            ["data", "build", "--config", str(shipped("configs/data/demo.yaml")), "--root", str(root), "--out", str(out / "data"),
             "--features.clap.name_or_path", str(shipped("configs/clap/tiny-random")), "--description.include_lyrics", "false",
             "--description.include_identity", "false", "--splits.train", "0.75", "--splits.validation", "0", "--splits.test", "0.25",
             "--num_proc", str(num_proc)]
        ))
    return out / "data"


def _check(code: int) -> None:
    if code:
        raise UserError(f"building the ablation dataset failed (exit code {code})")


def train_and_score(
    dataset: Path, out: Path, *, shuffled: bool, steps: int, seed: int = 0, extra: tuple[str, ...] = (), recipe: Path = RECIPE
) -> dict:
    """Train the recipe once and score the test split; returns the metrics and the final gate values."""
    from mv2desc.metrics.text import score_captions

    flags = [
        "--config", str(recipe), "--data.dataset", str(dataset), "--run.out_dir", str(out),
        "--optim.max_steps", str(steps), "--run.seed", str(seed), "--run.ckpt_every_n_steps", str(steps), "--run.resume", "none", *extra,
    ]
    if shuffled:
        flags += ["--data.audio_shuffle_seed", str(seed + 1)]
    cfg, _ = parse_train_config(flags)
    summary = fit(cfg)
    rows = generate_split(out, dataset, "test", batch_size=16, max_new_tokens=120, device="cpu")
    metrics = score_captions([r["prediction"] for r in rows], [r["reference"] for r in rows], attributes=[r["attributes"] for r in rows])
    return {"train_loss": summary["train_loss"], "bleu4": metrics["bleu4"], "cider": metrics["cider"],
            "attributes": metrics["attributes"]["overall"]["score"], "chance": metrics["attributes"]["overall"]["chance"],
            "per_attribute": {a: metrics["attributes"][a]["score"] for a in ATTRIBUTES},
            "gates": gate_values(out), "metrics": metrics, "n_test": len(rows), "example": rows[0]}


def gate_values(run_dir: Path) -> dict[str, float]:
    """tanh of the mean absolute gate values in the run's final artifact (0 = the audio path is closed)."""
    import math

    from safetensors.torch import load_file

    tensors = {}
    for f in (run_dir / "final").glob("*.safetensors"):
        tensors.update(load_file(str(f)))
    out = {}
    for kind in ("attn_gate", "ffw_gate"):
        vals = [float(v.abs().mean()) for k, v in tensors.items() if k.endswith(kind)]
        out[kind] = round(math.tanh(sum(vals) / len(vals)), 4) if vals else float("nan")
    return out


def summarise(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and spread (population std; min, max) of each headline figure over seeds."""
    out = {}
    for key in ("bleu4", "cider", "attributes"):
        xs = [r[key] for r in runs]
        out[key] = {"mean": statistics.fmean(xs), "std": statistics.pstdev(xs), "min": min(xs), "max": max(xs)}
    for a in ATTRIBUTES:
        xs = [r["per_attribute"][a] for r in runs]
        out[a] = {"mean": statistics.fmean(xs), "std": statistics.pstdev(xs)}
    return out


def audio_ablation(
    work: Path, *, steps: int = 1000, n_tracks: int = 96, seeds: tuple[int, ...] = (0, 1, 2), extra: tuple[str, ...] = (),
    recipe: Path = RECIPE, generator: str = "midi", workers: int = 1,
) -> dict:
    """True vs shuffled audio over ``seeds``: per-run results and their mean ± spread.

    ``workers`` > 1 trains that many runs at a time, each in its own process with one torch thread (the
    recipe's small model keeps one core busy badly with two threads: on 2 cores, two runs side by side
    take about the time of one run with both cores); the runs and their scores are those of one-by-one
    runs up to the floating-point order of a thread's sums."""
    import functools
    import multiprocessing

    from mv2desc.procs import raise_if_interrupted, worker_pool

    dataset = build_audio_dependent_dataset(work, n_tracks, generator=generator)
    jobs = [(shuffled, seed) for seed in seeds for shuffled in (False, True)]
    run = functools.partial(_run, dataset=dataset, work=work, steps=steps, extra=extra, recipe=recipe)
    if workers > 1 and len(jobs) > 1:
        with worker_pool(min(workers, len(jobs)), multiprocessing.get_context("spawn"), _one_thread) as pool:
            results = list(pool.map(run, jobs))  # spawn: a fork would copy torch's thread pools mid-use
            raise_if_interrupted()
    else:
        results = [run(job) for job in jobs]
    true = [r for (shuffled, _), r in zip(jobs, results) if not shuffled]
    shuffled_runs = [r for (shuffled, _), r in zip(jobs, results) if shuffled]
    return {"true_audio": true, "shuffled_audio": shuffled_runs,
            "summary": {"true_audio": summarise(true), "shuffled_audio": summarise(shuffled_runs)},
            "chance": true[0]["chance"], "steps": steps, "generator": generator, "n_tracks": n_tracks, "seeds": list(seeds)}


def _run(job: tuple[bool, int], *, dataset: Path, work: Path, steps: int, extra: tuple[str, ...], recipe: Path) -> dict:
    shuffled, seed = job
    name = f"{'shuffled' if shuffled else 'true'}_audio_s{seed}"
    return train_and_score(dataset, work / name, shuffled=shuffled, steps=steps, seed=seed, extra=extra, recipe=recipe)


def _one_thread() -> None:
    import torch

    from mv2desc.offline import default_offline

    torch.set_num_threads(1)
    default_offline()
