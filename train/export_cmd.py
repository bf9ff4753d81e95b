"""``mv2desc export --checkpoint DIR --out DIR [--merge]``: the adapter artifact, or a merged model
(plain backbone with LoRA merged + processor, tokenizer, chat template; audio modules beside it).

``--out`` is never an input (the artifact, its backbone) and is written only when it is new, empty, or an
earlier export (it carries :data:`MARKER`), one export at a time."""

from __future__ import annotations

import sys

from mv2desc.app import parse_config, run, setup

MARKER = ".mv2desc-export"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def _run() -> int:
        from train.command_configs import ExportCommand

        args, log = parse_config(ExportCommand, argv, "mv2desc export")
        setup(log.verbose, quiet=log.quiet)
        from mv2desc.model import artifact
        from mv2desc.outputs import claim_folder, folder_lock, refuse_inputs

        src = artifact.resolve(args.checkpoint)
        # before anything is written: an input as --out, a missing or damaged file is named, nothing exported
        refuse_inputs({"--out": args.out}, [src, args.backbone, artifact.local_backbone(src)])
        meta = artifact.check_complete(src)
        out = claim_folder(args.out, MARKER, "mv2desc export")
        with folder_lock(out, "export", busy="another 'mv2desc export'"):
            model = artifact.load(src, backbone=args.backbone)
            extra = meta.get("extra", {})
            artifact.merge(model, out, extra=extra) if args.merge else artifact.save(model, out, extra=extra)
        print(f"exported {'merged model' if args.merge else 'adapter'} to {out}")
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
