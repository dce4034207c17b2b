"""The monotone map g and the joint fit of v and g."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from semwidget.continuous import MonotoneMap, OutOfRangeWarning
from semwidget.continuous._direction import fit_direction
from semwidget.continuous._monotone import fit_monotone


def test_fit_is_increasing_anchored_at_zero_and_pools_violations():
    t = np.array([-0.2, -0.1, 0.1, 0.2, 0.3])
    step = np.array([-1.0, -0.4, 0.5, 0.3, 1.2])  # 0.2 dips below 0.1: pooled
    g = fit_monotone(t, step)
    assert g.t.tolist() == [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    assert g(0.0) == 0.0 and np.all(np.diff(g.step) > 0)
    assert g(-0.2) == pytest.approx(-1.0) and g(0.3) == pytest.approx(1.2)
    assert g(0.1) == pytest.approx(0.4, abs=1e-3) and g(0.2) == pytest.approx(0.4, abs=1e-3)
    # A point on the wrong side of 0 is pulled to 0 (then nudged to keep g strictly increasing).
    flat = fit_monotone(np.array([-0.1, 0.1]), np.array([0.2, 1.0]))
    assert abs(flat(-0.1)) < 1e-2 and flat(-0.1) < 0 < flat(0.1)


def test_inverse_undoes_the_map_and_both_clamp_with_a_warning():
    g = MonotoneMap(np.array([-0.2, 0.0, 0.1, 0.2]), np.array([-2.0, 0.0, 0.5, 2.0]))
    t = np.linspace(-0.2, 0.2, 9)
    assert np.allclose(g.inverse(g(t)), t)
    assert g(0.15) == pytest.approx(1.25) and g.inverse(1.25) == pytest.approx(0.15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g(0.2), g.inverse(-2.0)  # the ends themselves are inside
    with pytest.warns(OutOfRangeWarning, match=r"transformation amount \[0.5\] outside the fitted range"):
        assert g(0.5) == 2.0
    with pytest.warns(OutOfRangeWarning, match="step along the direction"):
        assert np.allclose(g.inverse([-5.0, 0.0]), [-0.2, 0.0])


def test_bad_maps_are_refused():
    with pytest.raises(ValueError, match="must increase strictly"):
        MonotoneMap(np.array([0.0, 0.1, 0.2]), np.array([0.0, 0.5, 0.5]))
    with pytest.raises(ValueError, match="amounts t other than 0"):
        fit_monotone(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="t must be finite"):
        MonotoneMap(np.array([0.0, 1.0]), np.array([0.0, 1.0]))(np.nan)


def test_joint_fit_recovers_a_planted_direction_and_a_nonlinear_g():
    rng = np.random.default_rng(0)
    dim, n = 12, 20
    v = rng.normal(size=dim)
    v /= np.linalg.norm(v)
    t = np.array([-0.3, -0.2, -0.1, 0.1, 0.2, 0.3])
    true_g = np.sign(t) * (2 * np.abs(t) + 5 * t**2)  # increasing, not linear
    deltas = true_g[None, :, None] * v[None, None, :] + 0.05 * rng.normal(size=(n, len(t), dim))
    fit = fit_direction(t, deltas)
    assert abs(fit.vector @ v) > 0.99 and fit.vector @ v > 0  # oriented: larger t, larger step
    assert np.allclose(fit.g(t), true_g, atol=0.05)
    assert 0.5 < fit.explained < 1
    # The same data with the direction flipped gives the flipped vector, still increasing.
    flipped = fit_direction(t, -deltas)
    assert flipped.vector @ v < -0.99 and np.all(np.diff(flipped.g.step) > 0)
    with pytest.raises(ValueError, match="never left their start"):
        fit_direction(t, np.zeros((3, len(t), dim)))
