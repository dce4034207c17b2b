"""HiGAN layer-wise re-scoring, on generators and scorers whose answers are known."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import semwidget
from semwidget import Directions, edit, rescore
from semwidget.scorers import Brightness, Contrast
from tests.analytic import basis, corner_scorer, monotone_generator
from tests.layouts.nvidia_stylegan import Generator as StyleGAN2


@pytest.fixture(scope="module")
def monotone() -> semwidget.Generator:
    return monotone_generator()


def test_a_planted_increase_scores_and_its_reverse_scores_zero(monotone):
    # +e0 raises every pixel, +e1 half as fast, +e2 and -e0 lower every pixel (see tests/analytic.py).
    d = basis(monotone, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [-1, 0, 0, 0]], ["up", "half", "down", "-up"])
    r = rescore(monotone, d, corner_scorer(), n_samples=12, batch_size=5, progress=False)
    delta = r.delta_all[:, 0]
    assert delta[0] > delta[1] > 0.01
    assert delta[2] == 0.0 and delta[3] == 0.0  # max(change, 0) of a change that is <= 0 for every sample
    assert r.ranking("corner")[:2].tolist() == [0, 1] and r.ranking(0).tolist() == r.ranking("corner").tolist()
    # The signed variant sees the decreases.
    signed = rescore(monotone, d, corner_scorer(), n_samples=12, batch_size=5, signed=True, progress=False)
    assert signed.delta_all[2, 0] < 0 and signed.delta_all[3, 0] < 0
    assert np.isclose(signed.delta_all[0, 0], delta[0])  # every change was positive


def test_delta_is_never_negative_and_columns_follow_where_a_direction_acts(monotone):
    rng = np.random.default_rng(0)
    latent = Directions(vectors=rng.normal(size=(3, 4)), scores=[3, 2, 1], space="z", model=monotone)
    channel = basis(monotone, [[1.0] * monotone.feature_layers["act"].channels], ["all channels"], space="act")
    r = rescore(monotone, [latent, channel], [corner_scorer(), Brightness()], n_samples=6, progress=False)
    assert r.columns == ("z", "act") and r.attributes == ("corner", "brightness")
    assert r.delta_all.shape == (4, 2) and r.delta_layers.shape == (4, 2, 2)
    assert (r.delta_all >= 0).all() and (r.delta_layers[np.isfinite(r.delta_layers)] >= 0).all()
    # A latent direction acts at z only; a channel direction at its own feature layer only.
    assert np.isnan(r.delta_layers[:3, 1]).all() and np.isnan(r.delta_layers[3, 0]).all()
    np.testing.assert_array_equal(r.delta_layers[:3, 0], r.delta_all[:3])
    np.testing.assert_array_equal(r.delta_layers[3, 1], r.delta_all[3])
    assert r.delta_all[3, 0] > 0.01  # positive channel offsets raise every pixel
    data = r.to_dict()
    assert data["delta_layers"][0][1] == [None, None] and data["columns"] == ["z", "act"]
    json.dumps(data)  # JSON-friendly, NaN as null
    assert r.heatmap("brightness").shape == (4, 2)


def test_signed_and_unsigned_equal_the_mean_change_computed_by_hand(tiny_dcgan):
    rng = np.random.default_rng(1)
    d = Directions(vectors=rng.normal(size=(2, tiny_dcgan.w_dim)), scores=[2, 1], space="z", model=tiny_dcgan)
    scorer = semwidget.scorers.as_scorer([Brightness(), Contrast()])
    lat = tiny_dcgan.sample(7, seed=3)
    base = scorer(tiny_dcgan.synthesize(lat))
    changes = np.stack([scorer(tiny_dcgan.synthesize(edit(lat, d[i], 1.5))) - base for i in range(2)])
    kwargs = {"n_samples": 7, "seed": 3, "step": 1.5, "batch_size": 3, "progress": False}  # chunks of 3, 3, 1
    signed = rescore(tiny_dcgan, d, scorer, signed=True, **kwargs)
    unsigned = rescore(tiny_dcgan, d, scorer, **kwargs)
    # Batches of 3 and of 7 run float32 convolutions in another order: equal to ~1e-10.
    np.testing.assert_allclose(signed.delta_all, changes.mean(axis=1), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(unsigned.delta_all, np.maximum(changes, 0).mean(axis=1), rtol=1e-4, atol=1e-9)
    # Passing the latents themselves gives the same answer.
    again = rescore(tiny_dcgan, d, scorer, latents=lat, progress=False, step=1.5)
    np.testing.assert_allclose(again.delta_all, unsigned.delta_all, rtol=1e-4, atol=1e-9)


@pytest.fixture(scope="module")
def stylegan() -> semwidget.Generator:
    torch.manual_seed(0)
    return semwidget.as_generator(StyleGAN2(), device="cpu")


def test_layerwise_columns_are_ws_indices_and_an_ignored_layer_scores_zero(stylegan, monkeypatch):
    g = stylegan
    rng = np.random.default_rng(0)
    d = Directions(vectors=rng.normal(size=(2, g.w_dim)), scores=[2, 1], space="w", model=g)
    blind = g.num_ws - 2
    forward = g._forward

    def ignore_one_layer(ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        # The model reads ws[blind] as if it were ws[0]: an edit at ``blind`` alone changes nothing.
        ws = ws.clone()
        ws[:, blind] = ws[:, 0]
        return forward(ws, c)

    monkeypatch.setattr(g, "_forward", ignore_one_layer)
    r = rescore(g, d, [Brightness(), Contrast()], n_samples=4, progress=False)
    assert r.columns == tuple(g.layer_names) and r.delta_layers.shape == (2, g.num_ws, 2)
    assert np.isfinite(r.delta_layers).all()
    assert (r.delta_layers[:, blind] == 0).all()
    assert (r.delta_layers[:, [i for i in range(g.num_ws) if i != blind]].max(axis=(0, 2)) > 0).all()
    # One column is the edit at that ws index alone, checked by hand.
    signed = rescore(g, d[0], Brightness(), n_samples=4, signed=True, progress=False)
    lat = g.sample(4)
    hand = Brightness()(g.synthesize(edit(lat, d[0], 2.0, layers=[1]))) - Brightness()(g.synthesize(lat))
    np.testing.assert_allclose(signed.delta_layers[0, 1], hand.mean(axis=0), atol=1e-12)


def test_a_channel_direction_on_a_layerwise_generator_gets_its_own_column(stylegan):
    g = stylegan
    layer = next(iter(g.feature_layers))
    channel = basis(g, [[1.0] * g.feature_layers[layer].channels], ["channels"], space=layer)
    latent = basis(g, [[1.0] + [0.0] * (g.w_dim - 1)], ["w0"], space="w")
    r = rescore(g, [latent, channel], Brightness(), n_samples=2, progress=False)
    assert r.columns == (*g.layer_names, layer) and r.labels == ("w0", "channels")
    assert np.isnan(r.delta_layers[0, -1]).all() and np.isfinite(r.delta_layers[0, :-1]).all()
    assert np.isnan(r.delta_layers[1, :-1]).all() and np.isfinite(r.delta_layers[1, -1]).all()


def test_bad_input_is_refused_with_a_clear_error(monotone):
    d = basis(monotone, [[1, 0, 0, 0]], ["up"])
    with pytest.raises(ValueError, match="w_dim=4"):
        rescore(monotone, Directions(vectors=[[1.0, 0.0]], scores=[1], space="z"), Brightness(), progress=False)
    with pytest.raises(ValueError, match="not a feature layer"):
        rescore(monotone, basis(monotone, [[1.0] * 8], ["x"], space="nowhere"), Brightness(), progress=False)
    with pytest.raises(ValueError, match="n_samples must be an int >= 1"):
        rescore(monotone, d, Brightness(), n_samples=0, progress=False)
    with pytest.raises(ValueError, match="step must be a finite number"):
        rescore(monotone, d, Brightness(), step=float("nan"), progress=False)
    with pytest.raises(TypeError, match="Directions"):
        rescore(monotone, [], Brightness(), progress=False)
    r = rescore(monotone, d, Brightness(), n_samples=2, progress=False)
    with pytest.raises(KeyError, match="brightness"):
        r.ranking("age")


def test_plots_show_in_notebooks(monotone):
    d = basis(monotone, [[1, 0, 0, 0], [0, 0, 1, 0]], ["up", "down"])
    r = rescore(monotone, d, [corner_scorer(), Brightness()], n_samples=2, progress=False)
    fig = r.plot()
    assert len(fig.axes) == 4  # per attribute, one under the other: heatmap, colour bar
    for heat, a in zip(fig.axes[::2], range(2)):
        assert [t.get_text() for t in heat.get_xticklabels()] == ["all", *r.columns]
        assert [t.get_text() for t in heat.get_yticklabels()] == ["up", "down"]
        values = np.concatenate([r.delta_all[:, a, None], r.delta_layers[:, :, a]], axis=1)
        expected = ["n/a" if np.isnan(v) else f"{v:.3f}" for v in values.ravel()]
        assert [t.get_text() for t in heat.texts] == expected and "n/a" in expected  # z acts nowhere else
    assert [s.get_suptitle() for s in fig.subfigs] == [
        "re-scoring Δ of corner (step 2, 2 samples)",
        "re-scoring Δ of brightness (step 2, 2 samples)",
    ]
    one = r.plot("brightness")
    assert len(one.axes) == 2 and one.subfigs[0].get_suptitle() == fig.subfigs[1].get_suptitle()
    assert fig.get_size_inches()[1] == pytest.approx(2 * one.get_size_inches()[1])
    image = Image.open(io.BytesIO(r._repr_png_()))
    assert image.format == "PNG" and np.allclose(image.size, fig.get_size_inches() * 100, atol=1)


def test_real_faces_rescoring_agrees_with_attribute_change(digiface):
    sefa = semwidget.SeFa(n_directions=3).fit(digiface).directions_
    r = rescore(digiface, sefa, Brightness(), n_samples=16, progress=False)
    assert np.isfinite(r.delta_layers[:, 0]).all() and np.isnan(r.delta_layers[:, 1:]).all()
    np.testing.assert_array_equal(r.delta_layers[:, 0], r.delta_all)
    assert r.delta_all.max() > 0
    change = semwidget.attribute_change(digiface, sefa, Brightness(), alpha=2.0, n_samples=16, progress=False)
    signed = rescore(digiface, sefa, Brightness(), n_samples=16, signed=True, progress=False)
    np.testing.assert_allclose(signed.delta_all, change.values, atol=1e-9)
    assert signed.ranking(0).tolist() == np.argsort(-change.values[:, 0], kind="stable").tolist()
    # The direction that changes brightness most raises it in the direction of its sign.
    i = int(np.argmax(np.abs(change.values[:, 0])))
    sign = float(np.sign(change.values[i, 0]))
    both = Directions.concat(
        [sefa[i], Directions(vectors=-sefa.vectors[i : i + 1], scores=[0], space="z", model=sefa.model)]
    )
    pair = rescore(digiface, both, Brightness(), n_samples=16, progress=False).delta_all[:, 0]
    assert (pair[0] - pair[1]) * sign > 0
