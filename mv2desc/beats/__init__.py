"""The product's one beat-tracking API (tempo, beats, downbeats): see :mod:`mv2desc.beats.tracking`."""

from mv2desc.beats.config import MusicBeatConfig
from mv2desc.beats.tracking import MusicBeats, resolve_tracker, tempo_from_beats, track_beats, track_file, tracker_info

__all__ = ["MusicBeatConfig", "MusicBeats", "resolve_tracker", "tempo_from_beats", "track_beats", "track_file", "tracker_info"]
