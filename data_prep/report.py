"""What a build skipped or kept without some part, and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_EXAMPLES = 20

# Reasons a row is dropped (the clip cannot be used).
SKIP_REASONS = {
    "malformed_row": "a row of a TSV file with the wrong number of fields or no id",
    "duplicate_id": "an id that appears twice in id_information.csv (the first row is kept)",
    "missing_artist": "no artist name: the row cannot be placed in an artist-disjoint split",
    "missing_audio": "id listed in the metadata but audios/<id>.mp3 does not exist",
    "empty_audio": "zero-byte audio file",
    "corrupt_audio": "audio file that does not decode (truncated to nothing, not audio, damaged)",
    "no_audio_stream": "file without an audio stream",
    "too_short": "decoded audio shorter than features.min_duration_s",
    "no_video": "description.source=video, no video for the id and fallback_to_metadata is off",
    "video_failed": "description.source=video, the video path failed and fallback_to_metadata is off",
    "extractor_error": "an unexpected error inside a feature extractor (see the examples)",
    "extractor_nan": "a feature extractor returned NaN or infinite values (never stored as zeros)",
}
# Reasons a row is kept without some part.
DEGRADE_REASONS = {
    "no_lyrics": "no lyrics/<id>.txt: kept without lyrics",
    "empty_lyrics": "lyrics file empty or whitespace only: kept without lyrics",
    "unreadable_lyrics": "lyrics file could not be read: kept without lyrics",
    "no_metadata": "id missing from id_metadata.csv: kept without Spotify attributes",
    "bad_metadata_value": "a non-numeric Spotify attribute: kept as missing",
    "no_tags": "id missing from id_tags.csv",
    "no_genres": "id missing from id_genres.csv",
    "no_lang": "id missing from id_lang.csv",
    "video_fallback_metadata": "video description failed or no video: fell back to the metadata description",
}


@dataclass
class BuildReport:
    skipped: Counter = field(default_factory=Counter)
    degraded: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def _example(self, reason: str, key: str, detail: str) -> None:
        ex = self.examples.setdefault(reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(f"{key}: {detail}" if detail else key)

    def skip(self, reason: str, key: str, detail: str = "") -> None:
        if reason not in SKIP_REASONS:
            raise KeyError(f"unknown skip reason {reason!r}")
        self.skipped[reason] += 1
        self._example(reason, key, detail)

    def degrade(self, reason: str, key: str, detail: str = "") -> None:
        if reason not in DEGRADE_REASONS:
            raise KeyError(f"unknown degrade reason {reason!r}")
        self.degraded[reason] += 1
        self._example(reason, key, detail)

    def merge(self, other: "BuildReport") -> None:
        self.skipped.update(other.skipped)
        self.degraded.update(other.degraded)
        for reason, ex in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(ex[: max(0, MAX_EXAMPLES - len(mine))])

    def summary_line(self) -> str:
        """The skip reasons, most frequent first, each with its first example: for one-line errors."""
        if not self.skipped:
            return "no clip was skipped either"
        parts = []
        for reason, n in self.skipped.most_common(3):
            ex = self.examples.get(reason) or [""]
            parts.append(f"{n} {reason}" + (f", e.g. {ex[0]}" if ex[0] else ""))
        rest = len(self.skipped) - len(parts)
        return "skipped: " + "; ".join(parts) + (f"; and {rest} more reason(s)" if rest > 0 else "")

    def to_json(self) -> dict:
        return {
            "skipped": dict(sorted(self.skipped.items())),
            "degraded": dict(sorted(self.degraded.items())),
            "examples": {k: v for k, v in sorted(self.examples.items())},
            "reasons": {k: v for k, v in {**SKIP_REASONS, **DEGRADE_REASONS}.items() if k in self.skipped or k in self.degraded},
        }

    @classmethod
    def from_json(cls, d: dict) -> "BuildReport":
        return cls(Counter(d.get("skipped", {})), Counter(d.get("degraded", {})), {k: list(v) for k, v in d.get("examples", {}).items()})
