"""Attribute consistency: does a description's implied tempo, energy and mode match the audio's?

Each attribute has classes, named once in :mod:`mv2desc.data.classes` (tempo: slow / mid / fast;
energy: calm / moderate / intense; mode: major / minor). The audio's class comes from its *measured*
attributes through bins (``tempo_bpm``, ``rms_db_mean``, ``mode``, the dataset's columns); the
description's class from word lists:

* tempo: an explicit tempo wins ("120 BPM", "120-bpm", "120bpm", "~120.5 bpm", "120 beats per minute";
  a range "90-100 BPM" is its middle); otherwise the first tempo word ("slow", "mid-tempo", "upbeat", ...);
* energy: the first energy word or phrase ("soft", "moderately energetic", "high-energy", ...);
* mode: an explicit "major"/"minor" wins; otherwise the first mood word ("bright" -> major,
  "melancholic" -> minor, ...).

Longer phrases are matched before their parts ("moderately energetic" is moderate, not intense). A
word counts in a hyphenated compound with a known suffix or intensifier ("fast-paced", "minor-key",
"ultra-fast"), not in others ("slow-motion"). A *negated* mention does not count: a negator (not, no,
never, hardly, barely, scarcely, without, nor, neither, "far from", any "...n't") among the
:data:`NEGATION_SCOPE` words before it, in the same clause (a clause ends at punctuation and at
"and", "or", "but", "yet", ...): "Not fast, a slow drift" is slow. A tempo, stated or measured, is
binned as a whole BPM rounded half up (:func:`~mv2desc.data.classes.tempo_class`), so "85 BPM"
written for 84.6 is the class of 84.6. Audio without a measured tempo (no beats) has no tempo class:
there a description that implies none is consistent and one that states a tempo is not.

A description that implies nothing about an attribute scores 0 on it (silence is not consistency).
Per attribute the score is the fraction of descriptions whose class equals the audio's; ``overall``
is their mean. Next to each, ``chance`` is the score of always answering the split's most frequent
audio class, so that a constant description can never look good. The describer that writes the
training targets (:mod:`mv2desc.describe.metadata`) uses the same classes and bins, so its own text
scores 1.0.

The word lists and bins are :class:`AttributeConfig` (``configs/metrics/attributes.yaml`` is the
editable copy); ``docs/metrics.md`` documents the metric.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mv2desc.data.classes import (
    ENERGY_BINS_DB,
    ENERGY_CLASSES,
    MODE_CLASSES,
    TEMPO_BINS_BPM,
    TEMPO_CLASSES,
    energy_class,
    mode_class,
    tempo_class,
)
from mv2desc.data.columns import ATTRIBUTES, LOUDNESS, MODE, TEMPO


def _words(**classes: str) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v.split("|")) for k, v in classes.items()}


@dataclass(frozen=True)
class AttributeConfig:
    """Bins of the measured attributes and the words that imply each class.

    Args:
        tempo_bins_bpm: (slow/mid, mid/fast) boundaries in BPM: slow < a <= mid < b <= fast, for the
            tempo rounded half up to a whole BPM (as a description states it).
        energy_bins_db: (calm/moderate, moderate/intense) boundaries of ``rms_db_mean``, the mean of the clip's frame RMS levels in dBFS (about 6 dB below its overall RMS level for music with beats).
        tempo_words, energy_words, mode_words: per class, the words or phrases that imply it
            (case-insensitive, whole words; a hyphen or space inside a phrase matches either).
    """

    tempo_bins_bpm: tuple[float, float] = TEMPO_BINS_BPM
    energy_bins_db: tuple[float, float] = ENERGY_BINS_DB
    tempo_words: Mapping[str, Sequence[str]] = field(default_factory=lambda: _words(
        slow="slow|slow-paced|languid|unhurried|leisurely|ballad|downtempo",
        mid="mid-tempo|midtempo|moderate tempo|medium tempo|moderate pace|walking pace",
        fast="fast|upbeat|uptempo|up-tempo|quick|rapid|frantic|racing|brisk",
    ))
    energy_words: Mapping[str, Sequence[str]] = field(default_factory=lambda: _words(
        calm="calm|soft|gentle|quiet|hushed|mellow|tender|serene|peaceful|low-energy",
        moderate="moderately energetic|moderate energy|mid-energy|measured|steady energy|restrained",
        intense="high-energy|intense|energetic|powerful|explosive|aggressive|loud|furious|pounding",
    ))
    mode_words: Mapping[str, Sequence[str]] = field(default_factory=lambda: _words(
        major="major|bright|joyful|happy|uplifting|sunny|euphoric|cheerful|hopeful",
        minor="minor|melancholic|dark|sad|brooding|moody|somber|sombre|gloomy|mournful",
    ))

    def __post_init__(self) -> None:
        for name in ("tempo_bins_bpm", "energy_bins_db"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ValueError(f"{name} must be two increasing boundaries, got {getattr(self, name)}")
        for name, want in (("tempo_words", TEMPO_CLASSES), ("energy_words", ENERGY_CLASSES), ("mode_words", MODE_CLASSES)):
            got = tuple(getattr(self, name))
            if set(got) != set(want) or not all(getattr(self, name)[k] for k in want):
                raise ValueError(f"{name} needs non-empty word lists for exactly {want}, got {got}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "AttributeConfig":
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown attribute-config keys {sorted(unknown)} (known: {sorted(cls.__dataclass_fields__)})")
        for key in ("tempo_bins_bpm", "energy_bins_db"):
            if key in d:
                d[key] = tuple(float(x) for x in d[key])
        for key in ("tempo_words", "energy_words", "mode_words"):
            if key in d:
                d[key] = {k: tuple(v) for k, v in d[key].items()}
        return cls(**d)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "AttributeConfig":
        import yaml

        return cls.from_dict(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("tempo_words", "energy_words", "mode_words"):
            d[key] = {k: list(v) for k, v in d[key].items()}
        d["tempo_bins_bpm"], d["energy_bins_db"] = list(self.tempo_bins_bpm), list(self.energy_bins_db)
        return d


DEFAULT = AttributeConfig()


# -- the audio's classes ----------------------------------------------------------------------------------
def audio_classes(measured: Mapping[str, Any], cfg: AttributeConfig = DEFAULT) -> dict[str, str | None]:
    """The classes of measured attributes (``tempo_bpm``, ``rms_db_mean``, ``mode``: the dataset's columns);
    tempo None when no tempo was measured (``tempo_bpm`` None or 0: no beats)."""
    bpm = measured[TEMPO]
    return {"tempo": tempo_class(None if bpm is None else float(bpm), cfg.tempo_bins_bpm),
            "energy": energy_class(float(measured[LOUDNESS]), cfg.energy_bins_db), "mode": mode_class(measured[MODE])}


# -- the description's classes ------------------------------------------------------------------------------
NEGATION_SCOPE = 3  # words before a mention that a negator may stand in
_NEGATORS = frozenset({"not", "no", "never", "hardly", "barely", "scarcely", "without", "nor", "neither", "cannot"})
_CLAUSE_END = re.compile(r"[,;:.!?()\[\]\u2013\u2014\"]|\s-\s|\b(?:and|or|but|yet|though|although|while|whereas|instead|rather)\b",
                         re.IGNORECASE)
_TOKEN = re.compile(r"[\w'\u2019-]+")
_PREFIXES = ("ultra", "super", "hyper", "extra")  # "ultra-fast" is fast
_SUFFIXES = ("paced", "tempo", "key", "moving", "sounding", "feeling")  # "fast-paced" is fast, "minor-key" minor
_NUMBER = r"(\d{1,3}(?:\.\d+)?)"
_BPM = re.compile(rf"(?<![\w.]){_NUMBER}(?:\s*(?:-|\u2013|to)\s*{_NUMBER})?[\s-]*(?:bpm|beats?[\s-]+(?:per|a)[\s-]+minute)(?![\w-])",
                  re.IGNORECASE)


def _negated(text: str, start: int) -> bool:
    """Whether a negator stands among the :data:`NEGATION_SCOPE` words before ``start``, in its clause."""
    before = text[:start]
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    words = [w.lower() for w in _TOKEN.findall(before[ends[-1] if ends else 0:])][-NEGATION_SCOPE:]
    return (any(w in _NEGATORS or w.endswith(("n't", "n\u2019t")) for w in words)
            or any(a == "far" and b == "from" for a, b in zip(words, words[1:])))


def _phrase_pattern(phrase: str) -> str:
    core = r"[\s-]+".join(re.escape(p) for p in re.split(r"[\s-]+", phrase.strip()))
    return rf"(?<![\w-])(?:(?:{'|'.join(_PREFIXES)})-)?{core}(?:-(?:{'|'.join(_SUFFIXES)}))?(?![\w-])"


def _first_mention(text: str, words: Mapping[str, Sequence[str]]) -> str | None:
    """The class of the earliest phrase found that is not negated (longest phrase first at the same position)."""
    best: tuple[int, int, str] | None = None  # (start, -length, class)
    for cls_, phrases in words.items():
        for phrase in phrases:
            m = next((m for m in re.finditer(_phrase_pattern(phrase), text, re.IGNORECASE) if not _negated(text, m.start())), None)
            if m is not None:
                key = (m.start(), -(m.end() - m.start()), cls_)
                if best is None or key < best:
                    best = key
    return None if best is None else best[2]


def stated_tempo(text: str) -> float | None:
    """The first tempo the text states in BPM and does not negate (a range: its middle); None if none."""
    for m in _BPM.finditer(text):
        if not _negated(text, m.start()):
            values = [float(g) for g in m.groups() if g is not None]
            return sum(values) / len(values)
    return None


def text_classes(text: str, cfg: AttributeConfig = DEFAULT) -> dict[str, str | None]:
    """The classes a description implies (None where it implies nothing)."""
    tempo = tempo_class(stated_tempo(text), cfg.tempo_bins_bpm) or _first_mention(text, cfg.tempo_words)  # "0 BPM": no tempo
    explicit = _first_mention(text, {"major": ("major",), "minor": ("minor",)})
    mode = explicit or _first_mention(text, cfg.mode_words)
    return {"tempo": tempo, "energy": _first_mention(text, cfg.energy_words), "mode": mode}


# -- the score ---------------------------------------------------------------------------------------------
def attribute_consistency(
    predictions: Sequence[str], attributes: Sequence[Mapping[str, Any] | None], cfg: AttributeConfig = DEFAULT
) -> dict[str, Any]:
    """Per attribute and overall: ``score`` (agreement with the audio), ``chance`` (always the split's
    most frequent audio class), ``mentioned`` (fraction of descriptions that imply a class), and
    ``n`` (descriptions with measured attributes; those without are skipped and counted in ``skipped``)."""
    if len(predictions) != len(attributes):
        raise ValueError(f"{len(predictions)} predictions but {len(attributes)} attribute records")
    pairs = [(p, audio_classes(a, cfg)) for p, a in zip(predictions, attributes) if a]
    result: dict[str, Any] = {"n": len(pairs), "skipped": len(predictions) - len(pairs)}
    if not pairs:
        return result
    said = [text_classes(p, cfg) for p, _ in pairs]
    for name in ATTRIBUTES:
        truth = [a[name] for _, a in pairs]
        guess = [s[name] for s in said]
        majority, count = Counter(truth).most_common(1)[0]
        result[name] = {
            "score": sum(g == t for g, t in zip(guess, truth)) / len(pairs),
            "chance": count / len(pairs),
            "majority_class": majority,
            "mentioned": sum(g is not None for g in guess) / len(pairs),
        }
    result["overall"] = {
        "score": sum(result[a]["score"] for a in ATTRIBUTES) / len(ATTRIBUTES),
        "chance": sum(result[a]["chance"] for a in ATTRIBUTES) / len(ATTRIBUTES),
    }
    return result
