"""semwidget.inversion._losses: values on known cases, masks, weighted sums, metrics."""

from __future__ import annotations

import math

import pytest
import torch

from semwidget.inversion._losses import (
    LOSSES,
    MSE,
    SSIM,
    BlurredMSE,
    Lap1,
    Weighted,
    gaussian_blur,
    laplacian_pyramid,
    make_loss,
    psnr,
    ssim_index,
    ssim_window,
)

ALL = sorted(LOSSES)


def _pair(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(n, 3, size, size, generator=g)).clamp(-1, 1)
    return x, y


@pytest.mark.parametrize("name", ALL)
def test_identical_images_cost_nothing(name):
    x, _ = _pair()
    loss = make_loss(name)(x, x, None, 0.0)
    assert loss.shape == (2,)
    assert torch.allclose(loss, torch.zeros(2), atol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_different_images_cost_something_per_image(name):
    x, y = _pair()
    loss = make_loss(name)(x, y, None, 0.5)
    assert (loss > 1e-3).all()
    # One value per image, independent of the other images in the batch.
    alone = make_loss(name)(x[1:], y[1:], None, 0.5)
    assert torch.allclose(loss[1:], alone, rtol=1e-5, atol=1e-6)


def test_mse_known_value():
    x = torch.zeros(1, 3, 8, 8)
    assert torch.allclose(MSE()(x, x + 0.5), torch.tensor([0.25]))
    assert torch.allclose(psnr(x, x + 0.5), torch.tensor([10 * math.log10(4 / 0.25)]))


def test_blurred_mse_anneals_to_plain_mse():
    x, y = _pair()
    loss = BlurredMSE(sigma=2.0, anneal=0.75)
    assert loss.sigma_at(0.0) == pytest.approx(2.0)
    assert loss.sigma_at(0.375) == pytest.approx(1.0)
    assert loss.sigma_at(0.75) == loss.sigma_at(1.0) == 0.0
    assert torch.allclose(loss(x, y, None, 1.0), MSE()(x, y))
    # Blurring averages noise away: the early, blurred loss is smaller.
    assert (loss(x, y, None, 0.0) < MSE()(x, y)).all()
    # A constant difference survives the blur away from the border.
    flat = gaussian_blur(torch.ones(1, 1, 32, 32), 2.0)
    assert torch.allclose(flat[..., 8:-8, 8:-8], torch.ones(1, 1, 16, 16), atol=1e-5)
    assert BlurredMSE(sigma=1.5, anneal=0).sigma_at(0.9) == 1.5


@pytest.mark.parametrize("name", ALL)
def test_pixels_outside_the_mask_do_not_matter(name):
    x, y = _pair()
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, 10:50, 5:40] = 1
    changed = y.clone()
    changed[:, :, :8] = torch.rand_like(changed[:, :, :8])  # outside the mask only
    changed[:, :, :, 45:] = -changed[:, :, :, 45:]
    changed_pred = x.clone()
    changed_pred[:, :, 55:] = 1.0
    loss = make_loss(name)
    base = loss(x, y, mask, 0.2)
    assert torch.allclose(loss(x, changed, mask, 0.2), base, rtol=1e-5, atol=1e-6)
    assert torch.allclose(loss(changed_pred, y, mask, 0.2), base, rtol=1e-5, atol=1e-6)
    # ... and the gradient outside the mask is zero.
    pred = x.clone().requires_grad_(True)
    loss(pred, y, mask, 0.2).sum().backward()
    assert pred.grad is not None
    assert float(pred.grad[:, :, :10].abs().max()) == 0.0
    assert float(pred.grad[:, :, 10:50, 5:40].abs().max()) > 0.0


def test_mask_of_ones_is_no_mask():
    x, y = _pair()
    ones = torch.ones(2, 1, 64, 64)
    for name in ("mse", "blurred-mse", "lap1"):
        loss = make_loss(name)
        assert torch.allclose(loss(x, y, ones, 0.1), loss(x, y, None, 0.1), rtol=1e-5)


def test_ssim_loss_is_one_minus_pytorch_msssim():
    x, y = _pair()
    assert torch.allclose(SSIM()(x, y), 1 - ssim_index(x, y), atol=1e-5)
    assert torch.allclose(ssim_index(x, x), torch.ones(2), atol=1e-5)
    assert (SSIM(multiscale=True)(x, y) > 0).all()


def test_ssim_windows_fit_the_resolution():
    assert ssim_window(64) == 11
    assert ssim_window(64, multiscale=True) == 3  # (3 - 1) * 16 < 64 <= (5 - 1) * 16
    assert ssim_window(256, multiscale=True) == 11
    assert ssim_window(7) == 7
    with pytest.raises(ValueError, match="MS-SSIM needs images of at least 33 pixels; these are 16"):
        ssim_window(16, multiscale=True)


def test_laplacian_pyramid_is_linear_and_complete():
    x, _ = _pair(1, 32)
    bands = laplacian_pyramid(x, 3)
    assert [b.shape[-1] for b in bands] == [32, 16, 8, 4]
    # Collapsing the pyramid gives the image back.
    out = bands[-1]
    for band in reversed(bands[:-1]):
        out = torch.nn.functional.interpolate(out, size=band.shape[-2:], mode="bilinear", align_corners=False) + band
    assert torch.allclose(out, x, atol=1e-5)
    # A constant offset lives in the low-pass residual only: the L1 there is the offset.
    z = torch.zeros(1, 3, 32, 32)
    assert torch.allclose(Lap1()(z, z + 0.25), torch.tensor([0.25]), atol=1e-5)


def test_weighted_sums():
    x, y = _pair()
    both = make_loss({"mse": 1.0, "ssim": 0.5})
    assert isinstance(both, Weighted)
    assert torch.allclose(both(x, y, None, 0.0), MSE()(x, y) + 0.5 * SSIM()(x, y))
    assert both.name == "1*mse + 0.5*ssim"
    nested = make_loss({BlurredMSE(sigma=1.0, anneal=0): 2.0, "lap1": 0.0})
    assert torch.allclose(nested(x, y, None, 0.0), 2 * BlurredMSE(sigma=1.0, anneal=0)(x, y))


def test_bad_loss_specs():
    with pytest.raises(ValueError, match=r"unknown loss 'lpips'; expected one of \['blurred-mse', 'lap1'"):
        make_loss("lpips")
    with pytest.raises(ValueError, match="the weight of loss 'mse' must be a finite number >= 0"):
        make_loss({"mse": -1})
    with pytest.raises(ValueError, match="needs at least one term"):
        make_loss({})
    with pytest.raises(TypeError, match="loss must be a name"):
        make_loss(3)
    custom = make_loss(lambda p, t, m, s: (p - t).abs().flatten(1).mean(1))
    x, y = _pair()
    assert custom(x, y, None, 0.0).shape == (2,)
