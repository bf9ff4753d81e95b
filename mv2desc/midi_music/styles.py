"""Genres as data: which General MIDI instruments play each part, and how (drum, bass and comping patterns).

Program numbers are General MIDI's, 0-based (0 = Acoustic Grand Piano); ``kit`` is the program of the
drum kit on channel 10 (0 Standard, 16 Power, 24 Electronic, 25 TR-808, 32 Jazz, 40 Brush, 48
Orchestra), or ``None`` for no kit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    kit: int | None  # GM drum kit (channel 10 program) or None
    drums: str  # pattern family: rock, metal, four, hiphop, funk, swing, brush, none
    bass: tuple[int, ...]  # GM programs to choose from
    bass_style: str  # roots, eighths, octaves, syncopated, walking, long, hiphop
    chords: tuple[int, ...]
    comp: str  # power, block, arpeggio, strum, stabs, sustain, ostinato, jazz
    pad: tuple[int, ...]  # sustained layer (choruses, or always when pad_always); () none
    lead: tuple[int, ...]
    swing: float = 0.0  # share of an eighth the off-beat eighth is delayed (0 straight, 0.33 triplet feel)
    pad_always: bool = False
    timpani: bool = False  # orchestral: timpani on downbeats as the pulse
    reverb: int = 40  # CC91 send
    sevenths: bool = False  # chords with the diatonic seventh
    # comp "power": semitones above the root, and whether the chord's third sits on top. Metal plays
    # octaves: a distorted fifth's harmonics (its 3rd and 5th partials: the 2nd degree and the leading
    # tone) made 7 of 16 metal songs measure in the dominant's key; octaves measured 15 of 16 right
    power: tuple[int, ...] = (0, 7, 12)
    power_third: bool = False


STYLES: dict[str, Style] = {
    "rock": Style(kit=0, drums="rock", bass=(34, 33), bass_style="eighths", chords=(29,), comp="power", pad=(16,), lead=(30, 29, 65), reverb=35,
                  power_third=True),
    "metal": Style(kit=16, drums="metal", bass=(34,), bass_style="eighths", chords=(29,), comp="power", power=(0, 12), pad=(48, 52), lead=(30, 81), pad_always=True,
                   reverb=30),
    "pop": Style(kit=0, drums="rock", bass=(33, 38), bass_style="roots", chords=(0, 4), comp="block", pad=(48, 89), lead=(80, 73, 11), reverb=45),
    "electronic": Style(kit=25, drums="four", bass=(38, 39), bass_style="octaves", chords=(81, 90), comp="stabs", pad=(89, 94), lead=(80, 81),
                        reverb=50),
    "hiphop": Style(kit=25, drums="hiphop", bass=(38, 33), bass_style="hiphop", chords=(4, 0), comp="block", pad=(89, 48), lead=(11, 73),
                    swing=0.2, reverb=30),
    "funk": Style(kit=0, drums="funk", bass=(36, 33), bass_style="syncopated", chords=(28, 4), comp="stabs", pad=(61,), lead=(66, 56),
                  reverb=25),
    "jazz": Style(kit=32, drums="swing", bass=(32,), bass_style="walking", chords=(0, 4), comp="jazz", pad=(), lead=(66, 65, 56),
                  swing=0.3, reverb=45, sevenths=True),
    "folk": Style(kit=40, drums="brush", bass=(32, 33), bass_style="roots", chords=(25, 24), comp="strum", pad=(48,), lead=(73, 40, 22),
                  reverb=40),
    "ballad": Style(kit=40, drums="brush", bass=(35, 32), bass_style="long", chords=(0,), comp="arpeggio", pad=(48, 49), lead=(40, 73, 71),
                    pad_always=True, reverb=60),
    "orchestral": Style(kit=None, drums="none", bass=(43,), bass_style="long", chords=(45, 46), comp="ostinato", pad=(48, 49), lead=(40, 68, 73, 60),
                        pad_always=True, timpani=True, reverb=70),
    "ambient": Style(kit=24, drums="ambient", bass=(38, 89), bass_style="long", chords=(46, 8), comp="arpeggio", pad=(94, 89, 88),
                     lead=(88, 10), pad_always=True, reverb=90),
}

GM_NAMES = {
    0: "Acoustic Grand Piano", 4: "Electric Piano 1", 8: "Celesta", 10: "Music Box", 11: "Vibraphone", 16: "Drawbar Organ",
    22: "Harmonica", 24: "Acoustic Guitar (nylon)", 25: "Acoustic Guitar (steel)", 28: "Electric Guitar (muted)",
    29: "Overdriven Guitar", 30: "Distortion Guitar", 32: "Acoustic Bass", 33: "Electric Bass (finger)", 34: "Electric Bass (pick)",
    35: "Fretless Bass", 36: "Slap Bass 1", 38: "Synth Bass 1", 39: "Synth Bass 2", 40: "Violin", 43: "Contrabass", 45: "Pizzicato Strings",
    46: "Orchestral Harp", 47: "Timpani", 48: "String Ensemble 1", 49: "String Ensemble 2", 52: "Choir Aahs", 56: "Trumpet",
    60: "French Horn", 61: "Brass Section", 65: "Alto Sax", 66: "Tenor Sax", 68: "Oboe", 71: "Clarinet", 73: "Flute",
    80: "Lead 1 (square)", 81: "Lead 2 (sawtooth)", 88: "Pad 1 (new age)", 89: "Pad 2 (warm)", 90: "Pad 3 (polysynth)",
    94: "Pad 7 (halo)",
}
KIT_NAMES = {0: "Standard Kit", 16: "Power Kit", 24: "Electronic Kit", 25: "TR-808 Kit", 32: "Jazz Kit", 40: "Brush Kit", 48: "Orchestra Kit"}


def instrument_name(program: int, drums: bool = False) -> str:
    return (KIT_NAMES if drums else GM_NAMES).get(program, f"GM program {program}")
