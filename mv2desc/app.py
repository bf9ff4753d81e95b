"""What every app's ``main`` shares: logging, offline defaults, flag spelling, one-line errors."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

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


def argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The argparse parser every subcommand uses: ``--help`` shows each option's meaning and default.

    Options are spelled with underscores (``--num_proc``); :func:`normalise_flags` also accepts dashes.
    """
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter)


def normalise_flags(argv: list[str]) -> list[str]:
    """``--num-proc 2`` and ``--num_proc 2`` mean the same (config keys use underscores)."""
    out = []
    for token in argv:
        if token.startswith("--") and len(token) > 2:
            key, eq, value = token[2:].partition("=")
            token = "--" + key.replace("-", "_") + eq + value
        out.append(token)
    return out


def run(fn: Callable[[], int | None]) -> int:
    """Run a command; user errors become ``error: ...`` on stderr and exit code 2."""
    try:
        return int(fn() or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished clips are cached; rerun the same command to resume", file=sys.stderr)
        return 130


def dispatch(argv: list[str] | None, commands: dict[str, Callable[[list[str]], int]], usage: str, app: str) -> int:
    """``<app> <subcommand> [args]``: help, one-line error for an unknown subcommand, then :func:`run`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0
    if argv[0] not in commands:
        print(f"error: unknown {app} command '{argv[0]}' (known: {', '.join(commands)})\n\n{usage}", file=sys.stderr)
        return 2
    return run(lambda: commands[argv[0]](argv[1:]))


def parse_config(cls: type, argv: list[str], prog: str, config_help: str) -> tuple[Any, bool]:
    """``--config YAML`` + ``--section.key value`` flags -> (an instance of the dataclass ``cls``, verbose).

    jsonargparse reads the dataclass fields (their docstrings are the ``--help``); unknown keys are
    rejected by the parser, invalid values by the dataclasses' own validation -> :class:`UserError`.
    """
    from jsonargparse import ActionConfigFile, ArgumentParser

    parser = ArgumentParser(prog=prog, description=(cls.__doc__ or "").splitlines()[0])
    parser.add_argument("--config", action=ActionConfigFile, help=config_help)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_class_arguments(cls)
    ns = parser.parse_args(normalise_flags(argv))
    verbose = bool(ns.pop("verbose", False))
    ns.pop("config", None)
    try:
        values = parser.instantiate(ns)
        return cls(**{k: values[k] for k in cls.__dataclass_fields__}), verbose
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid configuration: {exc}") from exc
