"""The style and character sheet: one look and one cast for the whole video, repeated in every prompt.

Identity and style drift between shots is the first complaint about image-to-video models (the input
image conditions the first frame, it does not lock an identity). Like AutoMV's "character bank", the
sheet fixes the palette, the setting and each character's face, hair, clothing and age once, from the
whole-song description, the measured attributes and ``--theme``; every segment's prompt starts with it.

The default look and palette are keyed by the song's energy class and mode
(:mod:`mv2desc.describe.classes`, the names the describer and the attribute metric use too): a quiet
minor song and a loud major song look different even when their descriptions name no colour.

Deterministic: the same song description, theme and seed give the same sheet (choices are picked by a
stable hash, not a random generator).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mv2desc.describe.metadata import article
from mv2desc.describe.song import SongDescription
from mv2desc.fingerprint import stable_hash
from mv2desc.mvgen.words import RGB, colours_in, words

# (energy class, mode) -> a default palette when neither the theme nor the descriptions name colours
_DEFAULT_PALETTES: dict[tuple[str, str], list[RGB]] = {
    ("calm", "major"): [(250, 190, 150), (120, 170, 200), (240, 230, 210), (90, 120, 110)],
    ("calm", "minor"): [(40, 50, 90), (90, 110, 170), (200, 205, 220), (20, 25, 40)],
    ("moderate", "major"): [(245, 130, 40), (60, 170, 200), (250, 220, 70), (40, 40, 60)],
    ("moderate", "minor"): [(120, 50, 160), (30, 140, 150), (220, 200, 230), (25, 20, 40)],
    ("intense", "major"): [(230, 45, 30), (250, 220, 70), (255, 40, 200), (18, 18, 22)],
    ("intense", "minor"): [(170, 20, 50), (18, 18, 22), (240, 240, 235), (70, 50, 160)],
}
_FACES = ("angular face with high cheekbones", "round face with freckles", "oval face with a strong jaw",
          "heart-shaped face with dark eyebrows", "long face with a small scar above the left eye")
_HAIR = ("short black curls", "long straight silver hair", "shaved sides with a bleached crop", "shoulder-length auburn waves",
         "tight braids tied back", "messy brown fringe")
_CLOTHING = ("oversized red bomber jacket over a white tee", "long black trench coat", "yellow raincoat and dark jeans",
             "sequinned silver jumpsuit", "denim jacket covered in patches", "white linen shirt and loose trousers")
_AGES = ("early twenties", "late twenties", "mid thirties", "late teens", "forties")
_ROLES = ("the singer", "a dancer", "a drummer", "a stranger")
_LOOKS = {"calm": "soft natural light, shallow depth of field, 35mm film grain",  # energy class -> look
          "moderate": "cinematic lighting, anamorphic lens, rich contrast",
          "intense": "hard strobing light, high contrast, motion blur, handheld energy"}


@dataclass(frozen=True)
class Character:
    """One member of the cast, fixed for the whole video."""

    name: str
    role: str
    age: str
    face: str
    hair: str
    clothing: str

    def phrase(self) -> str:
        return f"{self.name} ({self.role}, {self.age}, {self.face}, {self.hair}, wearing {self.clothing})"


@dataclass(frozen=True)
class StyleSheet:
    """The whole video's look: palette (RGB 0..255, most important first), setting, look, cast."""

    palette: tuple[RGB, ...]
    palette_names: tuple[str, ...]
    setting: str
    look: str
    characters: tuple[Character, ...] = field(default_factory=tuple)
    theme: str = ""

    def prefix(self) -> str:
        """The text every segment's prompt starts with."""
        cast = "; ".join(c.phrase() for c in self.characters)
        colours = ", ".join(self.palette_names) if self.palette_names else "the song's palette"
        parts = [f"Music video, {self.setting}", f"palette of {colours}", self.look]
        if cast:
            parts.append(f"recurring characters: {cast}")
        return ". ".join(parts) + "."

    def prompt(self, description: str) -> str:
        """A segment's full prompt: the sheet, then the segment's description."""
        return f"{self.prefix()} Shot: {description.strip()}"

    @staticmethod
    def shot(description: str) -> str:
        """The description with what can be seen first: sentences about the music itself (tempo, key,
        BPM) go last, so that a text encoder that reads only 77 tokens reads the picture."""
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", description.strip()) if x]
        musical = re.compile(r"\b(BPM|major|minor|tempo|song|track|groove)\b", re.IGNORECASE)
        return " ".join([x for x in sentences if not musical.search(x)] + [x for x in sentences if musical.search(x)])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["palette"] = [list(c) for c in self.palette]
        d["prompt_prefix"] = self.prefix()
        return d


def _pick(options: tuple[str, ...], key: str) -> str:
    return options[stable_hash(key) % len(options)]


def _palette(text: str, energy_class: str, mode: str) -> tuple[list[RGB], list[str]]:
    from mv2desc.mvgen.words import COLOURS

    named = [w for w in dict.fromkeys(words(text)) if w in COLOURS]
    colours = colours_in(text)
    base = _DEFAULT_PALETTES[(energy_class, mode)]
    for c in base:  # complete to at least four colours from the energy/mood default
        if len(colours) >= 4:
            break
        if c not in colours:
            colours.append(c)
    return colours[:6], named[:6]


def _setting(song: SongDescription, theme: str) -> str:
    if theme.strip():
        return theme.strip().rstrip(".")
    first = song.segments[0].description if song.segments else ""
    for marker in ("It shows ", "shows "):
        if marker in first:
            return first.split(marker, 1)[1].split(",")[0].split(".")[0].strip()
    return f"{article(song.energy_class)} {song.energy_class} {song.mode}-key performance space"


def build_style_sheet(song: SongDescription, theme: str = "", seed: int = 0, n_characters: int = 2) -> StyleSheet:
    """The sheet for ``song``: palette from colour words in the theme, then the descriptions, then the
    energy-class/mode default; setting from the theme or the first description; a cast of ``n_characters``;
    the look by the energy class."""
    text = " ".join([theme, *(s.description for s in song.segments)])
    palette, names = _palette(text, song.energy_class, song.mode)
    key = f"{seed}\x00{theme}\x00{song.key}{song.mode}\x00{round(song.tempo_bpm)}"
    cast = tuple(
        Character(
            name=f"Character {chr(ord('A') + k)}",
            role=_ROLES[k % len(_ROLES)],
            age=_pick(_AGES, f"age{k}{key}"),
            face=_pick(_FACES, f"face{k}{key}"),
            hair=_pick(_HAIR, f"hair{k}{key}"),
            clothing=_pick(_CLOTHING, f"clothing{k}{key}"),
        )
        for k in range(n_characters)
    )
    return StyleSheet(
        palette=tuple(palette), palette_names=tuple(names), setting=_setting(song, theme),
        look=_LOOKS[song.energy_class], characters=cast, theme=theme,
    )
