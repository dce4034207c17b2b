import numpy as np
import pytest
import torch

import semwidget
from semwidget import SeFa
from semwidget.directions import factorize


def _reference(matrix):
    """Eigen-decomposition of AᵀA with unit rows, computed a second way (SVD)."""
    a = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    return s**2, vt


def test_sefa_equals_the_eigendecomposition_of_row_normalised_weights(tiny_dcgan):
    sefa = SeFa(n_directions=8).fit(tiny_dcgan)
    matrix = tiny_dcgan.module.main[0].weight.detach().double().permute(1, 2, 3, 0).reshape(-1, 8).numpy()
    values, vectors = _reference(matrix)
    assert np.allclose(sefa.eigenvalues_, values)
    d = sefa.directions_
    assert np.allclose(np.abs(np.sum(d.vectors * vectors, axis=1)), 1.0, atol=1e-8)  # same up to sign
    assert np.allclose(d.vectors @ d.vectors.T, np.eye(8), atol=1e-10)  # orthonormal
    assert np.all(np.diff(d.scores) <= 0)  # sorted descending
    assert d.method == "sefa" and d.space == "z" and d.model["fingerprint"] == tiny_dcgan.fingerprint


def test_sefa_is_independent_of_any_seed(tiny_dcgan):
    torch.manual_seed(1)
    np.random.seed(1)
    a = SeFa(n_directions=5).fit(tiny_dcgan).directions_
    torch.manual_seed(2)
    np.random.seed(2)
    b = SeFa(n_directions=5).fit(tiny_dcgan).directions_
    assert np.array_equal(a.vectors, b.vectors)


def test_signs_are_fixed_deterministically():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(40, 6))
    _, v1 = factorize(m)
    _, v2 = factorize(-m)  # same AᵀA, solver may return either sign
    assert np.allclose(v1, v2)
    assert np.all(v1[np.arange(6), np.argmax(np.abs(v1), axis=1)] > 0)


def test_sefa_on_a_feature_layer_gives_channel_directions(tiny_dcgan):
    d = SeFa(n_directions=4, feature_layer="main.2").fit(tiny_dcgan).directions_
    assert d.space == "main.2" and d.dim == 16
    lat = tiny_dcgan.sample(2)
    assert not torch.equal(tiny_dcgan.synthesize(semwidget.edit(lat, d[0], 3.0)), tiny_dcgan.synthesize(lat))


def test_more_directions_than_dimensions_is_refused(tiny_dcgan):
    with pytest.raises(ValueError, match="n_directions=9 exceeds the 8 dimensions"):
        SeFa(n_directions=9).fit(tiny_dcgan)
    with pytest.raises(ValueError, match="positive int"):
        SeFa(n_directions=0).fit(tiny_dcgan)


def test_unknown_layers_are_refused(tiny_dcgan):
    with pytest.raises(ValueError, match="no feature layer 'block9'"):
        SeFa(feature_layer="block9").fit(tiny_dcgan)
    with pytest.raises(ValueError, match=r"indices in \[0, 1\)"):
        SeFa(layers=[3]).fit(tiny_dcgan)


def test_sefa_on_the_real_digiface_dcgan_changes_faces(digiface):
    sefa = SeFa(n_directions=5).fit(digiface)
    d = sefa.directions_
    assert d.vectors.shape == (5, 100)
    # The reference code's eig on the raw weight; ours must agree on the spectrum.
    w = digiface.module.main[0].weight.detach().double().permute(1, 2, 3, 0).reshape(-1, 100).numpy()
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    assert np.allclose(sefa.eigenvalues_, np.sort(np.linalg.eigvalsh(w.T @ w))[::-1])
    lat = digiface.sample(4, seed=0)
    base = digiface.synthesize(lat)
    moved = digiface.synthesize(semwidget.edit(lat, d[0], 5.0))
    change = (moved - base).abs().mean().item()
    assert change > 0.05, change  # a visible change on real faces, not a no-op
