"""Timed lyrics: every LRC form read against the times written in it, malformed lines named, plain text
spread over the spans given, lines assigned to the segments that hold them, cuts snapped onto line
starts, SRT and the MP4 ``mov_text`` track read back and compared with the lines written."""

from __future__ import annotations

import av
import numpy as np
import pytest

from mv2desc.describe.segments import Segment
from mv2desc.errors import UserError
from mv2desc.lyrics import (
    LyricLine,
    add_subtitle_track,
    assign_lines,
    parse_lrc,
    parse_plain,
    read_lyrics,
    read_srt,
    read_subtitle_track,
    snap_cuts,
    srt_text,
    write_srt,
)
from mv2desc.structure import Section

ENHANCED = """\ufeff[ar:The Band]
[ti:A Song]
[al:An Album]
[by:someone]
[length: 03:20]

[00:01.00]<00:01.00>Hello <00:01.50>there <00:02.10>world<00:02.90>
[00:05.5][01:10.250]Chorus line, again
[00:08.00]
[00:12:34]colon hundredths
[1:15]minute with one digit
"""


def test_lrc_every_form_read_at_the_times_written():
    lyr = parse_lrc(ENHANCED, source="song.lrc")
    assert lyr.timed and lyr.metadata == {"ar": "The Band", "ti": "A Song", "al": "An Album", "by": "someone", "length": "03:20"}
    # [00:05.5] and [01:10.250]: one line per stamp; the first ends at the empty [00:08.00] marker, "colon
    # hundredths" at max_line_s (10 s), the chorus copy at the next line, the last at max_line_s
    starts = [ln.start_s for ln in lyr.lines]
    ends = [ln.end_s for ln in lyr.lines]
    assert starts == pytest.approx([1.0, 5.5, 12.34, 70.25, 75.0])
    assert ends == pytest.approx([2.9, 8.0, 22.34, 75.0, 85.0])
    assert [ln.text for ln in lyr.lines] == ["Hello there world", "Chorus line, again", "colon hundredths",
                                            "Chorus line, again", "minute with one digit"]
    words = lyr.lines[0].words
    assert [w.text for w in words] == ["Hello", "there", "world"]
    assert [(w.start_s, w.end_s) for w in words] == [pytest.approx((1.0, 1.5)), pytest.approx((1.5, 2.1)), pytest.approx((2.1, 2.9))]
    assert not any(ln.approximate for ln in lyr.lines)


def test_lrc_offset_moves_every_time_and_words_follow_a_repeated_line():
    text = "[offset:+500]\n[00:10.00][00:40.00]<00:10.00>la <00:11.00>la<00:12.00>\n[00:20.00]next\n"
    lyr = parse_lrc(text)
    # +500 ms: the lyrics appear half a second sooner; the copy at 40 s carries its words 30 s later
    assert [ln.start_s for ln in lyr.lines] == pytest.approx([9.5, 19.5, 39.5])
    assert [(w.start_s, w.end_s) for w in lyr.lines[2].words] == [pytest.approx((39.5, 40.5)), pytest.approx((40.5, 41.5))]
    assert lyr.lines[0].end_s == pytest.approx(11.5)
    later = parse_lrc("[offset:-250]\n[00:00.10]a\n[00:01.00]b\n")
    assert [ln.start_s for ln in later.lines] == pytest.approx([0.35, 1.25])
    clamped = parse_lrc("[offset:1000]\n[00:00.50]a\n")
    assert clamped.lines[0].start_s == 0.0


def test_lrc_ends_stop_at_the_song_duration():
    lyr = parse_lrc("[00:01.00]a\n[00:09.00]b\n[00:30.00]after the end\n", duration_s=12.0)
    assert [ln.text for ln in lyr.lines] == ["a", "b"]
    assert lyr.lines[-1].end_s == pytest.approx(12.0)


@pytest.mark.parametrize(("text", "line", "why"), [
    ("[00:01.00]ok\nno timestamp here\n", 2, "text without a timestamp"),
    ("[ar:x]\n\n[00:61.00]x\n", 3, "seconds must be below 60"),
    ("[00:01.00]x\n[0a:01.00]y\n", 2, "bad timestamp"),
    ("[00:01.00 unclosed\n", 1, "unclosed '['"),
    ("[00:01.00]a\n[Chorus]\n[00:02.00]b\n", 2, "neither a timestamp"),
    ("[00:01.00]<00:02.00>a <00:01.00>b\n", 1, "goes backwards"),
    ("[00:01.00]<00:1x.00>a\n", 1, "bad timestamp"),
    ("[00:01.00]<00:02.00 a\n", 1, "unclosed word timestamp"),
    ("[offset:soon]\n[00:01.00]x\n", 1, "offset must be"),
    ("[ar:x] text after\n[00:01.00]x\n", 1, "text after a metadata tag"),
])
def test_malformed_lrc_is_one_line_naming_file_and_line(tmp_path, text, line, why):
    path = tmp_path / "bad.lrc"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_lyrics(path, duration_s=60.0)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line}: malformed LRC: ") and why in msg and "\n" not in msg


