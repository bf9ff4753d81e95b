"""The FeatureSpec's defaults are FeatureConfig's (issue 19 item 4): one source of truth for hops, windows,
rates and the tracker; the extractor's spec is FeatureSpec.from_config plus what only the loaded
extractors know, and the shipped demo captioner's spec is reproduced byte for byte."""

from __future__ import annotations

import dataclasses
import json

from conftest import REPO
from mv2desc.data.feature_config import ClapSettings, FeatureConfig, OpenSmileSettings, RhythmSettings
from mv2desc.data.spec import DEFAULT_SPEC, FeatureSpec

DEMO = REPO / "assets" / "demo-captioner"
FROM_CONFIG = ("streams", "lld_hop_s", "clap_window_s", "clap_hop_s", "rhythm_hop_s", "tonal_hop_s", "max_duration_s",
               "opensmile_sample_rate", "rhythm_sample_rate", "beat_tracker")


def test_the_defaults_are_feature_configs():
    default, derived = FeatureSpec(), FeatureSpec.from_config(FeatureConfig())
    assert {f: getattr(default, f) for f in FROM_CONFIG} == {f: getattr(derived, f) for f in FROM_CONFIG}
    assert default == dataclasses.replace(derived, extraction={}, clap_model="") == DEFAULT_SPEC
    cfg = FeatureConfig()
    assert (default.lld_hop_s, default.rhythm_hop_s) == (cfg.opensmile.lld_hop_s, cfg.rhythm.frame_hop_s)
    assert (default.tonal_hop_s, default.tonal_dim) == (cfg.rhythm.tonal_hop_s, 18)
    assert (default.clap_window_s, default.clap_hop_s, default.max_duration_s) == (cfg.clap.window_s, cfg.clap.hop_s, cfg.max_duration_s)
    assert derived.extraction == cfg.to_dict() and derived.feature_config() == cfg


def test_from_config_follows_every_setting_and_leaves_a_disabled_streams_fields_alone():
    cfg = FeatureConfig(max_duration_s=20.0, opensmile=OpenSmileSettings(lld_pool=2, sample_rate=8000),
                        clap=ClapSettings(window_s=4.0, hop_s=2.0), rhythm=RhythmSettings(sample_rate=16000, hop_length=256))
    spec = FeatureSpec.from_config(cfg, clap_dim=32)
    assert spec.streams == ("lld", "functionals", "rhythm", "tonal", "clap") and spec.clap_dim == 32
    assert (spec.lld_hop_s, spec.opensmile_sample_rate, spec.clap_window_s, spec.clap_hop_s) == (0.02, 8000, 4.0, 2.0)
    assert (spec.rhythm_hop_s, spec.rhythm_sample_rate, spec.max_duration_s) == (256 / 16000, 16000, 20.0)
    assert spec.tonal_hop_s == 8 * 256 / 16000
    off = FeatureSpec.from_config(dataclasses.replace(cfg, opensmile=OpenSmileSettings(enabled=False, lld_pool=2),
                                                      clap=ClapSettings(enabled=False, window_s=4.0)))
    assert off.streams == ("rhythm", "tonal") and off.clap_model == ""
    assert (off.lld_hop_s, off.clap_window_s) == (DEFAULT_SPEC.lld_hop_s, DEFAULT_SPEC.clap_window_s)  # as older specs record them


def test_the_extractors_spec_is_from_config_plus_what_the_extractors_measured():
    from mv2desc.audio.features import AcousticFeatureExtractor

    cfg = FeatureConfig(opensmile=OpenSmileSettings(enabled=False), clap=ClapSettings(enabled=False),
                        rhythm=RhythmSettings(hop_length=256))
    spec = AcousticFeatureExtractor(cfg).spec()
    assert spec == FeatureSpec.from_config(cfg, versions=spec.versions)


def test_the_shipped_demo_captioners_spec_is_reproduced_byte_for_byte():
    recorded = json.loads((DEMO / "captioner.json").read_text(encoding="utf-8"))["feature_spec"]
    spec = FeatureSpec.from_dict(recorded, base=DEMO)
    assert spec.to_dict(base=DEMO) == recorded
    again = FeatureSpec.from_config(spec.feature_config(), clap_dim=spec.clap_dim, clap_sample_rate=spec.clap_sample_rate,
                                    clap_weights=spec.clap_weights, versions=spec.versions)
    assert json.dumps(again.to_dict(base=DEMO)) == json.dumps(recorded)
