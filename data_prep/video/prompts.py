"""The prompts YAML of the video source, and assembling the fusion prompt of one track.

Prompts live in ``configs/prompts/video_description.yaml`` (path in
:attr:`VideoDescriptionConfig.prompts`), never in code. The file is validated on load: unknown or
missing keys and unknown placeholders are errors, and ``{shot_captions}`` must appear in ``fusion``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from data_prep.tracks import Track
from data_prep.video.config import VideoDescriptionConfig
from mv2desc.data.columns import KEY, LOUDNESS, MEASURED_COLUMNS, METADATA_COLUMNS, MODE, TEMPO
from mv2desc.paths import resolve_repo_path

REQUIRED_KEYS = ("system", "caption", "fusion")
OPTIONAL_KEYS = ("missing",)
METADATA_FIELDS = METADATA_COLUMNS  # placeholders named by the row's columns (mv2desc.data.columns)
MEASURED_FIELDS = MEASURED_COLUMNS
FUSION_PLACEHOLDERS = frozenset(
    ("shot_captions", "n_shots", "window_s", "lyrics_excerpt", "music_info", *METADATA_FIELDS, *MEASURED_FIELDS)
)
CAPTION_PLACEHOLDERS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class VideoPrompts:
    """The validated prompts file: system prompt, keyframe caption prompt, fusion template."""

    system: str
    caption: str
    fusion: str
    missing: str = "unknown"
    source: str = ""  # the file it was read from


def _placeholders(template: str, what: str) -> set[str]:
    """Field names used in a str.format template; raises ValueError on malformed braces or {0}/{x.y}/{x!r}."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{what}: malformed braces ({exc}); write literal braces as {{{{ and }}}}") from exc
    names: set[str] = set()
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not re.fullmatch(r"[A-Za-z_]\w*", field) or spec or conversion:
            raise ValueError(f"{what}: placeholder {{{field}}} must be a plain name like {{shot_captions}}")
        names.add(field)
    return names


