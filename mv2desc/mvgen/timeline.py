"""``timeline.otio``: the cut as an editing suite opens it (OpenTimelineIO).

* a video track: the clips in the order and at the place they have in ``mv.mp4``, each a source range
  into its cached clip file (with a ``LinearTimeWarp`` effect giving the mean speed where the sync
  engine stretched it);
* an audio track: the song, whole;
* markers: every beat and downbeat on the audio track, every segment boundary on the video track;
  with structure, each section on the audio track (named ``section A: chorus``, spanning the section,
  purple), and with lyrics each line (named ``lyric: <the line>``, spanning it, cyan); their metadata
  (``mv2desc.kind``: ``section`` | ``lyric``) says which is which.

Times use the video's frame rate. Media are referenced relative to the timeline's folder (``base_dir``:
a copied output folder still opens in an editor), or by absolute ``file://`` URL without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio


def media_url(path: str | os.PathLike, base_dir: str | os.PathLike | None) -> str:
    """``path`` relative to ``base_dir`` (POSIX separators), or its absolute ``file://`` URL when ``base_dir`` is None."""
    if base_dir is None:
        return Path(path).resolve().as_uri()
    return Path(os.path.relpath(Path(path).resolve(), Path(base_dir).resolve())).as_posix()


def _t(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(round(seconds * rate, 3), rate)


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_t(start, rate), _t(duration, rate))


def _marker(name: str, t: float, rate: float, colour: str, duration: float = 0.0, metadata: dict | None = None) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=_range(t, duration, rate), color=colour,
                              metadata={"mv2desc": metadata} if metadata else None)


def build_timeline(name: str, song: str, song_duration_s: float, fps: float, shown: list[dict],
                   beats_s: list[float], downbeats_s: list[float], base_dir: str | os.PathLike | None = None, *,
                   sections: list[dict] = (), lyrics: list[dict] = ()) -> otio.schema.Timeline:
    """``shown``: per clip on screen, ``{"segment", "path", "clip_duration_s", "src_start_s", "src_end_s",
    "out_start_s", "out_end_s", "description"}`` in output order. ``sections``: ``{start_s, end_s, label,
    name, confidence}`` (:meth:`mv2desc.structure.Section.to_dict`); ``lyrics``: ``{start_s, end_s, text}``
    (:meth:`mv2desc.lyrics.LyricLine.to_dict`): markers on the audio track."""
    timeline = otio.schema.Timeline(name=name, global_start_time=_t(0.0, fps))
    video = otio.schema.Track(name="MV", kind=otio.schema.TrackKind.Video)
    for c in shown:
        out_dur = c["out_end_s"] - c["out_start_s"]
        clip = otio.schema.Clip(
            name=f"segment {c['segment']}",
            media_reference=otio.schema.ExternalReference(
                target_url=media_url(c["path"], base_dir), available_range=_range(0.0, c["clip_duration_s"], fps)),
            source_range=_range(c["src_start_s"], out_dur, fps),
            metadata={"mv2desc": {"segment": c["segment"], "description": c["description"]}},
        )
        speed = (c["src_end_s"] - c["src_start_s"]) / out_dur if out_dur > 0 else 1.0
        if abs(speed - 1.0) > 1e-3:
            clip.effects.append(otio.schema.LinearTimeWarp(name="sync stretch (mean)", time_scalar=speed))
        video.append(clip)
        video.markers.append(_marker(f"segment {c['segment']}", c["out_start_s"], fps, otio.schema.MarkerColor.GREEN))
    audio = otio.schema.Track(name="Song", kind=otio.schema.TrackKind.Audio)
    audio.append(otio.schema.Clip(
        name=Path(song).name,
        media_reference=otio.schema.ExternalReference(target_url=media_url(song, base_dir),
                                                      available_range=_range(0.0, song_duration_s, fps)),
        source_range=_range(0.0, song_duration_s, fps),
    ))
    for t in beats_s:
        audio.markers.append(_marker("beat", t, fps, otio.schema.MarkerColor.YELLOW))
    for t in downbeats_s:
        audio.markers.append(_marker("downbeat", t, fps, otio.schema.MarkerColor.RED))
    for sec in sections:
        audio.markers.append(_marker(f"section {sec['label']}: {sec['name']}", sec["start_s"], fps, otio.schema.MarkerColor.PURPLE,
                                     sec["end_s"] - sec["start_s"], {"kind": "section", **sec}))
    for ln in lyrics:
        text = " ".join(ln["text"].split())
        audio.markers.append(_marker(f"lyric: {text}", ln["start_s"], fps, otio.schema.MarkerColor.CYAN,
                                     max(ln["end_s"] - ln["start_s"], 0.0),
                                     {"kind": "lyric", "text": ln["text"], "approximate": bool(ln.get("approximate"))}))
    timeline.tracks.append(video)
    timeline.tracks.append(audio)
    return timeline


def write_timeline(path: str | Path, timeline: otio.schema.Timeline) -> Path:
    """Write ``timeline`` as OTIO JSON, atomically."""
    from mv2desc.atomic import atomic_write_bytes

    return atomic_write_bytes(path, otio.adapters.write_to_string(timeline, "otio_json").encode("utf-8"))
