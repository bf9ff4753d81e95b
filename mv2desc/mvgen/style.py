"""The style and character sheet: one look and one cast for the whole video, repeated in every prompt.

Identity and style drift between shots is the first complaint about image-to-video models (the input
image conditions the first frame, it does not lock an identity). Like AutoMV's "character bank", the
sheet fixes the palette, the setting and each character's face, hair, clothing and age once, from the
whole-song description, the measured attributes and ``--theme``; every segment's prompt starts with it.

The default look and palette are keyed by the song's energy class and mode
(:mod:`mv2desc.data.classes`, the names the describer and the attribute metric use too): a quiet
minor song and a loud major song look different even when their descriptions name no colour.

A video that rhymes with its song: when the song has two sections or more (``SongDescription.structure``),
the sheet holds one :class:`Motif` per section label (A, B, ...). Every section with the same label
(every chorus) gets the same motif: the same place, the same characters, the same palette shift; a
different label gets a different one (another place drawn as another shape family by the procedural
renderer, another hue). The most repeated label (the chorus, else the first) keeps the sheet's own
setting and palette; the bridge, heard once, is a change of scene. Each segment's prompt states its
motif (:meth:`StyleSheet.prompt`), keyframes put its place first (:meth:`StyleSheet.keyframe_prompts`),
and the procedural renderer paints its palette and shapes (``ClipRequest.motif``).

Deterministic: the same song description, theme and seed give the same sheet (choices are picked by a
stable hash, not a random generator).
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mv2desc.describe.metadata import article
from mv2desc.describe.song import SongDescription
from mv2desc.fingerprint import stable_hash
from mv2desc.mvgen.words import COLOURS, PLACES, RGB, colours_in, scene_of, words

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
# hue rotation (degrees) of the sheet's palette for the motifs, in the order the labels are given them:
# the leading label keeps the palette (0), the next gets the opposite hue, then quarter turns, then eighths
HUE_SHIFTS = (0, 180, 90, 270, 45, 225, 135, 315)
MIN_KEY_SATURATION = 0.25  # a palette greyer than this gets its key colour from the hue alone


@dataclass(frozen=True)
class Motif:
    """The recurring look of every section with one ``label``: where it happens (``place``), who is in it
    (``characters``: names from the cast), and its colours (``palette``: the sheet's palette with its hue
    rotated by ``hue_shift`` degrees, the key colour first; ``colour_name`` names the key colour)."""

    label: str
    name: str
    place: str
    characters: tuple[str, ...]
    hue_shift: int
    palette: tuple[RGB, ...]
    colour_name: str

    def text(self) -> str:
        """How a prompt states the motif (the same text for every section with this label)."""
        who = " and ".join(self.characters) if self.characters else "no one in frame"
        colours = (f"in the video's own palette, led by {self.colour_name}" if self.hue_shift == 0
                   else f"palette turned {self.hue_shift} degrees towards {self.colour_name}")
        return f"Recurring {self.name} motif {self.label}: {self.place}, with {who}, {colours}."

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["characters"] = list(self.characters)
        d["palette"] = [list(c) for c in self.palette]
        d["text"] = self.text()
        return d


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
    motifs: dict[str, Motif] = field(default_factory=dict)

    def prefix(self) -> str:
        """The text every segment's prompt starts with."""
        cast = "; ".join(c.phrase() for c in self.characters)
        colours = ", ".join(self.palette_names) if self.palette_names else "the song's palette"
        parts = [f"Music video, {self.setting}", f"palette of {colours}", self.look]
        if cast:
            parts.append(f"recurring characters: {cast}")
        return ". ".join(parts) + "."

    def motif(self, label: str | None) -> Motif | None:
        """The motif of the sections labelled ``label`` (None without motifs or label)."""
        return self.motifs.get(label) if label is not None else None

    def prompt(self, description: str, label: str | None = None) -> str:
        """A segment's full prompt: the sheet, its section's motif (when the sheet has motifs), then the
        segment's description."""
        motif = self.motif(label)
        return f"{self.prefix()}{' ' + motif.text() if motif else ''} Shot: {description.strip()}"

    def keyframe_prompts(self, description: str, label: str | None = None) -> tuple[str, str]:
        """``(shot, style)`` of a keyframe: the shot (:meth:`shot`) led by the motif's place, and the sheet
        (:meth:`prefix`) followed by the motif's text."""
        motif = self.motif(label)
        shot = self.shot(description)
        if motif is None:
            return shot, self.prefix()
        return f"{motif.place[:1].upper()}{motif.place[1:]}. {shot}", f"{self.prefix()} {motif.text()}"

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
        d["motifs"] = {label: m.to_dict() for label, m in self.motifs.items()}
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
    setting = _setting(song, theme)
    return StyleSheet(
        palette=tuple(palette), palette_names=tuple(names), setting=setting,
        look=_LOOKS[song.energy_class], characters=cast, theme=theme,
        motifs=build_motifs(song, setting, tuple(palette), cast, key),
    )


