"""The configs of ``mv2desc data merge`` and ``mv2desc data example`` (``data build``'s is
:class:`data_prep.config.BuildConfig`), read by :func:`mv2desc.app.parse_config`."""

from __future__ import annotations

from dataclasses import dataclass

from mv2desc.validation import at_least, one_of, positive


@dataclass
class MergeCommand:
    """Join finished shards into one dataset.

    Args:
        out: output folder (its shards/ are merged unless ``inputs`` is given).
        inputs: shard folders, or output folders holding shards/ (``--inputs A B`` or ``--inputs A --inputs B``);
            none = ``out``'s own shards/.
    """

    out: str
    inputs: list[str] | None = None

    def __post_init__(self) -> None:
        if not self.out:
            raise ValueError("out is required (got an empty path)")


@dataclass
class ExampleCommand:
    """Write a synthetic Music4All-layout folder (to try ``mv2desc data build`` without Music4All).

    Args:
        out: folder to write the example into (new or empty).
        n_tracks: synthetic tracks to write.
        duration_s: length of each synthetic song in seconds.
        seed: random seed.
        with_bad_entries: add every kind of bad input the builder must survive.
        generator: ``midi`` (General MIDI arrangements rendered with FluidSynth: drums, bass, chords, a
            lead, song sections) or ``sine`` (the sine-and-kick songs of ``mv2desc.synth``, no FluidSynth needed).
    """

    out: str
    n_tracks: int = 16
    duration_s: float = 30.0
    seed: int = 0
    with_bad_entries: bool = False
    generator: str = "midi"

    def __post_init__(self) -> None:
        if not self.out:
            raise ValueError("out is required (got an empty path)")
        one_of("generator", self.generator, ("midi", "sine"))
        at_least("n_tracks", self.n_tracks, 1)
        positive("duration_s", self.duration_s)
