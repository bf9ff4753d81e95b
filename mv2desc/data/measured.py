"""The prompt's ``measured`` block: what the analysis measured about a row's audio, as one line of text.

A caption model should not have to re-derive what a beat tracker or a key estimator measures better:
the tempo, key and mode, loudness and its contour, onset density and the segment's place in the song
are given to it as text, and its description can state them. Training rows build the block from the
dataset's measured columns; ``describe`` and ``mv generate`` build it from the same columns of each
segment's row (extracted by the same extractor), so one audio clip gives byte-identical prompt text in
training and at describe time (``tests/mv2desc/describe/test_prompt_parity.py``). The audio pathway
still carries what the block cannot say (timbre, texture, instrumentation); the audio-only ablation
(``include_measured: false``) keeps its contribution measured.

Every value is optional: a row without a column simply has no clause for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mv2desc.data.classes import energy_class, stated_bpm, tempo_class
from mv2desc.data.columns import (
    DURATION,
    KEY,
    LOUDNESS,
    MODE,
    N_SEGMENTS,
    ONSET_RATE,
    SECTION,
    SEGMENT_INDEX,
    TEMPO,
)
from mv2desc.data.columns import RMS_DB_SLOPE as RMS_SLOPE

CONTOUR_CHANGE_DB = 3.0  # a level that moves by at least this much over the row is rising / falling
TEMPO_WORDS = {"slow": "slow", "mid": "mid-tempo", "fast": "fast"}
ENERGY_WORDS = {"calm": "calm", "moderate": "moderate", "intense": "intense"}


def loudness_contour(slope_db_per_s: float, duration_s: float) -> str:
    """"rising", "falling" or "steady": the level's change over the row (slope x duration) against ±3 dB."""
    change = slope_db_per_s * duration_s
    return "rising" if change >= CONTOUR_CHANGE_DB else "falling" if change <= -CONTOUR_CHANGE_DB else "steady"


def _number(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def position_text(index: int, n: int, section: str | None = None) -> str:
    """The segment's place in the song: "" for a whole song (one segment)."""
    if n <= 1:
        return f"section: {section}" if section else ""
    where = "opening segment" if index == 0 else "closing segment" if index == n - 1 else "segment"
    return f"{where} {index + 1} of {n}" + (f", {section}" if section else "")


def measured_block(row: Mapping[str, Any]) -> str:
    """``Measured: tempo 104 BPM (mid-tempo); key D minor; loudness moderate (-24 dB), rising; 3.1 onsets/s;
    segment 2 of 6.`` ("" when the row holds no measured value)."""
    parts = []
    bpm = _number(row, TEMPO)
    if bpm is not None:
        whole = stated_bpm(bpm)
        parts.append(f"tempo {whole} BPM ({TEMPO_WORDS[tempo_class(bpm)]})" if whole else "no steady beat")
    if row.get(KEY) and row.get(MODE):
        parts.append(f"key {row[KEY]} {str(row[MODE]).lower()}")
    level = _number(row, LOUDNESS)
    if level is not None:
        text = f"loudness {ENERGY_WORDS[energy_class(level)]} ({level:.0f} dB)"
        slope, duration = _number(row, RMS_SLOPE), _number(row, DURATION)
        if slope is not None and duration is not None:
            text += f", {loudness_contour(slope, duration)}"
        parts.append(text)
    rate = _number(row, ONSET_RATE)
    if rate is not None:
        parts.append(f"{rate:.1f} onsets/s")
    if row.get(N_SEGMENTS) is not None:
        where = position_text(int(row.get(SEGMENT_INDEX) or 0), int(row[N_SEGMENTS]), row.get(SECTION))
        if where:
            parts.append(where)
    elif row.get(SECTION):
        parts.append(f"section: {row[SECTION]}")
    return "Measured: " + "; ".join(parts) + "." if parts else ""
