"""Timed lyrics: LRC and plain-text files, lines per segment, cuts snapped to lines, SRT and MP4 subtitle tracks."""

from mv2desc.lyrics.parse import LyricLine, Lyrics, LyricWord, is_lrc, parse_lrc, parse_plain, read_lyrics
from mv2desc.lyrics.srt import parse_srt, read_srt, srt_text, write_srt
from mv2desc.lyrics.subtitles import add_subtitle_track, read_subtitle_track
from mv2desc.lyrics.timing import assign_lines, snap_cuts

__all__ = [
    "LyricLine", "LyricWord", "Lyrics", "add_subtitle_track", "assign_lines", "is_lrc", "parse_lrc", "parse_plain",
    "parse_srt", "read_lyrics", "read_srt", "read_subtitle_track", "snap_cuts", "srt_text", "write_srt",
]
