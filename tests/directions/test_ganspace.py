import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA

import semwidget
from semwidget import GANSpace
from semwidget.directions import _ganspace
from semwidget.directions._ganspace import StreamingMoments


def _abs_cos(a, b):
    return np.abs(np.sum(a * b, axis=1))


def test_streaming_moments_match_numpy():
    x = torch.randn(1000, 5, dtype=torch.float64) * torch.tensor([1.0, 2, 3, 4, 5]) + 7
    m = StreamingMoments(5)
    for part in x.split(97):
        m.update(part)
    assert np.allclose(m.mean.numpy(), x.mean(0).numpy())
    assert np.allclose(m.covariance(), np.cov(x.numpy().T))


def test_components_match_sklearn_pca_on_the_same_samples(tiny_pggan):
    finder = GANSpace(n_directions=4, n_samples=3000, batch_size=512, random_state=3, progress=False)
    w = torch.cat([b for b, _ in finder.sample_batches(tiny_pggan)]).numpy()
    finder.fit(tiny_pggan)
    pca = PCA(n_components=4).fit(w)
    d = finder.directions_
    assert np.allclose(_abs_cos(d.vectors, pca.components_), 1.0, atol=1e-6)
    assert np.allclose(finder.explained_variance_, pca.explained_variance_, rtol=1e-6)
    assert np.allclose(finder.explained_variance_ratio_, pca.explained_variance_ratio_, rtol=1e-6)
    assert np.allclose(d.sigmas, np.sqrt(pca.explained_variance_), rtol=1e-6)
    assert np.all(np.diff(d.scores) <= 0)


def test_sampling_is_reproducible_and_needs_no_global_rng(tiny_dcgan):
    a = GANSpace(n_directions=3, n_samples=500, random_state=7, progress=False).fit(tiny_dcgan)
    torch.manual_seed(123)
    b = GANSpace(n_directions=3, n_samples=500, random_state=7, progress=False).fit(tiny_dcgan)
    assert np.array_equal(a.directions_.vectors, b.directions_.vectors)


def test_channel_directions_from_activations(tiny_dcgan):
    finder = GANSpace(n_directions=3, n_samples=400, feature_layer="main.2", output="channels", progress=False).fit(
        tiny_dcgan
    )
    lat = tiny_dcgan.sample(256, seed=99)
    act = tiny_dcgan.activations(lat, "main.2").permute(0, 2, 3, 1).reshape(-1, 16).numpy()
    pca = PCA(n_components=3).fit(act)
    d = finder.directions_
    assert d.space == "main.2" and d.dim == 16
    assert np.all(_abs_cos(d.vectors, pca.components_)[:2] > 0.95)  # other samples, same structure
    assert not torch.equal(
        tiny_dcgan.synthesize(semwidget.edit(lat[:2], d[0], 2.0, scale="sigma")), tiny_dcgan.synthesize(lat[:2])
    )


def test_activation_components_regressed_to_the_latent(tiny_dcgan, monkeypatch):
    exact = GANSpace(n_directions=3, n_samples=2000, feature_layer="main.2", progress=False).fit(tiny_dcgan)
    d = exact.directions_
    assert d.space == "z" and d.dim == 8 and d.method == "ganspace-regressed"
    assert np.allclose(np.linalg.norm(d.vectors, axis=1), 1)
    # Moving z along the first regressed direction moves the activations along the first component.
    lat = tiny_dcgan.sample(64, seed=5)
    delta = tiny_dcgan.activations(semwidget.edit(lat, d[0], 0.5), "main.2") - tiny_dcgan.activations(lat, "main.2")
    assert delta.flatten(1).norm(dim=1).mean() > 0
    # The incremental path (used for wide activations) finds the same directions.
    monkeypatch.setattr(_ganspace, "_MAX_COVARIANCE_DIM", 10)
    inc = GANSpace(n_directions=3, n_samples=2000, feature_layer="main.2", progress=False).fit(tiny_dcgan)
    assert np.all(_abs_cos(inc.directions_.vectors, d.vectors)[:2] > 0.99)


def test_bad_parameters_are_refused(tiny_dcgan):
    with pytest.raises(ValueError, match="n_directions=9 exceeds"):
        GANSpace(n_directions=9, n_samples=10, progress=False).fit(tiny_dcgan)
    with pytest.raises(ValueError, match="unknown feature layer 'x'"):
        GANSpace(n_directions=2, feature_layer="x", progress=False).fit(tiny_dcgan)
    with pytest.raises(ValueError, match=r"'output' parameter of GANSpace must be a str among"):
        GANSpace(feature_layer="main.2", output="pixels", progress=False).fit(tiny_dcgan)
    with pytest.raises(ValueError, match="n_samples"):
        GANSpace(n_directions=2, n_samples=1, progress=False).fit(tiny_dcgan)


def test_ganspace_is_a_scikit_learn_estimator(tiny_dcgan):
    pca = GANSpace(n_directions=3, n_samples=500, random_state=2, progress=False)
    params = pca.get_params()
    assert params["n_directions"] == 3 and params["output"] == "latent" and params["class_index"] is None
    twin = clone(pca).set_params(n_directions=2)
    assert twin.fit(tiny_dcgan) is twin and len(twin.directions_) == 2 and not hasattr(pca, "directions_")
    assert twin.directions_.notes["recipe"] == "semwidget.GANSpace(n_directions=2, n_samples=500, random_state=2)"
    same = GANSpace(n_directions=2, n_samples=500, random_state=2, progress=False).fit(tiny_dcgan)
    assert np.array_equal(twin.directions_.vectors, same.directions_.vectors)
    with pytest.raises(
        ValueError, match=r"'random_state' parameter of GANSpace must be an int in the range \[0, inf\)"
    ):
        GANSpace(random_state=-1, progress=False).fit(tiny_dcgan)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of GANSpace must be an int"):
        GANSpace(batch_size=0.5, progress=False).fit(tiny_dcgan)
