"""Lyric lines as a soft subtitle track (``mov_text``, MP4's timed text) muxed into a video, with PyAV.

:func:`add_subtitle_track` copies the video's audio and video packets unchanged (no re-encode) into a
new MP4 with one ``mov_text`` stream whose cues are the lines, written to a temporary name in the same
folder and renamed into place (a reader sees the old file or the new one, never half of one). PyAV's
``mov_text`` encoder takes ASS dialogue text and needs an ASS header on the codec context; a cue's
packet is the 16-bit length and the UTF-8 text (3GPP TS 26.245). Desktop players (VLC, mpv, QuickTime)
show it when subtitles are switched on, which most leave off by default; browsers ignore MP4 text
tracks (they take WebVTT through ``<track>``), so the SRT next to the MP4 stays the portable copy.
:func:`read_subtitle_track` demuxes the track back (the tests' check).
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

from mv2desc.atomic import new_file_mode
from mv2desc.errors import MediaError
from mv2desc.lyrics.parse import LyricLine

_TIME_BASE = Fraction(1, 1000)
# the minimal ASS header the mov_text encoder needs (it reads the default style from it)
_ASS_HEADER = (
    "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
    "MarginV, Encoding\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)


def _ass_text(text: str) -> str:
    # ASS marks a line break as \N; the encoder turns it back into a newline
    return "\\N".join(part.strip() for part in text.splitlines() if part.strip())


def add_subtitle_track(video: str | os.PathLike, lines: Sequence[LyricLine], out: str | os.PathLike | None = None, *,
                       language: str = "und", title: str = "Lyrics") -> Path:
    """Mux ``lines`` into ``video`` (an MP4) as a ``mov_text`` subtitle stream; returns the written path.

    ``out`` None replaces ``video`` in place. Audio and video are copied packet for packet; subtitle
    streams already in the file are dropped (the lyrics replace them). Cues are in milliseconds; a line
    that ends before it starts lasts 1 ms; lines are cut at the video's end (those starting after it are left out). Raises :class:`MediaError` (``corrupt_video``) when the file
    cannot be read or written.
    """
    src = Path(video)
    dst = Path(out) if out is not None else src
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".tmp-", suffix=".mp4")
    os.close(fd)
    try:
        with av.open(str(src)) as inp, av.open(tmp, "w", format="mp4") as outc:
            mapping = {s.index: outc.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
            sub = outc.add_stream("mov_text")
            sub.time_base = _TIME_BASE
            sub.codec_context.time_base = _TIME_BASE
            sub.codec_context.subtitle_header = _ASS_HEADER.encode("utf-8")
            sub.metadata["language"] = language
            sub.metadata["title"] = title
            # the cues stop where the video does (lines past its end are left out)
            end_ms = int(inp.duration * 1000 // av.time_base) if inp.duration else None
            cues = []
            for ln in sorted(lines, key=lambda x: x.start_s):
                start = max(0, int(round(ln.start_s * 1000)))
                stop = int(round(ln.end_s * 1000)) if end_ms is None else min(int(round(ln.end_s * 1000)), end_ms)
                if end_ms is not None and start >= end_ms:
                    continue
                length = max(1, stop - start)
                cue = av.subtitles.subtitle.SubtitleSet.create(
                    f"0,0,Default,,0,0,0,,{_ass_text(ln.text)}".encode(), 0, length, start)
                packet = sub.codec_context.encode_subtitle(cue)
                packet.stream, packet.time_base = sub, _TIME_BASE
                cues.append((ln.start_s, packet))
            k = 0
            for packet in inp.demux(*[inp.streams[i] for i in mapping]):
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                t = float(packet.dts * packet.time_base)
                while k < len(cues) and cues[k][0] <= t:  # interleave the cues by time
                    outc.mux(cues[k][1])
                    k += 1
                packet.stream = mapping[packet.stream.index]
                outc.mux(packet)
            for _, packet in cues[k:]:
                outc.mux(packet)
        with contextlib.suppress(OSError):
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, dst)
    except av.error.FFmpegError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MediaError("corrupt_video", f"cannot add a subtitle track to {src}: {exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst


def read_subtitle_track(video: str | os.PathLike) -> list[LyricLine]:
    """The cues of the first subtitle stream of ``video`` (empty list when it has none): demuxed, decoded
    from the ``mov_text`` payload (16-bit length + UTF-8 text), gap packets (empty text) skipped."""
    out: list[LyricLine] = []
    with av.open(str(video)) as c:
        if not c.streams.subtitles:
            return out
        st = c.streams.subtitles[0]
        for packet in c.demux(st):
            if packet.size < 2 or packet.pts is None:
                continue
            data = bytes(packet)
            (n,) = struct.unpack(">H", data[:2])
            text = data[2 : 2 + n].decode("utf-8")
            if not text:
                continue
            start = float(packet.pts * packet.time_base)
            out.append(LyricLine(start, start + float((packet.duration or 0) * packet.time_base), text))
    return out
