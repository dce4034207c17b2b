"""semwidget.world._measure against a generator whose latent *is* the factors.

``WorldGenerator`` maps z ~ N(0, I) of 9 dimensions through the normal CDF to uniform
factors and renders them with the world itself, so moving along coordinate j changes
factor j and nothing else: factor_isolation must say so, through the real predictor.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import semwidget
from semwidget.generators import Generator
from semwidget.world import FACTORS, render, sample_factors, to_tensor
from semwidget.world._measure import (
    factor_change,
    factor_error,
    factor_isolation,
    generated_scores,
    histogram_distances,
    random_pair_change,
    real_scores,
    summed_factor_error,
)
from semwidget.world._predictor import SCORE_NAMES


class _Placeholder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))


class WorldGenerator(Generator):
    """z (9 numbers, FACTORS order) → Φ(z) → factor ranges → the world's renderer."""

    z_dim = w_dim = len(FACTORS)
    num_ws = 1
    img_resolution = 64

    def __init__(self) -> None:
        super().__init__(_Placeholder(), name="world", device="cpu")

    def map(self, z, c, truncation):  # noqa: ANN001, ANN201
        return z[:, None, :]

    def _forward(self, ws, c):  # noqa: ANN001, ANN201
        u = (0.5 * (1 + torch.erf(ws[:, 0].double() / math.sqrt(2)))).numpy().clip(0, 1 - 1e-9)
        factors = np.empty_like(u, dtype=np.float32)
        for j, f in enumerate(FACTORS):
            factors[:, j] = np.floor(u[:, j] * f.categories) if f.categories else f.low + u[:, j] * (f.high - f.low)
        return to_tensor(render(factors))


def coordinate(g: Generator, name: str) -> semwidget.Directions:
    j = [f.name for f in FACTORS].index(name)
    row = np.zeros(g.w_dim)
    row[j] = 1.0
    return semwidget.Directions(vectors=[row], scores=[1.0], space=g.latent_space, labels=(name,), model=g)


def test_factor_change_wraps_hues_and_counts_shape_changes():
    before = np.zeros((2, len(SCORE_NAMES)))
    after = np.zeros_like(before)
    hue, shape = SCORE_NAMES.index("object_hue"), SCORE_NAMES.index("shape")
    before[:, hue], after[:, hue] = [0.95, 0.1], [0.05, 0.9]
    after[0, shape] = 2
    change = factor_change(before, after)
    np.testing.assert_allclose(change[:, hue], [0.1, -0.2], atol=1e-12)
    np.testing.assert_array_equal(change[:, shape], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"shape \(n, 9\)"):
        factor_change(before[:, :3], after[:, :3])


def test_random_pair_change_matches_independent_scenes():
    rng = np.random.default_rng(0)
    order = [[f.name for f in FACTORS].index(n) for n in SCORE_NAMES]
    a, b = sample_factors(200_000, rng)[:, order], sample_factors(200_000, rng)[:, order]
    measured = np.abs(factor_change(a, b)).mean(axis=0)
    np.testing.assert_allclose(measured, random_pair_change(), rtol=0.02)


def test_histogram_distances_small_for_the_world_large_for_a_constant():
    real = real_scores(1000, seed=0)
    other = real_scores(1000, seed=1)
    same = histogram_distances(real, other)
    assert set(same) == set(SCORE_NAMES)
    assert max(same.values()) < 0.15, same
    constant = np.repeat(real[:1], 1000, axis=0)
    far = histogram_distances(real, constant)
    assert min(far.values()) > 0.6, far


def test_factor_isolation_finds_the_one_factor_each_coordinate_moves():
    g = WorldGenerator()
    dirs = [coordinate(g, n) for n in ("horizon", "object_hue", "scale", "lighting")]
    iso = factor_isolation(g, dirs, alpha=0.6, n_samples=60)
    assert iso.change.shape == (4, len(SCORE_NAMES))
    assert iso.top == ("horizon", "object_hue", "scale", "lighting")
    assert (iso.share > 0.6).all(), iso.table()
    assert "object_hue" in iso.table() and iso.to_dict()["top"] == list(iso.top)
    fig = iso.plot()
    heat = fig.axes[0]
    assert len(fig.axes) == 2 and [t.get_text() for t in heat.texts] == [f"{v:.2f}" for v in iso.change.ravel()]
    assert [t.get_text() for t in heat.get_xticklabels()] == list(SCORE_NAMES)
    assert [t.get_text() for t in heat.get_yticklabels()] == list(iso.labels)
    assert iso._repr_png_().startswith(b"\x89PNG")


def test_generated_scores_of_the_world_generator_match_real_renders():
    g = WorldGenerator()
    dist = histogram_distances(real_scores(800, seed=3), generated_scores(g, 800, seed=0))
    assert max(dist.values()) < 0.15, dist


def test_factor_isolation_rejects_a_bad_alpha():
    g = WorldGenerator()
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        factor_isolation(g, coordinate(g, "view"), alpha=float("nan"))


def test_factor_error_reads_each_factor_against_the_truth_with_hues_wrapped():
    factors = sample_factors(4, np.random.default_rng(3))
    truth = factors[:, [[f.name for f in FACTORS].index(n) for n in SCORE_NAMES]]
    images = torch.zeros(4, 3, 8, 8)
    read = truth.copy()
    hue, shape, scale = (SCORE_NAMES.index(n) for n in ("floor_hue", "shape", "scale"))
    read[:, hue] = (truth[:, hue] + 0.9) % 1.0  # 0.1 turn the other way round
    read[0, shape] = (truth[0, shape] + 1) % 4
    read[:, scale] += 0.05
    error = factor_error(images, factors, scorer=lambda _images: read)
    expected = np.zeros(len(SCORE_NAMES))
    expected[[hue, shape, scale]] = 0.1, 0.25, 0.05
    np.testing.assert_allclose(error, expected, atol=1e-6)  # factors are float32
    pair = random_pair_change()
    assert summed_factor_error(error) == pytest.approx(0.1 / pair[hue] + 0.05 / pair[scale])
    assert summed_factor_error(factor_error(images, factors, scorer=lambda _images: truth)) == 0.0
    with pytest.raises(ValueError, match=r"factors of shape \(4, 9\)"):
        factor_error(images, factors[:3])
