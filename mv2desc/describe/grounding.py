"""Grounding: a description never contradicts the facts measured on its segment.

The captioner reads the segment's measured tempo, key and mode in its prompt (the measured block) and
learns to copy them, but a small model copies numbers imperfectly (on held-out MIDI songs the shipped
demo captioner states a BPM within 8 % of the measured one for a quarter of the segments). A report
that prints "104 BPM, D minor" beside a text saying "an upbeat C major track at 140 BPM" is wrong on
its face, and a beat tracker measures tempo better than a caption model can hear it. So, after
generation, every fact the text states outright and that contradicts the measurement is rewritten to
the measured value, and the rewrite is recorded (the model's own text is kept beside it):

* a stated BPM (:func:`mv2desc.metrics.agreement.fact_spans`: "140 BPM", "120-130 bpm", "96 beats per
  minute"; not a negated one) more than 8 % off the measured tempo becomes ``"<measured> BPM"``; with
  no measured tempo (no beats) it becomes "a free tempo";
* a stated key ("C major", "F# minor") other than the measured key and mode becomes ``"<key> <mode>"``;
* a bare "major" / "minor" against the measured mode becomes the measured mode.

Facts the text does not state are not added, classes ("upbeat", "slow") are left as written (the
attribute-consistency figure measures those), and the same parser that the agreement benchmark uses
finds the statements, so a grounded text agrees with the measurement by that benchmark's reading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mv2desc.metrics.agreement import FactSpan, bpm_agrees, fact_spans, pitch_class


@dataclass(frozen=True)
class Correction:
    """One rewritten statement: the fact, the text it replaced and what it became."""

    fact: str  # "bpm" | "key" | "mode"
    stated: str
    written: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _replacement(span: FactSpan, text: str, measured: Mapping[str, Any]) -> str | None:
    """The text ``span`` should read for ``measured`` (tempo_bpm, key, mode), or None when it agrees."""
    tempo = measured.get("tempo_bpm")
    mode = str(measured.get("mode") or "").lower()
    key = measured.get("key")
    if span.fact == "bpm":
        if bpm_agrees(span.value, tempo):
            return None
        ok = tempo is not None and math.isfinite(float(tempo)) and float(tempo) > 0
        return f"{round(float(tempo))} BPM" if ok else "a free tempo"
    if span.fact == "key":
        tonic, stated_mode = span.value
        if not key or mode not in ("major", "minor"):
            return None
        if tonic == pitch_class(str(key)) and stated_mode == mode:
            return None
        return f"{pitch_class(str(key))} {mode}"
    if span.fact == "mode":
        if mode not in ("major", "minor") or span.value == mode:
            return None
        written = text[span.start:span.end]
        return mode.capitalize() if written[:1].isupper() else mode
    raise ValueError(f"unknown fact {span.fact!r}")


def ground_text(text: str, measured: Mapping[str, Any]) -> tuple[str, list[Correction]]:
    """``text`` with every stated tempo, key and mode that contradicts ``measured`` (``tempo_bpm``,
    ``key``, ``mode``: the segment's measured values) rewritten to the measured value, and the rewrites."""
    out, fixes, pos = [], [], 0
    for span in fact_spans(text):  # in order, not overlapping
        new = _replacement(span, text, measured)
        if new is None:
            continue
        out += [text[pos:span.start], new]
        fixes.append(Correction(span.fact, text[span.start:span.end], new))
        pos = span.end
    out.append(text[pos:])
    return "".join(out), fixes


def grounding_summary(corrections: list[list[Correction]]) -> dict[str, Any]:
    """Per song: segments whose text was corrected, and the corrections per fact."""
    per_fact = {f: sum(c.fact == f for seg in corrections for c in seg) for f in ("bpm", "key", "mode")}
    return {"segments": len(corrections), "corrected_segments": sum(bool(seg) for seg in corrections), "corrections": per_fact}
