"""``mv2desc export --checkpoint DIR --out DIR [--merge]``: the adapter artifact, or a merged model
(plain backbone with LoRA merged + processor, tokenizer, chat template; audio modules beside it)."""

from __future__ import annotations

import sys

from mv2desc.app import argument_parser, normalise_flags, run, setup


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(prog="mv2desc export", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="an artifact folder or a training run folder (uses its final/)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--merge", action="store_true", help="merge LoRA into the backbone and write a full checkpoint")
    parser.add_argument("--backbone", default=None, help="backbone name/path if it moved since training")
    args = parser.parse_args(normalise_flags(list(sys.argv[1:] if argv is None else argv)))

    def _run() -> int:
        setup()
        from mv2desc.model import artifact

        src = artifact.resolve(args.checkpoint)
        meta = artifact.check_complete(src)  # before anything is written: a missing file is named, nothing exported
        model = artifact.load(src, backbone=args.backbone)
        extra = meta.get("extra", {})
        out = artifact.merge(model, args.out, extra=extra) if args.merge else artifact.save(model, args.out, extra=extra)
        print(f"exported {'merged model' if args.merge else 'adapter'} to {out}")
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
