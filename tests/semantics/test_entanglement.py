"""Entanglement: cosine similarity of directions, attribute change along them, and the heatmap picture."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import semwidget
from semwidget import Directions, attribute_change, direction_similarity, edit, project_out, rescore
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


def test_attribute_change_plots_in_notebooks(monotone):
    d = basis(monotone, [[1, 0, 0, 0], [0, 0, 1, 0]], ["up", "down"])
    change = attribute_change(monotone, d, [corner_scorer(), Brightness()], n_samples=2, progress=False)
    fig = change.plot()
    assert len(fig.axes) == 2  # the heatmap and its colour bar
    heat = fig.axes[0]
    assert [t.get_text() for t in heat.texts] == [f"{v:+.3f}" for v in change.values.ravel()]
    assert [t.get_text() for t in heat.get_yticklabels()] == ["up", "down"]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["corner", "brightness"]
    assert fig.subfigs[0].get_suptitle() == "mean attribute change at α = 3 (2 samples)"
    # normalize: each column divided by its largest magnitude, so every column has a ±1.
    normalized = change.plot(normalize=True)
    texts = np.array([t.get_text() for t in normalized.axes[0].texts]).reshape(change.values.shape)
    assert all({"+1.000", "-1.000"} & set(column) for column in texts.T)
    assert (normalized.get_size_inches() == fig.get_size_inches()).all()
    image = Image.open(io.BytesIO(change._repr_png_()))
    assert image.format == "PNG" and np.allclose(image.size, fig.get_size_inches() * 100, atol=1)