def parse_prompts(data: object, source: str = "<prompts>") -> VideoPrompts:
    """Validate a parsed prompts mapping (see module docstring) into :class:`VideoPrompts`."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping with keys {', '.join(REQUIRED_KEYS)}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown keys {unknown}; allowed: {[*REQUIRED_KEYS, *OPTIONAL_KEYS]}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"{source}: missing keys {missing}")
    for key in (*REQUIRED_KEYS, *[k for k in OPTIONAL_KEYS if k in data]):
        if not isinstance(data[key], str):
            raise ValueError(f"{source}: {key!r} must be a string, got {type(data[key]).__name__}")
    for key in ("caption", "fusion"):
        if not data[key].strip():
            raise ValueError(f"{source}: {key!r} must not be empty")
    bad = _placeholders(data["caption"], f"{source}: caption") - CAPTION_PLACEHOLDERS
    if bad:
        raise ValueError(f"{source}: the caption prompt takes no placeholders, found {sorted(bad)}")
    if _placeholders(data["system"], f"{source}: system"):
        raise ValueError(f"{source}: the system prompt takes no placeholders")
    used = _placeholders(data["fusion"], f"{source}: fusion")
    bad = used - FUSION_PLACEHOLDERS
    if bad:
        raise ValueError(f"{source}: unknown placeholders {sorted(bad)} in fusion; known: {sorted(FUSION_PLACEHOLDERS)}")
    if "shot_captions" not in used:
        raise ValueError(f"{source}: the fusion template must contain {{shot_captions}}")
    return VideoPrompts(
        system=data["system"].strip(),
        caption=data["caption"].strip(),
        fusion=data["fusion"],
        missing=data.get("missing", "unknown"),
        source=source,
    )


def resolve_prompts_path(path: str | Path) -> Path:
    """``path`` as given if it exists; a relative path is also looked up from the repository root
    (so the default ``configs/prompts/video_description.yaml`` works from any working directory)."""
    return resolve_repo_path(path)


def load_prompts(path: str | Path) -> VideoPrompts:
    """Read and validate the prompts YAML; ValueError with the file name on any problem."""
    p = resolve_prompts_path(path)
    if not p.is_file():
        raise ValueError(f"prompts file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML: {exc}") from exc
    return parse_prompts(data, str(p))


def lyrics_excerpt(path: Path | None, max_chars: int) -> str | None:
    """The first ``max_chars`` characters of the lyrics (non-empty lines joined with " / ", cut at a word)."""
    if path is None or max_chars <= 0:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = [" ".join(line.split()) for line in text.splitlines()]
    flat = " / ".join(line for line in lines if line)
    if not flat:
        return None
    if len(flat) > max_chars:
        cut = flat[:max_chars]
        flat = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" /") + " ..."
    return flat


def format_shot_captions(shots: list[tuple[float, float]], captions: list[str]) -> str:
    """"1. (5.3-7.5 s) caption" lines, one per shot."""
    if len(shots) != len(captions):
        raise ValueError(f"{len(shots)} shots but {len(captions)} captions")
    return "\n".join(
        f"{i}. ({a:.1f}-{b:.1f} s) {' '.join(c.split()) or '(no caption)'}"
        for i, ((a, b), c) in enumerate(zip(shots, captions), start=1)
    )


def _measured_values(measured: dict) -> dict[str, str | None]:
    def num(key: str, fmt: str) -> str | None:
        v = measured.get(key)
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return fmt.format(x) if not isinstance(v, bool) and np.isfinite(x) else None

    text = {k: (str(measured[k]) if measured.get(k) not in (None, "") else None) for k in (KEY, MODE)}
    return {TEMPO: num(TEMPO, "{:.0f}"), LOUDNESS: num(LOUDNESS, "{:.1f}"), **text}


def prompt_values(
    track: Track,
    shots: list[tuple[float, float]],
    shot_captions: list[str],
    measured: dict,
    cfg: VideoDescriptionConfig,
    missing: str = "unknown",
) -> dict[str, str]:
    """Every fusion placeholder's text for one track (``missing`` for unknown or switched-off values)."""
    meta: dict[str, str | None] = dict.fromkeys(METADATA_FIELDS)
    if cfg.include_metadata:
        meta.update(
            artist=track.artist or None,
            song=track.song or None,
            album=track.album or None,
            lang=track.lang or None,
            tags=", ".join(t.strip() for t in track.tags if t.strip()) or None,
            genres=", ".join(g.strip() for g in track.genres if g.strip()) or None,
        )
    acoustic = _measured_values(measured)
    lyrics = lyrics_excerpt(track.lyrics_path, cfg.lyrics_max_chars) if cfg.include_lyrics else None
    known = {**meta, **acoustic}
    info_lines = [f"- {k.replace('_', ' ')}: {v}" for k, v in known.items() if v is not None]
    window = (shots[-1][1] - shots[0][0]) if shots else 0.0
    values = {k: (v if v is not None else missing) for k, v in known.items()}
    values.update(
        shot_captions=format_shot_captions(shots, shot_captions),
        n_shots=str(len(shots)),
        window_s=f"{window:.0f}",
        lyrics_excerpt=lyrics if lyrics is not None else missing,
        music_info="\n".join(info_lines) if info_lines else missing,
    )
    return values


def build_fusion_prompt(
    track: Track,
    shot_captions: list[str],
    measured: dict,
    cfg: VideoDescriptionConfig,
    prompts: VideoPrompts,
    shots: list[tuple[float, float]] | None = None,
) -> str:
    """The fusion step's user prompt for one track: the YAML ``fusion`` template filled in.

    ``shots`` (the captioned shots' (start_s, end_s), same length as ``shot_captions``) adds the time
    span of each caption; without it the captions are numbered only.
    """
    if shots is None:
        values = prompt_values(track, [(0.0, 0.0)] * len(shot_captions), shot_captions, measured, cfg, prompts.missing)
        values["shot_captions"] = "\n".join(
            f"{i}. {' '.join(c.split()) or '(no caption)'}" for i, c in enumerate(shot_captions, start=1)
        )
        values["window_s"] = prompts.missing
    else:
        values = prompt_values(track, shots, shot_captions, measured, cfg, prompts.missing)
    return prompts.fusion.format_map(values).strip()
