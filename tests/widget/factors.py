"""Continuous factors for the Explorer's tests: fitted on the blob generator (a planted
shift), and planted ones whose direction and g are set by hand, for the transformations
the blob cannot show (the Explorer's plumbing does not depend on how g was found)."""

from __future__ import annotations

import numpy as np

import semwidget
from semwidget.continuous import ContinuousFactor, MonotoneMap, TrajectorySummary
from semwidget.directions._directions import Directions, model_identity


def planted(g: semwidget.Generator, transform: str, axis: int, per_unit: float = 0.2, t_max: float = 0.25):
    """A 'fitted' factor moving along latent axis ``axis`` with g(t) = t / per_unit on ±t_max."""
    cf = ContinuousFactor(transform, n_trajectories=2, t_max=t_max, t_steps=1, progress=False)
    v = np.zeros(g.w_dim)
    v[axis] = 1.0
    t = np.array([-t_max, 0.0, t_max])
    cf.direction_ = Directions(
        vectors=v[None, :],
        scores=np.array([1.0]),
        space="z" if g.latent_space == "z" else "w",
        method="continuous",
        labels=(transform,),
        model=model_identity(g),
        notes={"transform": transform, "t": t.tolist(), "step": (t / per_unit).tolist()},
    )
    cf.g_ = MonotoneMap(t, t / per_unit)
    cf.explained_, cf.seconds_ = 1.0, 0.0
    cf.trajectories_ = TrajectorySummary(
        t=t, seeds=np.arange(2), kept=np.ones(2, bool), error=np.zeros((2, 3)), step=np.zeros((2, 3))
    )
    return cf
