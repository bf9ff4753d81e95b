"""``describe_song`` with song structure and timed lyrics, against a song whose form is known.

A B A B C B rendered from distinct passages (:func:`mv2desc.structure.synth_songs.known_song`, true
beats): the segments' boundaries must include the true section joins and no segment may straddle one;
segments of repeated passages must carry the same section label (and different passages different
ones); each segment's row states its section; LRC lines must land in the segments that hold them and
in their rows' prompt context; plain-text lines are spread over the vocal sections; snapped cuts sit
on line starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mv2desc.describe.song as describe_mod
from mv2desc.data.columns import LYRICS, SECTION
from mv2desc.describe.segments import SegmentConfig, segment_song
from mv2desc.describe.song import DescribeConfig, describe_song
from mv2desc.song import Song
from mv2desc.structure.segments import straddles
from mv2desc.structure.synth_songs import PASSAGES, known_song

FORM = "ABABCB"
LONGEST_BAR_S = max(4 * 60.0 / PASSAGES[letter].tempo_bpm for letter in set(FORM))


def _lrc(path: Path, lines: list[tuple[float, float, str]]) -> Path:
    """An LRC file; each line ended by an empty time tag (so its end is known)."""
    def tag(t: float) -> str:
        return f"[{int(t // 60):02d}:{t % 60:05.2f}]"

    path.write_text("[ti:known form]\n" + "".join(f"{tag(a)}{text}\n{tag(b)}\n" for a, b, text in lines), encoding="utf-8")
    return path


def _letter_at(song, t: float) -> str:
    for (a, b), letter in zip(song.spans, song.form):
        if a <= t < b:
            return letter
    return song.form[-1]


def _describe(song, tmp: Path | None = None, rows: list | None = None, **cfg) -> describe_mod.SongDescription:
    """describe_song on the known song's samples and true beats; ``rows`` collects each segment's row."""
    with pytest.MonkeyPatch.context() as mp:
        if rows is not None:
            original = describe_mod.measured_attributes
            mp.setattr(describe_mod, "measured_attributes", lambda r: (rows.append(dict(r)), original(r))[1])
        return describe_song(Song(song.y, song.sr), None, DescribeConfig(**cfg), beats=song.beats)


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """The song, its LRC lines (one short line in the middle of each section and a few more), the result, the rows."""
    tmp = tmp_path_factory.mktemp("known")
    song = known_song(FORM, 8, seed=1)
    lines = []
    for k, (a, b) in enumerate(song.spans):
        mid = 0.5 * (a + b)
        lines += [(mid - 1.0, mid - 0.2, f"line {k} of section {song.form[k]}"), (b - 3.0, b - 2.0, f"late line {k}")]
    lrc = _lrc(tmp / "song.lrc", lines)
    rows: list[dict] = []
    desc = _describe(song, rows=rows, lyrics=str(lrc))
    return {"song": song, "desc": desc, "rows": rows, "lines": lines, "tmp": tmp}


def test_segment_boundaries_include_the_section_joins_and_none_straddles_one(known):
    song, desc = known["song"], known["desc"]
    cuts = np.array([s.start_s for s in desc.segments[1:]])
    for join in song.boundaries_s:
        assert np.min(np.abs(cuts - join)) <= LONGEST_BAR_S, (join, cuts)  # every join is a cut, within a bar
    assert straddles(desc.segments, desc.structure.sections) == []
    assert straddles(desc.segments, [type("S", (), {"start_s": a})() for a, _ in song.spans], tol_s=LONGEST_BAR_S) == []
    # the segments still cover the song end to end, on the bounds the segmenter allows
    assert desc.segments[0].start_s == 0.0 and desc.segments[-1].end_s == pytest.approx(song.y.size / song.sr)
    assert all(a.end_s == b.start_s for a, b in zip(desc.segments, desc.segments[1:]))
    assert all(s.end_s - s.start_s <= DescribeConfig().segments.max_s + 1e-6 for s in desc.segments)


def test_repeated_sections_carry_the_same_label_and_name(known):
    song, desc, rows = known["song"], known["desc"], known["rows"]
    letters = [_letter_at(song, 0.5 * (s.start_s + s.end_s)) for s in desc.segments]
    labels = [s.section.label for s in desc.segments]
    assert set(letters) == set(FORM)
    for i in range(len(letters)):
        for j in range(i + 1, len(letters)):
            assert (labels[i] == labels[j]) == (letters[i] == letters[j]), (letters, labels)
    names = {letter: {s.section.name for s, x in zip(desc.segments, letters) if x == letter} for letter in set(FORM)}
    assert names == {"A": {"verse"}, "B": {"chorus"}, "C": {"bridge"}}
    # each segment's row states its section, and the prompt's measured block says it
    from mv2desc.data.measured import measured_block

    assert [r[SECTION] for r in rows] == [s.section.name for s in desc.segments]
    assert all(f", {r[SECTION]}" in measured_block(r) for r in rows)


def test_the_result_holds_the_structure_and_each_segments_section(known):
    desc = known["desc"]
    d = json.loads(json.dumps(desc.to_dict()))  # plain JSON
    assert [s["label"] for s in d["structure"]["sections"]] == desc.structure.labels == ["A", "B", "A", "B", "C", "B"]
    assert [(s["section"]["label"], s["section"]["name"]) for s in d["segments"]] == [
        (s.section.label, s.section.name) for s in desc.segments]
    assert d["lyrics"]["timed"] is True and d["lyrics"]["metadata"] == {"ti": "known form"}


def test_lrc_lines_land_in_the_segments_that_hold_them_and_in_their_prompts(known):
    from mv2desc.model.generation import PromptConfig, context_text

    desc, rows, lines = known["desc"], known["rows"], known["lines"]
    got = {ln.text: k for k, s in enumerate(desc.segments) for ln in s.lyrics}
    assert sorted(got) == sorted(text for _, _, text in lines)  # every line, once
    for a, b, text in lines:
        k = got[text]
        seg = desc.segments[k]
        assert seg.start_s <= 0.5 * (a + b) < seg.end_s, (text, a, b, seg)
        line = next(ln for ln in seg.lyrics if ln.text == text)
        assert (line.start_s, line.end_s) == pytest.approx((a, b), abs=0.006) and not line.approximate
    for s, r in zip(desc.segments, rows):
        assert r.get(LYRICS, "") == "\n".join(ln.text for ln in s.lyrics)
        prompt = PromptConfig(include_lyrics=True)
        if s.lyrics:
            assert context_text(r, prompt).endswith("Lyrics: " + " / ".join(ln.text for ln in s.lyrics))
        assert "Lyrics:" not in context_text(r, PromptConfig(include_lyrics=False))


def test_plain_lyrics_are_spread_over_the_vocal_sections(known):
    song = known["song"]
    text = "\n\n".join(f"first of stanza {k}\nsecond of stanza {k}" for k in range(len(FORM)))
    path = known["tmp"] / "plain.txt"
    path.write_text(text, encoding="utf-8")
    desc = _describe(song, lyrics=str(path))
    assert not desc.lyrics.timed and all(ln.approximate for ln in desc.lyrics.lines)
    vocal = desc.structure.vocal_spans()
    assert len(vocal) == len(FORM)  # verse / chorus / bridge: all sung
    # one stanza per vocal section, each line inside its section
    for k, (a, b) in enumerate(vocal):
        mine = [ln for ln in desc.lyrics.lines if ln.text.endswith(f"stanza {k}")]
        assert len(mine) == 2 and all(a - 1e-6 <= ln.start_s and ln.end_s <= b + 1e-6 for ln in mine)
    assert desc.to_dict()["lyrics"]["lines"][0]["approximate"] is True


def test_snapped_cuts_sit_on_line_starts_and_section_boundaries_stay(known):
    song = known["song"]
    # a line starting 0.3 s after every downbeat: every cut has a line start within reach
    starts = [float(t) + 0.3 for t in song.beats.downbeats_s]
    lrc = _lrc(known["tmp"] / "bars.lrc", [(t, t + 0.5, f"bar line {k}") for k, t in enumerate(starts)])
    four = SegmentConfig(target_bars=4, min_bars=2, max_bars=8)  # 8-bar sections cut in two: cuts inside sections
    plain = _describe(song, segments=four)
    snapped = _describe(song, segments=four, lyrics=str(lrc), snap_to_lyrics=True)
    joins = plain.structure.boundaries_s
    starts = snapped.lyrics.line_starts  # as read from the file (hundredths)
    before = [s.start_s for s in plain.segments[1:]]
    after = [s.start_s for s in snapped.segments[1:]]
    assert len(before) == len(after)
    moved = 0
    for b, a in zip(before, after):
        if min(abs(b - j) for j in joins) < 1e-6:
            assert a == b  # a section boundary stays
        else:
            assert min(abs(a - t) for t in starts) < 1e-6 and abs(a - b) <= DescribeConfig().snap_max_shift_s + 1e-6
            moved += 1
    assert moved >= 2
    assert straddles(snapped.segments, snapped.structure.sections) == []


def test_without_sections_the_cut_is_the_plain_one(known):
    song = known["song"]
    desc = _describe(song, sections=False)
    assert desc.structure is None and all(s.section is None for s in desc.segments)
    plain = segment_song(song.y.size / song.sr, song.beats, DescribeConfig().segments)
    assert [(s.start_s, s.end_s) for s in desc.segments] == [(s.start_s, s.end_s) for s in plain]
    assert desc.to_dict()["structure"] is None and desc.to_dict()["lyrics"] is None


def test_song_structure_is_analysed_once_per_config():
    from mv2desc.beats import MusicBeatConfig
    from mv2desc.structure import StructureConfig

    song = known_song("AB", 6)
    s = Song(song.y, song.sr)
    cfg = MusicBeatConfig(tracker="librosa")
    first = s.structure(cfg, StructureConfig())
    assert s.structure(MusicBeatConfig(tracker="librosa"), StructureConfig()) is first  # equal configs: the same analysis
    assert s.structure(cfg, StructureConfig(kernel_bars=4)) is not first
