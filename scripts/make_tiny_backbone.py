"""Make the small *pretrained* backbone the CPU recipe, the tests and the demo start from.

A tiny Qwen2.5-VL (the same family and code path as the real presets) whose language model is trained
on text alone, until it writes fluent MV descriptions: the chat prompt the captioner uses (with and
without the metadata context) -> a description written by the metadata-style describer for random
measured attributes, tags, genres and lyric motifs. It never hears audio, so it cannot know a song's
tempo, energy or mode: those words are what the audio path must teach it (``train/ablation.py``).

    python scripts/make_tiny_backbone.py [--out assets/tiny-mv-lm] [--steps 1200] [--seed 0]

Writes a ``from_pretrained`` folder (weights, tokenizer, chat template, image-only processor) and a
``PROVENANCE.json`` with the command, the corpus size and the final loss. Deterministic for a seed on
the same machine; 2.5 MB (1.0 M parameters); ~4 minutes on 2 idle CPU cores.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
GENRES = ("rock", "electronic", "hip hop", "folk", "pop", "jazz", "metal", "ambient", "soul", "punk", "classical", "latin", "indie", "")
TAGS = ("guitar", "energetic", "live", "synth", "dance", "club", "beats", "urban", "flow", "acoustic", "calm", "storytelling", "catchy",
        "upbeat", "vocal", "smooth", "late night", "saxophone", "heavy", "distorted", "aggressive", "atmospheric", "slow", "dreamy")
WORDS = ("river night city light fire ocean dream road heart shadow summer rain window mountain dance stars home winter silver "
         "garden morning storm glass paper golden velvet echo thunder wild quiet broken northern").split()


def corpus_row(rng: random.Random, i: int) -> dict:
    """One (prompt row, description) example with random attributes and metadata."""
    from mv2desc.describe.metadata import SongFacts, describe

    genre = rng.choice(GENRES)
    tags = tuple(rng.sample(TAGS, rng.choice((0, 2, 3))))
    artist = " ".join(w.capitalize() for w in rng.sample(WORDS, rng.choice((1, 2))))
    song = " ".join(w.capitalize() for w in rng.sample(WORDS, 2))
    facts = SongFacts(id=f"p{i}", artist=artist, song=song, tags=tags, genres=(genre,) if genre else ())
    measured = {"tempo_bpm": rng.uniform(60, 180), "rms_db_mean": rng.uniform(-38, -12), "key": rng.choice(KEYS),
                "mode": rng.choice(("major", "minor"))}
    if rng.random() < 0.3:
        start, end = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3)
        measured["rms"] = [start + (end - start) * k / 29 for k in range(30)]
    lyrics = None
    if rng.random() < 0.5:
        motif = rng.sample(WORDS, 3)
        lyrics = "\n".join(f"{motif[j % 3]} and {motif[(j + 1) % 3]} {rng.choice(WORDS)}" for j in range(6))
    with_metadata = rng.random() < 0.5
    text = describe(facts, measured, lyrics, seed=0, include_identity=with_metadata)
    row = {"artist": artist, "song": song, "tags": list(tags), "genres": list(facts.genres)}
    return {"row": row, "with_metadata": with_metadata, "description": text}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "assets" / "tiny-mv-lm")
    ap.add_argument("--examples", type=int, default=6000, help="corpus size (descriptions)")
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden", type=int, default=96)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--vocab_size", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from mv2desc.app import setup

    setup()
    import torch
    from transformers import AutoModelForImageTextToText, AutoTokenizer

    from mv2desc.model.generation import PromptBuilder, PromptConfig
    from mv2desc.qwen_vl.tiny import make_tiny_qwen_vl

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    examples = [corpus_row(rng, i) for i in range(args.examples)]
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    lines = [e["description"] for e in examples] + [
        " ".join(f"{k.capitalize()}: {', '.join(v) if isinstance(v, list) else v}." for k, v in e["row"].items() if v) for e in examples[:2000]
    ]
    make_tiny_qwen_vl(tmp, "qwen2_5_vl", args.seed, corpus=lines, vocab_size=args.vocab_size, hidden=args.hidden, layers=args.layers)
    tok = AutoTokenizer.from_pretrained(tmp)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    builders = {flag: PromptBuilder(tok, PromptConfig(include_metadata=flag), prefix_tokens=0) for flag in (False, True)}
    seqs = []
    for e in examples:
        prompt = builders[e["with_metadata"]].ids(e["row"])
        target = tok(e["description"], add_special_tokens=False)["input_ids"] + [eos]
        seqs.append((prompt, target))
    model = AutoModelForImageTextToText.from_pretrained(tmp, dtype=torch.float32)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))))
    t0, losses = time.time(), []
    order = list(range(len(seqs)))
    for step in range(args.steps):
        if step % (len(seqs) // args.batch_size) == 0:
            rng.shuffle(order)
        k = step % (len(seqs) // args.batch_size)
        batch = [seqs[j] for j in order[k * args.batch_size : (k + 1) * args.batch_size]]
        width = max(len(p) + len(t) for p, t in batch)
        ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for b, (p, t) in enumerate(batch):
            ids[b, : len(p) + len(t)] = torch.tensor(p + t)
            labels[b, len(p) : len(p) + len(t)] = torch.tensor(t)
            mask[b, : len(p) + len(t)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss))
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {sum(losses[-50:]) / len(losses[-50:]):.3f}  {time.time() - t0:.0f} s", flush=True)
    model.eval()
    model.save_pretrained(tmp)
    prompt = builders[False].ids({})
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=120, do_sample=False, eos_token_id=eos, pad_token_id=pad)
    sample = tok.decode(out[0, len(prompt) :], skip_special_tokens=True)
    provenance = {
        "made_by": "python scripts/make_tiny_backbone.py " + " ".join(sys.argv[1:]),
        "family": "qwen2_5_vl", "hidden": args.hidden, "layers": args.layers, "vocab_size": len(tok), "parameters": n_params,
        "examples": args.examples, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
        "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4), "train_seconds": round(time.time() - t0, 1),
        "sample_greedy": sample,
        "data": "descriptions written by mv2desc/describe/metadata.py for random attributes; no audio, no third-party text",
        "licence": "Apache-2.0 (made by this repository's code from synthetic text)",
    }
    (tmp / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.out.exists():
        if not (args.out / "PROVENANCE.json").is_file():
            sys.exit(f"error: {args.out} exists and was not made by this script (no PROVENANCE.json); choose another --out")
        shutil.rmtree(args.out)
    tmp.rename(args.out)
    print(json.dumps(provenance, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
