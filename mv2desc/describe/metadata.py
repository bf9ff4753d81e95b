"""The metadata-style describer: an MV description written from metadata, tags, genres, lyrics and
*measured* acoustic attributes, with no video and no model.

Used by ``mv2desc data build`` (the ``metadata`` description source, and the fallback of ``video``)
and by ``mv2desc describe`` without a captioner (from the measured attributes alone).

It is deterministic (phrasing variants are picked by a stable hash of the id and seed), and every
attribute it mentions comes from the row, so a model trained on it must listen to the audio to
reproduce the tempo, energy and mode words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mv2desc.fingerprint import stable_hash

MEASURED = ("tempo_bpm", "rms_db_mean", "key", "mode")  # feature columns the describer reads
VERSION = 2  # bumped when the wording changes (part of the description cache key); 2: "an upbeat"


@dataclass(frozen=True)
class SongFacts:
    """What is known about a song besides its audio (every field optional).

    ``valence`` is Spotify's 0..1 valence when the metadata has it; ``id`` seeds the phrasing variant.
    """

    id: str = ""
    artist: str = ""
    song: str = ""
    tags: Sequence[str] = field(default_factory=tuple)
    genres: Sequence[str] = field(default_factory=tuple)
    valence: float | None = None


def measured_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """The measured attributes the describer uses, from a row of features."""
    return {k: values[k] for k in MEASURED}

_STOPWORDS = set(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just let me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves yeah oh ooh baby gonna wanna got get gotta
    cause every never ever know like just dont cant wont aint im youre thats theres ill ive one two come make said
    around away still back into things something nothing""".split()
)

_SETTINGS = [  # (genre/tag keywords, setting)
    (("metal", "hardcore", "thrash"), "a band playing under harsh strobes in a dark warehouse"),
    (("punk", "grunge"), "a band thrashing in a cramped basement venue"),
    (("rock", "indie", "alternative"), "a band performing on a smoky stage intercut with the singer on empty streets"),
    (("hip hop", "rap", "trap"), "the artist rapping to the camera on city rooftops and street corners"),
    (("electronic", "house", "techno", "edm", "dance", "trance"), "dancers in a neon-lit club with light beams sweeping the crowd"),
    (("jazz", "blues", "soul"), "musicians in a dim lounge with warm spotlights"),
    (("folk", "acoustic", "country", "singer-songwriter"), "the singer with an acoustic guitar in open fields and wooden interiors"),
    (("classical", "orchestral", "soundtrack", "ambient"), "slow sweeping shots of landscapes and an orchestra in a grand hall"),
    (("pop", "r&b", "rnb"), "the singer performing choreography on bright colourful studio sets"),
    (("latin", "reggaeton", "reggae"), "a sunlit street party with dancers and bright murals"),
]


@dataclass(frozen=True)
class Attributes:
    """Measured (and metadata) attributes, turned into words."""

    tempo_word: str
    pace: str
    energy_word: str
    camera: str
    mood: str
    palette: str


def tempo_words(bpm: float) -> tuple[str, str]:
    if bpm < 80:
        return "slow", "long, lingering shots that dissolve into each other every few bars"
    if bpm < 110:
        return "mid-tempo", "steady cuts every bar"
    if bpm < 140:
        return "upbeat", "cuts that land on the beat"
    return "fast", "rapid-fire cuts on every beat"


def energy_words(rms_db: float) -> tuple[str, str]:
    if rms_db < -30:
        return "soft", "a mostly static camera with gentle drifts"
    if rms_db < -20:
        return "moderately energetic", "smooth tracking shots"
    return "high-energy", "a restless handheld camera with quick pushes and whip pans"


def mood_words(mode: str, valence: float | None) -> tuple[str, str]:
    minor = mode == "minor"
    if valence is not None:
        if valence < 0.35:
            minor = True
        elif valence > 0.65:
            minor = False
    if minor:
        return "melancholic", "cool blue and grey tones with deep shadows"
    return "bright", "warm golden and saturated colours"


def setting_for(facts: SongFacts) -> str:
    words = " ".join([*facts.genres, *facts.tags]).lower()
    for keys, setting in _SETTINGS:
        if any(k in words for k in keys):
            return setting
    return "the artist performing in a series of stylised sets"


def lyric_motifs(lyrics: str | None, n: int = 3) -> list[str]:
    if not lyrics:
        return []
    words = [w for w in re.findall(r"[^\W\d_]{4,}", lyrics.lower()) if w not in _STOPWORDS]
    return [w for w, _ in Counter(words).most_common(n)]


def article(word: str) -> str:
    """"a" or "an" before ``word`` (by its first letter: the describer's vocabulary has no silent h or
    "you"-sounding u)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def describe(
    facts: SongFacts, measured: dict, lyrics: str | None, *, seed: int = 0, include_lyrics: bool = True, include_identity: bool = True
) -> str:
    """One MV description. ``measured``: tempo_bpm, rms_db_mean, key, mode (from the audio)."""
    tempo_word, pace = tempo_words(float(measured["tempo_bpm"]))
    energy_word, camera = energy_words(float(measured["rms_db_mean"]))
    mood, palette = mood_words(str(measured["mode"]), facts.valence)
    variant = stable_hash(f"{seed}\x00{facts.id}") % 3
    by = f" by {facts.artist}" if facts.artist and include_identity else ""
    title = f' "{facts.song}"' if facts.song and include_identity else ""
    key = f"{measured['key']} {measured['mode']}"
    bpm = f"{float(measured['tempo_bpm']):.0f} BPM"
    opening = (
        f"{article(mood).capitalize()} {mood} music video for the {tempo_word}, {energy_word} {key} song{title}{by} ({bpm}).",
        f"The video for{title or ' this song'}{by} is {mood} and {energy_word}, cut to {article(tempo_word)} {tempo_word} {key} groove at {bpm}.",
        f"Set to {article(tempo_word)} {tempo_word} {key} track at {bpm}, this {energy_word} music video{by} has {article(mood)} {mood} feel.",
    )[variant]
    parts = [
        opening,
        f"It shows {setting_for(facts)}, filmed with {camera} and {pace}.",
        f"The palette is {palette}.",
    ]
    motifs = lyric_motifs(lyrics) if include_lyrics else []
    if motifs:
        parts.append("Recurring images echo the lyrics: " + ", ".join(motifs) + ".")
    tags = [t for t in facts.tags if t][:3]
    if tags:
        parts.append("Style: " + ", ".join(tags) + ".")
    return " ".join(parts)
