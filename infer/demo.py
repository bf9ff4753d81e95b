"""``mv2desc demo``: the main job end to end on embedded defaults (no weights, no downloads).

Each step is an ``mv2desc`` command run in this process (the demo composes the apps through the CLI,
as a user would), so what it shows is exactly what those commands do:

1. ``data example`` + ``data build``: a synthetic Music4All folder -> the MV-description dataset
   (CLAP is a tiny randomly initialised model; descriptions come from the metadata source);
2. ``train fit``: the tiny captioner fine-tuned on it for a few steps (configs/train/cpu_smoke.yaml);
3. ``eval run``: descriptions of the held-out test split, scored (predictions.jsonl, metrics.json);
4. ``describe``: a new, longer song (synthetic, stereo) cut into segments on its downbeats and
   described segment by segment by that captioner (descriptions.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mv2desc.app import argument_parser, normalise_flags, positive_int, run, setup
from mv2desc.errors import UserError

REPO = Path(__file__).resolve().parents[1]


def write_demo_song(path: Path, duration_s: float) -> Path:
    """A stereo synthetic song (tempo, key and energy known) at an unremarkable level, as MP3."""
    import numpy as np

    from mv2desc.media.audio import write_audio
    from mv2desc.synth import SongSpec, render

    y = render(SongSpec(tempo_bpm=104.0, key="D", mode="minor", energy=0.6, duration_s=duration_s, seed=11), 44100)
    return write_audio(path, np.stack([y, 0.9 * y]), 44100)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(prog="mv2desc demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="output folder")
    parser.add_argument("--n_tracks", type=positive_int, default=16, help="synthetic tracks in the example")
    parser.add_argument("--num_proc", type=positive_int, default=2, help="worker processes for the dataset build")
    parser.add_argument("--train_steps", type=positive_int, default=12, help="optimizer steps of the tiny captioner")
    parser.add_argument("--song_s", type=float, default=75.0, help="length of the synthetic song the last step describes")
    args = parser.parse_args(normalise_flags(list(sys.argv[1:] if argv is None else argv)))

    def _run() -> int:
        setup()
        from mv2desc.cli import main as mv2desc

        def step(*argv: str) -> None:
            print(f"[demo] mv2desc {' '.join(argv)}", flush=True)
            code = mv2desc(list(argv))
            if code:
                raise UserError(f"the demo stopped: `mv2desc {argv[0]} {argv[1] if len(argv) > 1 else ''}` exited with {code}")

        out = Path(args.out)
        root = out / "music4all"
        if not (root / "id_information.csv").is_file():
            step("data", "example", "--out", str(root), "--n_tracks", str(args.n_tracks))
        step("data", "build", "--config", str(REPO / "configs/data/demo.yaml"), "--root", str(root), "--out", str(out / "data"),
             "--num_proc", str(args.num_proc), "--features.clap.name_or_path", str(REPO / "configs/clap/tiny-random"))
        step("train", "fit", "--config", str(REPO / "configs/train/cpu_smoke.yaml"), "--data.dataset", str(out / "data"),
             "--run.out_dir", str(out / "train"), "--optim.max_steps", str(args.train_steps),
             "--run.ckpt_every_n_steps", str(args.train_steps), "--run.resume", "none")
        step("eval", "run", "--checkpoint", str(out / "train"), "--dataset", str(out / "data"), "--split", "test",
             "--out", str(out / "eval"), "--max_new_tokens", "48", "--device", "cpu")
        song = out / "song.mp3"
        if not song.is_file():
            write_demo_song(song, args.song_s)
        step("describe", str(song), "--captioner", str(out / "train"), "--out", str(out / "describe" / "descriptions.json"),
             "--overwrite", "--max_new_tokens", "48", "--device", "cpu")
        print(f"[demo] dataset: {out / 'data'}  captioner: {out / 'train' / 'final'}  eval: {out / 'eval'}  "
              f"song descriptions: {out / 'describe' / 'descriptions.json'}")
        print(f"[demo] note: the captioner here is the tiny randomly initialised preset trained for {args.train_steps} steps on a few "
              "synthetic clips, so its text is not fluent; the demo shows the pipeline end to end. A real run: "
              "configs/train/lora_1gpu.yaml on a Music4All build.")
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
