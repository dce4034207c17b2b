"""Built-in image scorers: known answers on synthetic images, sanity on real faces."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

from semwidget.scorers import Brightness, Contrast, HueHistogram, SaliencyPosition, Saturation
from semwidget.scorers._image import hsv


def flat(r: float, g: float, b: float, size: int = 16) -> torch.Tensor:
    """One image of shape (1, 3, size, size) of a single colour given in [0, 1]."""
    return (torch.tensor([r, g, b]).view(1, 3, 1, 1).expand(1, 3, size, size) * 2 - 1).clone()


def disc(cx: float, cy: float, r: float, size: int = 64) -> torch.Tensor:
    """A bright disc centred at (cx, cy) in [-1, 1] image coordinates on a dark background."""
    c = (2 * torch.arange(size) + 1) / size - 1
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    inside = ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).float()
    return (-0.8 + 1.6 * inside).expand(1, 3, size, size).clone()


ALL = [Brightness(), Contrast(), Saturation(), HueHistogram(), SaliencyPosition()]


def test_names_and_shapes():
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    for scorer in ALL:
        out = scorer(images)
        assert out.shape == (5, len(scorer.names)) and out.dtype == np.float64
    assert HueHistogram(bins=6).names == tuple(f"hue_{k}" for k in range(6))
    assert SaliencyPosition().names == ("saliency_x", "saliency_y", "saliency_spread")
    with pytest.raises(ValueError, match="bins >= 2"):
        HueHistogram(bins=1)


def test_a_batch_scores_like_its_images_one_by_one():
    images = torch.rand(6, 3, 32, 32) * 2 - 1
    for scorer in ALL:
        together = scorer(images)
        alone = np.concatenate([scorer(images[i : i + 1]) for i in range(6)])
        assert np.allclose(together, alone, atol=1e-5), scorer


def test_brightness_and_contrast_known_values():
    black, white, grey = flat(0, 0, 0), flat(1, 1, 1), flat(0.5, 0.5, 0.5)
    images = torch.cat([black, white, grey, flat(0, 1, 0)])
    assert np.allclose(Brightness()(images)[:, 0], [0, 1, 0.5, 0.587], atol=1e-6)
    assert np.allclose(Contrast()(images)[:, 0], 0, atol=1e-6)
    half = torch.cat([black[..., :8], white[..., 8:]], dim=-1)
    assert Contrast()(half)[0, 0] == pytest.approx(0.5, abs=1e-6)
    # Generators overshoot [-1, 1] slightly; scores stay in range.
    assert Brightness()(torch.full((1, 3, 4, 4), 1.2))[0, 0] == pytest.approx(1.0)
    brighter = (grey * 0.5 + 0.5).clamp(-1, 1)
    assert Brightness()(brighter)[0, 0] > Brightness()(grey)[0, 0]


def test_saturation_and_hsv_agree_with_colorsys():
    images = torch.rand(3, 3, 8, 8) * 2 - 1
    hue, sat, val = hsv(images)
    rgb = ((images + 1) / 2).permute(0, 2, 3, 1).reshape(-1, 3).double().numpy()
    expected = np.array([colorsys.rgb_to_hsv(*p) for p in rgb])
    assert np.allclose(sat.flatten().numpy(), expected[:, 1], atol=1e-5)
    assert np.allclose(val.flatten().numpy(), expected[:, 2], atol=1e-6)
    # Hue is circular: compare on the circle.
    d = np.abs(hue.flatten().double().numpy() - expected[:, 0])
    assert np.minimum(d, 1 - d).max() < 1e-5
    pure = torch.cat([flat(1, 0, 0), flat(0, 0, 1), flat(1, 1, 0), flat(0.5, 0.5, 0.5), flat(1, 0.5, 0.5)])
    assert np.allclose(Saturation()(pure)[:, 0], [1, 1, 1, 0, 0.5], atol=1e-6)


def test_hue_histogram_puts_colours_in_their_bins():
    scorer = HueHistogram(bins=12)
    images = torch.cat([flat(1, 0, 0), flat(1, 0, 0.05), flat(0, 1, 0), flat(0, 0, 1), flat(1, 1, 0)])
    hist = scorer(images)
    assert np.allclose(hist.sum(axis=1), 1)
    # Red, and a red just short of 360°, both land in bin 0 (bins are centred on 0°, 30°, ...).
    assert hist[0, 0] == pytest.approx(1, abs=1e-5) and hist[1, 0] == pytest.approx(1, abs=1e-5)
    assert np.argmax(hist, axis=1).tolist() == [0, 0, 4, 8, 2]
    # Grey has no hue: the row is uniform. A half-red, half-blue image splits its mass.
    assert np.allclose(scorer(flat(0.3, 0.3, 0.3)), 1 / 12)
    mixed = torch.cat([flat(1, 0, 0)[..., :8], flat(0, 0, 1)[..., 8:]], dim=-1)
    assert np.allclose(scorer(mixed)[0, [0, 8]], 0.5, atol=1e-5)
    # A nearly grey image stays a valid distribution.
    assert np.allclose(scorer(flat(0.5, 0.5, 0.501)).sum(), 1)


@pytest.mark.parametrize("cx, cy", [(0.0, 0.0), (0.5, -0.3), (-0.6, 0.6), (0.8, 0.8)])
def test_saliency_barycentre_finds_a_disc(cx, cy):
    x, y, spread = SaliencyPosition()(disc(cx, cy, 0.15))[0]
    assert x == pytest.approx(cx, abs=0.05) and y == pytest.approx(cy, abs=0.05)
    assert spread < 0.25


def test_saliency_follows_a_moving_disc_and_grows_with_it():
    scorer = SaliencyPosition()
    moving = torch.cat([disc(x, 0.1, 0.2) for x in (-0.5, -0.2, 0.1, 0.4)])
    xs = scorer(moving)[:, 0]
    assert np.all(np.diff(xs) > 0.2), xs
    growing = torch.cat([disc(0.1, -0.1, r) for r in (0.1, 0.2, 0.35, 0.55)])
    spreads = scorer(growing)[:, 2]
    assert np.all(np.diff(spreads) > 0.05), spreads
    # The same picture at another resolution gives about the same scores.
    for size in (16, 128):
        assert np.allclose(scorer(disc(0.4, -0.2, 0.3, size)), scorer(disc(0.4, -0.2, 0.3)), atol=0.05)


def test_saliency_of_a_flat_image_is_the_centre():
    x, y, spread = SaliencyPosition()(flat(0.7, 0.2, 0.4, size=64))[0]
    assert abs(x) < 1e-3 and abs(y) < 1e-3 and spread == pytest.approx(np.sqrt(2 / 3), abs=1e-3)
    with pytest.raises(ValueError, match="surround"):
        SaliencyPosition(surround=30)


@pytest.fixture(scope="module")
def faces(digiface) -> torch.Tensor:
    return digiface.synthesize(digiface.sample(32, seed=7))


def test_scores_of_real_faces_are_in_range(faces):
    assert np.all((0 <= Brightness()(faces)) & (Brightness()(faces) <= 1))
    assert np.all((0 <= Contrast()(faces)) & (Contrast()(faces) <= 0.5))
    assert np.all((0 <= Saturation()(faces)) & (Saturation()(faces) <= 1))
    hist = HueHistogram()(faces)
    assert np.all(hist >= 0) and np.allclose(hist.sum(axis=1), 1)
    # Skin tones: most of the colour of faces is orange-red (bins 0 and 1, 345°-45°).
    assert np.median(hist[:, 0] + hist[:, 1]) > 0.5
    sal = SaliencyPosition()(faces)
    assert np.all(np.abs(sal[:, :2]) <= 1) and np.all((0 <= sal[:, 2]) & (sal[:, 2] <= np.sqrt(2)))
    # The scores vary across faces: they can drive a boundary.
    for scores in (Brightness()(faces), Contrast()(faces), Saturation()(faces), sal):
        assert np.all(scores.std(axis=0) > 1e-3)


def test_brightening_real_faces_raises_brightness(faces):
    brighter = (faces * 0.5 + 0.5).clamp(-1, 1)
    assert np.all(Brightness()(brighter) > Brightness()(faces))


def test_mirroring_real_faces_mirrors_the_saliency(faces):
    scorer = SaliencyPosition()
    scores, mirrored = scorer(faces), scorer(faces.flip(-1))
    assert np.allclose(mirrored[:, 0], -scores[:, 0], atol=1e-4)
    assert np.allclose(mirrored[:, 1:], scores[:, 1:], atol=1e-4)
    assert scores[:, 0].std() > 0.05  # not trivially 0