def test_empty_or_missing_lyrics_file_is_one_line(tmp_path):
    for content in ("", "  \n\n\t\n"):
        (tmp_path / "empty.lrc").write_text(content, encoding="utf-8")
        with pytest.raises(UserError, match=r"empty\.lrc: lyrics file is empty$"):
            read_lyrics(tmp_path / "empty.lrc", duration_s=60.0)
    with pytest.raises(UserError, match="lyrics file not found"):
        read_lyrics(tmp_path / "nope.lrc", duration_s=60.0)
    (tmp_path / "meta.lrc").write_text("[ar:x]\n[ti:y]\n", encoding="utf-8")
    with pytest.raises(UserError, match="no timed lyric lines"):
        read_lyrics(tmp_path / "meta.lrc")
    (tmp_path / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        read_lyrics(tmp_path / "latin.txt", duration_s=10.0)


def test_plain_text_spread_over_spans_and_marked_approximate(tmp_path):
    text = "[Verse 1]\none\ntwo\n\n[Chorus]\nthree\nfour\nfive\n"
    # as many stanzas as spans: stanza k fills span k evenly
    lyr = parse_plain(text, [(10.0, 20.0), (40.0, 46.0)])
    assert not lyr.timed and all(ln.approximate for ln in lyr.lines)
    assert [(ln.start_s, ln.end_s, ln.text) for ln in lyr.lines] == [
        (10.0, 15.0, "one"), (15.0, 20.0, "two"), (40.0, 42.0, "three"), (42.0, 44.0, "four"), (44.0, 46.0, "five")]
    # otherwise shared in proportion to the spans' lengths, in order, inside the spans
    lyr = parse_plain(text, [(0.0, 30.0), (60.0, 70.0), (80.0, 90.0)])
    assert [ln.text for ln in lyr.lines] == ["one", "two", "three", "four", "five"]
    assert sum(0.0 <= ln.start_s and ln.end_s <= 30.0 for ln in lyr.lines) == 3
    assert all(any(a <= ln.start_s and ln.end_s <= b for a, b in [(0, 30), (60, 70), (80, 90)]) for ln in lyr.lines)
    assert all(b.start_s >= a.end_s - 1e-9 for a, b in zip(lyr.lines, lyr.lines[1:]))
    # read_lyrics: no time tag -> plain text over the whole song (or the spans given, e.g. Structure.vocal_spans())
    (tmp_path / "words.txt").write_text("a\nb\nc\nd\n", encoding="utf-8")
    whole = read_lyrics(tmp_path / "words.txt", duration_s=8.0)
    assert [(ln.start_s, ln.end_s) for ln in whole.lines] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0)]
    sections = [Section(0.0, 4.0, "A", "intro", 1.0), Section(4.0, 12.0, "B", "chorus", 1.0)]
    spread = read_lyrics(tmp_path / "words.txt", spans=[(s.start_s, s.end_s) for s in sections if s.name != "intro"])
    assert [ln.start_s for ln in spread.lines] == [4.0, 6.0, 8.0, 10.0]


def test_lines_go_to_the_segment_holding_most_of_them():
    lines = [LyricLine(0.5, 3.0, "a"), LyricLine(7.0, 11.0, "b"), LyricLine(9.0, 12.5, "c"),
             LyricLine(16.0, 16.0, "d"), LyricLine(30.0, 31.0, "after the song")]
    segs = [Segment(0.0, 8.0, 4), Segment(8.0, 16.0, 4), Segment(16.0, 24.0, 4)]
    got = assign_lines(lines, segs)
    assert [[ln.text for ln in seg] for seg in got] == [["a"], ["b", "c"], ["d"]]
    # b: 1 s in segment 0, 3 s in segment 1; pairs work as segments too
    assert [[ln.text for ln in seg] for seg in assign_lines(lines, [(0.0, 10.0), (10.0, 40.0)])] == [["a", "b"], ["c", "d", "after the song"]]


