"""Storyboard times are the segment times, rounded once (issue 17, item 13): 59.997 s is ``1:00.00``,
never ``0:60.00``."""

from __future__ import annotations

import re

import pytest

from mv2desc.mvgen.storyboard import _time, render_storyboard


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (0.0, "0:00.00"),
        (0.004, "0:00.00"),
        (0.006, "0:00.01"),
        (9.999, "0:10.00"),
        (59.994, "0:59.99"),
        (59.995, "1:00.00"),  # stored a hair above 59.995: rounds up and carries into the minute
        (59.997, "1:00.00"),
        (59.999999, "1:00.00"),
        (60.0, "1:00.00"),
        (61.5, "1:01.50"),
        (119.996, "2:00.00"),
        (3599.996, "60:00.00"),
        (-1e-9, "0:00.00"),
    ],
)
def test_time_rounds_before_splitting_minutes_and_seconds(t, text):
    assert _time(t) == text


def test_every_rendered_time_has_seconds_below_60():
    style = {"palette": [[10, 20, 30]], "characters": [], "setting": "s", "look": "l", "theme": ""}
    song = {"path": "song.wav", "duration_s": 119.997, "tempo_bpm": 120.0, "key": "C", "mode": "major",
            "renderer": "r", "describer": "d"}
    bounds = [0.0, 29.9996, 59.997, 89.9999, 119.997]
    segments = [
        {"index": k, "start_s": a, "end_s": b, "bars": 4, "description": f"shot {k}", "edited": False, "thumbnail": "",
         "n_music_beats": 8, "n_matched": 8, "bas_visual": 0.5, "cached": False}
        for k, (a, b) in enumerate(zip(bounds, bounds[1:]))
    ]
    page = render_storyboard(title="t", song=song, style=style, scores={}, strip_svg="", segments=segments, notes=[])
    times = re.findall(r"(\d+):(\d\d\.\d\d) –", page) + re.findall(r"– (\d+):(\d\d\.\d\d)", page)
    assert len(times) == 2 * len(segments)
    assert all(float(sec) < 60.0 for _, sec in times), times
    assert "0:30.00 – 1:00.00" in page and "1:30.00 – 2:00.00" in page
