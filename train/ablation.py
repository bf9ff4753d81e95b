"""Does the captioner listen? Train the tiny captioner twice on a dataset whose descriptions depend
on the audio — once with the true (audio, description) pairs, once with the audio shuffled among
the training rows — and compare BLEU-4 on held-out clips (true pairs for both)."""

from __future__ import annotations

from pathlib import Path

from mv2desc.errors import UserError
from train.__main__ import parse_train_config
from train.evaluate import generate_split
from train.fit import fit

REPO = Path(__file__).resolve().parents[1]


def build_audio_dependent_dataset(out: Path, n_tracks: int = 96, duration_s: float = 8.0, num_proc: int = 2) -> Path:
    """Synthetic songs of distinct tempo / energy / mode -> metadata-source descriptions without lyric
    motifs, title or artist (none of them is in the audio) -> an artist-disjoint dataset with a test split."""
    from mv2desc.cli import main as mv2desc  # the data app, through its command line (apps never import apps)

    root = out / "music4all"
    if not (root / "id_information.csv").is_file():
        _check(mv2desc(["data", "example", "--out", str(root), "--n_tracks", str(n_tracks), "--duration_s", str(duration_s), "--seed", "7"]))
    if not (out / "data" / "manifest.json").is_file():
        _check(mv2desc(
            ["data", "build", "--config", str(REPO / "configs/data/demo.yaml"), "--root", str(root), "--out", str(out / "data"),
             "--features.clap.name_or_path", str(REPO / "configs/clap/tiny-random"), "--description.include_lyrics", "false",
             "--description.include_identity", "false", "--splits.train", "0.75", "--splits.validation", "0", "--splits.test", "0.25",
             "--num_proc", str(num_proc)]
        ))
    return out / "data"


def _check(code: int) -> None:
    if code:
        raise UserError(f"building the ablation dataset failed (exit code {code})")


def train_and_score(dataset: Path, out: Path, *, shuffled: bool, steps: int, seed: int = 0, extra: tuple[str, ...] = ()) -> dict:
    from mv2desc.metrics.text import score_captions

    flags = [
        "--config", str(REPO / "configs/train/audio_ablation.yaml"), "--data.dataset", str(dataset), "--run.out_dir", str(out),
        "--optim.max_steps", str(steps), "--run.seed", str(seed), "--run.ckpt_every_n_steps", str(steps), *extra,
    ]
    if shuffled:
        flags += ["--data.audio_shuffle_seed", str(seed + 1)]
    cfg, _ = parse_train_config(flags)
    summary = fit(cfg)
    rows = generate_split(out, dataset, "test", batch_size=16, max_new_tokens=120, device="cpu")
    metrics = score_captions([r["prediction"] for r in rows], [r["reference"] for r in rows])
    return {"train_loss": summary["train_loss"], "bleu4": metrics["bleu4"], "metrics": metrics, "n_test": len(rows), "example": rows[0]}


def audio_ablation(work: Path, *, steps: int = 400, n_tracks: int = 96, seed: int = 0) -> dict:
    dataset = build_audio_dependent_dataset(work, n_tracks)
    true = train_and_score(dataset, work / "true_audio", shuffled=False, steps=steps, seed=seed)
    shuffled = train_and_score(dataset, work / "shuffled_audio", shuffled=True, steps=steps, seed=seed)
    return {"true_audio": true, "shuffled_audio": shuffled, "steps": steps, "n_tracks": n_tracks}
