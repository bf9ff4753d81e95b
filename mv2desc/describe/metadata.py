"""The metadata-style describer: an MV description written from metadata, tags, genres, lyrics and
*measured* acoustic attributes, with no video and no model.

Used by ``mv2desc data build`` (the ``metadata`` description source, and the fallback of ``video``)
and by ``mv2desc describe`` without a captioner (from the measured attributes alone).

It is deterministic (phrasing variants are picked by a stable hash of the id and seed), and every
attribute it mentions comes from the row, so a model trained on it must listen to the audio to
reproduce the tempo, energy and mode words. The words follow the library's attribute classes
(:mod:`mv2desc.data.classes`) and the attribute-consistency bins (:mod:`mv2desc.metrics.attributes`,
whose defaults are the vocabulary's; the describer does not import the metric that judges it);
the tempo it states is the one it classifies (a whole BPM, rounded half up), and a song without a
measured tempo (no beats) gets no BPM and the ``no_beat`` words, so its own text scores 1.0 on that
metric; scene, camera, pace,
palette and the loudness contour follow rules kept in ``rules.yaml`` beside this file
(:class:`DescriberRules`; pass another file to change them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mv2desc.data.classes import (
    ENERGY_BINS_DB,
    ENERGY_CLASSES,
    MODE_CLASSES,
    TEMPO_BINS_BPM,
    TEMPO_CLASSES,
    energy_class,
    stated_bpm,
    tempo_class,
)
from mv2desc.data.columns import KEY, LOUDNESS, MEASURED_COLUMNS, MODE, RMS, TEMPO
from mv2desc.fingerprint import stable_hash

MEASURED = MEASURED_COLUMNS  # feature columns the describer reads (mv2desc.data.columns)
CONTOUR = RMS  # optional: the clip's frame RMS series (the loudness contour)
VERSION = 4  # bumped when the wording changes (part of the description cache key); 3: rules.yaml, attribute bins;
# 4: the stated BPM rounded half up and classified as stated, no BPM without beats
NO_BEAT = "no_beat"  # the rules' key for a song without a measured tempo (tempo_words, pace)
RULES_FILE = Path(__file__).with_name("rules.yaml")


class AttributeBins(Protocol):
    """The bins the describer classifies by: an :class:`~mv2desc.metrics.attributes.AttributeConfig` (the
    metric's; this module does not import the metrics, which judge its text)."""

    tempo_bins_bpm: tuple[float, float]
    energy_bins_db: tuple[float, float]


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


def measured_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """The measured attributes the describer uses, from a row of features (the contour when present)."""
    out = {k: values[k] for k in MEASURED}
    if values.get(CONTOUR) is not None:
        out[CONTOUR] = values[CONTOUR]
    return out


@dataclass(frozen=True)
class DescriberRules:
    """The describer's word and image rules (``rules.yaml``): per class (:mod:`mv2desc.data.classes`;
    tempo also :data:`NO_BEAT`), lists of phrasing variants."""

    tempo_words: Mapping[str, Sequence[str]]
    fast_word_bpm: float
    energy_words: Mapping[str, Sequence[str]]
    mood_words: Mapping[str, Sequence[str]]
    pace: Mapping[str, Sequence[str]]
    camera: Mapping[str, Sequence[str]]
    palette: Mapping[str, Mapping[str, Sequence[str]]]
    scenes: Mapping[str, Mapping[str, Sequence[str]]]
    settings: Sequence[Mapping[str, Any]]
    motif_scenes: Mapping[str, str]
    contour: Mapping[str, Any]

    def __post_init__(self) -> None:
        tempo = (*TEMPO_CLASSES, NO_BEAT)
        need = {"tempo_words": tempo, "pace": tempo, "energy_words": ENERGY_CLASSES, "camera": ENERGY_CLASSES,
                "palette": ENERGY_CLASSES, "scenes": ENERGY_CLASSES, "mood_words": MODE_CLASSES}
        for name, classes in need.items():
            table = getattr(self, name)
            missing = [c for c in classes if not table.get(c)]
            if missing:
                raise ValueError(f"describer rules: {name} has no entry for {missing}")
        for name in ("palette", "scenes"):
            for energy, by_mood in getattr(self, name).items():
                if not all(by_mood.get(m) for m in MODE_CLASSES):
                    raise ValueError(f"describer rules: {name}.{energy} needs both 'major' and 'minor'")
        for s in self.settings:
            if not s.get("keys") or not s.get("setting"):
                raise ValueError(f"describer rules: every settings entry needs 'keys' and 'setting', got {s}")

    @classmethod
    def from_yaml(cls, path: str | Path = RULES_FILE) -> "DescriberRules":
        import yaml

        d = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        unknown = set(d) - set(cls.__dataclass_fields__)
        missing = set(cls.__dataclass_fields__) - set(d)
        if unknown or missing:
            raise ValueError(f"describer rules {path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
        return cls(**d)


@lru_cache(maxsize=8)
def load_rules(path: str | None = None) -> DescriberRules:
    """The rules in ``path`` (default: the built-in ``rules.yaml``), read once per process."""
    return DescriberRules.from_yaml(path or RULES_FILE)


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

def lyric_motifs(lyrics: str | None, n: int = 3) -> list[str]:
    if not lyrics:
        return []
    words = [w for w in re.findall(r"[^\W\d_]{4,}", lyrics.lower()) if w not in _STOPWORDS]
    return [w for w, _ in Counter(words).most_common(n)]


def article(word: str) -> str:
    """"a" or "an" before ``word`` (by its first letter: the describer's vocabulary has no silent h or
    "you"-sounding u)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _pick(options: Sequence[str], key: str, salt: str) -> str:
    return options[stable_hash(f"{salt}\x00{key}") % len(options)]


def _tempo_word(bpm: float | None, tempo_cls: str | None, rules: DescriberRules) -> str:
    """The class's first word, or its last ("fast" rather than "upbeat") from ``fast_word_bpm`` on;
    the :data:`NO_BEAT` word without a tempo."""
    if tempo_cls is None:
        return rules.tempo_words[NO_BEAT][0]
    words = rules.tempo_words[tempo_cls]
    return words[-1] if tempo_cls == "fast" and bpm is not None and bpm >= rules.fast_word_bpm else words[0]


def mood_class(mode: str, valence: float | None) -> str:
    """"major" or "minor" mood: the mode, unless Spotify's valence is clearly high or low."""
    if valence is not None:
        if valence < 0.35:
            return "minor"
        if valence > 0.65:
            return "major"
    return "minor" if mode == "minor" else "major"


def setting_for(facts: SongFacts, rules: DescriberRules | None = None) -> str | None:
    """The setting of the first rule whose keywords occur in the genres or tags (None: no match)."""
    rules = rules or load_rules()
    words = " ".join([*facts.genres, *facts.tags]).lower()
    for entry in rules.settings:
        if any(k in words for k in entry["keys"]):
            return str(entry["setting"])
    return None


def contour_sentence(rms: Any, rules: DescriberRules, key: str) -> str | None:
    """A sentence on the loudness contour (RMS of the first vs the last third, dB), or None when steady."""
    x = np.asarray(rms, dtype=np.float64).ravel()
    if x.size < 9:
        return None
    third = x.size // 3
    db = lambda a: 20 * np.log10(max(float(np.sqrt(np.mean(a**2))), 1e-5))
    change = db(x[-third:]) - db(x[:third])
    if change >= float(rules.contour["rising_db"]):
        return _pick(rules.contour["rising"], key, "contour")
    if change <= float(rules.contour["falling_db"]):
        return _pick(rules.contour["falling"], key, "contour")
    return None


def describe(
    facts: SongFacts, measured: Mapping[str, Any], lyrics: str | None, *, seed: int = 0, include_lyrics: bool = True,
    include_identity: bool = True, rules: DescriberRules | None = None, bins: AttributeBins | None = None,
) -> str:
    """One MV description. ``measured``: tempo_bpm (None or 0: no tempo measured), rms_db_mean, key,
    mode (from the audio), and optionally ``rms`` (the frame RMS series: the loudness contour).
    ``bins``: the attribute metric's bins (default: the vocabulary's, :mod:`mv2desc.data.classes`,
    which are :class:`~mv2desc.metrics.attributes.AttributeConfig`'s defaults too)."""
    rules = rules or load_rules()
    tempo_bins, energy_bins = (TEMPO_BINS_BPM, ENERGY_BINS_DB) if bins is None else (bins.tempo_bins_bpm, bins.energy_bins_db)
    bpm_value = measured[TEMPO]
    bpm_stated = stated_bpm(None if bpm_value is None else float(bpm_value))  # what the text says, and what is classified
    tempo_cls = tempo_class(bpm_stated, tempo_bins)
    energy_cls = energy_class(float(measured[LOUDNESS]), energy_bins)
    mood_cls = mood_class(str(measured[MODE]), facts.valence)
    key = f"{seed}\x00{facts.id}"
    # the class is the stated (rounded) tempo's; the word inside a class ("upbeat" or "fast" from
    # fast_word_bpm on) follows the measured value, as in version 3, so targets keep their wording
    tempo_word = _tempo_word(None if bpm_value is None else float(bpm_value), tempo_cls, rules)
    energy_word = _pick(rules.energy_words[energy_cls], key, "energy")
    mood = _pick(rules.mood_words[mood_cls], key, "mood")
    variant = stable_hash(key) % 3
    by = f" by {facts.artist}" if facts.artist and include_identity else ""
    title = f' "{facts.song}"' if facts.song and include_identity else ""
    key_name = f"{measured[KEY]} {measured[MODE]}"
    paren, at, groove = (f" ({bpm_stated} BPM)", f" at {bpm_stated} BPM", "groove") if bpm_stated is not None else ("", "", "soundscape")
    opening = (
        f"{article(mood).capitalize()} {mood} music video for the {tempo_word}, {energy_word} {key_name} song{title}{by}{paren}.",
        f"The video for{title or ' this song'}{by} is {mood} and {energy_word}, cut to {article(tempo_word)} {tempo_word} {key_name} {groove}{at}.",
        f"Set to {article(tempo_word)} {tempo_word} {key_name} track{at}, this {energy_word} music video{by} has {article(mood)} {mood} feel.",
    )[variant]
    motifs = lyric_motifs(lyrics) if include_lyrics else []
    scene = setting_for(facts, rules) or _pick(rules.scenes[energy_cls][mood_cls], key, "scene")
    images = [rules.motif_scenes[m] for m in motifs if m in rules.motif_scenes]
    if images:
        scene += ", with " + images[0]
    camera = _pick(rules.camera[energy_cls], key, "camera")
    pace = _pick(rules.pace[tempo_cls or NO_BEAT], key, "pace")
    parts = [
        opening,
        f"It shows {scene}, filmed with {camera} and {pace}.",
        f"The palette is {_pick(rules.palette[energy_cls][mood_cls], key, 'palette')}.",
    ]
    if measured.get(CONTOUR) is not None:
        contour = contour_sentence(measured[CONTOUR], rules, key)
        if contour:
            parts.append(contour)
    if motifs:
        parts.append("Recurring images echo the lyrics: " + ", ".join(motifs) + ".")
    tags = [t for t in facts.tags if t][:3]
    if tags:
        parts.append("Style: " + ", ".join(tags) + ".")
    return " ".join(parts)
