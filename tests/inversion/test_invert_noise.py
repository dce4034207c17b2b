"""Noise inputs: latents that carry their own maps, and invert(..., optimize_noise=True)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semwidget
from semwidget.inversion import invert
from semwidget.inversion._losses import psnr
from semwidget.nets import StyleGAN2
from semwidget.nets._stylegan2 import NoiseInjection


@pytest.fixture(scope="module")
def noisy_style() -> semwidget.Generator:
    """16×16 StyleGAN2 whose noise inputs matter (their weights are 0.3, not the zeros a fresh net has)."""
    torch.manual_seed(0)
    net = StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8)
    for m in net.modules():
        if isinstance(m, NoiseInjection):
            m.weight.data.fill_(0.3)
    return semwidget.as_generator(net, device="cpu", name="tiny-noisy", latent_avg=torch.zeros(8))


def _other_maps(g: semwidget.Generator, n: int, seed: int = 5) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(n, 1, h, w, generator=gen) for h, w in g.noise_shapes)


def test_latents_carry_noise_through_selection_joins_and_synthesis(noisy_style):
    g = noisy_style
    assert g.noise_shapes == ((4, 4), (8, 8), (8, 8), (16, 16), (16, 16))
    lat = g.sample(3, seed=1)
    fixed = tuple(m.expand(3, -1, -1, -1).clone() for m in g.fixed_noise())
    assert torch.equal(g.synthesize(lat.replace(noise=fixed)), g.synthesize(lat))
    other = lat.replace(noise=_other_maps(g, 3))
    assert not torch.allclose(g.synthesize(other), g.synthesize(lat), atol=1e-2)
    # Selection and joins keep each sample's maps with it.
    picked = other[[2, 0]]
    assert torch.equal(picked.noise[1], other.noise[1][[2, 0]])
    assert torch.equal(g.synthesize(picked), g.synthesize(other)[[2, 0]])
    joined = semwidget.Latents.concat([other[:1], other[1:]])
    assert torch.equal(g.synthesize(joined), g.synthesize(other))
    with pytest.raises(ValueError, match="noise maps and latents without"):
        semwidget.Latents.concat([other[:1], lat[1:]])
    # An edit changes ws and keeps the maps.
    d = semwidget.SeFa(n_directions=1).fit(g).directions_[0]
    edited = semwidget.edit(other, d, 2.0)
    assert edited.noise is other.noise
    # The differentiable path reads them too.
    with torch.no_grad():
        assert torch.allclose(g.render(other.ws, None, other.noise).clamp(-1, 1), g.synthesize(other), atol=1e-6)


def test_bad_noise_is_refused_with_what_was_expected(noisy_style, tiny_dcgan):
    g = noisy_style
    lat = g.sample(2, seed=1)
    with pytest.raises(ValueError, match=r"noise\[0\] must have shape \(2, 1, h, w\)"):
        lat.replace(noise=(torch.zeros(3, 1, 4, 4),))
    with pytest.raises(ValueError, match="non-empty tuple"):
        lat.replace(noise=[torch.zeros(2, 1, 4, 4)])
    with pytest.raises(ValueError, match="reads noise maps of sizes"):
        g.synthesize(lat.replace(noise=(torch.zeros(2, 1, 4, 4),)))
    z = tiny_dcgan.sample(2, seed=0)
    with pytest.raises(ValueError, match="has no noise inputs"):
        tiny_dcgan.synthesize(z.replace(noise=(torch.zeros(2, 1, 4, 4),)))
    x = tiny_dcgan.synthesize(z)
    with pytest.raises(ValueError, match="optimize_noise=True needs a generator with noise inputs"):
        invert(tiny_dcgan, x, steps=1, optimize_noise=True, progress=False)
    with pytest.raises(TypeError, match="optimize_noise must be True or False"):
        invert(g, g.synthesize(lat), steps=1, optimize_noise="yes", progress=False)
    with pytest.raises(ValueError, match="noise_regularize must be a number >= 0"):
        invert(g, g.synthesize(lat), steps=1, optimize_noise=True, noise_regularize=float("nan"), progress=False)


def test_optimised_noise_reaches_images_fixed_noise_cannot(noisy_style):
    """Images made with other maps: fixed noise stays far off, optimised maps come close."""
    g = noisy_style
    truth = g.sample(3, seed=100)
    x = g.synthesize(truth.replace(noise=_other_maps(g, 3)))
    kwargs = dict(steps=150, init="mean", loss="mse", progress=False)
    fixed = invert(g, x, **kwargs)
    free = invert(g, x, optimize_noise=True, **kwargs)
    assert fixed.latents.noise is None
    assert (free.psnr > fixed.psnr + 8).all(), (fixed.psnr, free.psnr)
    # The reported images and PSNR are what synthesize makes of the returned latents.
    assert torch.equal(free.images, g.synthesize(free.latents))
    assert torch.allclose(torch.as_tensor(free.psnr, dtype=torch.float32), psnr(g.synthesize(free.latents), x))
    # Each map stays noise-like: zero mean, unit variance per image.
    for m in free.latents.noise:
        assert m.shape[0] == 3 and m.mean((1, 2, 3)).abs().max() < 1e-5
        assert torch.allclose(m.square().mean((1, 2, 3)), torch.ones(3), atol=1e-4)
    # The penalty holds them nearer white noise: without it they fit more, and less noise-like.
    loose = invert(g, x, optimize_noise=True, noise_regularize=0.0, **kwargs)
    tight = invert(g, x, optimize_noise=True, noise_regularize=100.0, **kwargs)
    assert loose.psnr.mean() > free.psnr.mean() > tight.psnr.mean()


def test_noise_inversion_is_deterministic_per_image_and_starts_at_the_stored_maps(noisy_style):
    g = noisy_style
    x = g.synthesize(g.sample(3, seed=100).replace(noise=_other_maps(g, 3)))
    start = invert(g, x, steps=0, init="mean", optimize_noise=True, progress=False)
    for m, fixed in zip(start.latents.noise, g.fixed_noise()):
        assert torch.equal(m, fixed.expand(3, -1, -1, -1))
    a = invert(g, x, steps=20, init="mean", optimize_noise=True, progress=False, batch_size=3)
    b = invert(g, x, steps=20, init="mean", optimize_noise=True, progress=False, batch_size=3)
    assert all(torch.equal(p, q) for p, q in zip(a.latents.noise, b.latents.noise))
    # Batches of one give each image what it gets alone, up to batched rounding.
    c = invert(g, x, steps=20, init="mean", optimize_noise=True, progress=False, batch_size=1)
    for p, q in zip(a.latents.noise, c.latents.noise):
        assert torch.allclose(p, q, atol=1e-3)


def test_a_callback_stopping_early_leaves_one_code_and_one_set_of_maps_per_image(noisy_style):
    g = noisy_style
    x = g.synthesize(g.sample(3, seed=100))
    stop = lambda step, _: step >= 4  # noqa: E731
    inv = invert(g, x, steps=30, init="mean", optimize_noise=True, progress=False, batch_size=2, callback=stop)
    assert inv.steps == 5 and len(inv.latents) == 3
    assert all(m.shape[0] == 3 for m in inv.latents.noise)
    assert torch.equal(inv.images, g.synthesize(inv.latents, batch_size=2))


def test_a_batch_never_optimised_keeps_its_best_start_in_z(tiny_dcgan):
    """In z a random start runs four chains per image; a batch the callback stopped before
    keeps each image's best-scored candidate, one code per image."""
    x = tiny_dcgan.synthesize(tiny_dcgan.sample(3, seed=100))
    stop = lambda step, _: step >= 2  # noqa: E731
    inv = invert(tiny_dcgan, x, steps=30, init="random", progress=False, batch_size=2, callback=stop)
    assert inv.latents.ws.shape == (3, 1, tiny_dcgan.z_dim) and inv.psnr.shape == (3,)
    alone = invert(tiny_dcgan, x[2:], steps=0, init="random", seed=2, progress=False)
    assert torch.allclose(inv.latents.ws[2], alone.latents.ws[0], atol=1e-6)


