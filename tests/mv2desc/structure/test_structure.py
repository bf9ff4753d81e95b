"""Song structure against songs whose structure is known: synthetic passages that differ in key, mode,
tempo and energy, concatenated as A B A B C B; boundaries must land near the true joins, repeated
passages must share a label and different ones must not; segments cut with the sections must never
straddle a boundary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mv2desc.beats import MusicBeats
from mv2desc.structure import NAMES, Section, Structure, StructureConfig, analyse_structure
from mv2desc.structure.segments import section_cut_indices, segments_within_sections, straddles
from mv2desc.structure.synth_songs import PASSAGES, known_song


@pytest.fixture(scope="module")
def ababcb():
    song = known_song("ABABCB", {"A": 8, "B": 8, "C": 6}, seed=3)
    return song, analyse_structure(song.y, song.sr, song.beats, StructureConfig())


def _bar_s(letter: str) -> float:
    return 4 * 60.0 / PASSAGES[letter].tempo_bpm


def test_boundaries_land_on_the_true_joins(ababcb):
    song, st = ababcb
    got = np.array(st.boundaries_s)
    assert len(got) == len(song.boundaries_s) == 5
    # every join found within half a second (the joins are bar lines: the boundary is that bar line)
    for t in song.boundaries_s:
        assert np.min(np.abs(got - t)) < 0.5, (t, got)
    # every boundary is a downbeat; sections cover the song end to end
    assert all(np.min(np.abs(song.beats.downbeats_s - b)) < 1e-6 for b in got)
    assert st.sections[0].start_s == 0.0 and st.sections[-1].end_s == pytest.approx(song.y.size / song.sr)
    assert all(a.end_s == b.start_s for a, b in zip(st.sections, st.sections[1:]))


def test_repeated_passages_share_a_label_and_get_names(ababcb):
    song, st = ababcb
    # the estimated label covering the middle of each true section
    got = [st.at(0.5 * (a + b)).label for a, b in song.spans]
    for i in range(len(got)):
        for j in range(i + 1, len(got)):
            assert (got[i] == got[j]) == (song.form[i] == song.form[j]), (song.form, got)
    assert st.labels == ["A", "B", "A", "B", "C", "B"]
    # B: the most repeated and the loudest (energy 0.8) -> chorus; A repeated -> verse; C once, late -> bridge
    assert [s.name for s in st.sections] == ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
    assert all(0.5 <= s.confidence <= 1.0 for s in st.sections)


def test_intro_and_outro_named_from_the_evidence():
    quiet = {**PASSAGES, "I": PASSAGES["C"], "O": PASSAGES["D"]}
    song = known_song("IABABO", {"I": 4, "A": 8, "B": 8, "O": 6}, passages=quiet)
    st = analyse_structure(song.y, song.sr, song.beats)
    assert st.labels == ["A", "B", "C", "B", "C", "D"]
    assert [s.name for s in st.sections] == ["intro", "verse", "chorus", "verse", "chorus", "outro"]


def test_structure_dict_round_trip_is_json(ababcb):
    _, st = ababcb
    d = json.loads(json.dumps(st.to_dict()))
    back = Structure.from_dict(d)
    assert back.labels == st.labels and [s.name for s in back.sections] == [s.name for s in st.sections]
    assert [s.start_s for s in back.sections] == pytest.approx([s.start_s for s in st.sections], abs=1e-3)
    assert set(d) == {"method", "bars", "sections"} and set(d["sections"][0]) == {"start_s", "end_s", "label", "name", "confidence"}
    spans = back.vocal_spans()
    assert spans == [(s.start_s, s.end_s) for s in back.sections]  # no intro / outro here: every section


def test_with_the_products_tracker_boundaries_within_3_s():
    from mv2desc.beats import MusicBeatConfig, track_beats

    song = known_song("ABAB", {"A": 8, "B": 8}, seed=1)
    beats = track_beats(song.y, song.sr, MusicBeatConfig(tracker="librosa"))
    st = analyse_structure(song.y, song.sr, beats)
    got = np.array(st.boundaries_s)
    assert len(got) == 3 and all(np.min(np.abs(got - t)) < 3.0 for t in song.boundaries_s), (got, song.boundaries_s)
    assert st.labels[0] == st.labels[2] and st.labels[1] == st.labels[3] and st.labels[0] != st.labels[1]


def test_short_song_silence_and_no_beats_give_one_or_more_whole_sections():
    sr = 22050
    short = known_song("AB", 2)
    st = analyse_structure(short.y, short.sr, short.beats)
    assert len(st.sections) == 1 and st.sections[0].end_s == pytest.approx(short.y.size / sr)
    silence = np.zeros(sr * 40, dtype=np.float32)
    none = MusicBeats(0.0, np.zeros(0), np.zeros(0), "librosa", 40.0)
    st = analyse_structure(silence, sr, none)  # a 2 s grid, no music: no novelty peak reaches the floor
    assert [(s.start_s, s.end_s, s.label) for s in st.sections] == [(0.0, 40.0, "A")]


def test_config_and_section_validation():
    for bad in ({"timbre_weight": 1.5}, {"kernel_bars": 0}, {"peak_threshold": -0.1}, {"label_threshold": 0.0},
                {"min_section_bars": 0}, {"sample_rate": 100}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            StructureConfig(**bad)
    with pytest.raises(ValueError):
        Section(2.0, 1.0, "A", "verse", 0.5)
    with pytest.raises(ValueError):
        Section(0.0, 1.0, "A", "hook", 0.5)
    assert set(NAMES) == {"intro", "verse", "chorus", "bridge", "outro", "section"}


def test_segments_follow_sections_and_never_straddle_a_boundary(ababcb):
    from mv2desc.describe.segments import Segment, SegmentConfig, bar_lines

    song, st = ababcb
    duration = song.y.size / song.sr
    cfg = SegmentConfig()
    lines, source = bar_lines(song.beats, duration, cfg)
    assert source == "downbeats"
    bounds = np.concatenate([[0.0], lines, [duration]])
    edges = section_cut_indices(bounds, st.sections)
    assert [float(bounds[k]) for k in edges[1:-1]] == pytest.approx(st.boundaries_s)
    pairs = segments_within_sections(bounds, st.sections, min_bars=cfg.min_bars, target_bars=cfg.target_bars,
                                     max_bars=cfg.max_bars, max_s=cfg.max_s)
    segs = [Segment(float(bounds[a]), float(bounds[b]), b - a) for a, b in pairs]
    assert segs[0].start_s == 0.0 and segs[-1].end_s == duration
    assert all(x.end_s == y.start_s for x, y in zip(segs, segs[1:]))
    assert straddles(segs, st.sections) == []
    assert set(edges) <= {a for a, _ in pairs} | {pairs[-1][1]}
    assert all(cfg.min_bars <= s.bars <= cfg.max_bars and s.duration_s <= cfg.max_s for s in segs)
    # a plain fixed-length cut straddles the sections (the case this helper exists for)
    naive = [(float(bounds[a]), float(bounds[min(a + 8, len(bounds) - 1)])) for a in range(0, len(bounds) - 1, 8)]
    assert straddles(naive, st.sections)


def test_segments_within_sections_edge_cases():
    bounds = np.arange(0.0, 41.0, 2.0)  # 20 bars of 2 s
    secs = [Section(0.0, 6.0, "A", "intro", 1.0), Section(6.0, 40.0, "B", "chorus", 1.0)]
    pairs = segments_within_sections(bounds, secs, min_bars=4, target_bars=8, max_bars=8, max_s=30.0)
    # the 3-bar intro is one segment (a section boundary outranks min_bars); 17 bars -> 8 + 9 is over max: 3 pieces
    assert pairs[0] == (0, 3) and all(b - a <= 8 for a, b in pairs) and pairs[-1][1] == 20
    assert [b - a for a, b in pairs[1:]] in ([6, 6, 5], [5, 6, 6], [6, 5, 6])
    # a section too long for max_s in one piece of max_bars: split on bars so max_s holds
    pairs = segments_within_sections(bounds, [Section(0.0, 40.0, "A", "section", 1.0)], min_bars=1, target_bars=16,
                                     max_bars=16, max_s=10.0)
    assert all(bounds[b] - bounds[a] <= 10.0 for a, b in pairs)
