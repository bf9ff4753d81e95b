"""Issue 18's second fault matrix, the ``mv`` / ``describe`` / ``eval score`` side: a damaged cache entry is
a miss, bars are counted between downbeats, a tempo whenever beats are found, one run per output
folder, and the messages a user sees for a folder given as a song or a JSON array given as JSONL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mv2desc.cli import main as cli
from mv2desc.media.audio import write_audio
from mv2desc.synth import SongSpec, render

SR = 22050
SMALL = ["--video.width", "64", "--video.height", "48", "--video.fps", "8", "--sync.render.fps", "8", "--workers", "1",
         "--segments.target_bars", "2", "--segments.min_bars", "2", "--segments.max_bars", "3"]


def _song(path: Path, seconds: float) -> Path:
    return write_audio(path, render(SongSpec(tempo_bpm=120, energy=0.7, duration_s=seconds, seed=1), SR), SR)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "nothing on stderr"
    line = err[-1]
    assert line.startswith("error:") and "Traceback" not in "\n".join(err), err
    return line


def test_a_damaged_cached_clip_is_rendered_again(tmp_path, caplog):
    """Item 7: a cached clip truncated on disk is a cache miss (re-rendered, with a warning), not a crash."""
    song = _song(tmp_path / "song.wav", 8.0)
    out = tmp_path / "mv"
    argv = ["mv", "generate", str(song), "--out", str(out), *SMALL]
    assert cli(argv) == 0
    first = json.loads((out / "report.json").read_text())
    victim = Path(first["segments"][1]["clip"])
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 3])
    with caplog.at_level("WARNING"):
        assert cli(argv) == 0
    again = json.loads((out / "report.json").read_text())
    assert [s["cached"] for s in again["segments"]] == [k != 1 for k in range(len(again["segments"]))]
    assert any("damaged" in r.getMessage() and victim.name in r.getMessage() for r in caplog.records)
    assert victim.stat().st_size > 0 and again["render"]["rendered"] == 1


def test_bars_are_counted_between_downbeats(tmp_path, capsys):
    """Item 8: a 16 s song at 120 bpm in 4/4 is 8 bars; a 6 s span of it is 3."""
    from mv2desc.beats import MusicBeats
    from mv2desc.describe.segments import SegmentConfig, segment_song

    song = _song(tmp_path / "song.wav", 16.0)
    assert cli(["describe", str(song), "--out", str(tmp_path / "d.json")]) == 0
    described = json.loads((tmp_path / "d.json").read_text())
    assert [s["bars"] for s in described["segments"]] == [8]
    beats = np.arange(0.01, 16.0, 0.5)
    music = MusicBeats(120.0, beats, beats[::4], "test", 16.0)
    segs = segment_song(16.0, music, SegmentConfig(single_max_s=5, target_bars=3, min_bars=3, max_bars=3))
    assert [s.bars for s in segs[:2]] == [3, 3] and segs[1].end_s - segs[1].start_s == pytest.approx(6.0)
    assert sum(s.bars for s in segs) == 8


def test_mv_beats_reports_a_tempo_whenever_beats_are_found(tmp_path, capsys):
    """Item 9: a clean 16 s song at 120 bpm has its tempo in the JSON; silence has None and says why."""
    song = _song(tmp_path / "song.wav", 16.0)
    assert cli(["mv", "beats", str(song), "-q"]) == 0
    beats = json.loads(capsys.readouterr().out)
    assert beats["tempo"] == pytest.approx(120.0, rel=0.02) and "tempo_note" not in beats
    silent = write_audio(tmp_path / "silence.wav", np.zeros(4 * SR, np.float32), SR)
    assert cli(["mv", "beats", str(silent), "-q"]) == 0
    beats = json.loads(capsys.readouterr().out)
    assert beats["tempo"] is None and "no tempo" in beats["tempo_note"]


def test_one_generate_run_per_output_folder(tmp_path, capsys):
    """Item 12: a second run into a folder another run holds is refused, naming the holder; nothing written."""
    import os

    from mv2desc.outputs import folder_lock

    song = _song(tmp_path / "song.wav", 4.0)
    out = tmp_path / "mv"
    assert cli(["mv", "generate", str(song), "--out", str(out), *SMALL]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".mv2desc-lock")}
    other = _song(tmp_path / "other.wav", 5.0)
    with folder_lock(out, "generate"):  # as another process holding the folder would
        proc = subprocess.run([sys.executable, "-c", "import sys; from mv2desc.cli import main; sys.exit(main(sys.argv[1:]))",
                               "mv", "generate", str(other), "--out", str(out), *SMALL], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error:") and f"pid {os.getpid()}" in line and "Traceback" not in proc.stderr, proc.stderr
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".mv2desc-lock")}
    assert after == before


def test_a_folder_given_as_a_song_says_so(tmp_path, capsys):
    (tmp_path / "album").mkdir()
    assert cli(["describe", str(tmp_path / "album")]) == 2
    line = _one_line(capsys)
    assert "is a folder" in line and "no such file" not in line


def test_a_json_array_given_to_eval_score_says_jsonl_is_expected(tmp_path, capsys):
    p = tmp_path / "predictions.json"
    p.write_text(json.dumps([{"prediction": "a", "reference": "a"}], indent=2))
    assert cli(["eval", "score", "--predictions", str(p)]) == 2
    line = _one_line(capsys)
    assert "JSON array" in line and "JSONL" in line and "one JSON object per line" in line


def test_a_killed_writers_temporary_clip_is_removed(tmp_path):
    """A clip a killed render worker was writing (``.tmp-<pid>-<key>.mp4``) is removed when the cache is
    opened again; a living process's is kept."""
    import os

    from mv2desc.mvgen.cache import ClipCache

    clips = tmp_path / "cache" / "clips"
    clips.mkdir(parents=True)
    dead, live = clips / ".tmp-999999999-abc.mp4", clips / f".tmp-{os.getpid()}-def.mp4"
    dead.write_bytes(b"half"), live.write_bytes(b"half")
    ClipCache(tmp_path / "cache")
    assert not dead.exists() and live.exists()


def test_a_missed_first_downbeat_still_counts_its_bar():
    """The librosa tracker may find the first downbeat one bar late (2.0 s of a 120 bpm song): the lead-in
    is a whole bar and is counted; a one-beat pickup is not."""
    from mv2desc.beats import MusicBeats
    from mv2desc.describe.segments import SegmentConfig, count_bars

    beats = np.arange(0.5, 16.0, 0.5)
    late = MusicBeats(120.0, beats, np.arange(2.0, 16.0, 2.0), "test", 16.0)
    assert count_bars(late, 16.0, SegmentConfig(), 0.0, 16.0) == 8
    pickup = MusicBeats(120.0, beats, np.arange(0.5, 16.0, 2.0), "test", 16.5)
    assert count_bars(pickup, 16.5, SegmentConfig(), 0.0, 16.5) == 8
