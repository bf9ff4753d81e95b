"""A small Music4All-layout folder of synthetic songs: the bundled example of the demo and the
fixture of the tests. ``with_bad_entries`` adds every kind of bad input the builder must survive.

``generator="midi"`` (the default) renders General MIDI arrangements of the track's genre with
FluidSynth (:mod:`mv2desc.midi_music`); ``"sine"`` the sine-and-kick songs of :mod:`mv2desc.synth`.
Both draw the same ids, metadata, tempi, keys, modes and energies for a seed, and both write
``truth.jsonl`` (one line per good track: its id and what the audio is, exactly).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from mv2desc.errors import UserError
from mv2desc.media.audio import write_audio
from mv2desc.synth import SongSpec, render

GENERATORS = ("midi", "sine")
TRUTH_FILE = "truth.jsonl"

_ARTISTS = ["Northern Lights", "Café Tacvba Tribute", "The Static Hours", "MC Lumen", "Dust & Echo", "Søren Vale", "Velvet Arcade", "Kōri"]
_GENRES = ["rock", "electronic", "hip hop", "folk", "pop", "jazz", "metal", "ambient"]
_TAGS = {
    "rock": "guitar,energetic,live", "electronic": "synth,dance,club", "hip hop": "beats,urban,flow",
    "folk": "acoustic,calm,storytelling", "pop": "catchy,upbeat,vocal", "jazz": "smooth,late night,saxophone",
    "metal": "heavy,distorted,aggressive", "ambient": "atmospheric,slow,dreamy",
}
_WORDS = "river night city light fire ocean dream road heart shadow summer rain window mountain dance".split()
_KEYS = ("C", "D", "E", "F", "G", "A", "B")
# the example's genre names -> the MIDI generator's genres (mv2desc.midi_music.GENRES)
MIDI_GENRES = {"rock": "rock", "electronic": "electronic", "hip hop": "hiphop", "folk": "folk", "pop": "pop", "jazz": "jazz",
               "metal": "metal", "ambient": "ambient"}
HEADERS = {
    "id_information.csv": ["id", "artist", "song", "album_name"],
    "id_metadata.csv": ["id", "spotify_id", "popularity", "release", "danceability", "energy", "key", "mode", "valence", "tempo", "duration_ms"],
    "id_lang.csv": ["id", "lang"],
    "id_tags.csv": ["id", "tags"],
    "id_genres.csv": ["id", "genres"],
}


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    lines = ["\t".join(header)] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_example(
    root: str | Path,
    n_tracks: int = 16,
    *,
    duration_s: float = 30.0,
    sample_rate: int = 44100,
    seed: int = 0,
    with_bad_entries: bool = False,
    generator: str = "midi",
) -> Path:
    """Write ``n_tracks`` synthetic tracks (8 artists) in the Music4All layout under ``root``, a folder
    that is new or empty (anything else is refused: an existing Music4All root is never rewritten).
    ``generator``: ``"midi"`` (FluidSynth-rendered arrangements) or ``"sine"`` (:mod:`mv2desc.synth`)."""
    if generator not in GENERATORS:
        raise UserError(f"generator must be one of {', '.join(GENERATORS)}; got {generator!r}")
    if generator == "midi":
        from mv2desc.midi_music import synth

        synth()  # no fluidsynth or soundfont: one line naming the apt command, before anything is written
    rng = random.Random(seed)
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UserError(f"refusing to write the example into {root}: it is not an empty folder; choose a new or empty --out (nothing was changed)")
    try:
        (root / "audios").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write the example into {root}: {exc.strerror or exc}; choose a writable --out") from exc
    (root / "lyrics").mkdir(exist_ok=True)
    tables: dict[str, list[list[str]]] = {name: [] for name in HEADERS}
    songs: list[tuple[str, SongSpec, str]] = []  # (id, spec, genre): rendered after the loop, all at once
    for i in range(n_tracks):
        track_id = f"ex{i:04d}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}"
        artist = _ARTISTS[i % len(_ARTISTS)]
        genre = _GENRES[(i * 3 + i // len(_ARTISTS)) % len(_GENRES)]
        spec = SongSpec(
            tempo_bpm=float(rng.choice([70, 84, 96, 110, 124, 140, 160])),
            key=rng.choice(_KEYS),
            mode=rng.choice(["major", "minor"]),
            energy=rng.choice([0.15, 0.5, 0.9]),
            duration_s=duration_s,
            seed=seed * 1000 + i,
        )
        songs.append((track_id, spec, genre))
        song = " ".join(w.capitalize() for w in rng.sample(_WORDS, 2))
        tables["id_information.csv"].append([track_id, artist, song, f"{artist} Sessions"])
        valence = 0.25 if spec.mode == "minor" else 0.75
        tables["id_metadata.csv"].append(
            [track_id, f"sp{i:06d}", str(rng.randint(10, 90)), str(2000 + i), f"{rng.uniform(0.3, 0.9):.3f}",
             f"{spec.energy:.3f}", str(_KEYS.index(spec.key)), "1" if spec.mode == "major" else "0",
             f"{valence:.3f}", f"{spec.tempo_bpm:.1f}", str(int(duration_s * 1000))]
        )
        tables["id_lang.csv"].append([track_id, "en"])
        tables["id_tags.csv"].append([track_id, _TAGS[genre]])
        tables["id_genres.csv"].append([track_id, genre])
        if i % 5 != 4:  # some tracks have no lyrics, as in Music4All
            motif = rng.sample(_WORDS, 3)
            lines = [f"{motif[j % 3]} in the {rng.choice(_WORDS)}, {motif[(j + 1) % 3]} all around" for j in range(6)]
            (root / "lyrics" / f"{track_id}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    truths = _write_songs(root, songs, sample_rate, generator)
    if with_bad_entries:
        _add_bad_entries(root, tables, duration_s, sample_rate, generator)
    (root / TRUTH_FILE).write_text("".join(json.dumps({"id": tid, **t}, ensure_ascii=False) + "\n" for tid, t in truths), encoding="utf-8")
    for name, header in HEADERS.items():
        _write_tsv(root / name, header, tables[name])
    return root


BAD_IDS = {
    "zero-byte": "bad_zero",
    "truncated": "bad_trunc",
    "text-as-mp3": "bad_text",
    "no-audio": "bad_noaudio",
    "non-ascii": "ünï_çødé_曲",
    "empty-lyrics": "bad_emptylyr",
}


def _midi_spec(spec: SongSpec, genre: str):
    from mv2desc.midi_music import ArrangementSpec

    return ArrangementSpec(tempo_bpm=spec.tempo_bpm, key=spec.key, mode=spec.mode, energy=spec.energy, genre=MIDI_GENRES.get(genre, "pop"),
                           duration_s=spec.duration_s, seed=spec.seed)


def _sine_truth(spec: SongSpec) -> dict:
    from mv2desc.synth import beat_times

    beats = beat_times(spec)
    return {"generator": "sine", "tempo_bpm": spec.tempo_bpm, "key": spec.key, "mode": spec.mode, "energy": spec.energy,
            "duration_s": spec.duration_s, "seed": spec.seed, "beat_times_s": [round(float(t), 6) for t in beats],
            "downbeat_times_s": [round(float(t), 6) for t in beats[::4]]}


def _write_songs(root: Path, songs: list[tuple[str, SongSpec, str]], sr: int, generator: str) -> list[tuple[str, dict]]:
    """Render and write each song's MP3; (id, ground truth) per song. MIDI songs render in parallel, a
    few at a time (the audio of a batch is held in memory until it is written)."""
    truths = []
    for start in range(0, len(songs), 8):
        batch = songs[start:start + 8]
        if generator == "midi":
            from mv2desc.midi_music import arrange, render_many

            specs = [_midi_spec(spec, genre) for _, spec, genre in batch]
            audios = render_many(specs, sr)
            truths += [arrange(sp).truth() for sp in specs]
        else:
            audios = [render(spec, sr) for _, spec, _ in batch]
            truths += [_sine_truth(spec) for _, spec, _ in batch]
        for (track_id, _, _), y in zip(batch, audios):
            write_audio(root / "audios" / f"{track_id}.mp3", y, sr)
    return [(track_id, t) for (track_id, _, _), t in zip(songs, truths)]


def _add_bad_entries(root: Path, tables: dict[str, list[list[str]]], duration_s: float, sr: int, generator: str = "midi") -> None:
    spec = SongSpec(tempo_bpm=100, key="E", mode="minor", energy=0.5, duration_s=duration_s, seed=99)
    if generator == "midi":
        from mv2desc.midi_music import render as render_midi

        good = render_midi(_midi_spec(spec, "rock"), sr)
    else:
        good = render(spec, sr)
    audios = root / "audios"
    (audios / f"{BAD_IDS['zero-byte']}.mp3").write_bytes(b"")
    full = write_audio(audios / "_tmp_full.mp3", good, sr).read_bytes()
    (audios / "_tmp_full.mp3").unlink()
    # a download cut off in the middle: the first 60 % of the file still decodes (kept, shorter)
    (audios / f"{BAD_IDS['truncated']}.mp3").write_bytes(full[: int(len(full) * 0.6)])
    (audios / f"{BAD_IDS['text-as-mp3']}.mp3").write_text("<html>404 Not Found</html>\n", encoding="utf-8")
    write_audio(audios / f"{BAD_IDS['non-ascii']}.mp3", good, sr)
    write_audio(audios / f"{BAD_IDS['empty-lyrics']}.mp3", good, sr)
    (root / "lyrics" / f"{BAD_IDS['empty-lyrics']}.txt").write_text("  \n\n", encoding="utf-8")
    for key, track_id in BAD_IDS.items():
        artist = "Bjørk-ish Ensemble" if key == "non-ascii" else f"Bad Input Band {key}"
        tables["id_information.csv"].append([track_id, artist, "Tëst Sòng", "Ålbum"])
        tables["id_genres.csv"].append([track_id, "rock"])
    tables["id_information.csv"].append(["bad_malformed", "only two fields"][:2] + [])  # 2 fields: malformed
    tables["id_information.csv"].append([tables["id_information.csv"][0][0], "Duplicate Artist", "Dup", "Dup"])
    tables["id_information.csv"].append(["bad_noartist", "", "Nameless", "Nowhere"])
    tables["id_metadata.csv"].append([BAD_IDS["non-ascii"], "spX", "50", "2001", "x.5", "0.5", "4", "0", "0.3", "100", "30000"])
