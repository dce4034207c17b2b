"""The rosinality StyleGAN2 adapter and its checkpoint loader, on a tiny seeded model."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytest
import torch

import semwidget
from semwidget.generators import RosinalityStyleGAN
from semwidget.nets import DCGAN, StyleGAN2
from semwidget.zoo._checkpoints import _build, load_rosinality_checkpoint

STYLE_DIM = 32


def tiny_net(seed: int = 0) -> StyleGAN2:
    """32×32, 8 channels everywhere (channel_max), two mapping layers: ~20k parameters."""
    torch.manual_seed(seed)
    net = StyleGAN2(32, STYLE_DIM, 2, channel_multiplier=1, channel_max=8)
    # Noise weights start at zero; make the fixed noise buffers matter.
    for name, p in net.named_parameters():
        if name.endswith("noise.weight"):
            p.data.fill_(0.3)
    return net


@pytest.fixture
def gen() -> RosinalityStyleGAN:
    return semwidget.as_generator(tiny_net(), device="cpu", latent_avg=torch.randn(STYLE_DIM))


def test_as_generator_picks_the_rosinality_adapter(gen):
    assert isinstance(gen, RosinalityStyleGAN)
    assert (gen.z_dim, gen.w_dim, gen.num_ws, gen.img_resolution) == (STYLE_DIM, STYLE_DIM, 8, 32)
    assert gen.latent_space == "w" and gen.default_truncation == 1.0
    assert gen.layer_names == [
        "4x4 conv1", "8x8 conv0", "8x8 conv1", "16x16 conv0", "16x16 conv1",
        "32x32 conv0", "32x32 conv1", "32x32 torgb",
    ]  # fmt: skip


def test_latent_avg_defaults_to_a_logged_seeded_mean(caplog):
    with caplog.at_level(logging.INFO, logger="semwidget"):
        a = RosinalityStyleGAN(tiny_net(), device="cpu")
    b = RosinalityStyleGAN(tiny_net(), device="cpu")
    assert "4096 mapped samples" in caplog.text
    assert a.latent_avg.shape == (STYLE_DIM,) and torch.equal(a.latent_avg, b.latent_avg)


def test_sample_is_deterministic_per_seed(gen):
    lat = gen.sample(3, seed=10)
    assert lat.ws.shape == (3, gen.num_ws, STYLE_DIM)
    for i in range(3):
        # Equal up to float rounding: BLAS may sum in another order for another batch size.
        assert torch.allclose(lat.ws[i], gen.sample(1, seed=10 + i).ws[0], atol=1e-6, rtol=0)
    assert torch.equal(lat.ws[:, 0:1].expand_as(lat.ws), lat.ws)  # one w tiled over the layers


def test_truncation_zero_gives_latent_avg_on_every_layer(gen):
    ws = gen.sample(2, seed=0, truncation=0.0).ws
    assert torch.allclose(ws, gen.latent_avg.expand_as(ws))
    half = gen.sample(2, seed=0, truncation=0.5).ws
    full = gen.sample(2, seed=0).ws
    assert torch.allclose(half, (full + gen.latent_avg) / 2, atol=1e-6)


def test_synthesize_equals_the_raw_module(gen):
    lat = gen.sample(3, seed=4)
    img = gen.synthesize(lat, batch_size=2)
    assert img.shape == (3, 3, 32, 32) and img.dtype == torch.float32
    assert img.min() >= -1 and img.max() <= 1
    with torch.no_grad():
        raw, _ = gen.module([lat.ws], input_is_latent=True, randomize_noise=False)
    assert torch.allclose(img, raw.clamp(-1, 1), atol=1e-5, rtol=0)  # batches of 2 vs 3: rounding only
    assert torch.equal(img, gen.synthesize(lat, batch_size=2))  # fixed noise: repeatable


@pytest.mark.parametrize("layer", [0, 3, 7])
def test_a_per_layer_edit_changes_the_image(gen, layer):
    lat = gen.sample(2, seed=1)
    ws = lat.ws.clone()
    ws[:, layer] += 3 * torch.randn(STYLE_DIM, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(gen.synthesize(lat), gen.synthesize(lat.replace(ws=ws)), atol=1e-3)


def test_projection_weights_follow_the_ws_rows_each_modulation_reads(gen):
    """Hook every modulation, feed distinct rows, and see which row each one reads."""
    ws = torch.randn(2, gen.num_ws, STYLE_DIM)
    seen: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, inp, _o, name=name: seen.__setitem__(name, inp[0]))
        for name, m in gen.module.named_modules()
        if name.endswith("modulation")
    ]
    try:
        with torch.no_grad():
            gen.module([ws], input_is_latent=True, randomize_noise=False)
    finally:
        for h in handles:
            h.remove()
    reads = {name: next(i for i in range(gen.num_ws) if torch.equal(x, ws[:, i])) for name, x in seen.items()}
    conv_reads = {name: i for name, i in reads.items() if "rgb" not in name}

    weights = gen.projection_weights()
    # genforce/sefa's "all": the StyledConvs, and the last ToRGB (it alone reads the last row).
    assert {w.name: w.layer for w in weights} == {**conv_reads, "to_rgbs.2.conv.modulation": gen.num_ws - 1}
    assert reads["to_rgb1.conv.modulation"] == 1 and reads["to_rgbs.2.conv.modulation"] == gen.num_ws - 1
    modules = dict(gen.module.named_modules())
    for w in weights:
        assert w.matrix.dtype == np.float64 and w.matrix.shape == (8, STYLE_DIM)
        assert np.array_equal(w.matrix, modules[w.name].weight.double().numpy())
    assert [w.layer for w in gen.projection_weights([2, 5])] == [2, 5]


def test_projection_weights_of_the_last_row_are_the_last_torgb(gen):
    (rgb,) = gen.projection_weights([gen.num_ws - 1])
    assert rgb.name == "to_rgbs.2.conv.modulation" and rgb.layer == gen.num_ws - 1
    with pytest.raises(ValueError, match=r"indices in \[0, 8\)"):
        gen.projection_weights([8])


def test_checkpoint_round_trip(tmp_path):
    net = tiny_net(seed=3)
    avg = torch.randn(1, STYLE_DIM)
    path = tmp_path / "tiny.pt"
    torch.save({"g_ema": net.state_dict(), "latent_avg": avg}, path)
    loaded = load_rosinality_checkpoint(path, device="cpu")
    direct = RosinalityStyleGAN(net, latent_avg=avg, device="cpu")
    assert isinstance(loaded.module, StyleGAN2) and loaded.name == "tiny"
    assert loaded.fingerprint == direct.fingerprint
    assert torch.equal(loaded.latent_avg, avg[0])
    lat = loaded.sample(3, seed=7, truncation=0.7)
    assert torch.equal(lat.ws, direct.sample(3, seed=7, truncation=0.7).ws)
    assert torch.equal(loaded.synthesize(lat), direct.synthesize(lat))


def test_training_checkpoints_with_args_load(tmp_path):
    """rosinality's train.py also saves g, d, optimisers and an argparse.Namespace."""
    net = tiny_net()
    path = tmp_path / "000100.pt"
    torch.save({"g": net.state_dict(), "g_ema": net.state_dict(), "args": argparse.Namespace(size=32)}, path)
    assert load_rosinality_checkpoint(path, device="cpu").img_resolution == 32


