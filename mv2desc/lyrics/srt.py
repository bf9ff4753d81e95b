"""SubRip (SRT) subtitles of lyric lines: written atomically, read back for checks and re-use."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from mv2desc.atomic import atomic_write_bytes
from mv2desc.errors import UserError
from mv2desc.lyrics.parse import LyricLine

_CUE_TIME = re.compile(r"^\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")


def srt_time(t: float) -> str:
    """``HH:MM:SS,mmm`` (rounded to the millisecond, clamped at 0)."""
    ms = max(0, int(round(t * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _cue_text(text: str) -> str:
    # a blank line would end the cue: keep the line breaks, drop the empty lines
    return "\n".join(part.strip() for part in text.splitlines() if part.strip()) or " "


def srt_text(lines: Sequence[LyricLine]) -> str:
    """The SRT document of ``lines`` (numbered from 1, in the order given; a cue lasts at least 1 ms)."""
    cues = []
    for k, ln in enumerate(lines, start=1):
        end = max(ln.end_s, ln.start_s + 0.001)
        cues.append(f"{k}\n{srt_time(ln.start_s)} --> {srt_time(end)}\n{_cue_text(ln.text)}\n")
    return "\n".join(cues)


def write_srt(lines: Sequence[LyricLine], path: str | os.PathLike) -> Path:
    """Write ``lines`` as an SRT file (UTF-8), atomically (:func:`mv2desc.atomic.atomic_write_bytes`)."""
    return atomic_write_bytes(path, srt_text(lines).encode("utf-8"))


def parse_srt(text: str, *, source: str = "<srt>") -> list[LyricLine]:
    """The cues of an SRT document as lines (``approximate`` False; no words). Malformed: a
    :class:`UserError` naming ``source`` and the line number."""
    out: list[LyricLine] = []
    raw_lines = text.lstrip("\ufeff").splitlines()
    i = 0
    while i < len(raw_lines):
        if not raw_lines[i].strip():
            i += 1
            continue
        head = i
        if raw_lines[i].strip().isdigit():
            i += 1
        m = _CUE_TIME.match(raw_lines[i]) if i < len(raw_lines) else None
        if not m:
            raise UserError(f"{source}:{i + 1}: malformed SRT: expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm' (cue from line {head + 1})")
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        i += 1
        body = []
        while i < len(raw_lines) and raw_lines[i].strip():
            body.append(raw_lines[i].strip())
            i += 1
        out.append(LyricLine(start, end, "\n".join(body)))
    return out


def read_srt(path: str | os.PathLike) -> list[LyricLine]:
    p = Path(path)
    return parse_srt(p.read_text(encoding="utf-8-sig"), source=str(p))
