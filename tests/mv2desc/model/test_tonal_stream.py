"""The tonal stream reaches the model (issue 20 item 2): collated from the rows' chroma + tonnetz at the
spec's ``tonal_hop_s``, projected into the frame tokens at their times, so the encoder's output changes
when only the tonal stream changes -- a song in another key -- and a model without the stream ignores it.
Its frames (~186 ms) are longer than the real presets' 0.1 s tokens: each token holds the frame it lies in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mv2desc.data import columns as c
from mv2desc.data.feature_config import FeatureConfig, RhythmSettings
from mv2desc.data.spec import FeatureSpec, FeatureSpecMismatch
from mv2desc.model.audio_batch import collate_audio
from mv2desc.model.audio_encoder import AudioEncoder, hold_to_bins, pool_to_bins
from mv2desc.model.config import AudioEncoderConfig

SR = 22050
SPEC = FeatureSpec.from_config(FeatureConfig(), clap_dim=4)


def encoder(streams=None, token_hop_s: float = 0.5, trained: bool = True) -> AudioEncoder:
    """A small encoder; ``trained``: its tonal projection (zero at initialisation) set to random values, as
    training leaves it once the stream is found useful."""
    torch.manual_seed(0)
    cfg = AudioEncoderConfig(dim=32, layers=1, heads=2, clap_dim=4, token_hop_s=token_hop_s, **({"streams": streams} if streams else {}))
    enc = AudioEncoder(cfg, out_dim=16).eval()
    if trained and "tonal" in enc.proj:
        torch.nn.init.normal_(enc.proj["tonal"].weight, std=0.3)
    return enc


def test_the_tonal_projection_starts_at_zero_and_learns():
    """At initialisation the tonal stream adds nothing to the tokens (the encoder behaves as without it);
    the projection's weights get a gradient from the first step, so training can open it."""
    enc = encoder(trained=False).train()
    assert not enc.proj["tonal"].weight.any() and not enc.proj["tonal"].bias.any()
    assert enc.proj["lld"].weight.abs().sum() > 0  # the other streams keep their random initialisation
    n = int(4.0 / SPEC.tonal_hop_s)
    rng = np.random.default_rng(0)
    rows = [{c.DURATION: 4.0, c.CHROMA: rng.uniform(0, 1, (n, 12)), c.TONNETZ: rng.uniform(-0.5, 0.5, (n, 6))}]
    silent = [{**rows[0], c.CHROMA: np.zeros((n, 12)), c.TONNETZ: np.zeros((n, 6))}]
    out = enc(collate_audio(rows, enc.cfg, SPEC))[0]
    with torch.no_grad():
        assert torch.allclose(out, enc(collate_audio(silent, enc.cfg, SPEC))[0])
    out.square().mean().backward()
    assert enc.proj["tonal"].weight.grad is not None and enc.proj["tonal"].weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def song_rows() -> dict[str, dict]:
    """Rows of the same rhythm in C major and in F# major (librosa columns only)."""
    from mv2desc.audio.rhythm_features import RhythmExtractor
    from mv2desc.synth import SongSpec, render

    rhythm = RhythmExtractor(RhythmSettings())
    return {key: {c.DURATION: 6.0, **rhythm(render(SongSpec(tempo_bpm=110.0, key=key, duration_s=6.0, seed=4), SR))} for key in ("C", "F#")}


def test_collation_puts_chroma_beside_tonnetz_at_the_specs_hop():
    rows = [{c.DURATION: 2.0, c.CHROMA: np.full((10, 12), 0.5), c.TONNETZ: np.full((9, 6), -0.25)}, {c.DURATION: 1.0}]
    batch = collate_audio(rows, AudioEncoderConfig(clap_dim=4), SPEC)
    assert batch.tonal.shape == (2, 9, 18) and batch.tonal_hop_s == SPEC.tonal_hop_s == pytest.approx(8 * 512 / SR)
    assert batch.tonal_mask[0].all() and not batch.tonal_mask[1].any()  # a row without the stream: zeros, masked
    assert torch.all(batch.tonal[0, :, :12] == 0.5) and torch.all(batch.tonal[0, :, 12:] == -0.25)
    assert not batch.tonal[1].any()


