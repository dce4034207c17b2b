import numpy as np
import pytest
from sklearn.base import clone
from sklearn.svm import SVC

import semwidget
from semwidget import Directions, InterFaceGAN, project_out
from semwidget.directions._interfacegan import _as_codes, select_extremes


def _planted(n=5000, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=dim)
    normal /= np.linalg.norm(normal)
    codes = rng.normal(size=(n, dim))
    scores = codes @ normal + 0.05 * rng.normal(size=n)
    return codes, scores, normal


def test_recovers_a_planted_hyperplane():
    codes, scores, normal = _planted()
    fit = InterFaceGAN(ratio=0.02, random_state=0).fit(codes, scores, labels=["planted"], space="z")
    d = fit.directions_
    assert d.vectors @ normal > 0.99  # cosine, and pointing to higher scores
    assert fit.validation_accuracy_[0] > 0.95
    assert d.labels == ("planted",) and d.scores[0] == fit.validation_accuracy_[0]


def test_matches_svc_fitted_on_the_same_chosen_samples():
    codes, scores, _ = _planted(n=2000, seed=1)
    fit = InterFaceGAN(ratio=0.05, random_state=4).fit(codes, scores)
    train, y_train, val, y_val = select_extremes(scores, 0.05, 0.7, np.random.default_rng(4))
    # The chosen samples are exactly the top and bottom 5 %, split 70/30.
    order = np.argsort(-scores)
    assert set(train[y_train == 1]) | set(val[y_val == 1]) == set(order[:100])
    assert set(train[y_train == 0]) | set(val[y_val == 0]) == set(order[-100:])
    assert len(train) == 2 * 70 and len(val) == 2 * 30
    svc = SVC(kernel="linear").fit(codes[train], y_train)
    ref = svc.coef_.ravel() / np.linalg.norm(svc.coef_)
    assert np.allclose(fit.directions_.vectors[0], ref)
    assert fit.validation_accuracy_[0] == svc.score(codes[val], y_val)


def test_several_attributes_at_once_and_latents_input(tiny_dcgan):
    lat = tiny_dcgan.sample(1000)
    z = lat.ws[:, 0].numpy()
    scores = np.stack([z[:, 0], -z[:, 1]], axis=1)
    fit = InterFaceGAN(ratio=0.1).fit(lat, scores, labels=["a", "b"])
    d = fit.directions_
    assert d.labels == ("a", "b") and d.space == "z" and d.model["fingerprint"] == tiny_dcgan.fingerprint
    assert d.vectors[0, 0] > 0.9 and d.vectors[1, 1] < -0.9
    semwidget.edit(lat[:2], d[0], 1.0)  # the boundary applies to the latents it came from


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_scores_are_refused(bad):
    codes, scores, _ = _planted(n=200)
    scores[3] = bad
    with pytest.raises(ValueError, match="scores contain NaN or infinite"):
        InterFaceGAN().fit(codes, scores)


def test_one_class_scores_are_refused():
    codes, _, _ = _planted(n=500)
    with pytest.raises(ValueError, match="constant"):
        InterFaceGAN(ratio=0.1).fit(codes, np.ones(500))


def test_too_few_samples_and_wrong_shapes_are_refused():
    codes, scores, _ = _planted(n=50)
    with pytest.raises(ValueError, match="at least 2 per side"):
        InterFaceGAN(ratio=0.02).fit(codes, scores)
    with pytest.raises(ValueError, match=r"scores must have shape \(50,\)"):
        InterFaceGAN(ratio=0.2).fit(codes, scores[:40])
    with pytest.raises(ValueError, match=r"shape \(N, dim\)"):
        InterFaceGAN().fit(codes[None], scores)


def test_conditional_projection_is_exact_for_several_conditions():
    rng = np.random.default_rng(0)
    c1 = rng.normal(size=10)
    c2 = c1 + 0.3 * rng.normal(size=10)  # strongly correlated conditions
    primary = Directions(vectors=rng.normal(size=(1, 10)), scores=[1], space="w", labels=("age",))
    cond = Directions(vectors=np.stack([c1, c2]), scores=[1, 1], space="w", labels=("gender", "glasses"))
    out = project_out(primary, cond)
    assert np.allclose(out.vectors @ cond.vectors.T, 0, atol=1e-10)
    assert np.isclose(np.linalg.norm(out.vectors), 1)
    # One condition: n - (n·c)c, renormalised.
    single = project_out(primary, cond[0])
    n, c = primary.vectors[0], cond.vectors[0]
    expected = n - (n @ c) * c
    assert np.allclose(single.vectors[0], expected / np.linalg.norm(expected))
    assert out.labels == ("age | gender, glasses",)


def test_projection_of_a_direction_inside_the_span_is_refused():
    d = Directions(vectors=np.eye(3)[:2], scores=[1, 1], space="w")
    with pytest.raises(ValueError, match="lies in the span"):
        project_out(d[0], d)


def test_interfacegan_is_a_scikit_learn_estimator():
    codes, scores, normal = _planted(n=2000, seed=3)
    svm = InterFaceGAN(ratio=0.05, C=0.5)
    assert svm.get_params() == {"ratio": 0.05, "split": 0.7, "C": 0.5, "random_state": 0, "layer": 0}
    twin = clone(svm).set_params(random_state=1)
    assert twin.fit(codes, scores) is twin and not hasattr(svm, "directions_")
    assert twin.directions_.vectors[0] @ normal > 0.95
    for bad, message in [
        ({"ratio": 0.7}, r"'ratio' parameter of InterFaceGAN must be a float in the range \(0.0, 0.5\]"),
        ({"split": 1}, r"'split' parameter of InterFaceGAN must be a float in the range \(0.0, 1.0\)"),
        ({"C": 0}, r"'C' parameter of InterFaceGAN must be a float in the range \(0.0, inf\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            clone(svm).set_params(**bad).fit(codes, scores)


def test_only_the_chosen_rows_become_float64():
    codes, scores, _ = _planted(n=2000, seed=5)
    codes32 = codes.astype(np.float32)
    got, _, _ = _as_codes(codes32, 0, "w")
    assert got.dtype == np.float32 and np.shares_memory(got, codes32)  # no copy of all N rows
    a = InterFaceGAN(ratio=0.05).fit(codes32, scores).directions_
    b = InterFaceGAN(ratio=0.05).fit(codes32.astype(np.float64), scores).directions_
    assert np.array_equal(a.vectors, b.vectors)  # the same float64 rows reach the SVM
