"""The metadata description source: its words follow the measured audio and the metadata, by the rules
in mv2desc/describe/rules.yaml and the attribute bins of the attribute-consistency metric."""

from __future__ import annotations

import itertools
import re

import pytest

from mv2desc.describe.metadata import DescriberRules, SongFacts, describe, lyric_motifs
from mv2desc.metrics.attributes import attribute_consistency, audio_classes, text_classes

TRACK = SongFacts(id="x1", artist="Someone", song="Night Road", tags=("dreamy",), genres=("electronic",))
GRID = list(itertools.product((70.0, 100.0, 130.0, 170.0), (-35.0, -24.0, -12.0), ("major", "minor")))


def measured(bpm=120.0, rms=-25.0, key="A", mode="minor"):
    return {"tempo_bpm": bpm, "rms_db_mean": rms, "key": key, "mode": mode}


def test_tempo_energy_and_mode_change_the_words():
    slow = describe(TRACK, measured(bpm=70, rms=-35), None)
    fast = describe(TRACK, measured(bpm=170, rms=-12, mode="major"), None)
    assert text_classes(slow) == {"tempo": "slow", "energy": "calm", "mode": "minor"}
    assert text_classes(fast) == {"tempo": "fast", "energy": "intense", "mode": "major"}
    assert "A minor" in slow and "70 BPM" in slow and "A major" in fast and "170 BPM" in fast
    assert "melancholic" in slow and "bright" in fast
    assert "neon-lit club" in slow  # genre -> setting


def test_the_describers_own_text_is_fully_attribute_consistent():
    facts = [SongFacts(id=f"t{i}") for i in range(len(GRID))]
    rows = [measured(b, r, mode=m) for b, r, m in GRID]
    texts = [describe(f, row, None, include_identity=False) for f, row in zip(facts, rows)]
    result = attribute_consistency(texts, rows)
    assert result["overall"]["score"] == 1.0
    assert result["overall"]["chance"] < 0.5


def test_scene_palette_and_camera_follow_the_audio_without_genres():
    """A song with no genre or tags (a real file given to `describe`) must not always get the same scene."""
    bare = [describe(SongFacts(id="same"), measured(b, r, mode=m), None, include_identity=False) for b, r, m in GRID]
    scenes = {re.search(r"It shows (.*?), filmed", t).group(1) for t in bare}
    palettes = {re.search(r"The palette is (.*?)\.", t).group(1) for t in bare}
    assert len(scenes) >= 6 and len(palettes) >= 6
    calm = describe(SongFacts(id="same"), measured(70, -35, mode="minor"), None)
    loud = describe(SongFacts(id="same"), measured(70, -12, mode="minor"), None)
    assert calm.split("filmed with ")[1].split(" and ")[0] != loud.split("filmed with ")[1].split(" and ")[0]  # camera


def test_loudness_contour_and_lyric_motifs_add_images():
    rising = {**measured(), "rms": [0.01] * 20 + [0.1] * 20 + [0.3] * 20}
    falling = {**measured(), "rms": [0.3] * 20 + [0.1] * 20 + [0.01] * 20}
    steady = {**measured(), "rms": [0.1] * 60}
    a, b, c = (describe(SongFacts(id="c"), m, None) for m in (rising, falling, steady))
    assert "builds" in a and "falls away" in b and "builds" not in c and "falls away" not in c
    sea = describe(SongFacts(id="c"), measured(), "the ocean the ocean under the ocean")
    assert "the sea breaking on rocks" in sea and "Recurring images echo the lyrics: ocean" in sea


def test_valence_overrides_mode_for_mood():
    happy = SongFacts(id="x2", artist="A", valence=0.9)
    text = describe(happy, measured(mode="minor"), None)
    assert "bright" in text and "A minor" in text  # the mood follows valence, the key stays measured
    assert text_classes(text)["mode"] == audio_classes(measured(mode="minor"))["mode"]  # explicit key wins


def test_deterministic_and_lyrics_optional():
    lyrics = "river of light\nriver of night\nthe light on the river"
    a = describe(TRACK, measured(), lyrics)
    assert a == describe(TRACK, measured(), lyrics)
    assert "river" in a and "light" in a
    assert "river" not in describe(TRACK, measured(), lyrics, include_lyrics=False)
    assert lyric_motifs("the and you around baby") == []


def test_articles_agree_with_the_next_word():
    for i in range(30):  # all three phrasing variants, every tempo and energy word
        facts = SongFacts(id=f"id{i}", artist="Someone", song="Night Road")
        for bpm, rms, mode in GRID:
            text = describe(facts, measured(bpm=bpm, rms=rms, mode=mode), None)
            assert not re.search(r"\b[Aa] [aeiou]", text), text
            assert not re.search(r"\b[Aa]n [^aeiouAEIOU\s]", text), text


def test_rules_file_is_validated(tmp_path):
    import yaml

    from mv2desc.describe.metadata import RULES_FILE

    rules = yaml.safe_load(RULES_FILE.read_text())
    del rules["palette"]["calm"]["minor"]
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(rules))
    with pytest.raises(ValueError, match="palette.calm needs both"):
        DescriberRules.from_yaml(bad)
    rules = yaml.safe_load(RULES_FILE.read_text())
    rules["scens"] = rules.pop("scenes")
    bad.write_text(yaml.safe_dump(rules))
    with pytest.raises(ValueError, match="unknown keys \\['scens'\\], missing keys \\['scenes'\\]"):
        DescriberRules.from_yaml(bad)


@pytest.mark.parametrize("bpm, said", [(84.4, "84 BPM"), (84.5, "85 BPM"), (84.6, "85 BPM"), (119.5, "120 BPM"), (120.4, "120 BPM")])
def test_the_describer_states_the_tempo_it_classifies(bpm, said):
    """Issue 17 item 10: next to a bin edge the printed tempo and the words agree, so the describer's own
    text scores 1.0 (it used to print "85 BPM" with the words of 84.6, "slow")."""
    for i in range(6):  # every phrasing variant
        row = measured(bpm=bpm)
        text = describe(SongFacts(id=f"e{i}"), row, None, include_identity=False)
        assert said in text, text
        assert attribute_consistency([text], [row])["overall"]["score"] == 1.0, text


@pytest.mark.parametrize("bpm", [0.0, None])
def test_no_tempo_measured_no_bpm_stated(bpm):
    """Issue 17 item 13: a silent song (no beats, tempo 0) was described as "(0 BPM)" and "slow"."""
    for i in range(6):
        text = describe(SongFacts(id=f"s{i}"), measured(bpm=bpm, rms=-100.0), None, include_identity=False)
        assert "BPM" not in text and "beatless" in text, text
        assert text_classes(text)["tempo"] is None, text
