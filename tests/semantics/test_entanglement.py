"""Entanglement: cosine similarity of directions, attribute change along them, and the heatmap picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semwidget
from semwidget import Directions, attribute_change, direction_similarity, edit, plot_matrix, project_out, rescore
from semwidget.scorers import Brightness
from tests.analytic import basis, corner_scorer, monotone_generator
from tests.layouts.nvidia_stylegan import Generator as StyleGAN2


@pytest.fixture(scope="module")
def monotone() -> semwidget.Generator:
    return monotone_generator()


def test_orthonormal_sefa_directions_have_identity_similarity(tiny_dcgan):
    d = semwidget.SeFa(n_directions=4).fit(tiny_dcgan).directions_
    np.testing.assert_allclose(direction_similarity(d), np.eye(4), atol=1e-10)
    np.testing.assert_allclose(direction_similarity([d[:2], d[2:]]), np.eye(4), atol=1e-10)


def test_project_out_leaves_a_direction_orthogonal_to_its_condition():
    rng = np.random.default_rng(0)
    primary = Directions(vectors=rng.normal(size=(1, 16)), scores=[1], space="w", labels=("smile",))
    condition = Directions(vectors=rng.normal(size=(1, 16)), scores=[1], space="w", labels=("age",))
    sim = direction_similarity([primary, condition, project_out(primary, condition)])
    assert sim.shape == (3, 3) and np.allclose(sim, sim.T) and np.allclose(np.diag(sim), 1)
    assert abs(sim[1, 2]) < 1e-10 and abs(sim[0, 1]) > 0.01
    with pytest.raises(ValueError, match="cannot join"):
        direction_similarity([primary, Directions(vectors=[[1.0, 0.0]], scores=[1], space="z")])


def test_attribute_change_has_the_planted_signs_and_matches_a_hand_computation(monotone):
    d = basis(monotone, [[1, 0, 0, 0], [-1, 0, 0, 0], [0, 0, 1, 0]], ["up", "-up", "down"])
    scorer = corner_scorer()
    change = attribute_change(monotone, d, scorer, alpha=3.0, n_samples=9, batch_size=4, progress=False)
    assert change.values.shape == change.std.shape == (3, 1) and change.labels == ("up", "-up", "down")
    assert change.values[0, 0] > 0.01 and change.values[1, 0] < -0.01 and change.values[2, 0] < -0.01
    lat = monotone.sample(9)
    hand = scorer(monotone.synthesize(edit(lat, d[0], 3.0))) - scorer(monotone.synthesize(lat))
    np.testing.assert_allclose(change.values[0], hand.mean(axis=0), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(change.std[0], hand.std(axis=0, ddof=1), rtol=1e-3, atol=1e-9)
    assert change.to_dict()["attributes"] == ["corner"]


def test_sigma_scale_multiplies_alpha_by_each_sigma(monotone):
    d = Directions(vectors=[[1, 0, 0, 0]], scores=[1], space="z", sigmas=[0.5], model=monotone)
    in_sigma = attribute_change(monotone, d, corner_scorer(), alpha=2.0, scale="sigma", n_samples=3, progress=False)
    raw = attribute_change(monotone, d, corner_scorer(), alpha=1.0, n_samples=3, progress=False)
    np.testing.assert_allclose(in_sigma.values, raw.values, atol=1e-12)
    with pytest.raises(ValueError, match="needs directions with sigmas"):
        attribute_change(
            monotone,
            basis(monotone, [[1, 0, 0, 0]], ["u"]),
            corner_scorer(),
            scale="sigma",
            n_samples=2,
            progress=False,
        )


def test_layers_restrict_the_edit_like_a_rescoring_column():
    torch.manual_seed(0)
    g = semwidget.as_generator(StyleGAN2(), device="cpu")
    d = Directions(vectors=np.random.default_rng(0).normal(size=(2, g.w_dim)), scores=[2, 1], space="w", model=g)
    change = attribute_change(g, d, Brightness(), alpha=2.0, layers=[2], n_samples=4, progress=False)
    column = rescore(g, d, Brightness(), step=2.0, n_samples=4, signed=True, progress=False).delta_layers[:, 2]
    np.testing.assert_allclose(change.values, column, atol=1e-12)


def test_plot_matrix_draws_a_diverging_annotated_heatmap():
    matrix = [[-1.0, 0.0, 1.0], [np.nan, 0.5, -0.5]]
    image = plot_matrix(matrix, ["first", "second"], ["a", "b", "a rather long column label"], title="test")
    assert image.mode == "RGB" and 120 < image.width < 800 and 80 < image.height < 600
    rgb = np.asarray(image).reshape(-1, 3).astype(int)
    r, g, b = rgb.T
    assert ((b - r > 100) & (b > 150)).sum() > 100  # the -1 cell is blue
    assert ((r - b > 100) & (r > 150)).sum() > 100  # the +1 cell is red
    assert ((r == 225) & (g == 225) & (b == 225)).sum() > 100  # the NaN cell is grey
    assert ((r == 255) & (g == 255) & (b == 255)).sum() > 100  # 0 and the background are white
    flat = plot_matrix(np.zeros((1, 1)), ["x"], ["y"], diverging=False)
    assert flat.mode == "RGB" and flat.width > 20
    with pytest.raises(ValueError, match="row and"):
        plot_matrix(np.zeros((2, 2)), ["x"], ["a", "b"])
    with pytest.raises(ValueError, match="non-empty matrix"):
        plot_matrix(np.zeros(3), ["x"], ["a"])


def test_attribute_change_plots_in_notebooks(monotone):
    d = basis(monotone, [[1, 0, 0, 0], [0, 0, 1, 0]], ["up", "down"])
    change = attribute_change(monotone, d, [corner_scorer(), Brightness()], n_samples=2, progress=False)
    assert change.plot().mode == "RGB" and change.plot(normalize=True).size == change.plot().size
    assert change._repr_png_().startswith(b"\x89PNG")
