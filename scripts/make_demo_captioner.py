"""Make the captioner artifact the demo starts from (``assets/demo-captioner``).

The demo must show legible, audio-consistent descriptions in minutes on 2 CPU cores, which a few
steps on 16 clips cannot teach. So this script trains the demo's own recipe
(``configs/train/cpu_demo.yaml``: the frozen pretrained tiny backbone + LoRA + audio encoder + gated
cross-attention) on a larger synthetic Music4All set — other songs than the demo's: the learning-from-audio
benchmark's set (96 tracks of 8 s, example seed 7) — and ships the result (about 1.5 MB); the demo then
fine-tunes it briefly on its own data, so the training path still runs there.

    python scripts/make_demo_captioner.py [--work bench_out/demo_captioner] [--tracks 96] [--steps 1000]

Writes ``assets/demo-captioner/`` (a standard adapter artifact) with ``PROVENANCE.json``: the command,
the data, the training loss and the held-out scores (BLEU-4, CIDEr, attribute consistency vs chance).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=REPO / "bench_out" / "demo_captioner")
    ap.add_argument("--out", type=Path, default=REPO / "assets" / "demo-captioner")
    ap.add_argument("--tracks", type=int, default=96)
    ap.add_argument("--duration_s", type=float, default=8.0)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data_seed", type=int, default=7, help="seed of the synthetic Music4All example (the demo's own data uses 0)")
    args = ap.parse_args()
    from mv2desc.app import setup

    setup()
    from mv2desc.cli import main as mv2desc

    def run(*argv: str) -> None:
        print("$ mv2desc " + " ".join(argv), flush=True)
        if mv2desc(list(argv)):
            sys.exit(f"error: mv2desc {argv[0]} {argv[1]} failed")

    t0 = time.time()
    root, data, train = args.work / "music4all", args.work / "data", args.work / "train"
    if not (root / "id_information.csv").is_file():
        run("data", "example", "--out", str(root), "--n_tracks", str(args.tracks), "--duration_s", str(args.duration_s), "--seed", str(args.data_seed))
    if not (data / "manifest.json").is_file():
        run("data", "build", "--config", str(REPO / "configs/data/demo.yaml"), "--root", str(root), "--out", str(data),
            "--features.clap.name_or_path", str(REPO / "configs/clap/tiny-random"), "--description.include_lyrics", "false",
            "--description.include_identity", "false", "--splits.train", "0.75", "--splits.validation", "0",
            "--splits.test", "0.25", "--num_proc", "2")
    run("train", "fit", "--config", str(REPO / "configs/train/cpu_demo.yaml"), "--data.dataset", str(data), "--run.out_dir", str(train),
        "--init_from", "", "--optim.max_steps", str(args.steps), "--optim.warmup_steps", "20", "--optim.lr", "1e-4",
        "--optim.new_modules_lr", "3e-3", "--optim.gates_lr", "3e-2", "--run.ckpt_every_n_steps", str(args.steps),
        "--run.seed", str(args.seed), "--run.resume", "none")
    run("eval", "run", "--checkpoint", str(train), "--dataset", str(data), "--split", "test", "--out", str(args.work / "eval"),
        "--max_new_tokens", "120", "--device", "cpu")
    metrics = json.loads((args.work / "eval" / "metrics.json").read_text())
    summary = json.loads((train / "summary.json").read_text())
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(train / "final", tmp)
    check_shippable(tmp / "captioner.json")
    provenance = {
        "made_by": "python scripts/make_demo_captioner.py " + " ".join(sys.argv[1:]),
        "recipe": "configs/train/cpu_demo.yaml with init_from none, lr 1e-4, new_modules_lr 3e-3, gates_lr 3e-2 (audio_ablation.yaml's rates)",
        "data": f"{args.tracks} synthetic tracks of {args.duration_s:g} s (mv2desc data example --seed {args.data_seed}: General MIDI "
                "arrangements rendered with FluidSynth + TimGM6mb), configs/data/demo.yaml without identity or lyric motifs in the "
                "descriptions; prompts with the measured block, features with the tonal stream (feature spec format 2)",
        "steps": summary["global_step"], "train_loss": round(summary["train_loss"], 4), "seconds": round(time.time() - t0, 1),
        "held_out": {"n": metrics["n"], "bleu4": round(metrics["bleu4"], 4), "cider": round(metrics["cider"], 4),
                     "attribute_consistency": round(metrics["attributes"]["overall"]["score"], 4),
                     "chance": round(metrics["attributes"]["overall"]["chance"], 4),
                     **{a: round(metrics["attributes"][a]["score"], 4) for a in ("tempo", "energy", "mode")}},
        "licence": "Apache-2.0 (made by this repository's code from synthetic audio and text)",
    }
    (tmp / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    if args.out.exists():
        if not (args.out / "PROVENANCE.json").is_file():
            sys.exit(f"error: {args.out} exists and was not made by this script (no PROVENANCE.json); choose another --out")
        shutil.rmtree(args.out)
    tmp.rename(args.out)
    print(json.dumps(provenance, indent=2))


def check_shippable(meta_path: Path) -> None:
    """The shipped artifact names its backbone and CLAP folders by repository path (assets/..., configs/...)
    or hub name: a path of this machine, or one relative to the training run, would not be found elsewhere."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    spec = meta.get("feature_spec") or {}
    refs = [meta["backbone"], meta["config"]["backbone"]["name_or_path"], spec.get("clap_model", ""),
            spec.get("extraction", {}).get("clap", {}).get("name_or_path", "")]
    bad = [r for r in refs if Path(r).is_absolute() or r.startswith(".")]
    if bad or not spec:
        sys.exit(f"error: {meta_path} names {bad or 'no feature spec'}: the demo artifact must use folders under the "
                 "repository's assets/ or configs/ (and record its feature spec)")


if __name__ == "__main__":
    main()
