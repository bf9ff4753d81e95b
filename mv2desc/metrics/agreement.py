"""Does a description contradict the measured facts printed next to it? Stated tempo, mode and key vs measured.

Attribute consistency (:mod:`mv2desc.metrics.attributes`) compares *classes* (slow / mid / fast, ...);
this module compares the *facts* a description states outright with the values measured on the same
audio, the ones a report prints beside it (``describe``'s segment ``tempo_bpm``, ``key``, ``mode``):

* **BPM**: the first tempo the text states (:func:`~mv2desc.metrics.attributes.stated_tempo`: "120 BPM",
  "120-bpm", "120 beats per minute", a range is its middle, a negated one does not count) agrees when
  it is within ``tolerance`` (8 %) of the measured tempo. A stated BPM for audio without a measured
  tempo (0 or None: no beats) disagrees.
* **mode**: the first explicit, non-negated "major" / "minor" (mood words such as "melancholic" are
  not a statement of mode here; attribute consistency counts them), parsed by
  :func:`~mv2desc.metrics.attributes.text_classes`, so "minor-key" is minor and "not minor, a bright
  D major" is major.
* **key**: the tonic written right before a non-negated "major" / "minor" ("D major", "F# minor",
  "B-flat minor", "Eb major"), as a pitch class (sharps: Eb -> D#), compared with the measured key.
  The letter must be a capital: "a major shift" states no key.

A text that states nothing about a fact is *silent* on it: it neither agrees nor contradicts, and the
shares report how often each fact is stated (``states``), how often a stated one agrees (``agree``, of
the stating texts) and the contradictions counted.

:func:`text_variety` counts what a song's segments say alike: distinct texts per segment, and
neighbouring segments with the identical text although their measured classes (tempo, energy, mode:
:func:`~mv2desc.metrics.attributes.audio_classes`) differ.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mv2desc.metrics.attributes import _BPM, DEFAULT, AttributeConfig, _negated, audio_classes, stated_tempo, text_classes

BPM_TOLERANCE = 0.08  # a stated BPM agrees within 8 % of the measured tempo
FACTS = ("bpm", "mode", "key")
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")  # mv2desc.audio.key_estimate's names
_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"#": 1, "\u266f": 1, "sharp": 1, "b": -1, "\u266d": -1, "flat": -1}
_KEY = re.compile(r"(?<![\w#\u266f\u266d-])([A-G])(?:(#|\u266f|b|\u266d)|[\s-](sharp|flat))?[\s-]+(major|minor)(?![\w])",
                  re.IGNORECASE)
_MODE_WORD = re.compile(r"(?<![\w-])(major|minor)(?![\w])", re.IGNORECASE)
# explicit mode words only: text_classes' mode with this config is the first non-negated "major" / "minor"
_EXPLICIT_MODE = AttributeConfig(mode_words={"major": ("major",), "minor": ("minor",)})


@dataclass(frozen=True)
class Stated:
    """The facts a text states outright (None: it states none)."""

    bpm: float | None
    mode: str | None
    key: str | None  # a pitch class of PITCH_CLASSES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pitch_class(name: str) -> str:
    """A key name ("Eb", "D#", "B-flat", "c sharp") as one of :data:`PITCH_CLASSES`; ValueError otherwise."""
    m = re.fullmatch(r"\s*([A-Ga-g])\s*-?\s*(#|\u266f|b|\u266d|sharp|flat)?\s*", str(name))
    if m is None:
        raise ValueError(f"not a key name: {name!r}")
    semis = _NATURAL[m.group(1).upper()] + (_ACCIDENTAL[m.group(2).lower()] if m.group(2) else 0)
    return PITCH_CLASSES[semis % 12]


def stated_mode(text: str) -> str | None:
    """"major" / "minor": the first explicit, non-negated mode word; None when the text states no mode."""
    return text_classes(text, _EXPLICIT_MODE)["mode"]


def stated_key(text: str) -> str | None:
    """The tonic of the first non-negated "<tonic> major|minor" ("D major", "F# minor", "B-flat minor")."""
    return next((s.value[0] for s in fact_spans(text) if s.fact == "key"), None)


@dataclass(frozen=True)
class FactSpan:
    """Where a text states a fact outright: ``text[start:end]`` and its value (bpm: a number, a range's
    middle; key: (pitch class, "major"/"minor"); mode: "major"/"minor")."""

    fact: str  # "bpm" | "key" | "mode"
    start: int
    end: int
    value: Any


def fact_spans(text: str) -> list[FactSpan]:
    """Every non-negated statement of a BPM, a key ("D minor") or a bare mode word ("minor", "minor-key"
    outside a key), in text order, not overlapping: the statements :func:`stated_facts` reads the first of."""
    spans: list[FactSpan] = []
    for m in _BPM.finditer(text):
        if not _negated(text, m.start()):
            values = [float(g) for g in m.groups() if g is not None]
            spans.append(FactSpan("bpm", m.start(), m.end(), sum(values) / len(values)))
    for m in _KEY.finditer(text):
        acc = m.group(2) or m.group(3) or ""
        # a capital tonic ("a major shift" states no key); a flat is a lower-case b ("AB minor" is no key)
        if m.group(1).isupper() and acc != "B" and not _negated(text, m.start()):
            spans.append(FactSpan("key", m.start(), m.end(), (pitch_class(m.group(1) + acc), m.group(4).lower())))
    keys = [(s.start, s.end) for s in spans if s.fact == "key"]
    for m in _MODE_WORD.finditer(text):
        inside = any(a <= m.start() < b for a, b in keys)
        if not inside and not _negated(text, m.start()):
            spans.append(FactSpan("mode", m.start(), m.end(), m.group(1).lower()))
    spans.sort(key=lambda s: s.start)
    kept: list[FactSpan] = []
    for s in spans:  # a BPM range such as "120 to 130 bpm" cannot overlap a key, but be safe
        if not kept or s.start >= kept[-1].end:
            kept.append(s)
    return kept


def stated_facts(text: str) -> Stated:
    """The BPM, mode and key ``text`` states (see the module docstring)."""
    bpm = stated_tempo(text)
    return Stated(bpm=bpm, mode=stated_mode(text), key=stated_key(text))


def bpm_agrees(stated: float | None, measured: float | None, tolerance: float = BPM_TOLERANCE) -> bool | None:
    """Whether a stated BPM is within ``tolerance`` of the measured tempo; None when nothing is stated.
    A measured tempo of 0 or None (no beats) is contradicted by any stated BPM."""
    if stated is None:
        return None
    if measured is None or not math.isfinite(float(measured)) or float(measured) <= 0:
        return False
    return abs(float(stated) - float(measured)) <= tolerance * float(measured)


def compare(stated: Stated, reference: Mapping[str, Any], tolerance: float = BPM_TOLERANCE) -> dict[str, bool | None]:
    """Each stated fact against ``reference`` (``tempo_bpm``, ``mode``, ``key``: a segment's measured
    values, the song's, or a ground truth): True / False, or None when the text states nothing about it
    or the reference lacks the field."""
    out: dict[str, bool | None] = {}
    out["bpm"] = bpm_agrees(stated.bpm, reference.get("tempo_bpm"), tolerance) if "tempo_bpm" in reference else None
    mode = reference.get("mode")
    out["mode"] = None if stated.mode is None or not mode else stated.mode == str(mode).lower()
    key = reference.get("key")
    out["key"] = None if stated.key is None or not key else stated.key == pitch_class(str(key))
    return out


def agreement_shares(texts: Sequence[str], references: Sequence[Mapping[str, Any]], tolerance: float = BPM_TOLERANCE) -> dict[str, Any]:
    """Over pairs (text, reference): per fact (bpm, mode, key) ``states`` (share of texts that state
    it), ``agree`` (share of the stating texts whose statement agrees with the reference; None when no
    text states it), ``agree_of_all`` (agreeing texts / all texts), ``contradictions`` (a count) and
    ``compared`` (texts whose statement could be checked)."""
    if len(texts) != len(references):
        raise ValueError(f"{len(texts)} texts but {len(references)} references")
    stated = [stated_facts(t) for t in texts]
    checks = [compare(s, r, tolerance) for s, r in zip(stated, references)]
    n = len(texts)
    out: dict[str, Any] = {"n": n, "tolerance": tolerance}
    for fact in FACTS:
        says = sum(getattr(s, fact) is not None for s in stated)
        verdicts = [c[fact] for c in checks if c[fact] is not None]
        agree = sum(verdicts)
        out[fact] = {
            "states": says / n if n else None,
            "compared": len(verdicts),
            "agree": agree / len(verdicts) if verdicts else None,
            "agree_of_all": agree / n if n else None,
            "contradictions": len(verdicts) - agree,
        }
    return out


def text_variety(texts: Sequence[str], measured: Sequence[Mapping[str, Any]] | None = None,
                 cfg: AttributeConfig | None = None) -> dict[str, Any]:
    """One song's segments, in order: ``distinct`` texts, ``distinct_share`` (distinct / segments),
    ``identical_neighbours`` (pairs k, k+1 with the same text) and, given each segment's measured
    attributes (``tempo_bpm``, ``rms_db_mean``, ``mode``), ``identical_neighbours_differing``: those
    pairs whose measured classes differ (``differing_pairs``: their indices k)."""
    n = len(texts)
    if measured is not None and len(measured) != n:
        raise ValueError(f"{n} texts but {len(measured)} measured records")
    norm = [" ".join(t.split()) for t in texts]
    same = [k for k in range(n - 1) if norm[k] == norm[k + 1]]
    out: dict[str, Any] = {
        "n": n, "distinct": len(set(norm)), "distinct_share": len(set(norm)) / n if n else None,
        "identical_neighbours": len(same),
    }
    if measured is not None:
        classes = [audio_classes(m, cfg or DEFAULT) for m in measured]
        differing = [k for k in same if classes[k] != classes[k + 1]]
        out["identical_neighbours_differing"] = len(differing)
        out["differing_pairs"] = differing
    return out