def rotate_hue(colour: RGB, degrees: float) -> RGB:
    """``colour`` with its hue turned by ``degrees`` (saturation and value kept; greys stay grey)."""
    h, sat, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in colour))
    r, g, b = colorsys.hsv_to_rgb((h + degrees / 360.0) % 1.0, sat, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _saturation(colour: RGB) -> float:
    return colorsys.rgb_to_hsv(*(c / 255.0 for c in colour))[1]


def _colour_name(colour: RGB) -> str:
    """The nearest named colour of :data:`mv2desc.mvgen.words.COLOURS` (squared RGB distance)."""
    def distance(named: RGB) -> float:
        return sum((a - b) ** 2 for a, b in zip(colour, named))

    return min(COLOURS, key=lambda name: distance(COLOURS[name]))


def motif_palette(palette: tuple[RGB, ...], hue_shift: int) -> tuple[RGB, ...]:
    """The sheet's palette turned by ``hue_shift`` degrees, its most saturated colour first (the key colour
    the procedural renderer lights the scene with); a palette of greys gets a key colour of that hue."""
    turned = [rotate_hue(c, hue_shift) for c in palette]
    key = max(turned, key=_saturation)
    if _saturation(key) < MIN_KEY_SATURATION:
        r, g, b = colorsys.hsv_to_rgb((hue_shift / 360.0) % 1.0, 0.6, 0.8)
        key = (round(r * 255), round(g * 255), round(b * 255))
    return (key, *[c for c in turned if c != key])


def _label_order(labels: list[str], names: dict[str, str]) -> list[str]:
    """Labels in the order they are given motifs: the chorus's (else the most repeated, then the first) leads."""
    counts = {lab: labels.count(lab) for lab in labels}
    first = {lab: labels.index(lab) for lab in counts}
    chorus = [lab for lab in counts if names[lab] == "chorus"]
    lead = chorus[0] if chorus else max(counts, key=lambda lab: (counts[lab], -first[lab]))
    return [lead, *sorted((lab for lab in counts if lab != lead), key=first.get)]


def _cast_for(name: str, k: int, cast: tuple[Character, ...]) -> tuple[str, ...]:
    """Who is in a motif: everyone in the leading one (the chorus), the first character in the verse, the
    next one alone in the bridge, nobody in an intro or outro, otherwise one character after another."""
    names = [c.name for c in cast]
    if not names:
        return ()
    if k == 0:
        return tuple(names)
    if name == "verse":
        return (names[0],)
    if name == "bridge":
        return (names[1 % len(names)],)
    if name in ("intro", "outro"):
        return ()
    return (names[k % len(names)],)


def build_motifs(song: SongDescription, setting: str, palette: tuple[RGB, ...], cast: tuple[Character, ...],
                 key: str) -> dict[str, Motif]:
    """One :class:`Motif` per section label of ``song.structure`` (none for a song of one section): the
    leading label (the chorus) is set in ``setting`` with the sheet's palette; every other label gets a
    place of :data:`mv2desc.mvgen.words.PLACES` whose shape family no earlier motif uses (while one is
    left; the order of the places is a stable hash of ``key``) and the next hue of :data:`HUE_SHIFTS`."""
    structure = getattr(song, "structure", None)
    if structure is None or len(structure.sections) < 2:
        return {}
    labels = [s.label for s in structure.sections]
    names: dict[str, str] = {}
    for s in structure.sections:  # a label's name: the first real name its sections carry
        if names.get(s.label) in (None, "section"):
            names[s.label] = s.name
    places = sorted(PLACES, key=lambda p: stable_hash(f"place\x00{key}\x00{p}"))
    used_scenes: set[str] = set()
    motifs: dict[str, Motif] = {}
    for k, label in enumerate(_label_order(labels, names)):
        if k == 0:
            place = setting
        else:
            fresh = [p for p in places if scene_of(p) not in used_scenes]
            place = (fresh or places)[0]
            places.remove(place)
            if not places:  # more labels than places: start over (the hues still differ)
                places = sorted(PLACES, key=lambda p: stable_hash(f"place\x00{key}\x00{p}"))
        used_scenes.add(scene_of(place))
        shift = HUE_SHIFTS[k % len(HUE_SHIFTS)]
        colours = motif_palette(palette, shift)
        motifs[label] = Motif(label=label, name=names[label], place=place, characters=_cast_for(names[label], k, cast),
                              hue_shift=shift, palette=colours, colour_name=_colour_name(colours[0]))
    return dict(sorted(motifs.items()))
