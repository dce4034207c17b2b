import numpy as np
import pytest
import torch
from sklearn.base import clone

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
    with pytest.raises(ValueError, match=r"'n_directions' parameter of SeFa must be an int in the range \[1, inf\)"):
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


def test_sefa_is_a_scikit_learn_estimator(tiny_dcgan):
    sefa = SeFa(n_directions=3, feature_layer="main.2")
    assert sefa.get_params() == {"n_directions": 3, "layers": None, "feature_layer": "main.2"}
    twin = clone(sefa)
    assert twin is not sefa and twin.get_params() == sefa.get_params() and not hasattr(twin, "directions_")
    assert twin.set_params(n_directions=2, feature_layer=None) is twin
    assert twin.fit(tiny_dcgan) is twin and len(twin.directions_) == 2 and twin.directions_.space == "z"
    assert twin.directions_.notes["recipe"] == "semwidget.SeFa(n_directions=2)"
    assert not hasattr(sefa, "directions_")  # the original is untouched
    with pytest.raises(ValueError, match=r"'feature_layer' parameter of SeFa must be an instance of 'str' or None"):
        SeFa(feature_layer=3).fit(tiny_dcgan)
    with pytest.raises(ValueError, match=r"'n_directions' parameter of SeFa must be an int"):
        SeFa(n_directions=2.5).fit(tiny_dcgan)
    with pytest.raises(ValueError, match="Invalid parameter 'n_components'"):
        sefa.set_params(n_components=3)


def test_factorize_drops_dead_rows_and_refuses_non_finite_weights():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(30, 5))
    with_dead = np.vstack([m[:10], np.zeros((3, 5)), m[10:]])
    assert np.allclose(factorize(with_dead)[0], factorize(m)[0])
    assert np.allclose(factorize(with_dead)[1], factorize(m)[1])
    m[4, 2] = np.nan
    with pytest.raises(ValueError, match="finite weight matrix"):
        factorize(m)
    with pytest.raises(ValueError, match="finite weight matrix"):
        factorize(np.ones(5))


# ---- the real shapes-stylegan2 against genforce/sefa's recipe ------------------------


@pytest.fixture(scope="module")
def shapes():
    """The StyleGAN2 bundled with semwidget (no download)."""
    return semwidget.load("shapes-stylegan2", device="cpu")


def _genforce_sefa(state: dict) -> tuple[np.ndarray, np.ndarray]:
    """genforce/sefa's ``factorize_weight(generator, "all")`` for a StyleGAN2, rewritten on
    rosinality's state dict: the style weight (outputs × w_dim) of every conv, then of the
    last ToRGB, each transposed and concatenated into (w_dim, outputs) float32; each
    column scaled to unit norm; ``eig`` of W Wᵀ. Returns eigenvalues (descending) and
    eigenvectors as rows."""
    convs = sorted(int(k.split(".")[1]) for k in state if k.startswith("convs.") and k.endswith("modulation.weight"))
    last_rgb = max(int(k.split(".")[1]) for k in state if k.startswith("to_rgbs.") and k.endswith("modulation.weight"))
    names = ["conv1.conv.modulation.weight"] + [f"convs.{k}.conv.modulation.weight" for k in convs]
    names.append(f"to_rgbs.{last_rgb}.conv.modulation.weight")
    weight = np.concatenate([state[n].float().numpy().T for n in names], axis=1).astype(np.float32)
    weight = weight / np.linalg.norm(weight, axis=0, keepdims=True)
    values, vectors = np.linalg.eig(weight.dot(weight.T))
    order = np.argsort(-values.real)
    return values.real[order], vectors.real.T[order]


def test_sefa_on_all_layers_of_shapes_stylegan2_matches_the_reference(shapes):
    values, vectors = _genforce_sefa(shapes.module.state_dict())
    sefa = SeFa(n_directions=5).fit(shapes)
    assert sefa.directions_.notes["weights"][-1] == "to_rgbs.3.conv.modulation"
    cos = np.abs(np.sum(sefa.directions_.vectors * vectors[:5], axis=1))
    assert np.all(cos > 0.999), cos
    assert np.allclose(sefa.eigenvalues_[:5], values[:5], rtol=1e-4)
    # Without the last ToRGB (conv styles only) the directions differ: the test can tell.
    convs_only = SeFa(n_directions=5, layers=range(shapes.num_ws - 1)).fit(shapes).directions_
    assert np.abs(np.sum(convs_only.vectors * vectors[:5], axis=1)).min() < 0.9
