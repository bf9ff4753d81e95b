"""Training music that sounds like music: MIDI arrangements (drums, bass, chords, pad, lead on General MIDI
instruments; several genres; intro / verse / chorus / bridge / outro) rendered with FluidSynth.

Tempo, key, mode, energy, the sections with their energies, and the beat and downbeat times are known
exactly (``Arrangement.truth()``). ``mv2desc.synth`` (sine and kick) stays for fixtures that need the
simplest possible signal. See ``docs/midi_music.md``.
"""

from mv2desc.midi_music.arrange import GENERATOR_VERSION, Arrangement, Note, Section, arrange, plan_sections
from mv2desc.midi_music.midi import to_midi, to_midi_bytes
from mv2desc.midi_music.render import APT_COMMAND, Rendered, Synth, cache_dir, render, render_many, render_midi, render_song, synth
from mv2desc.midi_music.spec import GENRES, SECTION_LABELS, ArrangementSpec, SectionSpec, random_spec

__all__ = [
    "APT_COMMAND", "GENERATOR_VERSION", "GENRES", "SECTION_LABELS", "Arrangement", "ArrangementSpec", "Note", "Rendered", "Section",
    "SectionSpec", "Synth", "arrange", "cache_dir", "plan_sections", "random_spec", "render", "render_many", "render_midi", "render_song", "synth",
    "to_midi", "to_midi_bytes",
]
