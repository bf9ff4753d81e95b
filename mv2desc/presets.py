"""The shipped presets: every YAML under ``configs/<kind>/``, by name, with its one-line summary.

``mv2desc presets [KIND]`` lists them; ``--config NAME`` (e.g. ``--config procedural`` or
``--config infer/procedural``) finds one the same way wherever the package is installed (a checkout
or a wheel: :data:`mv2desc.paths.DATA_ROOT`). The summary is the YAML's first comment line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mv2desc.errors import UserError
from mv2desc.paths import DATA_ROOT

# what each preset folder configures (kinds without YAML presets, e.g. backbones/ and clap/, are model folders)
KINDS = {"data": "mv2desc data build", "train": "mv2desc train fit", "infer": "mv2desc mv generate",
         "model": "mv2desc model summary / train fit's model", "metrics": "mv2desc eval score --attributes_config",
         "prompts": "dataset description prompts (data build)"}


@dataclass(frozen=True)
class Preset:
    kind: str
    name: str
    path: Path
    summary: str

    @property
    def ref(self) -> str:
        return f"configs/{self.kind}/{self.name}.yaml"


def _summary(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def presets(kind: str | None = None) -> list[Preset]:
    """Every shipped preset (of ``kind``), sorted by kind and name."""
    if kind is not None and kind not in KINDS:
        raise UserError(f"unknown preset kind '{kind}'; known: {', '.join(KINDS)}")
    out = []
    for k in KINDS if kind is None else (kind,):
        folder = DATA_ROOT / "configs" / k
        out += [Preset(k, p.stem, p, _summary(p)) for p in sorted(folder.glob("*.yaml"))]
    return out


def resolve_config(value: str) -> str:
    """A ``--config`` value as a file path: an existing file as is; ``configs/...`` among the shipped
    files; a preset name (``procedural``, ``infer/procedural``) by lookup. Anything else is returned
    unchanged (the config parser then reports the missing file)."""
    p = Path(value).expanduser()
    if p.is_file():
        return value
    if (DATA_ROOT / value).is_file():
        return str(DATA_ROOT / value)
    if p.suffix in (".yaml", ".yml") or len(p.parts) > 2:
        return value
    kind, _, name = value.rpartition("/")
    found = [x for x in presets(kind or None) if x.name == name] if (not kind or kind in KINDS) else []
    if len(found) > 1:
        raise UserError(f"--config {value} names presets of several kinds ({', '.join(x.ref for x in found)}); "
                        f"say which, e.g. --config {found[0].kind}/{name}")
    if not found:
        import difflib

        close = difflib.get_close_matches(name, [x.name for x in presets()], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(f"--config {value}: no such file or shipped preset{hint}; 'mv2desc presets' lists them")
    return str(found[0].path)


@dataclass
class PresetsCommand:
    """List the shipped config presets (use one with --config NAME).

    Args:
        kind: only this kind (data, train, infer, model, metrics, prompts); also the first bare word; none = all.
    """

    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")


def main(argv: list[str] | None = None) -> int:
    """``mv2desc presets [KIND]``: the shipped presets with their summaries."""
    from mv2desc.app import parse_config, run

    argv = list(sys.argv[1:] if argv is None else argv)

    def _run() -> int:
        args, _ = parse_config(PresetsCommand, argv, "mv2desc presets", positional=("kind",))
        rows = presets(args.kind)
        for kind in dict.fromkeys(r.kind for r in rows):
            print(f"{kind}  ({KINDS[kind]})")
            for r in (r for r in rows if r.kind == kind):
                print(f"  {r.name:<18} {r.summary}")
        print("\nuse one with --config NAME (or KIND/NAME); files: configs/<kind>/<name>.yaml")
        return 0

    return run(_run)


if __name__ == "__main__":
    sys.exit(main())
