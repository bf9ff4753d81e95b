"""Lyrics files: LRC (line and enhanced word timestamps) and plain text (untimed, spread over the song).

**LRC** (what :func:`parse_lrc` reads):

* line timestamps ``[mm:ss]``, ``[mm:ss.x]``, ``[mm:ss.xx]``, ``[mm:ss.xxx]`` (also ``[mm:ss:xx]``),
  minutes of any length; several at the start of one line (``[00:12.00][01:30.00]chorus``) make one line
  per timestamp;
* metadata tags ``[ar:...]``, ``[ti:...]``, ``[al:...]``, ``[by:...]``, ``[length:...]``, any
  ``[key:value]``: kept in :attr:`Lyrics.metadata`; ``[offset:+/-ms]`` shifts every time *earlier* by
  that many milliseconds (the LRC convention: a positive offset makes the lyrics appear sooner);
* enhanced (A2) word timestamps ``<mm:ss.xx>`` inside a line: each starts the word after it, a
  trailing one ends the last word; with several line timestamps the words move with each copy;
* a timestamp with no text (``[01:02.00]``) only ends the line before it;
* a line ends where the next one starts, at most ``max_line_s`` after its start (or at its last
  word's end when that is later), and never after ``duration_s``.

Anything else on a line (text without a timestamp, a timestamp with seconds >= 60, a tag that is
neither a timestamp nor ``key:value``, a word timestamp that goes backwards) is malformed: a
:class:`mv2desc.errors.UserError` naming the file and the line number, in one line.

**Plain text** (:func:`parse_plain`): every non-blank line is a lyric line; blank lines and
``[Verse]``-style headers separate stanzas. The lines are untimed, so they are spread over the
vocal spans given (sections; else the whole song) and marked ``approximate``: with as many stanzas
as spans, stanza ``k`` fills span ``k``; otherwise the lines are shared among the spans in
proportion to their lengths, in order, and each span's lines split it evenly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mv2desc.errors import UserError

MAX_LINE_S = 10.0  # the longest a line lasts when nothing ends it sooner (a line before an instrumental)
_TIME = re.compile(r"^(\d{1,4}):(\d{1,2})(?:[.:](\d{1,3}))?$")
_META = re.compile(r"^([A-Za-z#][\w#\- ]*?)\s*:(.*)$", re.S)
_WORD_TAG = re.compile(r"<([^<>]*)>")
_WORD_TRY = re.compile(r"<\d+:")  # what looks like a word timestamp (a lone "<3" in a lyric is text)


@dataclass(frozen=True)
class LyricWord:
    """One word (or syllable) of an enhanced-LRC line: ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class LyricLine:
    """One lyric line, ``[start_s, end_s)``; ``words`` when the file timed them; ``approximate`` when the
    times were spread over the song rather than read from the file."""

    start_s: float
    end_s: float
    text: str
    words: tuple[LyricWord, ...] = ()
    approximate: bool = False

    def to_dict(self) -> dict:
        d = {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "text": self.text}
        if self.words:
            d["words"] = [{"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3), "text": w.text} for w in self.words]
        if self.approximate:
            d["approximate"] = True
        return d


@dataclass(frozen=True)
class Lyrics:
    """A song's lyric lines in time order; ``timed`` False for spread plain text; ``metadata`` the LRC tags."""

    lines: tuple[LyricLine, ...]
    timed: bool
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def line_starts(self) -> list[float]:
        return [ln.start_s for ln in self.lines]

    def to_dict(self) -> dict:
        return {"source": self.source, "timed": self.timed, "metadata": dict(self.metadata),
                "lines": [ln.to_dict() for ln in self.lines]}


def _malformed(source: str, lineno: int, why: str, raw: str) -> UserError:
    shown = raw.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return UserError(f"{source}:{lineno}: malformed LRC: {why}: {shown!r}")


def _seconds(m: re.Match) -> float:
    minutes, seconds, frac = m.group(1), m.group(2), m.group(3)
    return int(minutes) * 60 + int(seconds) + (int(frac) / 10 ** len(frac) if frac else 0.0)


def _time_tag(body: str) -> float | None | str:
    """Seconds of a ``mm:ss.xx`` tag body; None when it is not a timestamp; an error text when it tries to be one."""
    m = _TIME.match(body.strip())
    if m:
        if int(m.group(2)) >= 60:
            return f"seconds must be below 60 in [{body}]"
        return _seconds(m)
    if body.strip()[:1].isdigit():
        return f"bad timestamp [{body}] (expected [mm:ss.xx])"
    return None


def is_lrc(text: str) -> bool:
    """True when some line starts with an LRC time tag ``[mm:ss`` or a standard LRC metadata tag (``[ar:``, ...)."""
    return any(re.match(r"\s*\ufeff?\[(\d+:\d|(ar|ti|al|au|by|length|offset|re|ve|tool|#)\s*:)", line, re.I)
               for line in text.splitlines())


def _words(text: str, line_start: float, source: str, lineno: int, raw: str) -> tuple[str, list[tuple[float, str]], float | None]:
    """Plain text of a line, its ``(start, word)`` list and the end of the last word (a trailing tag)."""
    if not _WORD_TRY.search(text):
        return " ".join(text.split()), [], None
    parts = _WORD_TAG.split(text)  # text, tag, text, tag, ...
    lead, words, end = parts[0], [], None
    if _WORD_TRY.search(lead) or any(_WORD_TRY.search(p) for p in parts[2::2]):
        raise _malformed(source, lineno, "unclosed word timestamp '<'", raw)
    if lead.strip():
        words.append((line_start, lead.strip()))
    last = -1.0
    for tag, after in zip(parts[1::2], parts[2::2]):
        t = _time_tag(tag)
        if not isinstance(t, float):
            raise _malformed(source, lineno, t if isinstance(t, str) else f"bad word timestamp <{tag}>", raw)
        if t < last:
            raise _malformed(source, lineno, f"word timestamp <{tag}> goes backwards", raw)
        last = t
        if after.strip():
            words.append((t, after.strip()))
        else:
            end = t  # a tag with nothing after it ends the word before it
    text = " ".join(w for _, w in words)
    return text, words, end


def parse_lrc(text: str, *, source: str = "<lrc>", duration_s: float | None = None, max_line_s: float = MAX_LINE_S) -> Lyrics:
    """Parse LRC ``text`` (see the module docstring). ``source`` names the file in errors."""
    metadata: dict[str, str] = {}
    # (time, order, text, words [(start, word)], words' end, line number); text None = an end marker
    entries: list[tuple[float, int, str | None, list, float | None]] = []
    offset_ms = 0.0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        stamps: list[float] = []
        rest = line
        while rest.startswith("["):
            close = rest.find("]")
            if close < 0:
                raise _malformed(source, lineno, "unclosed '['", raw)
            body = rest[1:close]
            t = _time_tag(body)
            if isinstance(t, str):
                raise _malformed(source, lineno, t, raw)
            if t is not None:
                stamps.append(t)
                rest = rest[close + 1 :].lstrip()
                continue
            m = _META.match(body)
            if not m or stamps:
                raise _malformed(source, lineno, f"[{body}] is neither a timestamp [mm:ss.xx] nor a tag [key:value]", raw)
            key, value = m.group(1).strip().lower(), m.group(2).strip()
            if key == "offset":
                try:
                    offset_ms = float(value.replace(" ", ""))
                except ValueError:
                    raise _malformed(source, lineno, f"offset must be +/- milliseconds, got {value!r}", raw) from None
            metadata[key] = value
            rest = rest[close + 1 :].lstrip()
            if rest and not rest.startswith("["):
                raise _malformed(source, lineno, "text after a metadata tag", raw)
        if not stamps:
            if not rest:
                continue  # metadata only
            if rest.startswith("<"):  # a line timed by its words only: it starts at its first word
                m = _WORD_TAG.match(rest)
                t = _time_tag(m.group(1)) if m else None
                if not isinstance(t, float):
                    raise _malformed(source, lineno, "bad word timestamp at the start of the line", raw)
                stamps = [t]
            else:
                raise _malformed(source, lineno, "text without a timestamp", raw)
        words_text, words, words_end = _words(rest, stamps[0], source, lineno, raw)
        for t in stamps:
            shift = t - stamps[0]  # a repeated line: its words move with it
            entries.append((t, len(entries), words_text or None, [(w + shift, s) for w, s in words],
                            None if words_end is None else words_end + shift))
    shift = offset_ms / 1000.0
    entries = sorted((max(0.0, t - shift), k, txt, [(max(0.0, w - shift), s) for w, s in ws],
                      None if we is None else max(0.0, we - shift)) for t, k, txt, ws, we in entries)
    lines: list[LyricLine] = []
    for i, (t, _, txt, ws, we) in enumerate(entries):
        if txt is None or (duration_s is not None and t >= duration_s):
            continue
        nxt = next((e[0] for e in entries[i + 1 :] if e[0] > t), float("inf"))
        if we is not None:  # a trailing word timestamp ends the line
            end = min(we, nxt)
        else:  # the next line's start, within max_line_s (stretched to hold every timed word)
            end = min(nxt, max(t + max_line_s, ws[-1][0] + 1.0 if ws else 0.0))
        if duration_s is not None:
            end = min(end, duration_s)
        end = max(end, t + 1e-3)
        words = tuple(
            LyricWord(w, max(min(ws[j + 1][0] if j + 1 < len(ws) else end, end), w), s) for j, (w, s) in enumerate(ws)
        )
        lines.append(LyricLine(t, end, txt, words))
    if not lines:
        raise UserError(f"{source}: no timed lyric lines in this LRC file")
    return Lyrics(tuple(lines), True, source, metadata)


def _stanzas(text: str) -> list[list[str]]:
    stanzas: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or re.fullmatch(r"\[[^\]]*\]", line):  # blank or a "[Chorus]" header
            if stanzas[-1]:
                stanzas.append([])
            continue
        stanzas[-1].append(" ".join(line.split()))
    return [s for s in stanzas if s]


def _shares(n: int, weights: list[float]) -> list[int]:
    """``n`` items shared in proportion to ``weights`` (largest remainder), in order."""
    total = sum(weights) or 1.0
    raw = [n * w / total for w in weights]
    out = [int(r) for r in raw]
    for k in sorted(range(len(raw)), key=lambda k: -(raw[k] - out[k]))[: n - sum(out)]:
        out[k] += 1
    return out


def parse_plain(text: str, spans: list[tuple[float, float]], *, source: str = "<lyrics>") -> Lyrics:
    """Untimed lines spread over ``spans`` (``[(start_s, end_s), ...]``, in order), each ``approximate``."""
    spans = [(float(a), float(b)) for a, b in spans if b > a]
    if not spans:
        raise ValueError("plain-text lyrics need at least one span to spread over")
    stanzas = _stanzas(text)
    if not stanzas:
        raise UserError(f"{source}: lyrics file is empty")
    if len(stanzas) == len(spans):
        groups = stanzas
    else:
        flat = [ln for s in stanzas for ln in s]
        counts = _shares(len(flat), [b - a for a, b in spans])
        groups, k = [], 0
        for c in counts:
            groups.append(flat[k : k + c])
            k += c
    lines = []
    for (a, b), group in zip(spans, groups):
        step = (b - a) / max(1, len(group))
        lines += [LyricLine(a + j * step, a + (j + 1) * step, txt, (), True) for j, txt in enumerate(group)]
    return Lyrics(tuple(lines), False, source)


def read_lyrics(path: str | os.PathLike, *, duration_s: float | None = None, spans: list[tuple[float, float]] | None = None,
                max_line_s: float = MAX_LINE_S) -> Lyrics:
    """Read a lyrics file: LRC when a line starts with ``[mm:ss``, else plain text spread over ``spans``
    (default: the whole song, ``[(0, duration_s)]``). Errors are :class:`UserError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"lyrics file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{p}: lyrics file is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise UserError(f"{p}: lyrics file is empty")
    if is_lrc(text):
        return parse_lrc(text, source=str(p), duration_s=duration_s, max_line_s=max_line_s)
    if spans is None:
        if duration_s is None:
            raise ValueError("plain-text lyrics need the song's duration or the spans to spread them over")
        spans = [(0.0, float(duration_s))]
    return parse_plain(text, spans, source=str(p))