def test_cuts_snap_to_line_starts_within_reach_keep_order_and_section_boundaries():
    starts = [3.9, 8.2, 8.4, 15.0, 20.05]
    cuts = [4.0, 8.0, 12.0, 16.0, 20.0]
    got = snap_cuts(cuts, starts, max_shift_s=0.5, keep=[20.0])
    assert got.tolist() == pytest.approx([3.9, 8.2, 12.0, 16.0, 20.0])  # 12 and 16: no start within 0.5 s; 20 is kept
    assert snap_cuts(cuts, starts, max_shift_s=1.0).tolist() == pytest.approx([3.9, 8.2, 12.0, 15.0, 20.05])
    # two cuts near one line start: the first takes it, the second stays; order is never broken
    two = snap_cuts([5.0, 5.4], [5.2], max_shift_s=1.0)
    assert two.tolist() == pytest.approx([5.2, 5.4])
    crowd = snap_cuts([1.0, 2.0, 3.0], [2.9, 1.1, 2.05], max_shift_s=2.0, min_gap_s=0.5)
    assert np.all(np.diff(crowd) > 0.5) and crowd.tolist() == pytest.approx([1.1, 2.05, 2.9])
    with pytest.raises(ValueError):
        snap_cuts([2.0, 1.0], [1.0], 0.5)


def test_srt_round_trip_keeps_times_to_the_ms_and_the_text(tmp_path):
    lines = [LyricLine(0.0, 1.5, "first"), LyricLine(61.0126, 65.4, "ünïcödé — ♪ line"),
             LyricLine(3600.5, 3601.0, "two\nrows"), LyricLine(70.0, 70.0, "instant")]
    path = write_srt(lines, tmp_path / "out" / "song.srt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["song.srt"]  # atomic: no temporary left
    text = path.read_text(encoding="utf-8")
    assert "2\n00:01:01,013 --> 00:01:05,400\nünïcödé — ♪ line\n" in text
    assert "01:00:00,500 --> 01:00:01,000" in text
    back = read_srt(path)
    assert [ln.text for ln in back] == [ln.text for ln in lines]
    assert [ln.start_s for ln in back] == pytest.approx([round(ln.start_s, 3) for ln in lines], abs=1e-9)
    assert [ln.end_s for ln in back] == pytest.approx([1.5, 65.4, 3601.0, 70.001], abs=1e-9)
    assert srt_text([]) == ""


def test_lrc_to_srt_from_a_file(tmp_path):
    (tmp_path / "song.lrc").write_text(ENHANCED, encoding="utf-8")
    lyr = read_lyrics(tmp_path / "song.lrc", duration_s=90.0)
    back = read_srt(write_srt(lyr.lines, tmp_path / "song.srt"))
    assert [(b.start_s, b.text) for b in back] == [(round(a.start_s, 3), a.text) for a in lyr.lines]


def _video(path, seconds: float = 6.0, fps: float = 10.0):
    from mv2desc.media.video import write_video

    n = int(seconds * fps)
    frames = np.zeros((n, 32, 48, 3), dtype=np.uint8)
    frames[:, :, :, 0] = (np.arange(n) * 4 % 256)[:, None, None]  # each frame its own red level
    t = np.arange(int(seconds * 16000)) / 16000
    write_video(path, frames, fps, audio=(0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sample_rate=16000)
    return n


def _packets(path) -> dict[str, int]:
    with av.open(str(path)) as c:
        counts: dict[str, int] = {}
        for p in c.demux():
            if p.size:
                counts[p.stream.type] = counts.get(p.stream.type, 0) + 1
        return counts


def test_mov_text_track_reads_back_with_the_lines(tmp_path):
    src = tmp_path / "mv.mp4"
    n_frames = _video(src)
    before = _packets(src)
    lines = [LyricLine(0.25, 1.5, "Hello there"), LyricLine(2.0, 3.25, "ünïcode, commas, {braces}"),
             LyricLine(3.5, 4.0, "two\nrows"), LyricLine(5.5, 9.0, "cut at the video's end"),
             LyricLine(7.0, 8.0, "after the video")]
    out = add_subtitle_track(src, lines, tmp_path / "mv_subs.mp4", language="eng")
    with av.open(str(out)) as c:
        kinds = [(s.type, s.codec_context.name) for s in c.streams]
        assert kinds == [("video", "h264"), ("audio", "aac"), ("subtitle", "mov_text")]
        assert c.streams.subtitles[0].metadata.get("language") == "eng"
        assert sum(1 for _ in c.decode(video=0)) == n_frames
    after = _packets(out)
    assert after["video"] == before["video"] and after["audio"] == before["audio"]  # copied, not re-encoded
    cues = read_subtitle_track(out)
    assert [c.text for c in cues] == ["Hello there", "ünïcode, commas, {braces}", "two\nrows", "cut at the video's end"]
    assert [(c.start_s, c.end_s) for c in cues] == [pytest.approx(x, abs=1e-3) for x in [(0.25, 1.5), (2.0, 3.25), (3.5, 4.0), (5.5, 6.0)]]
    # in place: the same file gains the track (and an existing subtitle track is replaced, not doubled)
    add_subtitle_track(out, lines[:1])
    assert [c.text for c in read_subtitle_track(out)] == ["Hello there"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mv.mp4", "mv_subs.mp4"]
    assert read_subtitle_track(src) == []
