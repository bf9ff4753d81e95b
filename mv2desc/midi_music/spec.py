"""What a MIDI-arranged song is: tempo, key, mode, energy, genre, length, seed and (optionally) its form.

Every field is ground truth: the arrangement (:func:`mv2desc.midi_music.arrange.arrange`) follows it
exactly, and what it adds (the section plan, beat and downbeat times, instruments) is returned with
the song. Plain values only, so a spec hashes to the same cache key on every machine.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field

from mv2desc.audio.key_estimate import PITCH_CLASSES
from mv2desc.validation import one_of

GENRES = ("rock", "metal", "pop", "electronic", "hiphop", "funk", "jazz", "folk", "ballad", "orchestral", "ambient")
SECTION_LABELS = ("intro", "verse", "chorus", "bridge", "outro")
# a section's energy relative to the song's (auto form): verses sit below the song's level, choruses above
SECTION_OFFSETS = {"intro": -0.3, "verse": -0.1, "chorus": 0.2, "bridge": -0.05, "outro": -0.25}
# tempo range (BPM) a genre is drawn from by random_spec; any tempo in [40, 240] is accepted
GENRE_TEMPI = {
    "rock": (100, 150), "metal": (100, 160), "pop": (92, 128), "electronic": (118, 136), "hiphop": (80, 100),
    "funk": (92, 118), "jazz": (96, 150), "folk": (84, 120), "ballad": (62, 84), "orchestral": (70, 120), "ambient": (62, 90),
}


@dataclass(frozen=True)
class SectionSpec:
    """One section of an explicit form: its label, length in 4/4 bars and energy (0 .. 1)."""

    label: str
    bars: int
    energy: float

    def __post_init__(self) -> None:
        one_of("section label", self.label, SECTION_LABELS)
        if not (isinstance(self.bars, int) and self.bars >= 1):
            raise ValueError(f"section bars must be an integer >= 1, got {self.bars!r}")
        if not 0.0 <= self.energy <= 1.0:
            raise ValueError(f"section energy must be in [0, 1], got {self.energy}")


@dataclass(frozen=True)
class ArrangementSpec:
    """A song to arrange and render. ``sections`` empty: the form is planned from the length, ``energy``
    and ``seed`` (:data:`SECTION_OFFSETS`); given: followed bar for bar, the last section stretched or
    cut to ``duration_s``. ``energy`` also sets the whole song's loudness (``mv2desc.synth.level_db``)."""

    tempo_bpm: float = 120.0
    key: str = "C"
    mode: str = "major"
    energy: float = 0.5  # 0 (soft, sparse) .. 1 (loud, dense)
    genre: str = "pop"
    duration_s: float = 30.0
    seed: int = 0
    sections: tuple[SectionSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 40 <= self.tempo_bpm <= 240:
            raise ValueError(f"tempo_bpm must be in [40, 240], got {self.tempo_bpm}")
        one_of("key", self.key, PITCH_CLASSES)
        one_of("mode", self.mode, ("major", "minor"))
        one_of("genre", self.genre, GENRES)
        if not 0.0 <= self.energy <= 1.0:
            raise ValueError(f"energy must be in [0, 1], got {self.energy}")
        if not 0.5 <= self.duration_s <= 1800:
            raise ValueError(f"duration_s must be in [0.5, 1800], got {self.duration_s}")
        object.__setattr__(self, "sections", tuple(s if isinstance(s, SectionSpec) else SectionSpec(*s) for s in self.sections))

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_s(self) -> float:
        return 4 * self.beat_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sections"] = [asdict(s) for s in self.sections]
        return d

    def canonical_json(self) -> str:
        """The spec as sorted JSON with floats written exactly (``repr``): the cache key's input."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))


def random_spec(seed: int, *, duration_s: float = 30.0, genre: str | None = None, mode: str | None = None,
                energy: float | None = None, tempo_bpm: float | None = None) -> ArrangementSpec:
    """A random, musically plausible spec (genre-typical tempo); any argument given is kept as given."""
    rng = random.Random(f"midi-spec-{seed}")
    g = genre or rng.choice(GENRES)
    lo, hi = GENRE_TEMPI[g]
    return ArrangementSpec(
        tempo_bpm=float(tempo_bpm if tempo_bpm is not None else rng.randint(lo, hi)),
        key=rng.choice(PITCH_CLASSES),
        mode=mode or rng.choice(("major", "minor")),
        energy=float(energy if energy is not None else round(rng.uniform(0.15, 0.9), 2)),
        genre=g,
        duration_s=duration_s,
        seed=seed,
    )