@pytest.mark.parametrize("token_hop_s", [0.5, 0.1])  # tiny presets / real presets (tokens shorter than a tonal frame)
def test_the_encoder_hears_a_change_of_key_through_the_tonal_stream_alone(song_rows, token_hop_s):
    c_major, fs_major = song_rows["C"], song_rows["F#"]
    swapped = {**c_major, c.CHROMA: fs_major[c.CHROMA], c.TONNETZ: fs_major[c.TONNETZ]}  # only the tonal stream differs
    cfg_enc = encoder(token_hop_s=token_hop_s)
    with torch.no_grad():
        a, mask, times = cfg_enc(collate_audio([c_major], cfg_enc.cfg, SPEC))
        b, mask_b, _ = cfg_enc(collate_audio([swapped], cfg_enc.cfg, SPEC))
    assert torch.equal(mask, mask_b)
    frames = mask[0] & (times[0] > 0) & (times[0] < 6.0)
    moved = (a[0] - b[0]).abs().amax(dim=-1)  # (N,)
    # every frame token moves
    frame_tokens = moved[-cfg_enc.n_frame_tokens(collate_audio([c_major], cfg_enc.cfg, SPEC)):]
    assert frames.any() and bool((frame_tokens > 1e-4).all())
    # a model without the stream is deaf to it
    no_tonal = encoder(["lld", "functionals", "clap", "rhythm"], token_hop_s=token_hop_s)
    assert "tonal" not in no_tonal.proj
    with torch.no_grad():
        x = no_tonal(collate_audio([c_major], no_tonal.cfg, SPEC))[0]
        y = no_tonal(collate_audio([swapped], no_tonal.cfg, SPEC))[0]
    assert torch.equal(x, y)


class PerToken(torch.nn.Module):
    def forward(self, x: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        return x


def test_tonal_frames_are_placed_at_their_time():
    """A chord change at 3 s reaches the tokens after 3 s, not before (the encoder without attention mixing)."""
    enc = encoder(token_hop_s=0.5)
    enc.encoder = PerToken()  # no attention: each token shows what it received
    n = int(6.0 / SPEC.tonal_hop_s)
    chroma = np.zeros((n, 12), np.float32)
    chroma[:, 0] = 1.0
    later = chroma.copy()
    k = int(3.0 / SPEC.tonal_hop_s) + 1
    later[k:, 0], later[k:, 6] = 0.0, 1.0
    rows = [{c.DURATION: 6.0, c.CHROMA: ch, c.TONNETZ: np.zeros((n, 6))} for ch in (chroma, later)]
    with torch.no_grad():
        out, mask, times = enc(collate_audio(rows, enc.cfg, SPEC))
    moved = (out[0] - out[1]).abs().amax(dim=-1) > 1e-6
    frame = mask[0] & (times[0] > 0.2)
    assert not moved[frame & (times[0] < 2.9)].any() and moved[frame & (times[0] > 3.6)].all()


def test_hold_fills_every_bin_that_pooling_would_leave_empty():
    hop, bin_s, n_bins = 8 * 512 / SR, 0.1, 30
    x = torch.arange(16, dtype=torch.float32).reshape(1, 16, 1)
    mask = torch.ones(1, 16, dtype=torch.bool)
    _, pooled_has = pool_to_bins(x, mask, hop, bin_s, n_bins)
    held, held_has = hold_to_bins(x, mask, hop, bin_s, n_bins)
    assert not pooled_has.all() and held_has.all()
    centres = (torch.arange(n_bins) + 0.5) * bin_s
    assert torch.equal(held[0, :, 0], (centres / hop).floor())  # each bin: the frame its centre lies in
    short = torch.ones(1, 16, dtype=torch.bool)
    short[0, 4:] = False  # frames past a sample's end stay masked
    _, has = hold_to_bins(x, short, hop, bin_s, n_bins)
    assert has[0, : int(4 * hop / bin_s)].all() and not has[0, int(4 * hop / bin_s) + 1 :].any()


def test_the_spec_records_the_stream_and_refuses_a_model_it_cannot_feed():
    assert "tonal" in SPEC.streams and (SPEC.tonal_dim, SPEC.tonal_hop_s) == (18, pytest.approx(8 * 512 / SR))
    assert "tonal" in AudioEncoderConfig().streams
    SPEC.check_model(AudioEncoderConfig(clap_dim=4))
    with pytest.raises(FeatureSpecMismatch, match="model.audio.tonal_dim is 12 .* tonal_dim=18") as caught:
        SPEC.check_model(AudioEncoderConfig(clap_dim=4, tonal_dim=12))
    assert "\n" not in str(caught.value)
    without = FeatureSpec(streams=("lld", "functionals", "rhythm", "clap"), clap_dim=4)
    with pytest.raises(FeatureSpecMismatch, match=r"wants \['tonal'\].*rebuild the dataset"):
        without.check_model(AudioEncoderConfig(clap_dim=4))


def test_every_model_preset_uses_the_tonal_stream():
    from pathlib import Path

    import yaml

    from conftest import REPO
    from mv2desc.model.config import CaptionerConfig

    presets = sorted((REPO / "configs" / "model").glob("*.yaml")) + sorted((REPO / "configs" / "train").glob("*.yaml"))
    checked = 0
    for path in presets:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if "model" not in data and path.parent.name == "train":
            continue  # a train preset without a model section (a strategy overlay)
        assert "tonal" in CaptionerConfig.from_dict(data.get("model", data)).audio.streams, path.name
        checked += 1
    assert checked >= 5
