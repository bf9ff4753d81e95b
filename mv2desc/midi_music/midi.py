"""An arrangement -> a Standard MIDI File (type 1, one track per part) with ``mido``."""

from __future__ import annotations

import io

from mv2desc.midi_music.arrange import Arrangement, Note

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # General MIDI channel 10
CHANNELS = {"bass": 0, "chords": 1, "pad": 2, "lead": 3, "timpani": 4, "drums": DRUM_CHANNEL}
# mix: channel volume (CC7) and pan (CC10, 64 = centre) per part
MIX = {"drums": (100, 64), "bass": (104, 64), "chords": (84, 44), "pad": (72, 84), "lead": (96, 70), "timpani": (96, 54)}


def to_midi(arr: Arrangement):
    """The arrangement as a ``mido.MidiFile`` (tempo and 4/4 on the first track, then one track per part)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(arr.spec.tempo_bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(meta)
    reverb = _reverb(arr.spec.genre)
    for part, program in arr.programs.items():
        ch = CHANNELS[part]
        volume, pan = MIX[part]
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part, time=0))
        track.append(mido.Message("program_change", channel=ch, program=program, time=0))
        for cc, value in ((7, volume), (10, pan), (91, reverb if part != "bass" else reverb // 3), (93, 0)):
            track.append(mido.Message("control_change", channel=ch, control=cc, value=value, time=0))
        events = _events([n for n in arr.notes if n.part == part])
        now = 0
        for tick, kind, pitch, velocity in events:
            msg = "note_on" if kind == 1 else "note_off"
            track.append(mido.Message(msg, channel=ch, note=pitch, velocity=velocity if kind == 1 else 0, time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(track)
    return mid


def to_midi_bytes(arr: Arrangement) -> bytes:
    buf = io.BytesIO()
    to_midi(arr).save(file=buf)
    return buf.getvalue()


def _reverb(genre: str) -> int:
    from mv2desc.midi_music.styles import STYLES

    return STYLES[genre].reverb


def _events(notes: list[Note]) -> list[tuple[int, int, int, int]]:
    """(tick, 0 off | 1 on, pitch, velocity), sorted; a note ends before the next onset of the same pitch
    (one channel cannot hold two voices of one key apart)."""
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for n in notes:
        on = round(n.start * TICKS_PER_BEAT)
        off = max(on + 1, round((n.start + n.dur) * TICKS_PER_BEAT))
        spans.setdefault(n.pitch, []).append((on, off, n.velocity))
    events = []
    for pitch, items in spans.items():
        items.sort()
        for i, (on, off, vel) in enumerate(items):
            if i + 1 < len(items):
                off = min(off, max(on + 1, items[i + 1][0]))
            events += [(on, 1, pitch, vel), (off, 0, pitch, 0)]
    events.sort(key=lambda e: (e[0], e[1], e[2]))  # at one tick: offs before ons
    return events
