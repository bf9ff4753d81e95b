"""``mv2desc mv generate`` with song structure and timed lyrics, compared with what it was made from.

A song of known form (A B A B, one tempo) and an LRC with a line shortly after every bar line: the SRT
next to the MP4 holds exactly the LRC's lines; with ``--subtitles`` the MP4's ``mov_text`` track holds
them too; with ``--snap_to_lyrics`` every cut that is not a section boundary lands within one frame of
a line start in ``mv.mp4``; repeated sections' prompts state the same motif and the procedural
renderer paints them in the same colours (mean colour of the frames per segment), other sections in
others; the storyboard shows the section strip and the lines; the timeline marks sections and lines.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from infer.__main__ import main as mv_main
from mv2desc.media.audio import write_audio
from mv2desc.structure.synth_songs import PASSAGES, known_song

FPS = 8
SMALL = ["--video.width", "64", "--video.height", "48", "--video.fps", str(FPS), "--sync.render.fps", str(FPS), "--workers", "1",
         "--segments.target_bars", "2", "--segments.min_bars", "2", "--segments.max_bars", "3", "--sync.music.tracker", "librosa"]
ONE_TEMPO = {k: replace(v, tempo_bpm=120.0) for k, v in PASSAGES.items()}  # 2 s bars: the librosa tracker follows one tempo
WORDS = ("rain on the window", "streetlights hum", "we run through the night", "hold the silver moon", "echoes in the hall",
         "ocean of neon", "dancing alone", "fire in the sky")


def _tag(t: float) -> str:
    return f"[{int(t // 60):02d}:{t % 60:05.2f}]"


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("mvsl")
    song = known_song("ABAB", 6, passages=ONE_TEMPO)
    path = write_audio(root / "abab.wav", song.y, song.sr)
    starts = [2.0 * b + 0.3 for b in range(24)]  # 0.3 s after every (true) bar line
    texts = [f"{WORDS[k % len(WORDS)]} {k}" for k in range(len(starts))]
    lrc = root / "abab.lrc"
    lrc.write_text("[ar:test]\n" + "".join(f"{_tag(t)}{x}\n" for t, x in zip(starts, texts)), encoding="utf-8")
    out = root / "mv"
    assert mv_main(["generate", str(path), "--out", str(out), *SMALL, "--lyrics", str(lrc), "--subtitles", "--snap_to_lyrics"]) == 0
    return {"root": root, "song": song, "path": path, "lrc": lrc, "out": out, "starts": starts, "texts": texts, "report": _report(out)}


def test_the_srt_and_the_subtitle_track_hold_the_lrcs_lines(run):
    from mv2desc.lyrics import read_srt, read_subtitle_track

    out, report = run["out"], run["report"]
    assert report["outputs"]["mv.srt"] == str(out / "mv.srt") and report["lyrics"]["lines"] == len(run["texts"])
    srt = read_srt(out / "mv.srt")
    assert [ln.text for ln in srt] == run["texts"]
    assert [ln.start_s for ln in srt] == pytest.approx(run["starts"], abs=1e-3)
    track = read_subtitle_track(out / "mv.mp4")
    assert [ln.text for ln in track] == run["texts"]
    assert [ln.start_s for ln in track] == pytest.approx(run["starts"], abs=1e-3)
    import av

    with av.open(str(out / "mv.mp4")) as c:  # the picture and the sound are still there
        assert c.streams.video and c.streams.audio and c.streams.subtitles[0].codec_context.name == "mov_text"


def test_snapped_cuts_land_within_a_frame_of_a_line_start(run):
    report = run["report"]
    starts = np.array([ln["start_s"] for ln in report["song"]["lyrics"]["lines"]])
    joins = [s["start_s"] for s in report["song"]["structure"]["sections"][1:]]
    cuts = [s["out_start_s"] for s in report["segments"][1:]]
    snapped = [c for c in cuts if min(abs(c - j) for j in joins) > 1.0 / FPS]
    assert len(snapped) >= 4
    for c in snapped:
        assert np.min(np.abs(starts - c)) <= 1.0 / FPS + 1e-6, (c, starts)
    for j in joins:  # section boundaries are cuts, not moved
        assert min(abs(c - j) for c in cuts) <= 0.5 / FPS + 1e-6
    assert report["lyrics"]["snapped"] is True


def test_segments_follow_the_sections_and_carry_their_lines(run):
    report, song = run["report"], run["song"]
    sections = report["song"]["structure"]["sections"]
    assert [s["label"] for s in sections] == ["A", "B", "A", "B"]
    for seg in report["segments"]:
        inside = [s for s in sections if s["start_s"] - 1e-3 <= seg["start_s"] and seg["end_s"] <= s["end_s"] + 1e-3]
        assert len(inside) == 1 and seg["section"]["label"] == inside[0]["label"]  # never straddles a boundary
        true = next(k for k, (a, b) in enumerate(song.spans) if a <= 0.5 * (seg["start_s"] + seg["end_s"]) < b)
        assert seg["section"]["label"] == "AB"[true % 2]
        for line in seg["lyrics"]:
            assert seg["start_s"] <= 0.5 * (line["start_s"] + line["end_s"]) < seg["end_s"]
    assert sorted(line["text"] for seg in report["segments"] for line in seg["lyrics"]) == sorted(run["texts"])


def test_repeated_sections_share_a_motif_in_prompts_and_colours(run):
    from mv2desc.media.video import iter_frames
    from mv2desc.mvgen.words import scene_of

    report = run["report"]
    motifs = report["style_sheet"]["motifs"]
    assert set(motifs) == {"A", "B"}
    assert motifs["A"]["place"] != motifs["B"]["place"] and scene_of(motifs["A"]["place"]) != scene_of(motifs["B"]["place"])
    assert motifs["A"]["palette"] != motifs["B"]["palette"]
    for seg in report["segments"]:
        mine, other = motifs[seg["section"]["label"]], motifs["B" if seg["section"]["label"] == "A" else "A"]
        assert mine["text"] in seg["prompt"] and other["text"] not in seg["prompt"]
        assert seg["motif"] == mine["place"]
    # the procedural renderer paints the motif: same label, same colours; another label, other colours
    frames = np.stack(list(iter_frames(run["out"] / "mv.mp4"))).astype(np.float64)
    means, labels = [], []
    for seg in report["segments"]:
        a, b = int(np.ceil(seg["out_start_s"] * FPS)) + 1, int(np.floor(seg["out_end_s"] * FPS)) - 1
        if b - a >= 4:
            means.append(frames[a:b].reshape(-1, 3).mean(axis=0))
            labels.append(seg["section"]["label"])
    assert labels.count("A") >= 2 and labels.count("B") >= 2
    same = [np.linalg.norm(means[i] - means[j]) for i in range(len(means)) for j in range(i + 1, len(means)) if labels[i] == labels[j]]
    differ = [np.linalg.norm(means[i] - means[j]) for i in range(len(means)) for j in range(i + 1, len(means)) if labels[i] != labels[j]]
    assert max(same) < min(differ), (same, differ)


def test_the_storyboard_shows_the_section_strip_and_the_lines(run):
    page = (run["out"] / "storyboard.html").read_text()
    assert 'class="sections"' in page and "song sections" in page
    for s in run["report"]["song"]["structure"]["sections"]:
        assert f"{s['label']} {s['name']}" in page  # the strip's bands
    for seg in run["report"]["segments"]:
        assert f"section {seg['section']['label']} · {seg['section']['name']}" in page  # each card's section
    for text in run["texts"]:
        assert text in page
    assert "Recurring motifs" in page


def test_the_timeline_marks_sections_and_lyric_lines(run):
    import opentimelineio as otio

    tl = otio.adapters.read_from_file(str(run["out"] / "timeline.otio"))
    audio = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio][0]
    sections = run["report"]["song"]["structure"]["sections"]
    marks = [m for m in audio.markers if m.metadata.get("mv2desc", {}).get("kind") == "section"]
    assert [m.name for m in marks] == [f"section {s['label']}: {s['name']}" for s in sections]
    for m, s in zip(marks, sections):
        assert m.marked_range.start_time.to_seconds() == pytest.approx(s["start_s"], abs=0.5 / FPS)
        assert m.marked_range.end_time_exclusive().to_seconds() == pytest.approx(s["end_s"], abs=0.5 / FPS)
    lyric = [m for m in audio.markers if m.metadata.get("mv2desc", {}).get("kind") == "lyric"]
    assert [m.name for m in lyric] == [f"lyric: {t}" for t in run["texts"]]
    assert [m.marked_range.start_time.to_seconds() for m in lyric] == pytest.approx(run["starts"], abs=0.5 / FPS)


def test_malformed_lrc_is_one_error_line_and_nothing_is_written(run, capsys):
    bad = run["root"] / "bad.lrc"
    bad.write_text("[00:01.00]one\n[00:02.00]two\n[00:61.00]seconds past sixty\n", encoding="utf-8")
    out = run["root"] / "never"
    assert mv_main(["generate", str(run["path"]), "--out", str(out), *SMALL, "--lyrics", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and f"{bad}:3:" in err[0] and "malformed LRC" in err[0], err
    assert not out.exists()


def test_subtitles_without_lyrics_is_refused(run, capsys):
    assert mv_main(["generate", str(run["path"]), "--out", str(run["root"] / "none"), "--subtitles"]) == 2
    err = capsys.readouterr().err
    assert "subtitles needs a lyrics file" in err and not (run["root"] / "none").exists()


@pytest.mark.slow  # a second generate run
def test_a_run_without_lyrics_takes_the_old_srt_away(run, tmp_path):
    import shutil

    out = tmp_path / "mv"
    shutil.copytree(run["out"], out)
    assert mv_main(["generate", str(run["path"]), "--out", str(out), *SMALL]) == 0
    report = _report(out)
    assert not (out / "mv.srt").exists() and "mv.srt" not in report["outputs"] and report["lyrics"] is None
    assert all(not seg["lyrics"] for seg in report["segments"])
    from mv2desc.lyrics import read_subtitle_track

    assert read_subtitle_track(out / "mv.mp4") == []


def test_motifs_rhyme_with_the_form():
    """The style sheet alone: every chorus the same motif, the bridge a change of scene, one section none."""
    from mv2desc.describe.song import SegmentDescription, SongDescription
    from mv2desc.mvgen.style import build_style_sheet
    from mv2desc.mvgen.words import scene_of
    from mv2desc.structure import Section, Structure

    names = {"A": "verse", "B": "chorus", "C": "bridge"}
    form = "ABABCB"
    sections = [Section(8.0 * k, 8.0 * (k + 1), x, names[x], 0.9) for k, x in enumerate(form)]
    segs = [SegmentDescription(s.start_s, s.end_s, "It shows a neon city at night, red lights.", 4, 120.0, "C", "major", -20.0,
                               section=s) for s in sections]
    desc = SongDescription(song="s.wav", duration_s=48.0, tempo_bpm=120.0, key="C", mode="major", energy_db=-20.0,
                           energy_class="moderate", tempo_class="mid", beat_tracker="librosa", n_beats=96, n_downbeats=24,
                           describer="metadata", captioner=None, note="", segments=segs, structure=Structure(sections))
    sheet = build_style_sheet(desc, "", 0)
    assert build_style_sheet(desc, "", 0) == sheet  # deterministic
    m = sheet.motifs
    assert set(m) == {"A", "B", "C"}
    assert m["B"].place == sheet.setting and m["B"].hue_shift == 0  # the chorus keeps the video's own setting and palette
    assert len({m[x].place for x in m}) == 3 and len({scene_of(m[x].place) for x in m}) == 3  # the bridge: a change of scene
    assert len({m[x].palette for x in m}) == 3 and len({m[x].hue_shift for x in m}) == 3
    assert set(m["B"].characters) == {c.name for c in sheet.characters}
    assert m["A"].characters != m["C"].characters
    prompts = [sheet.prompt(s.description, s.section.label) for s in segs]
    for k, x in enumerate(form):
        assert m[x].text() in prompts[k] and all(m[y].text() not in prompts[k] for y in m if y != x)
    shot, style = sheet.keyframe_prompts(segs[4].description, "C")
    assert shot.lower().startswith(m["C"].place) and m["C"].text() in style
    one = replace(desc, structure=Structure([Section(0.0, 48.0, "A", "section", 1.0)]))
    plain = build_style_sheet(one, "", 0)
    assert plain.motifs == {} and plain.prompt("x", "A") == plain.prompt("x")
