"""The monotone piecewise-linear map g from a transformation amount t to a step along a direction.

:func:`fit_monotone` fits it by isotonic regression (scikit-learn's
``IsotonicRegression``, weighted), anchored at g(0) = 0, and makes it strictly
increasing so it has an inverse; :class:`MonotoneMap` evaluates it and its inverse,
clamping (with a warning) outside the range it was fitted on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

#: The smallest slope between knots, as a fraction of the map's mean slope: enough to
#: make g strictly increasing (so g⁻¹ exists), too small to matter for an edit.
MIN_SLOPE = 1e-3


class OutOfRangeWarning(UserWarning):
    """An amount outside the fitted range was clamped to it."""


@dataclass(frozen=True, eq=False)
class MonotoneMap:
    """A strictly increasing piecewise-linear map through ``(t[k], step[k])``.

    Attributes
    ----------
    t : ndarray of shape (k,)
        The knots' transformation amounts, increasing; one of them is 0.
    step : ndarray of shape (k,)
        The step along the direction at each knot, strictly increasing, 0 at t = 0.
    """

    t: np.ndarray
    step: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        s = np.asarray(self.step, dtype=np.float64).reshape(-1)
        if t.shape != s.shape or t.size < 2 or not np.isfinite(t).all() or not np.isfinite(s).all():
            raise ValueError(f"a monotone map needs at least two finite knots (t, step); got {t.size} and {s.size}")
        if np.any(np.diff(t) <= 0) or np.any(np.diff(s) <= 0):
            raise ValueError("a monotone map's knots must increase strictly in both t and step")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "step", s)

    @property
    def t_range(self) -> tuple[float, float]:
        return float(self.t[0]), float(self.t[-1])

    @property
    def step_range(self) -> tuple[float, float]:
        return float(self.step[0]), float(self.step[-1])

    def __call__(self, t: Any) -> Any:
        """The step for amount(s) ``t``; amounts outside :attr:`t_range` are clamped to it
        with an :class:`OutOfRangeWarning`. Returns a float for a float."""
        return _interp(t, self.t, self.step, "t", "transformation amount")

    def inverse(self, step: Any) -> Any:
        """The amount a step performs (g⁻¹); steps outside :attr:`step_range` are clamped."""
        return _interp(step, self.step, self.t, "step", "step along the direction")

    def __repr__(self) -> str:
        return f"MonotoneMap(t={np.round(self.t, 4).tolist()}, step={np.round(self.step, 4).tolist()})"


def _interp(x: Any, xp: np.ndarray, fp: np.ndarray, name: str, what: str) -> Any:
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite; got {a.tolist()}")
    lo, hi = xp[0], xp[-1]
    outside = (a < lo - 1e-12) | (a > hi + 1e-12)
    if outside.any():
        bad = np.unique(a[outside])[:4].tolist()
        warnings.warn(
            f"{what} {bad} outside the fitted range [{lo:.4g}, {hi:.4g}]: clamped to it "
            f"(fit with a larger t_max to go further)",
            OutOfRangeWarning,
            stacklevel=3,
        )
    out = np.interp(np.clip(a, lo, hi), xp, fp)
    return float(out) if out.ndim == 0 else out


def fit_monotone(t: np.ndarray, step: np.ndarray, weight: np.ndarray | None = None) -> MonotoneMap:
    """The increasing piecewise-linear map closest to ``(t, step)`` in weighted least squares,
    with g(0) = 0 and knots at the distinct values of ``t`` (0 added if absent).

    Parameters
    ----------
    t, step : ndarray of shape (m,)
        Observed amounts and steps; ``t`` takes a few distinct values, negative and positive.
    weight : ndarray of shape (m,), optional
    """
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    s = np.asarray(step, dtype=np.float64).reshape(-1)
    w = np.ones_like(t) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    if t.shape != s.shape or t.shape != w.shape or not (np.isfinite(t).all() and np.isfinite(s).all()):
        raise ValueError("fit_monotone needs finite t and step of one length (and weights of that length)")
    if not (t < 0).any() and not (t > 0).any():
        raise ValueError("fit_monotone needs amounts t other than 0")
    knots = np.unique(np.append(t, 0.0))
    # Each knot's weighted mean step: isotonic regression on the means is the same fit.
    idx = np.searchsorted(knots, t)
    wsum = np.bincount(idx, weights=w, minlength=len(knots))
    mean = np.bincount(idx, weights=w * s, minlength=len(knots)) / np.where(wsum > 0, wsum, 1)
    zero = int(np.searchsorted(knots, 0.0))
    mean[zero], wsum[zero] = 0.0, max(1.0, wsum.sum()) * 1e6  # the anchor g(0) = 0
    fitted = IsotonicRegression(increasing=True).fit(knots, mean, sample_weight=np.maximum(wsum, 1e-12))
    g = fitted.predict(knots)
    g = g - g[zero]
    g[:zero] = np.minimum(g[:zero], 0.0)
    g[zero + 1 :] = np.maximum(g[zero + 1 :], 0.0)
    return MonotoneMap(knots, _strictly_increasing(knots, g, zero))


def _strictly_increasing(t: np.ndarray, g: np.ndarray, zero: int) -> np.ndarray:
    """``g`` with every slope at least :data:`MIN_SLOPE` of the mean slope, keeping g(0) = 0."""
    span = g[-1] - g[0]
    mean_slope = span / (t[-1] - t[0]) if span > 0 else 1.0
    floor = MIN_SLOPE * mean_slope
    out = g.copy()
    for k in range(zero + 1, len(t)):
        out[k] = max(out[k], out[k - 1] + floor * (t[k] - t[k - 1]))
    for k in range(zero - 1, -1, -1):
        out[k] = min(out[k], out[k + 1] - floor * (t[k + 1] - t[k]))
    return out
