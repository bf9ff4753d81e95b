"""What every app's ``main`` shares: logging, offline defaults, flag spelling, one-line errors."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

from mv2desc import procs
from mv2desc.errors import UserError
from mv2desc.offline import default_offline


def setup(verbose: bool = False, quiet: bool = False) -> None:
    """Offline defaults and logging on stderr: INFO (per-stage lines), DEBUG with ``verbose``,
    warnings and errors only with ``quiet``."""
    default_offline()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("datasets", "transformers", "httpx", "numba", "filelock", "fsspec", "urllib3", "audeer", "opensmile"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").propagate = False  # Lightning prints through its own handler
    warnings.filterwarnings("ignore", category=FutureWarning)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default (or ``(required)``); descriptions keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_ = action.help or ""
        if action.required and action.option_strings:
            return help_ + " (required)"
        if "default" in help_:  # the help already explains it, e.g. "(default: the first clip's)"
            return help_
        return super()._get_help_string(action)


class OneLineErrorParser(argparse.ArgumentParser):
    """A bad flag is one line (the error, a "did you mean", where to look), not the usage block."""

    def error(self, message: str):
        options = [o for a in self._actions for o in a.option_strings]
        self.exit(2, f"error: {config_error(message, options, self.prog)}\n")


def argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The argparse parser every subcommand uses: ``--help`` shows each option's meaning and default,
    and a bad flag is a one-line error.

    Options are spelled with underscores (``--num_proc``); :func:`normalise_flags` also accepts dashes.
    """
    return OneLineErrorParser(prog=prog, description=description, formatter_class=HelpFormatter)


def positive_float(text: str) -> float:
    """argparse type: a number > 0 (``--duration_s 0`` is a one-line error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--batch_size 0`` is a one-line error, not a crash later)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def normalise_flags(argv: list[str]) -> list[str]:
    """``--num-proc 2`` and ``--num_proc 2`` mean the same (config keys use underscores)."""
    out = []
    for token in argv:
        if token.startswith("--") and len(token) > 2:
            key, eq, value = token[2:].partition("=")
            token = "--" + key.replace("-", "_") + eq + value
        out.append(token)
    return out


# Errors of the machine rather than of the code: a full or read-only disk, a missing folder, a path
# that is a file. They get one line naming the path and the cause, not a traceback.
_IO_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EDQUOT, errno.EEXIST}


def io_error_line(exc: OSError) -> str | None:
    """``error: ...`` text for a disk / permission / path error, None for anything else."""
    if exc.errno not in _IO_ERRNOS:
        return None
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write or read{where}: {exc.strerror or exc} (check the path, free space and permissions)"


_DEPTH = [0]  # run() calls in progress (the demo runs commands inside its own)


def running() -> bool:
    """Whether a command is running in this process (:func:`run` is active)."""
    return _DEPTH[0] > 0


def run(fn: Callable[[], int | None]) -> int:
    """Run a command; user errors (and disk / permission errors) become ``error: ...`` on stderr and exit code 2.
    SIGINT and SIGTERM stop it: one ``interrupted`` line, exit 130 / 143 (from a command run inside
    another, the interrupt goes on to the outer one)."""
    outermost = not running()
    if outermost:
        procs.clear_pending()
    _DEPTH[0] += 1
    try:
        with procs.interrupts():
            code = int(fn() or 0)
            procs.raise_if_interrupted()  # a signal whose exception was swallowed on the way
            return code
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        line = io_error_line(exc)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if not outermost:
            raise
        return _interrupted(exc)
    except SystemExit:
        signum = procs.pending()
        if signum is None or not outermost:
            raise
        return _interrupted(procs.Interrupted(signum))  # Lightning turns Ctrl-C into sys.exit(1)
    finally:
        _DEPTH[0] -= 1


def _interrupted(exc: BaseException) -> int:
    print(f"interrupted ({procs.signal_name(exc)}); rerun the same command to resume (finished work is kept)", file=sys.stderr)
    return procs.exit_code(exc)


def dispatch(argv: list[str] | None, commands: dict[str, Callable[[list[str]], int]], usage: str, app: str) -> int:
    """``<app> <subcommand> [args]``: help, one-line error for an unknown subcommand, then :func:`run`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0
    if argv[0] not in commands:
        import difflib

        close = difflib.get_close_matches(argv[0], commands, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        print(f"error: unknown {app} command '{argv[0]}' ({hint}known: {', '.join(commands)}); see 'mv2desc {app} --help'", file=sys.stderr)
        return 2
    return run(lambda: commands[argv[0]](argv[1:]))


def config_error(message: str, options: list[str], prog: str) -> str:
    """One line for a bad flag or YAML key, with the closest known option when one is close."""
    import difflib
    import re

    message = " ".join(message.split())
    bad = re.search(r"unrecognized arguments: (--\S+)", message)
    group = re.search(r"Group '([\w.]+)' does not accept option '(\w+)'", message)
    key = bad.group(1) if bad else f"--{group.group(1)}.{group.group(2)}" if group else None
    hint = ""
    if key:
        close = difflib.get_close_matches(key.split("=")[0], [o for o in options if o.startswith("--")], n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{message}{hint}; see '{prog} --help'"


def _with_presets(argv: list[str]) -> list[str]:
    """``--config NAME`` (a shipped preset, e.g. ``procedural``) or ``--config configs/...`` from any folder
    -> the preset's file (:func:`mv2desc.presets.resolve_config`)."""
    from mv2desc.presets import resolve_config

    out = list(argv)
    for k, a in enumerate(out):
        if a == "--config" and k + 1 < len(out):
            out[k + 1] = resolve_config(out[k + 1])
        elif a.startswith("--config="):
            out[k] = "--config=" + resolve_config(a.split("=", 1)[1])
    return out


def parse_config(cls: type, argv: list[str], prog: str, config_help: str) -> tuple[Any, bool]:
    """``--config YAML`` + ``--section.key value`` flags -> (an instance of the dataclass ``cls``, verbose).

    jsonargparse reads the dataclass fields (their docstrings are the ``--help``); unknown keys are
    rejected by the parser, invalid values by the dataclasses' own validation -> :class:`UserError`.
    """
    from jsonargparse import ActionConfigFile, ArgumentParser

    parser = ArgumentParser(prog=prog, description=(cls.__doc__ or "").splitlines()[0], exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help=config_help)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_class_arguments(cls)
    try:
        ns = parser.parse_args(_with_presets(normalise_flags(argv)))
    except argparse.ArgumentError as exc:  # a typo: the error and a "did you mean", not 60 lines of usage
        raise UserError(config_error(str(exc), [o for a in parser._actions for o in a.option_strings], prog)) from None
    verbose = bool(ns.pop("verbose", False))
    ns.pop("config", None)
    try:
        values = parser.instantiate(ns)
        return cls(**{k: values[k] for k in cls.__dataclass_fields__}), verbose
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid configuration: {exc}") from exc
