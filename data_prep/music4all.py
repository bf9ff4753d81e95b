"""Reading a Music4All root: tab-separated tables, lyrics, audio and optional music videos.

Real layout: ``id_information.csv`` (id, artist, song, album_name), ``id_metadata.csv`` (id,
spotify_id, popularity, release, danceability, energy, key, mode, valence, tempo, duration_ms),
``id_lang.csv``, ``id_tags.csv``, ``id_genres.csv`` (comma-separated lists), ``lyrics/<id>.txt``,
``audios/<id>.mp3``. Every ``.csv`` is tab-separated. Bad rows are counted, never fatal.
"""

from __future__ import annotations

import csv
from pathlib import Path

from data_prep.report import BuildReport
from data_prep.tracks import Track
from mv2desc.errors import UserError

INFORMATION = "id_information.csv"
OPTIONAL_TABLES = {"metadata": "id_metadata.csv", "lang": "id_lang.csv", "tags": "id_tags.csv", "genres": "id_genres.csv"}
NUMERIC_METADATA = ("popularity", "danceability", "energy", "key", "mode", "valence", "tempo", "duration_ms")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")

csv.field_size_limit(1 << 24)


def read_tsv(path: Path, required: tuple[str, ...], report: BuildReport) -> dict[str, dict[str, str]]:
    """``id -> {column: value}``; rows with the wrong field count or no id are counted as malformed."""
    rows: dict[str, dict[str, str]] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except StopIteration:
            raise UserError(f"{path} is empty (expected a tab-separated header with {', '.join(required)})") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise UserError(f"{path} lacks column(s) {', '.join(missing)}; header is {header} (is it tab-separated?)")
        for lineno, fields in enumerate(reader, start=2):
            if not fields or fields == [""]:
                continue
            if len(fields) != len(header):
                hint = " (comma-separated? the tables are tab-separated)" if len(fields) == 1 and "," in fields[0] else ""
                report.skip("malformed_row", f"{path.name}:{lineno}", f"{len(fields)} fields, expected {len(header)}{hint}")
                continue
            row = dict(zip(header, (v.strip() for v in fields)))
            if not row["id"]:
                report.skip("malformed_row", f"{path.name}:{lineno}", "empty id")
                continue
            if row["id"] in rows:
                if path.name == INFORMATION:
                    report.skip("duplicate_id", row["id"], f"{path.name}:{lineno}")
                continue
            rows[row["id"]] = row
    return rows


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _metadata(row: dict[str, str] | None, track_id: str, report: BuildReport) -> dict[str, float | str | None]:
    if row is None:
        return {k: None for k in (*NUMERIC_METADATA, "release", "spotify_id")}
    out: dict[str, float | str | None] = {"spotify_id": row.get("spotify_id") or None, "release": row.get("release") or None}
    for key in NUMERIC_METADATA:
        raw = row.get(key, "")
        try:
            out[key] = float(raw) if raw != "" else None
        except ValueError:
            out[key] = None
            report.degrade("bad_metadata_value", track_id, f"{key}={raw!r}")
    return out


def find_videos(videos: str | None) -> dict[str, Path]:
    """``id -> video path`` from a folder of ``<id>.<ext>`` files or a TSV/CSV table with ``id`` and ``path``."""
    if not videos:
        return {}
    p = Path(videos)
    if p.is_dir():
        return {f.stem: f for f in sorted(p.iterdir()) if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file()}
    if p.is_file():
        delimiter = "\t" if "\t" in p.read_text(encoding="utf-8", errors="replace").splitlines()[0] else ","
        out: dict[str, Path] = {}
        with open(p, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter=delimiter):
                if "id" not in row or "path" not in row:
                    raise UserError(f"video table {p} needs columns 'id' and 'path', has {list(row)}")
                vp = Path(row["path"])
                out[row["id"]] = vp if vp.is_absolute() else p.parent / vp
        return out
    raise UserError(f"videos: {p} is neither a folder of <id>.mp4 files nor an id/path table")


def load_catalog(root: str | Path, report: BuildReport, videos: str | None = None) -> list[Track]:
    """All usable tracks of a Music4All root, sorted by id. Missing root/required file -> :class:`UserError`."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"Music4All root not found: {root}")
    info_path = root / INFORMATION
    if not info_path.is_file():
        raise UserError(f"{info_path} not found: a Music4All root holds {INFORMATION} (tab-separated id, artist, song, album_name)")
    if not (root / "audios").is_dir():
        raise UserError(f"{root / 'audios'} not found: a Music4All root holds audios/<id>.mp3")
    info = read_tsv(info_path, ("id", "artist"), report)
    tables: dict[str, dict[str, dict[str, str]] | None] = {}
    for key, name in OPTIONAL_TABLES.items():
        path = root / name
        required = ("id",) if key == "metadata" else ("id", key)
        tables[key] = read_tsv(path, required, report) if path.is_file() else None
    video_map = find_videos(videos)
    tracks = []
    for track_id in sorted(info):
        row = info[track_id]
        artist = row["artist"].strip()
        if not artist:
            report.skip("missing_artist", track_id)
            continue
        meta_rows = tables["metadata"]
        meta_row = meta_rows.get(track_id) if meta_rows is not None else None
        if meta_rows is not None and meta_row is None:
            report.degrade("no_metadata", track_id)
        extra: dict[str, str | None] = {}
        for key in ("lang", "tags", "genres"):
            t = tables[key]
            r = t.get(track_id) if t is not None else None
            if t is not None and r is None:
                report.degrade(f"no_{key}", track_id)
            extra[key] = r.get(key) if r else None
        tracks.append(
            Track(
                id=track_id,
                artist=artist,
                song=row.get("song", ""),
                album=row.get("album_name", ""),
                lang=extra["lang"] or None,
                tags=_split_list(extra["tags"] or ""),
                genres=_split_list(extra["genres"] or ""),
                metadata=_metadata(meta_row, track_id, report),
                audio_path=root / "audios" / f"{track_id}.mp3",
                lyrics_path=root / "lyrics" / f"{track_id}.txt",
                video_path=video_map.get(track_id),
            )
        )
    return tracks


def read_lyrics(track: Track) -> tuple[str | None, str | None]:
    """``(lyrics or None, degrade reason or None)``. Bytes that are not UTF-8 are kept as U+FFFD and the
    row is reported as degraded (``lyrics_invalid_utf8``), never stored silently."""
    p = track.lyrics_path
    if p is None or not p.is_file():
        return None, "no_lyrics"
    try:
        raw = p.read_bytes()
    except OSError:
        return None, "unreadable_lyrics"
    issue = None
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text, issue = raw.decode("utf-8", errors="replace").strip(), "lyrics_invalid_utf8"
    if not text:
        return None, "empty_lyrics"
    return text, issue
