"""The ``mv2desc`` console script: one entry point, one subcommand per app.

    mv2desc data build|merge|example ...   (data_prep)
    mv2desc demo ...                       (the whole pipeline on embedded defaults)
    mv2desc env                            (versions for bug reports)
"""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "data": ("data_prep.__main__", "build the music -> MV-description dataset (build, merge, example)"),
    "train": ("train.__main__", "fine-tune the captioner from a YAML in configs/train/ (fit)"),
    "export": ("train.export_cmd", "export a trained captioner: adapter artifact, or --merge for a full model"),
    "eval": ("train.eval_cmd", "generate + score a split (run), or score a predictions JSONL: BLEU-1..4, METEOR, ROUGE-L, CIDEr (score)"),
    "model": ("train.model_cmd", "inspect a captioner preset: parameters per part, memory estimate (summary)"),
    "describe": ("infer.describe_cmd", "describe a song, segment by segment, with a trained captioner (or the metadata-style describer)"),
    "mv": ("infer.__main__", "beat tracking, beat-synchronised assembly, sync metrics and music-video generation (beats, sync, score, generate)"),
    "demo": ("infer.demo", "run the main job end to end on embedded defaults (no weights needed)"),
    "presets": ("mv2desc.presets", "list the shipped config presets with a one-line summary (use one with --config NAME)"),
    "env": ("mv2desc.env_info", "print versions of Python, torch, transformers, ... and CUDA availability"),
}


def usage() -> str:
    lines = ["usage: mv2desc <command> [args]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'mv2desc <command> --help' for a command's options."]
    return "\n".join(lines)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone (``mv2desc ... --help | head``)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # replaced by a capture object
        return False
    import select

    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


def main(argv: list[str] | None = None) -> int:
    from mv2desc import app, procs

    procs.retain_freed_memory()  # freed memory reused instead of faulted in again, here and in the workers
    try:
        with procs.interrupts():  # from the start: Ctrl-C while torch imports is exit 130 too, not a traceback
            try:
                return _main(argv)
            finally:
                sys.stdout.flush()  # argparse's --help exits through here too
    except KeyboardInterrupt as exc:  # outside the command's own run() (which reports it)
        if app.running():
            raise  # a command run inside another (the demo's steps): the outer one reports it
        print(f"interrupted ({procs.signal_name(exc)})", file=sys.stderr)
        return procs.exit_code(exc)
    except BrokenPipeError:
        if not _stdout_gone():
            raise  # some other pipe broke: a real error
        # The reader stopped reading: not an error. Point stdout at devnull so the interpreter's final
        # flush does not fail again (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from mv2desc import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        print(f"error: unknown command '{name}'{hint}; see 'mv2desc --help'", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