def test_the_explorer_refuses_latents_with_their_own_maps_before_inverting(noisy_style):
    from semwidget import Explorer

    g = noisy_style
    x = g.synthesize(g.sample(1, seed=100))
    own = invert(g, x, steps=1, init="mean", optimize_noise=True, progress=False)
    with pytest.raises(ValueError, match="invert without it for the Explorer"):
        Explorer(g, n_samples=1, images=own)
    calls = []
    with pytest.raises(ValueError, match="invert without it for the Explorer"):
        Explorer(g, n_samples=1, images=x, invert_options={"optimize_noise": True, "callback": calls.append})
    assert calls == []  # refused before a step ran
    with pytest.raises(ValueError, match="invert without it for the Explorer"):
        Explorer(g, n_samples=1, invert_options={"optimize_noise": True})  # before any image is dropped


def test_scoring_given_latents_reads_their_maps_and_keys_its_cache_by_them(noisy_style, tmp_path):
    from semwidget.scorers import Brightness

    g = noisy_style
    d = semwidget.SeFa(n_directions=1).fit(g).directions_
    plain = g.sample(6, seed=3)
    own = plain.replace(noise=_other_maps(g, 6))
    args = dict(n_samples=6, batch_size=3, shard_size=3, progress=False)
    a = semwidget.attribute_change(g, d, Brightness(), latents=plain, cache=tmp_path / "c", **args)
    b = semwidget.attribute_change(g, d, Brightness(), latents=own, cache=tmp_path / "c", **args)
    fresh = semwidget.attribute_change(g, d, Brightness(), latents=own, **args)
    assert np.array_equal(b.values, fresh.values) and not np.array_equal(a.values, b.values)
