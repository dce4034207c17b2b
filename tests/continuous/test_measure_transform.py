"""measure_transform and its weight-free saliency; on shapes-stylegan2 (zoo) a real fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import semwidget
from semwidget.continuous import TRANSFORMS, ContinuousFactor, measure_transform
from semwidget.continuous._saliency import moments, spectral_residual


def _scene(top: int = 24, left: int = 20, height: int = 8, width: int = 8) -> torch.Tensor:
    x = -0.6 * torch.ones(1, 3, 64, 64)
    x[:, 0, top : top + height, left : left + width] = 0.9
    return x


def test_spectral_residual_is_a_distribution_that_follows_the_content():
    x = _scene()
    maps = spectral_residual(x)
    assert maps.shape == (1, 64, 64) and torch.allclose(maps.sum((1, 2)), torch.ones(1))
    m0 = moments(maps)[0].tolist()
    assert m0[0] == pytest.approx(24 / 64, abs=0.005) and m0[1] == pytest.approx(28 / 64, abs=0.005)
    right = moments(spectral_residual(TRANSFORMS["shift_x"](x, 0.125)[0]))[0].tolist()
    down = moments(spectral_residual(TRANSFORMS["shift_y"](x, 0.125)[0]))[0].tolist()
    assert right[0] - m0[0] == pytest.approx(0.125, abs=0.005) and right[1] == pytest.approx(m0[1], abs=0.005)
    assert down[1] - m0[1] == pytest.approx(0.125, abs=0.005) and down[0] == pytest.approx(m0[0], abs=0.005)
    # A horizontal bar turned counter-clockwise on screen: its axis angle grows.
    bar = _scene(top=30, left=16, height=4, width=32)
    flat = moments(spectral_residual(bar))[0].tolist()
    turned = moments(spectral_residual(TRANSFORMS["rotation"](bar, 0.2)[0]))[0].tolist()
    assert abs(flat[3]) < 0.02 and flat[4] > 0.3
    assert turned[3] == pytest.approx(0.2, abs=0.05)


def test_moments_of_maps():
    ys, xs = torch.meshgrid(torch.arange(64.0) + 0.5, torch.arange(64.0) + 0.5, indexing="ij")

    def disc(cx: float, cy: float, r: float) -> torch.Tensor:
        m = (((xs - cx) ** 2 + (ys - cy) ** 2) < r**2).float()
        return (m / m.sum())[None]

    x, y, spread, _, elongation = moments(disc(20.0, 40.0, 8.0))[0].tolist()
    assert x == pytest.approx(20 / 64, abs=1e-3) and y == pytest.approx(40 / 64, abs=1e-3)
    assert spread == pytest.approx(8 / 64 / np.sqrt(2), rel=0.03) and elongation < 0.05  # a disc: r/√2
    assert moments(disc(32.0, 32.0, 12.0))[0, 2] / moments(disc(32.0, 32.0, 8.0))[0, 2] == pytest.approx(1.5, rel=0.03)


def test_a_fitted_factor_measures_as_the_shift_it_performs(fitted):
    g, cf = fitted
    m = measure_transform(g, cf, measures=("registration", "saliency"), n_samples=6, progress=False)
    assert m.transform == "shift_x" and m.t.tolist() == pytest.approx(
        [-0.25, -0.2, -0.15, -0.1, -0.05, 0.05, 0.1, 0.15, 0.2, 0.25]
    )
    assert np.allclose(m.steps, cf.g_(m.t))
    reg = m.measures["registration"]
    assert reg.change.shape == (6, 10, 1) and reg.primary == "t"
    assert reg.r > 0.98 and reg.r_mean > 0.99 and reg.slope == pytest.approx(1.0, abs=0.15)
    sal = m.measures["saliency"]
    assert sal.columns == ("x", "y", "zoom", "angle", "brightness") and sal.primary == "x"
    # A 16-pixel disc upsampled to 64 is a blurry target for the spectral residual: it follows
    # the disc, less tightly than the registration.
    assert sal.r > 0.5 and sal.slope > 0.3
    assert set(sal.others) == {"y", "zoom", "angle", "brightness"}
    assert m.error_ratio is not None and m.error_ratio.shape == (10,) and (m.error_ratio < 0.3).all()
    assert m.sample_error_ratio is not None and m.sample_error_ratio.shape == (6, 10)
    assert set(m.r) == {"registration", "saliency"} and "registration: r=" in repr(m)
    assert isinstance(m.plot(), Figure)


def test_a_bare_direction_is_measured_at_steps_along_it(fitted):
    g, cf = fitted
    d = cf.direction_
    m = measure_transform(g, d, "shift_x", t=[-1.0, 1.0], measures=["registration"], n_samples=4, progress=False)
    assert m.steps.tolist() == [-1.0, 1.0] and m.error_ratio is None
    assert m.measures["registration"].slope == pytest.approx(cf.amount(1.0), rel=0.2)  # t per unit step


def test_bad_arguments_are_refused(fitted):
    g, cf = fitted
    with pytest.raises(ValueError, match="a bare direction needs transform= and t="):
        measure_transform(g, cf.direction_, "shift_x")
    two = semwidget.Directions.concat([cf.direction_, cf.direction_])
    with pytest.raises(ValueError, match="measure one direction at a time; got 2"):
        measure_transform(g, two, "shift_x", t=[1.0])
    with pytest.raises(TypeError, match="expected a fitted ContinuousFactor or a one-row Directions"):
        measure_transform(g, np.ones(4), "shift_x", t=[1.0])
    with pytest.raises(ValueError, match="not fitted yet"):
        measure_transform(g, ContinuousFactor("zoom"))
    with pytest.raises(ValueError, match=r"measures must be 'auto' or some of \['registration'"):
        measure_transform(g, cf, measures=["pixels"])
    with pytest.raises(ValueError, match="finite non-zero amounts"):
        measure_transform(g, cf, t=[0.0])


@pytest.mark.zoo
def test_shift_x_on_shapes_stylegan2_moves_the_object_right():
    g = semwidget.load("shapes-stylegan2", device="cpu")
    # Small settings (8 seeds, one target of ±0.1 per side, 8 steps): about 10 s.
    cf = ContinuousFactor("shift_x", n_trajectories=8, t_max=0.1, t_steps=1, steps_per_target=8, progress=False)
    cf.fit(g)
    assert cf.trajectories_.residual.max() < 0.5
    m = measure_transform(g, cf, t=[-0.1, 0.1], measures=("world", "registration"), n_samples=8, progress=False)
    world = m.measures["world"]
    assert world.primary == "position"
    position = world.change[:, :, world.columns.index("position")]
    # Measured at these settings (1 thread): world r 0.80, registration r 0.90, the object
    # 0.024 widths left and 0.035 right (a third of the 0.1 asked, as the predictor reads a
    # perfect shift by half), error ratio 0.68.
    assert position[:, 0].mean() < -0.01 and position[:, 1].mean() > 0.01
    assert world.r > 0.5 and m.measures["registration"].r > 0.6
    assert m.error_ratio is not None and (m.error_ratio < 0.9).all()


@pytest.mark.zoo
@pytest.mark.faces
def test_the_face_measure_reads_transformed_faces_in_t_units():
    from semwidget.continuous._measure import _Face

    g = semwidget.load("digiface-dcgan", device="cpu")
    faces = g.synthesize(g.sample(4, seed=3))
    reader = _Face()
    before = reader(faces)
    for name, column, t in (("shift_x", 0, 0.08), ("shift_y", 1, 0.08), ("zoom", 2, 0.15), ("rotation", 3, 0.15)):
        after = reader(TRANSFORMS[name](faces, t)[0])
        change = reader.change(before, after)[:, column]
        assert np.nanmean(change) == pytest.approx(t, rel=0.35), (name, change)
