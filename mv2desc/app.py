"""What every app's ``main`` shares: logging, offline defaults, the config front-end (:func:`parse_config`:
one dataclass per command, flags and YAML), one-line errors."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import sys
import typing
import warnings
from collections.abc import Callable
from types import UnionType
from typing import Any, NamedTuple

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
        if outermost:  # the command's exit code answered the signal: library calls made after it must not see it
            procs.clear_pending()


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
        key = key.split("=")[0]
        long = [o for o in options if o.startswith("--")]
        close = difflib.get_close_matches(key, long, n=1, cutoff=0.75)
        if not close and "." not in key:  # a flat flag (--trackr, or a name from before sections: --tracker) -> --beats.tracker
            leaves: dict[str, list[str]] = {}
            for o in long:
                leaves.setdefault("--" + o.rsplit(".", 1)[-1].lstrip("-"), []).append(o)
            leaf = difflib.get_close_matches(key, list(leaves), n=1, cutoff=0.75)
            close = leaves[leaf[0]][:3] if leaf else []
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
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


class LogOptions(NamedTuple):
    """``-v/--verbose`` and ``-q/--quiet``, which every command accepts (for :func:`setup`)."""

    verbose: bool = False
    quiet: bool = False


_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off"}
_NO_VALUE = {"-h", "--help", "-v", "--verbose", "-q", "--quiet", "--print_config"}


def _is_flag(token: str) -> bool:
    """``--name``, ``-v``; not a negative number (``--redo -1``) or a lone ``-``."""
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)
    except ValueError:
        return True
    return False


def _flag_kinds(cls: type) -> tuple[set[str], set[str]]:
    """(dotted names of the bool fields at any depth, names of the top-level list fields) of dataclass ``cls``."""
    bools: set[str] = set()
    lists: set[str] = set()

    def walk(klass: type, prefix: str) -> None:
        try:
            hints = typing.get_type_hints(klass)
        except Exception:  # a hint this process cannot resolve: those flags are left to the parser as they are
            return
        for f in dataclasses.fields(klass):
            hint = hints.get(f.name)
            args = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_origin(hint) in (typing.Union, UnionType) else []
            if len(args) == 1:  # X | None
                hint = args[0]
            name = prefix + f.name
            if hint is bool:
                bools.add(name)
            elif dataclasses.is_dataclass(hint):
                walk(hint, name + ".")
            elif not prefix and typing.get_origin(hint) in (list, tuple):
                lists.add(name)

    walk(cls, "")
    return bools, lists


def command_line(argv: list[str], cls: type, positional: tuple[str, ...] = ()) -> list[str]:
    """The command line as the config parser reads it; what a person types also works:

    * bare words fill the ``positional`` fields in order (``mv2desc describe SONG`` = ``--song SONG``);
    * a bool field's flag alone means true (``--overwrite`` = ``--overwrite true``);
    * a top-level list field takes several words and may repeat (``--video a.mp4 --video b.mp4``,
      ``--inputs a b``); its values become one list.
    """
    bools, lists = _flag_kinds(cls)
    out: list[str] = []
    gathered: dict[str, list[str]] = {}
    where: dict[str, int] = {}  # a list field's place in ``out`` (its first flag's)
    free = list(positional)
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not _is_flag(token):
            if free:
                out += [f"--{free.pop(0)}", token]
            else:
                out.append(token)  # the parser reports it ("unrecognized arguments")
            continue
        key, eq, value = token[2:].partition("=") if token.startswith("--") else ("", "", "")
        if key in lists:
            values = [value] if eq else []
            while not eq and i < len(argv) and not _is_flag(argv[i]):
                values.append(argv[i])
                i += 1
            if key not in gathered:
                gathered[key], where[key] = [], len(out)
                out.append("")  # filled below, once every value is known
            gathered[key] += values
        elif key in bools and not eq:
            if i < len(argv) and argv[i].lower() in _BOOL_WORDS:
                out += [token, argv[i]]
                i += 1
            else:
                out += [token, "true"]
        elif eq or token in _NO_VALUE:
            out.append(token)
        else:  # a flag and its value (which may start with "-": --redo -1)
            out.append(token)
            if i < len(argv):
                out.append(argv[i])
                i += 1
    for key, values in gathered.items():
        as_is = len(values) == 1 and values[0].lstrip().startswith("[")  # already a list: --video '[a.mp4, b.mp4]'
        out[where[key]] = f"--{key}={values[0] if as_is else json.dumps(values)}"
    return out


def parse_config(cls: type, argv: list[str], prog: str, config_help: str = "a YAML of this command's options (flags after it override it)",
                 *, positional: tuple[str, ...] = (), description: str | None = None) -> tuple[Any, LogOptions]:
    """``[POSITIONAL ...] --config YAML|PRESET`` + ``--section.key value`` flags -> (an instance of the
    dataclass ``cls``, :class:`LogOptions`).

    jsonargparse reads the dataclass fields (their docstrings are the ``--help``); unknown keys are
    rejected by the parser with a "did you mean", invalid values by the dataclasses' own validation
    (``ValueError`` in ``__post_init__``) -> :class:`UserError`. ``--print_config`` prints the resolved
    YAML and exits 0 (as ``--help`` does, through ``SystemExit``). ``positional`` names the fields that
    bare words fill (:func:`command_line`).
    """
    from jsonargparse import ActionConfigFile, ArgumentParser

    about = description or (cls.__doc__ or "").strip().split("\n\n")[0]
    parser = ArgumentParser(prog=prog, description=" ".join(about.split()), exit_on_error=False, allow_abbrev=False)
    parser.add_argument("--config", action=ActionConfigFile, help=config_help)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only on stderr (no progress lines)")
    parser.add_class_arguments(cls)
    try:
        ns = parser.parse_args(_with_presets(command_line(normalise_flags(argv), cls, positional)))
    except argparse.ArgumentError as exc:  # a typo: the error and a "did you mean", not 60 lines of usage
        raise UserError(config_error(str(exc), [o for a in parser._actions for o in a.option_strings], prog)) from None
    log = LogOptions(bool(ns.pop("verbose", False)), bool(ns.pop("quiet", False)))
    ns.pop("config", None)
    try:
        values = parser.instantiate(ns)
        return cls(**{k: values[k] for k in cls.__dataclass_fields__}), log
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid configuration: {exc}") from exc