@pytest.mark.parametrize(
    ("size", "style_dim", "n_mlp", "multiplier", "channel_max"),
    [(256, 512, 8, 2, None), (1024, 512, 8, 2, None), (128, 64, 3, 1, None), (32, 32, 2, 2, 8)],
)
def test_architecture_is_read_from_the_shapes(tmp_path, size, style_dim, n_mlp, multiplier, channel_max):
    with torch.device("meta"):
        state = StyleGAN2(size, style_dim, n_mlp, multiplier, channel_max=channel_max).state_dict()
        net = _build(tmp_path / "x.pt", state)
    assert (net.size, net.style_dim, len(net.style) - 1) == (size, style_dim, n_mlp)
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in state.items()}


def test_a_corrupt_file_is_a_value_error(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"definitely not a torch file")
    with pytest.raises(ValueError, match="could not read checkpoint .*expected a file written by torch.save"):
        load_rosinality_checkpoint(path)


def test_other_layouts_are_value_errors(tmp_path):
    path = tmp_path / "dcgan.pt"
    torch.save({"g_ema": DCGAN(z_dim=4, ngf=2).state_dict()}, path)
    with pytest.raises(ValueError, match=r"lacks \['input.input'.*rosinality's stylegan2-pytorch.*found keys"):
        load_rosinality_checkpoint(path)
    torch.save({"generator": tiny_net().state_dict()}, path)
    with pytest.raises(ValueError, match=r"a dict with 'g_ema'.*found a dict with keys \['generator'\]"):
        load_rosinality_checkpoint(path)
    state = tiny_net().state_dict()
    del state["noises.noise_3"]
    torch.save({"g_ema": state}, path)
    with pytest.raises(ValueError, match="(?s)does not match.*noises.noise_3"):
        load_rosinality_checkpoint(path)
