"""``mv2desc demo``: the whole product end to end on embedded defaults (no weights, no downloads).

Each step is an ``mv2desc`` command run in this process (the demo composes the apps through the CLI,
as a user would), so what it shows is exactly what those commands do:

1. ``data example`` + ``data build``: a synthetic Music4All folder -> the MV-description dataset
   (CLAP is a tiny randomly initialised model; descriptions come from the metadata-style describer);
2. ``train fit``: the demo captioner (configs/train/cpu_demo.yaml: a small pretrained backbone, frozen,
   + LoRA + audio encoder + gated cross-attention, warm-started from assets/demo-captioner) fine-tuned
   briefly on that dataset;
3. ``eval run``: descriptions of the held-out test split (unseen artists), scored: BLEU, CIDEr and
   attribute consistency next to its chance level;
4. ``mv generate``: a new song the demo synthesises (stereo, with a quiet intro and a loud chorus) cut
   on its downbeats, described segment by segment by that captioner, rendered by the procedural
   renderer and assembled beat-synchronised -> mv.mp4, storyboard.html, timeline.otio.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mv2desc.app import parse_config, run, setup
from mv2desc.errors import UserError
from mv2desc.outputs import claim_folder
from mv2desc.paths import shipped

MARKER = ".mv2desc-demo"  # a folder holding it was made by the demo: a rerun reuses its example and song
MADE_HERE = {"music4all", "data", "train", "eval", "mv", "song.mp3"}


def _earlier_demo(out: Path) -> bool:
    """A demo folder of a version that wrote no marker: only the demo's outputs, its example among them."""
    return {p.name for p in out.iterdir()} <= MADE_HERE and (out / "music4all" / "id_information.csv").is_file()


