"""The beat-tracker options every ``infer`` command shares (``mv beats|sync|score``, ``describe``)."""

from __future__ import annotations

import argparse

from mv2desc.app import positive_int
from mv2desc.beats import MusicBeatConfig


def music_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("music beats")
    g.add_argument("--tracker", default="auto", choices=("auto", "madmom", "librosa"),
                   help="beat tracker: madmom (accurate; CC BY-NC-SA weights), librosa, or auto (madmom if installed)")
    g.add_argument("--min_bpm", type=float, default=55.0, help="lowest tempo considered")
    g.add_argument("--max_bpm", type=float, default=215.0, help="highest tempo considered")
    g.add_argument("--threads", type=positive_int, default=2, help="processes for the madmom network ensemble")
    g.add_argument("--networks", type=int, default=8, help="madmom downbeat networks to run, 1-8 (fewer = faster)")


def music_cfg(args: argparse.Namespace) -> MusicBeatConfig:

    return MusicBeatConfig(
        tracker=args.tracker, min_bpm=args.min_bpm, max_bpm=args.max_bpm, threads=args.threads, networks=args.networks
    )
