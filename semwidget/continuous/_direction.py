"""Fitting the direction v and the monotone map g jointly to trajectory differences.

The model (Plumerault et al., ICLR 2020, section 3.3) is d_{i,t} ≈ g(t) · v: the
latent that performs T_t on sample i sits at z_i + g(t) v, with v a unit vector and g
monotone, piecewise linear, g(0) = 0. In least squares over every trajectory i and
target t,

    Σ_{i,t} ‖d_{i,t} − g(t) v‖² = Σ_{i,t} ‖d_{i,t} − d̄_t‖² + n Σ_t ‖d̄_t − g(t) v‖²,

so only the mean difference d̄_t at each amount matters. Without the monotone
constraint the optimum is closed-form: v is the top eigenvector of Σ_t d̄_t d̄_tᵀ and
g(t) = ⟨d̄_t, v⟩. With it, we alternate from there: g ← the isotonic fit of ⟨d̄_t, v⟩
(anchored at g(0) = 0), v ← Σ_t g(t) d̄_t normalised, which never increases the
objective, until v stops turning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._monotone import MonotoneMap, fit_monotone

MAX_ITER = 50
TOL = 1e-10


@dataclass(frozen=True)
class DirectionFit:
    """``vector`` (dim,) unit-norm, oriented so larger t is a larger step; ``g`` the
    monotone map t → step; ``explained`` the fraction of Σ‖d‖² that g(t) v explains."""

    vector: np.ndarray
    g: MonotoneMap
    explained: float
    iterations: int


def fit_direction(t: np.ndarray, deltas: np.ndarray) -> DirectionFit:
    """Fit v and g to ``deltas`` of shape (n, k, dim) at amounts ``t`` of shape (k,)."""
    t = np.asarray(t, dtype=np.float64)
    d = np.asarray(deltas, dtype=np.float64)
    if d.ndim != 3 or d.shape[1] != t.shape[0] or d.shape[0] < 1:
        raise ValueError(f"expected deltas of shape (n, {t.shape[0]}, dim); got {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("the trajectories hold NaN or infinite latents; the optimisation diverged")
    mean = d.mean(axis=0)  # (k, dim)
    total = float(np.square(d).sum())
    if total <= 0:
        raise ValueError("the trajectories never left their start: no latent moved (is the transform the identity?)")
    _, vectors = np.linalg.eigh(mean.T @ mean)
    v = vectors[:, -1]
    if float(t @ (mean @ v)) < 0:
        v = -v
    g = fit_monotone(t, mean @ v)
    iterations = 0
    for iterations in range(1, MAX_ITER + 1):  # noqa: B007 (the count is reported)
        new = g(t) @ mean
        norm = np.linalg.norm(new)
        if norm == 0:
            break
        new = new / norm
        turned = 1 - abs(float(new @ v))
        v = new
        g = fit_monotone(t, mean @ v)
        if turned < TOL:
            break
    residual = float(np.square(d - g(t)[None, :, None] * v[None, None, :]).sum())
    return DirectionFit(vector=v, g=g, explained=1 - residual / total, iterations=iterations)
