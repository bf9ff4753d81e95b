"""The metadata description source: its words follow the measured audio and the metadata."""

from __future__ import annotations

from mv2desc.describe.metadata import SongFacts, describe, lyric_motifs

TRACK = SongFacts(id="x1", artist="Someone", song="Night Road", tags=("dreamy",), genres=("electronic",))


def measured(bpm=120.0, rms=-25.0, key="A", mode="minor"):
    return {"tempo_bpm": bpm, "rms_db_mean": rms, "key": key, "mode": mode}


def test_tempo_energy_and_mode_change_the_words():
    slow = describe(TRACK, measured(bpm=70, rms=-35), None)
    fast = describe(TRACK, measured(bpm=170, rms=-12, mode="major"), None)
    assert "slow" in slow and "soft" in slow and "A minor" in slow and "70 BPM" in slow
    assert "fast" in fast and "high-energy" in fast and "A major" in fast and "170 BPM" in fast
    assert "melancholic" in slow and "bright" in fast
    assert "neon-lit club" in slow  # genre -> setting


def test_valence_overrides_mode_for_mood():
    happy = SongFacts(id="x2", artist="A", valence=0.9)
    assert "bright" in describe(happy, measured(mode="minor"), None)


def test_deterministic_and_lyrics_optional():
    lyrics = "river of light\nriver of night\nthe light on the river"
    a = describe(TRACK, measured(), lyrics)
    assert a == describe(TRACK, measured(), lyrics)
    assert "river" in a and "light" in a
    assert "river" not in describe(TRACK, measured(), lyrics, include_lyrics=False)
    assert lyric_motifs("the and you around baby") == []


def test_articles_agree_with_the_next_word():
    import re

    for i in range(30):  # all three phrasing variants, every tempo word
        facts = SongFacts(id=f"id{i}", artist="Someone", song="Night Road")
        for bpm in (70, 100, 125, 170):
            text = describe(facts, measured(bpm=bpm, mode="major"), None)
            assert not re.search(r"\b[Aa] [aeiou]", text), text
            assert not re.search(r"\b[Aa]n [^aeiouAEIOU\s]", text), text