def write_demo_song(path: Path, duration_s: float) -> Path:
    """A stereo song (104 BPM, D minor, rock) arranged for General MIDI and rendered with FluidSynth
    (:mod:`mv2desc.midi_music`): a soft intro and verse, a loud chorus, a bridge, the chorus again, so the
    segments' descriptions, the sections and the video's pace have something to follow. Made here (no
    third-party music), so it can be shipped and shared freely."""
    from mv2desc.media.audio import write_audio
    from mv2desc.midi_music import ArrangementSpec, SectionSpec, render

    bar = 4 * 60 / 104
    n = max(8, round(duration_s / bar))
    soft = max(2, round(n / 3))
    chorus = (n - soft - 2) // 2
    form = (SectionSpec("intro", soft // 2, 0.15), SectionSpec("verse", soft - soft // 2, 0.3),
            SectionSpec("chorus", max(1, chorus), 0.85), SectionSpec("bridge", 2, 0.6),
            SectionSpec("chorus", max(1, n - soft - 2 - chorus), 0.9))
    y = render(ArrangementSpec(tempo_bpm=104.0, key="D", mode="minor", energy=0.6, genre="rock", duration_s=duration_s,
                               seed=11, sections=form), 44100, channels=2)  # (2, n)
    return write_audio(path, y, 44100)


def _variety_line(v: dict) -> str:
    """How varied the segments' texts are (measured on the written report)."""
    if not v:
        return "text variety: not reported"
    line = f"{v['distinct']} distinct texts for {v['n']} segments"
    if v.get("identical_neighbours"):
        line += (f"; {v['identical_neighbours']} neighbouring pairs share a text ({v.get('identical_neighbours_differing', 0)} "
                 "of them sound different: measured tempo, energy or mode class differs)")
    return line


def _grounding_line(g: dict | None) -> str:
    """How many captioner texts contradicted the measured tempo / key / mode and were corrected (written report)."""
    if not g:
        return "descriptions written by the metadata-style describer: their facts are the measured ones"
    c = g["corrections"]
    return (f"{g['corrected_segments']} of {g['segments']} texts stated a tempo, key or mode against the measurement and were "
            f"corrected ({c['bpm']} BPM, {c['key']} key, {c['mode']} mode; the model's own text: model_text in report.json)")


def _closing(out: Path, train_steps: int, t0: float) -> list[str]:
    """What was built, where, what its quality is (measured on what was written), and what to run next."""
    metrics = json.loads((out / "eval" / "metrics.json").read_text(encoding="utf-8"))
    report = json.loads((out / "mv" / "report.json").read_text(encoding="utf-8"))
    attrs = metrics.get("attributes", {})
    overall = attrs.get("overall", {})
    first = report["segments"][0]["description"] if report.get("segments") else ""
    scores = report["scores"]
    lines = [
        "",
        f"[demo] done in {time.time() - t0:.0f} s. What it built:",
        f"  dataset      {out / 'data'}  ({metrics.get('n', '?')} held-out clips of unseen artists in its test split)",
        f"  captioner    {out / 'train' / 'final'}  (assets/demo-captioner fine-tuned {train_steps} steps on this dataset)",
        f"  evaluation   {out / 'eval' / 'metrics.json'}  BLEU-4 {metrics['bleu4']:.3f}, CIDEr {metrics['cider']:.3f}",
    ]
    if overall:
        lines.append(f"               attribute consistency {overall['score']:.2f} (chance level {overall['chance']:.2f}: always the "
                     f"split's most frequent tempo/energy/mode) — tempo {attrs['tempo']['score']:.2f}, energy "
                     f"{attrs['energy']['score']:.2f}, mode {attrs['mode']['score']:.2f}")
    lines += [
        f"  music video  {out / 'mv' / 'mv.mp4'}  ({report['sync']['output']['duration_s']:.1f} s, {len(report['segments'])} segments, "
        f"BAS {scores['bas_visual']:.3f} measured on the MP4)",
        f"               its segments' descriptions vs the audio measured on each: attribute consistency "
        f"{scores['attribute_consistency']:.2f} (chance level {scores['attribute_consistency_chance']:.2f})",
        f"               {_variety_line(report['song'].get('variety') or {})}",
        f"               {_grounding_line(report['song'].get('grounding'))}",
        f"  storyboard   {out / 'mv' / 'storyboard.html'}   timeline (OpenTimelineIO) {out / 'mv' / 'timeline.otio'}",
        f"  first segment's description: {first}",
        "",
        "[demo] What to expect: the captioner is a 1 M-parameter model trained on ~100 synthetic 8 s clips. It writes "
        "fluent, templated descriptions; on held-out clips like its training data its tempo/energy/mode words follow the "
        "audio (the evaluation figure, against chance), on a new, longer song much less reliably (the segments' figure: "
        "compare it with its chance level). Scenes come from the describer's vocabulary, not new ideas, and the video is "
        "procedural motion graphics. Real quality needs a real backbone and Music4All.",
        "[demo] Next, with real weights on a GPU: build a Music4All dataset (mv2desc data build --config configs/data/build.yaml "
        "--root /data/music4all --out /data/m4a-mv), train Qwen2.5-VL-3B with LoRA (mv2desc train fit --config "
        "configs/train/lora_1gpu.yaml --data.dataset /data/m4a-mv), then mv2desc mv generate SONG --out DIR --captioner "
        "RUN_DIR --config configs/infer/wan_fast.yaml (README: 'GPU install').",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def _run() -> int:
        from infer.command_configs import DemoCommand

        args, log = parse_config(DemoCommand, argv, "mv2desc demo")
        setup(log.verbose, quiet=log.quiet)
        from mv2desc.cli import main as mv2desc

        t0 = time.time()
        stages = ["data example", "data build", "train fit", "eval run", "mv generate"]

        def step(*argv: str) -> None:
            name = f"{argv[0]} {argv[1]}"
            k = stages.index(name) + 1 if name in stages else 0
            print(f"\n[demo {k}/{len(stages)}] mv2desc {' '.join(argv)}", flush=True)
            code = mv2desc(list(argv))
            if code:
                raise UserError(f"the demo stopped: `mv2desc {name}` exited with {code}")

        # only a new, empty or demo folder: the demo reuses a music4all/ and song.mp3 found there, and
        # writes data/, train/, eval/, mv/ (a user's folder is refused before anything is written)
        out = claim_folder(args.out, MARKER, "mv2desc demo", also_ours=_earlier_demo)
        root = out / "music4all"
        if not (root / "id_information.csv").is_file():
            step("data", "example", "--out", str(root), "--n_tracks", str(args.n_tracks))
        step("data", "build", "--config", str(shipped("configs/data/demo.yaml")), "--root", str(root), "--out", str(out / "data"),
             "--num_proc", str(args.num_proc), "--features.clap.name_or_path", str(shipped("configs/clap/tiny-random")),
             # descriptions of what can be heard: no artist, title or lyric motif (the captioner gets only the audio)
             "--description.include_identity", "false", "--description.include_lyrics", "false")
        step("train", "fit", "--config", str(shipped("configs/train/cpu_demo.yaml")), "--data.dataset", str(out / "data"),
             "--run.out_dir", str(out / "train"), "--optim.max_steps", str(args.train_steps),
             "--run.ckpt_every_n_steps", str(args.train_steps), "--run.resume", "none")
        step("eval", "run", "--checkpoint", str(out / "train"), "--dataset", str(out / "data"), "--split", "test",
             "--out", str(out / "eval"), "--max_new_tokens", "120", "--device", "cpu")
        song = out / "song.mp3"
        if not song.is_file():
            write_demo_song(song, args.song_s)
        # the preset at a smoke-run size: the product default (1280x720) costs about 5x more CPU on this video
        step("mv", "generate", str(song), "--out", str(out / "mv"), "--captioner", str(out / "train"),
             "--config", str(shipped("configs/infer/procedural.yaml")), "--video.width", "512", "--video.height", "288")
        print("\n".join(_closing(out, args.train_steps, t0)))
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
