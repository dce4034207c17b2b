"""semwidget.invert on tiny seeded generators (and, marked zoo, on shapes-stylegan2)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import semwidget
from semwidget.common._progress import report_to
from semwidget.inversion import Inversion, Schedule, _starts, invert
from semwidget.nets import StyleGAN2


def _tiny_style(seed: int = 0) -> semwidget.Generator:
    """16×16, style_dim 8: 6 layer-wise latents."""
    torch.manual_seed(seed)
    net = StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8)
    return semwidget.as_generator(net, device="cpu", name="tiny-style", latent_avg=torch.zeros(8))


@pytest.fixture(scope="module")
def tiny_style() -> semwidget.Generator:
    return _tiny_style()


class _TinyConditional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3 * 8 * 8)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(torch.cat([z, c], 1))).view(-1, 3, 8, 8)


def _targets(g: semwidget.Generator, n: int = 2, seed: int = 100) -> torch.Tensor:
    return g.synthesize(g.sample(n, seed=seed))


def test_returns_an_inversion_whose_latents_synthesize_to_its_images(tiny_dcgan):
    x = _targets(tiny_dcgan, 3)
    inv = invert(tiny_dcgan, x, steps=20, init="random", progress=False)
    assert isinstance(inv, Inversion)
    assert len(inv) == 3 and inv.space == "z" and inv.init == "random" and inv.steps == 20
    assert inv.latents.ws.shape == (3, 1, tiny_dcgan.z_dim)
    assert inv.latents.model == tiny_dcgan.fingerprint and inv.latents.space == "z"
    assert torch.equal(inv.images, tiny_dcgan.synthesize(inv.latents))
    assert torch.equal(inv.targets, x)
    assert inv.psnr.shape == inv.ssim.shape == (3,)
    assert inv.loss_curve.shape == (20, 3) and np.isfinite(inv.loss_curve).all()
    assert "Inversion(n=3, space='z'" in repr(inv)
    # The rest of the API takes the latents.
    d = semwidget.SeFa(n_directions=2).fit(tiny_dcgan).directions_
    assert tiny_dcgan.synthesize(semwidget.edit(inv.latents, d[0], 1.0)).shape == x.shape


def test_inversion_improves_on_its_start(tiny_dcgan, tiny_style):
    for g, init in ((tiny_dcgan, "random"), (tiny_style, "mean")):
        x = _targets(g, 2)
        start = invert(g, x, steps=0, init=init, progress=False)
        inv = invert(g, x, steps=80, init=init, progress=False, loss="mse")
        assert (inv.psnr > start.psnr + 3).all(), (g.name, start.psnr, inv.psnr)
        assert inv.loss_curve[-10:].mean() < inv.loss_curve[:10].mean()


def test_deterministic_for_a_seed(tiny_dcgan, tiny_style):
    for g, init in ((tiny_dcgan, "random"), (tiny_style, "mean")):
        x = _targets(g, 2)
        a = invert(g, x, steps=15, init=init, seed=3, progress=False)
        b = invert(g, x, steps=15, init=init, seed=3, progress=False)
        c = invert(g, x, steps=15, init=init, seed=4, progress=False)
        assert torch.equal(a.latents.ws, b.latents.ws)
        assert np.array_equal(a.loss_curve, b.loss_curve)
        assert not torch.equal(a.latents.ws, c.latents.ws)


def test_image_i_does_not_depend_on_the_rest_of_the_batch(tiny_dcgan, tiny_style):
    # Image i uses seed + i: inverted alone with that seed, it comes out the same.
    for g, init in ((tiny_dcgan, "random"), (tiny_style, "mean")):
        x = _targets(g, 3)
        batch = invert(g, x, steps=15, init=init, seed=7, progress=False)
        alone = invert(g, x[2:], steps=15, init=init, seed=9, progress=False)
        assert torch.allclose(batch.latents.ws[2:], alone.latents.ws, atol=1e-4)
        split = invert(g, x, steps=15, init=init, seed=7, progress=False, batch_size=2)
        assert torch.allclose(batch.latents.ws, split.latents.ws, atol=1e-4)


def test_z_stays_on_the_sphere(tiny_dcgan):
    x = _targets(tiny_dcgan, 3)
    steps_seen = []

    def spy(step, losses):
        steps_seen.append(step)

    inv = invert(tiny_dcgan, x, steps=10, init="random", progress=False, callback=spy)
    norms = inv.latents.ws[:, 0].norm(dim=-1)
    assert torch.allclose(norms, torch.full((3,), math.sqrt(tiny_dcgan.z_dim)), atol=1e-4)
    assert steps_seen == list(range(10))


def test_w_space_shares_one_code_and_w_plus_does_not(tiny_style):
    x = _targets(tiny_style, 2)
    w = invert(tiny_style, x, space="w", steps=10, init="mean", progress=False)
    assert torch.equal(w.latents.ws, w.latents.ws[:, :1].expand_as(w.latents.ws))
    wp = invert(tiny_style, x, steps=10, init="mean", progress=False)
    assert wp.space == "w+"
    assert not torch.equal(wp.latents.ws, wp.latents.ws[:, :1].expand_as(wp.latents.ws))
    assert wp.latents.space == "w"  # what the ws hold: mapped codes, as sample() gives


def test_tied_layers_move_together(tiny_style):
    x = _targets(tiny_style, 2)
    tied = invert(tiny_style, x, steps=8, init="mean", schedule=Schedule(lr=0.3, tie=1.0), progress=False)
    assert torch.allclose(tied.latents.ws, tied.latents.ws[:, :1].expand_as(tied.latents.ws), atol=1e-6)


def test_starts(tiny_style):
    x = _targets(tiny_style, 2)
    mean = invert(tiny_style, x, steps=0, init="mean", progress=False)
    assert torch.allclose(mean.latents.ws, mean.latents.ws[:1, :1].expand(2, tiny_style.num_ws, -1))
    rand = invert(tiny_style, x, steps=0, init="random", seed=5, progress=False)
    assert torch.allclose(rand.latents.ws, tiny_style.sample(2, seed=5).ws, atol=1e-6)
    # A warm start from given latents, one per image.
    given = tiny_style.sample(2, seed=11)
    warm = invert(tiny_style, x, steps=0, init=given, progress=False)
    assert warm.init == "latents"
    assert torch.allclose(warm.latents.ws, given.ws, atol=1e-5)
    with pytest.raises(ValueError, match="init has 1 latents for 2 images; expected one per image"):
        invert(tiny_style, x, steps=0, init=given[:1], progress=False)
    with pytest.raises(ValueError, match="init latents belong to model"):
        invert(tiny_style, x, steps=0, init=given.replace(model="0123456789abcdef"), progress=False)
    with pytest.raises(ValueError, match=r"init must be one of \['encoder', 'mean', 'random'\]"):
        invert(tiny_style, x, steps=0, init="zeros", progress=False)


def test_random_start_keeps_the_best_of_its_candidates(tiny_dcgan, monkeypatch):
    x = _targets(tiny_dcgan, 3)
    monkeypatch.setitem(_starts.RANDOM_CANDIDATES, "z", 1)
    plain = invert(tiny_dcgan, x, steps=0, init="random", loss="mse", seed=2, progress=False)
    # One candidate: the seeded random z, as sample() draws it, on the sphere.
    z = tiny_dcgan.sample(3, seed=2).ws[:, 0]
    assert torch.allclose(plain.latents.ws[:, 0], z * math.sqrt(tiny_dcgan.z_dim) / z.norm(dim=1, keepdim=True))
    monkeypatch.setitem(_starts.RANDOM_CANDIDATES, "z", 16)
    best = invert(tiny_dcgan, x, steps=0, init="random", loss="mse", seed=2, progress=False)
    assert (best.psnr >= plain.psnr).all() and (best.psnr > plain.psnr).any()
    # The best of image i's own 16 draws from seed 2 + i.
    for i in range(3):
        draws = torch.randn(16, tiny_dcgan.z_dim, generator=torch.Generator().manual_seed(2 + i))
        images = tiny_dcgan.synthesize(semwidget.Latents(ws=draws[:, None]))
        k = int((images - x[i]).square().flatten(1).mean(1).argmin())
        expected = draws[k] * math.sqrt(tiny_dcgan.z_dim) / draws[k].norm()
        assert torch.allclose(best.latents.ws[i, 0], expected, atol=1e-5)
    alone = invert(tiny_dcgan, x[1:2], steps=0, init="random", loss="mse", seed=3, progress=False)
    assert torch.allclose(alone.latents.ws, best.latents.ws[1:2])


def test_no_encoder_falls_back_and_warns_once_per_model(tiny_dcgan, tiny_style, monkeypatch):
    monkeypatch.setattr(_starts, "_warned", set())
    monkeypatch.setattr(_starts, "_encoder_for", lambda g: None)
    x = _targets(tiny_style, 1)
    hint = r"no encoder for tiny-style; starting from the mean w instead \(pass init='mean'"
    with pytest.warns(UserWarning, match=hint):
        inv = invert(tiny_style, x, steps=0, progress=False)
    assert inv.init == "mean"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        invert(tiny_style, x, steps=0, progress=False)
    with pytest.warns(UserWarning, match="no encoder for TinyDCGAN; starting from a seeded random z.*init='random'"):
        assert invert(tiny_dcgan, _targets(tiny_dcgan, 1), steps=0, progress=False).init == "random"
    with pytest.raises(ValueError, match="init='mean' needs a w space"):
        invert(tiny_dcgan, _targets(tiny_dcgan, 1), steps=0, init="mean", progress=False)


def test_an_encoder_guess_is_converted_to_the_space(tiny_style, monkeypatch):
    guess = tiny_style.sample(2, seed=3).ws + 0.1 * torch.randn(2, tiny_style.num_ws, tiny_style.w_dim)

    class Fake:
        space = "w+"

        def predict(self, images):
            assert images.shape == (2, 3, 16, 16)
            return guess

    monkeypatch.setattr(_starts, "_encoder_for", lambda g: Fake())
    x = _targets(tiny_style, 2)
    wp = invert(tiny_style, x, steps=0, progress=False)
    assert wp.init == "encoder"
    assert torch.allclose(wp.latents.ws, guess, atol=1e-5)
    w = invert(tiny_style, x, space="w", steps=0, progress=False)
    assert torch.allclose(w.latents.ws, guess.mean(1, keepdim=True).expand_as(guess), atol=1e-5)


def test_pixels_outside_the_mask_do_not_change_the_result(tiny_dcgan):
    x = _targets(tiny_dcgan, 2)
    mask = torch.zeros(16, 16)
    mask[4:12, 2:10] = 1
    other = x.clone()
    other[:, :, :4] = -other[:, :, :4]
    other[:, :, :, 12:] = 0.3
    a = invert(tiny_dcgan, x, steps=10, init="random", mask=mask, progress=False)
    b = invert(tiny_dcgan, other, steps=10, init="random", mask=mask, progress=False)
    assert torch.equal(a.latents.ws, b.latents.ws)
    c = invert(tiny_dcgan, other, steps=10, init="random", progress=False)
    assert not torch.equal(a.latents.ws, c.latents.ws)
    with pytest.raises(ValueError, match=r"mask has shape \(8, 8\); expected \(16, 16\)"):
        invert(tiny_dcgan, x, steps=1, init="random", mask=torch.ones(8, 8), progress=False)


def test_a_callback_stops_the_run_and_an_exception_propagates(tiny_dcgan):
    x = _targets(tiny_dcgan, 2)
    inv = invert(tiny_dcgan, x, steps=50, init="random", progress=False, callback=lambda step, losses: step == 4)
    assert inv.steps == 5 and inv.loss_curve.shape == (5, 2)

    class Cancelled(Exception):
        pass

    def cancel(step, losses):
        if step == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        invert(tiny_dcgan, x, steps=50, init="random", progress=False, callback=cancel)


def test_progress_reaches_a_widget_listener_which_can_cancel(tiny_dcgan):
    x = _targets(tiny_dcgan, 2)
    seen = []

    def listener(label, done, total):
        seen.append((label, done, total))
        if done == 3:
            raise KeyboardInterrupt

    with report_to(listener), pytest.raises(KeyboardInterrupt):
        invert(tiny_dcgan, x, steps=20, init="random")
    assert seen == [("inverting 2 images", k, 20) for k in (1, 2, 3)]


def test_bad_arguments(tiny_dcgan, tiny_style):
    x = _targets(tiny_dcgan, 1)
    with pytest.raises(
        ValueError, match=r"space='w\+' does not fit TinyDCGAN, a single-input generator; expected one of \['z'\]"
    ):
        invert(tiny_dcgan, x, space="w+", progress=False)
    with pytest.raises(
        ValueError, match=r"space='z' does not fit tiny-style, a style-based .*expected one of \['w', 'w\+'\]"
    ):
        invert(tiny_style, _targets(tiny_style, 1), space="z", progress=False)
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        invert(tiny_dcgan, x, steps=-1, progress=False)
    with pytest.raises(TypeError, match="invert needs a semwidget Generator"):
        invert(nn.Linear(2, 2), x)
    with pytest.raises(ValueError, match="no images to invert"):
        invert(tiny_dcgan, [], progress=False)
    nan = x.clone()
    nan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite values"):
        invert(tiny_dcgan, nan, progress=False)
    with pytest.raises(ValueError, match="TinyDCGAN is unconditional; call invert\\(\\) without class_index="):
        invert(tiny_dcgan, x, class_index=0, progress=False)


def test_conditional_models_need_a_class():
    torch.manual_seed(0)
    g = semwidget.as_generator(_TinyConditional(), device="cpu", c_dim=2, name="tiny-cond")
    x = g.synthesize(g.sample(2, class_index=1))
    with pytest.raises(ValueError, match=r"tiny-cond is class-conditional \(2 classes\); expected class_index="):
        invert(g, x, init="random", progress=False)
    inv = invert(g, x, steps=30, init="random", class_index=1, progress=False)
    assert torch.equal(inv.latents.c, g.sample(2, class_index=1).c)
    assert inv.psnr.shape == (2,)
    with pytest.raises(ValueError, match=r"class_index must be an int in \[0, 2\)"):
        invert(g, x, init="random", class_index=5, progress=False)


def test_render_is_synthesize_with_gradients(tiny_style):
    lat = tiny_style.sample(2, seed=1)
    ws = lat.ws.clone().requires_grad_(True)
    img = tiny_style.render(ws)
    assert img.requires_grad
    assert torch.allclose(img.detach().clamp(-1, 1), tiny_style.synthesize(lat), atol=1e-6)
    img.square().mean().backward()
    assert ws.grad is not None and float(ws.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match=r"render expects ws of shape \(n, 6, 8\)"):
        tiny_style.render(ws[:, :2])
    with pytest.raises(ValueError, match="expects no conditioning c"):
        tiny_style.render(ws, torch.zeros(2, 1))


@pytest.mark.zoo
def test_shapes_stylegan2_reconstructs_world_renders():
    from semwidget.world import render, sample_factors, to_tensor

    g = semwidget.load("shapes-stylegan2", device="cpu")
    x = to_tensor(render(sample_factors(2, np.random.default_rng(2024))))
    start = invert(g, x, steps=0, init="mean", progress=False)
    inv = invert(g, x, steps=50, init="mean", progress=False)
    assert (inv.psnr > start.psnr + 5).all(), (start.psnr, inv.psnr)
    assert (inv.psnr > 25).all() and (inv.ssim > start.ssim).all()
    assert torch.equal(inv.images, g.synthesize(inv.latents))
