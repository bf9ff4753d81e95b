"""The vocabulary the style sheet and the procedural renderer read: colours, pace and scene words.

Plain tables, no model: a word found in a description (or the theme) maps to an RGB colour, a pace
(how often motion stops, how far it travels) or a scene (which shapes are drawn).
"""

from __future__ import annotations

import re

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (214, 40, 57), "crimson": (170, 20, 50), "scarlet": (230, 45, 30), "orange": (245, 130, 40),
    "amber": (255, 176, 40), "gold": (235, 190, 60), "golden": (235, 190, 60), "yellow": (250, 220, 70),
    "green": (60, 170, 90), "emerald": (20, 150, 100), "teal": (30, 140, 150), "cyan": (60, 210, 230),
    "turquoise": (64, 200, 190), "blue": (45, 90, 200), "navy": (20, 35, 90), "indigo": (70, 50, 160),
    "violet": (140, 80, 200), "purple": (120, 50, 160), "magenta": (220, 50, 170), "pink": (245, 120, 170),
    "neon": (255, 40, 200), "white": (240, 240, 235), "silver": (190, 195, 205), "grey": (128, 128, 135),
    "gray": (128, 128, 135), "black": (18, 18, 22), "brown": (120, 80, 50), "sepia": (150, 110, 70),
    "pastel": (200, 180, 220), "sunset": (250, 110, 80), "dawn": (250, 190, 150), "night": (25, 30, 70),
    "moonlit": (90, 110, 170), "fire": (240, 90, 30), "ocean": (30, 110, 170), "forest": (40, 100, 60),
    "desert": (210, 170, 110), "snow": (230, 238, 245), "rain": (90, 110, 130), "city": (70, 80, 110),
}

# pace: (motion stops per beat multiplier, travel multiplier); "calm" halves the stops, "intense" doubles them
PACE: dict[str, tuple[float, float]] = {
    "slow": (0.5, 0.7), "calm": (0.5, 0.6), "gentle": (0.5, 0.6), "dreamy": (0.5, 0.7), "soft": (0.5, 0.7),
    "quiet": (0.5, 0.6), "melancholic": (0.5, 0.7), "mellow": (0.5, 0.7), "relaxed": (0.5, 0.7), "laid-back": (0.5, 0.7),
    "fast": (2.0, 1.2), "intense": (2.0, 1.3), "energetic": (2.0, 1.3), "frantic": (2.0, 1.4), "driving": (1.0, 1.2),
    "upbeat": (1.0, 1.2), "loud": (1.0, 1.3), "explosive": (2.0, 1.5), "aggressive": (2.0, 1.4), "pounding": (2.0, 1.3),
}

# scene words -> a shape family of the procedural renderer
SCENES: dict[str, str] = {
    "city": "blocks", "street": "blocks", "streets": "blocks", "rooftop": "blocks", "rooftops": "blocks",
    "building": "blocks", "skyline": "blocks", "warehouse": "blocks", "club": "bars", "stage": "bars",
    "concert": "bars", "band": "bars", "strobe": "bars", "strobes": "bars", "dance": "bars", "dancers": "bars",
    "ocean": "waves", "sea": "waves", "beach": "waves", "water": "waves", "river": "waves", "rain": "waves",
    "night": "stars", "stars": "stars", "sky": "stars", "space": "stars", "moon": "stars",
    "fire": "shards", "flames": "shards", "desert": "shards", "mountain": "shards", "mountains": "shards",
    "forest": "trunks", "trees": "trunks", "garden": "trunks", "field": "trunks",
}
SHAPES = ("orbs", "blocks", "bars", "waves", "stars", "shards", "trunks")

# places of the style sheet's recurring motifs (mv2desc.mvgen.style.Motif): one per shape family, so the
# procedural renderer draws two motifs' places differently (scene_of: rooftop -> blocks, beach -> waves, ...)
PLACES = (
    "a rain-soaked rooftop above the sleeping streets",
    "an empty beach where the waves break at dusk",
    "a forest clearing ringed by tall trees",
    "a desert road running towards red mountains",
    "a crowded club stage under sweeping strobes",
    "a night sky full of stars above a lonely hill",
    "a bare white room with one hanging lamp",
)

_WORD = re.compile(r"[a-z][a-z-]*")


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (hyphenated words kept whole)."""
    return _WORD.findall(text.lower())


def colours_in(text: str) -> list[RGB]:
    """RGB colours named in ``text``, in order of appearance, without repeats."""
    out: list[RGB] = []
    for w in words(text):
        c = COLOURS.get(w)
        if c is not None and c not in out:
            out.append(c)
    return out


def pace_of(text: str) -> tuple[float, float]:
    """(stops multiplier, travel multiplier): the product over the pace words in ``text`` (1, 1 without any)."""
    stops, travel = 1.0, 1.0
    for w in set(words(text)):
        if w in PACE:
            s, t = PACE[w]
            stops, travel = stops * s, travel * t
    return min(max(stops, 0.25), 4.0), min(max(travel, 0.4), 2.0)


def scene_of(text: str, default: str = "orbs") -> str:
    """The shape family of the first scene word in ``text`` (``default`` without any)."""
    for w in words(text):
        if w in SCENES:
            return SCENES[w]
    return default
