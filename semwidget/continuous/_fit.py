"""``ContinuousFactor``: a direction that performs an image transformation, and how far to go.

Plumerault, Le Borgne & Hudelot, "Controlling generative models with continuous factors
of variations", ICLR 2020: invert transformed images T_t(G(z₀)) along a curriculum of
amounts (:mod:`._trajectories`), drop the worst trajectories, and fit a unit direction v
with a monotone piecewise-linear g so that z₀ + g(t) v performs T_t (:mod:`._direction`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..directions._directions import Directions, model_identity
from ..directions._edits import _apply
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ..inversion._space import is_style_based
from ._direction import fit_direction
from ._monotone import MonotoneMap
from ._trajectories import Plan, run_trajectories, trajectory_deltas, usable_seeds
from ._transforms import TRANSFORMS, Transform, as_transform

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class TrajectorySummary:
    """What the trajectories reached, per trajectory and per amount.

    Attributes
    ----------
    t : ndarray of shape (k,)
        The amounts, increasing (both signs).
    seeds : ndarray of shape (n,)
        The seed each trajectory started from.
    kept : ndarray of shape (n,), bool
        False for the trajectories dropped: seeds whose image keeps too few valid pixels
        at some amount (see ``_trajectories.usable_seeds``; they count towards
        ``reject``), then the worst of the rest up to the ``reject`` fraction.
    error : ndarray of shape (n, k)
        Each target's blurred masked error at its last step, divided by the error of
        the unedited image against the same target (0: reached, 1: no better than not
        moving at all).
    step : ndarray of shape (n, k)
        How far along the fitted direction each trajectory went, ⟨d, v⟩.
    """

    t: np.ndarray
    seeds: np.ndarray
    kept: np.ndarray
    error: np.ndarray
    step: np.ndarray

    @property
    def residual(self) -> np.ndarray:
        """The mean relative error per amount over the kept trajectories, shape (k,)."""
        return self.error[self.kept].mean(axis=0)

    def __repr__(self) -> str:
        cols = " ".join(f"{t:+.3g}:{e:.2f}" for t, e in zip(self.t, self.residual))
        return f"TrajectorySummary(n={len(self.seeds)}, kept={int(self.kept.sum())}, residual per t {cols})"


def _amounts(t_max: Any, transform: Transform, t_steps: int) -> tuple[tuple[float, ...], ...]:
    """The curriculum of each branch (negative first), smallest |t| first."""
    if t_max is None:
        lo, hi = -transform.default_t_max, transform.default_t_max
    elif isinstance(t_max, Real):
        lo, hi = 0.0 - abs(float(t_max)), abs(float(t_max))
    else:
        pair = list(t_max)
        if len(pair) != 2 or not all(isinstance(v, Real) for v in pair):
            raise ValueError(f"t_max must be a number (the range ±t_max) or a pair (low, high); got {t_max!r}")
        lo, hi = float(pair[0]), float(pair[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > 0 or hi < 0:
        raise ValueError(f"the t range must be finite and contain 0 (low <= 0 <= high); got ({lo:g}, {hi:g})")
    if lo == 0 and hi == 0:
        raise ValueError(
            f"the t range [{lo:g}, {hi:g}] includes no non-zero value; give t_max > 0 (the range ±t_max) "
            f"or a pair (low, high) with low < 0 or high > 0"
        )
    if lo <= transform.t_low or hi >= transform.t_high:
        raise ValueError(
            f"{transform.name} takes t in ({transform.t_low:g}, {transform.t_high:g}); the range is ({lo:g}, {hi:g})"
        )
    branches = []
    for end in (lo, hi):
        if end != 0:
            branches.append(tuple(round(end * (k + 1) / t_steps, 10) for k in range(t_steps)))
    return tuple(branches)


class ContinuousFactor(BaseEstimator):
    """A latent direction that performs a transformation T_t of the image, with its scale.

    Plumerault et al. (ICLR 2020): for ``n_trajectories`` sampled latents, the images
    T_t(G(z₀)) are inverted for amounts t from small to large on each side, each target
    searched from the latent found for the previous one (warm start) by Adam (reset per
    target) on the MSE of the Gaussian-blurred (σ = ``sigma`` px), masked difference; the
    worst ``reject`` fraction of trajectories (by their mean relative error) is dropped;
    a unit direction v and a monotone piecewise-linear g are fitted jointly so that
    z₀ + g(t) v ≈ the latent that performs T_t.

    Sign convention: positive t moves the content right (``"shift_x"``, in fractions of
    the image width) and down (``"shift_y"``, of its height), zooms in (``"zoom"``:
    scale 1 + t), turns counter-clockwise (``"rotation"``: 90 · t degrees) and
    brightens (``"brightness"``: t added to images in [-1, 1], clipped). The pixels a
    transformation vacates (or clips) are masked out of every loss. The fitted v points
    the way t grows: ``edit(latents, t)`` with t > 0 performs T_t with t > 0.

    Parameters
    ----------
    transform : {"shift_x", "shift_y", "zoom", "rotation", "brightness"} or callable
        Or any ``fn(images, t) -> (images, valid_mask)`` (images (n, 3, H, W) in
        [-1, 1], t a float, mask of weights in [0, 1] of shape (H, W), (n, H, W) or
        (n, 1, H, W)).
    n_trajectories : int, default 32
        Sampled starts (seeds ``random_state`` … ``random_state + n_trajectories − 1``).
        The direction is a mean over them: on shapes-stylegan2 the held-out error ratio
        of shift_x at t = +0.15 falls from 0.64 with 16 to 0.57 with 32.
    t_max : float or (low, high), optional
        The largest amount, both signs (or an asymmetric range containing 0). Default
        per transformation: 0.15 for shifts, 0.25 for zoom and rotation (22.5°), 0.4
        for brightness. ``edit`` clamps t to this range.
    t_steps : int, default 3
        Targets on each side: t_max / t_steps, 2 t_max / t_steps, … t_max.
    steps_per_target : int, default 10
        Adam steps per target (a cosine ramp-down of the learning rate over the last
        third of them).
    sigma : float, default 3.0
        σ in pixels of the blur applied to the masked difference (Plumerault et al.).
    reject : float, default 0.1
        The fraction of trajectories dropped, worst first.
    space : {"z", "w", "w+"}, optional
        Where the trajectories move and v lives: ``"w"`` (default) or ``"w+"`` for
        style-based generators, ``"z"`` for the rest. In w+ each layer moves on its
        own during the trajectories, and v is fitted to the mean over the moved layers
        (the edit adds the same v to each of them, as every direction here does): the
        trajectories reach their targets as well, but one shared v reproduces them
        worse (shapes-stylegan2, shift_x, 16 trajectories: held-out error ratio
        0.82-0.93 in w+ against 0.70-0.83 in w, as means of per-sample ratios).
    layers : sequence of int, optional
        For style-based generators: the layer-wise latents that move (default all);
        the direction's edits touch these.
    learning_rate : float, default 0.05
        Adam's learning rate, in units of the latent prior's spread.
    cache : path of a folder, optional
        Each seed's trajectory is saved there after every target (on a Dask cluster:
        when its shard comes back), so an interrupted fit resumes; a folder made with
        another model or other settings is refused.
    batch_size : int, default 16
        Seeds whose trajectories run at once (each seed is 2 images, one per sign):
        one shard of the work, in this process or on a Dask worker (``fit(...,
        client=)``). The result depends on it only by floating-point rounding.
    random_state : int, default 0
        The first seed.
    progress : bool, default True
        A progress bar with one tick per optimisation step (a widget hears the ticks
        and can cancel between them).

    Attributes
    ----------
    direction_ : Directions
        One unit-norm direction (``method="continuous"``, labelled with the
        transformation), usable wherever directions are.
    g_ : MonotoneMap
        The fitted map from amount t to the step along ``direction_``; ``g_.inverse``
        maps a step back to the amount it performs.
    trajectories_ : TrajectorySummary
        Per trajectory and amount: the relative error reached, the step along v, and
        which trajectories were kept.
    explained_ : float
        The fraction of the latent differences' energy that g(t) v accounts for.
    seconds_ : float
        Wall time of ``fit``.

    Defaults and cost: a fit runs n_trajectories × 2 signs × t_steps × steps_per_target
    image-steps (a forward and backward pass of one image): 32 × 2 × 3 × 10 = 1920 with
    the defaults. On shapes-stylegan2 (64×64) shift_x took 3.6-6 min on 2 CPU threads
    shared with other work (load average 3-7 on 2 cores; zoom 2.2 min). With 5 steps per
    target the targets are reached less well (relative error 0.13-0.23 instead of
    0.06-0.16) and the edits are weaker; 2 targets per side are slightly worse than 3.
    Measured on 48 held-out samples with the defaults, shift_x: blurred masked error of
    G(edit(z, t)) against T_t(G(z)), over that of G(z), 0.50-0.51 at t = ±0.1 and
    0.57-0.58 at ±0.15 (see :func:`semwidget.measure_transform`).
    """

    _parameter_constraints: dict = {
        "transform": [StrOptions(set(TRANSFORMS)), callable, Transform],
        "n_trajectories": [Interval(Integral, 2, None, closed="left")],
        "t_max": [Real, tuple, list, None],
        "t_steps": [Interval(Integral, 1, None, closed="left")],
        "steps_per_target": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="left")],
        "reject": [Interval(Real, 0, 1, closed="left")],
        "space": [StrOptions({"z", "w", "w+"}), None],
        "layers": ["array-like", Interval(Integral, 0, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "cache": [str, os.PathLike, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        transform: str | Any,
        *,
        n_trajectories: int = 32,
        t_max: float | tuple[float, float] | None = None,
        t_steps: int = 3,
        steps_per_target: int = 10,
        sigma: float = 3.0,
        reject: float = 0.1,
        space: str | None = None,
        layers: Sequence[int] | None = None,
        learning_rate: float = 0.05,
        cache: str | os.PathLike[str] | None = None,
        batch_size: int = 16,
        random_state: int = 0,
        progress: bool = True,
    ) -> None:
        self.transform = transform
        self.n_trajectories = n_trajectories
        self.t_max = t_max
        self.t_steps = t_steps
        self.steps_per_target = steps_per_target
        self.sigma = sigma
        self.reject = reject
        self.space = space
        self.layers = layers
        self.learning_rate = learning_rate
        self.cache = cache
        self.batch_size = batch_size
        self.random_state = random_state
        self.progress = progress

    # ---- fitting ---------------------------------------------------------------------

    def _plan(self, g: Generator) -> Plan:
        transform = as_transform(self.transform)
        style = is_style_based(g)
        space = self.space or ("w" if style else "z")
        if style and space == "z":
            raise ValueError(
                f"space='z' does not fit {g.name}, a style-based generator: its edits move mapped codes; "
                f"use space='w' or 'w+'"
            )
        if not style and space != "z":
            raise ValueError(f"space={space!r} does not fit {g.name}, a single-input generator; use space='z'")
        if space == "z":
            if self.layers is not None:
                raise ValueError(f"layers= applies to style-based generators; {g.name} moves its single z")
            layers = tuple(range(g.num_ws))
        else:
            layers = g.check_layers(self.layers)
        branches = _amounts(self.t_max, transform, int(self.t_steps))
        return Plan(
            transform=transform,
            branches=branches,
            steps=int(self.steps_per_target),
            sigma=float(self.sigma),
            space=space,
            layers=tuple(layers),
            lr=float(self.learning_rate),
        )

    def fit(self, generator: object, y: None = None, *, client: Any = None) -> ContinuousFactor:
        """Run (or resume) the trajectories on ``generator`` and fit the direction; returns self.

        The trajectories run in shards of ``batch_size`` seeds, in this process or on
        ``client`` (a ``dask.distributed.Client``; default the enclosing
        :func:`semwidget.distributed` block's, else this process; ``pip install
        'semwidget[distributed]'``). Workers load the generator by its zoo name or
        checkpoint file (it must come from :func:`semwidget.load`); the fit is
        bit-identical to one in this process when they compute on the same kind of
        device, whatever the number of workers or the order shards finish in. With
        ``cache``, this process writes each seed's trajectory as its shard comes back
        (in process: after every target), so a stopped fit resumes.
        """
        self._validate_params()
        start = time.perf_counter()
        g: Generator = as_generator(generator)
        plan = self._plan(g)
        seed, n = int(self.random_state), int(self.n_trajectories)
        seeds = list(range(seed, seed + n))
        usable = usable_seeds(g, plan, seeds)
        trajectories, z0 = run_trajectories(
            g,
            plan,
            seed,
            n,
            cache=self.cache,
            batch_size=int(self.batch_size),
            progress=bool(self.progress),
            client=client,
        )
        t = plan.amounts
        order = np.argsort(t)
        t = t[order]
        deltas = trajectory_deltas(g, plan, trajectories, z0)[:, order]
        error = np.stack([(tr.loss / np.maximum(tr.baseline, 1e-12)).reshape(-1) for tr in trajectories])[:, order]
        # Seeds whose images cannot show the transformation are out first; the worst
        # ``reject`` fraction of all seeds is dropped from the rest, keeping at least two.
        n, n_ok = len(seeds), int(usable.sum())
        n_drop = max(0, min(int(math.floor(float(self.reject) * n)) - (n - n_ok), n_ok - 2))
        kept = usable.copy()
        if n_drop > 0:
            ranked = np.argsort(np.where(usable, error.mean(axis=1), -np.inf), kind="stable")
            kept[ranked[n - n_drop :]] = False
        fitted = fit_direction(t, deltas[kept])
        if fitted.g.step_range[1] - fitted.g.step_range[0] <= 1e-9 * max(1.0, float(np.abs(deltas).max())):
            raise ValueError(
                f"the trajectories of {plan.transform.name} show no consistent direction on {g.name} "
                f"(the fitted steps do not grow with t)"
            )
        v = fitted.vector
        layers = None if plan.space == "z" or len(plan.layers) == g.num_ws else plan.layers
        self.direction_ = Directions(
            vectors=v[None, :],
            scores=np.array([fitted.explained]),
            space=plan.space,
            layers=layers,
            method="continuous",
            labels=(plan.transform.name,),
            model=model_identity(g),
            notes={
                "transform": plan.transform.name,
                "t": fitted.g.t.tolist(),
                "step": fitted.g.step.tolist(),
                "recipe": self._recipe(),
            },
        )
        self.g_ = fitted.g
        self.explained_ = float(fitted.explained)
        self.trajectories_ = TrajectorySummary(t=t, seeds=np.asarray(seeds), kept=kept, error=error, step=deltas @ v)
        self.seconds_ = time.perf_counter() - start
        log.info(
            "ContinuousFactor(%s) on %s: %d of %d trajectories kept, %.0f %% explained, %.1f s",
            plan.transform.name,
            g.name,
            int(kept.sum()),
            n,
            100 * fitted.explained,
            self.seconds_,
        )
        return self

    def _recipe(self) -> str:
        """The Python that recreates this fit (for the widget's "copy as code")."""
        if not isinstance(self.transform, str):
            return ""
        args = [repr(self.transform)]
        defaults = ContinuousFactor("shift_x").get_params()
        for key, value in self.get_params().items():
            if key in ("transform", "progress", "cache") or value == defaults[key]:
                continue
            args.append(f"{key}={list(value) if key == 'layers' else value!r}")
        return f"semwidget.ContinuousFactor({', '.join(args)})"

    # ---- using the fit ----------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "direction_"):
            raise ValueError("this ContinuousFactor is not fitted yet; call fit(generator) first")

    def step(self, t: float | Sequence[float] | np.ndarray) -> Any:
        """The step along ``direction_`` that performs T_t (``g_(t)``; clamped to the fitted range)."""
        self._check_fitted()
        return self.g_(t)

    def amount(self, step: float | Sequence[float] | np.ndarray) -> Any:
        """The amount t a step along ``direction_`` performs (``g_.inverse``)."""
        self._check_fitted()
        return self.g_.inverse(step)

    def edit(self, latents: Latents, t: float | Sequence[float] | np.ndarray) -> Latents:
        """Latents moved along ``direction_`` by the step that performs T_t.

        ``t`` is one amount for every sample or one per sample; amounts outside the
        fitted range are clamped to it, with an ``OutOfRangeWarning``. ``t = 0``
        returns the latents unchanged.
        """
        self._check_fitted()
        if not isinstance(latents, Latents):
            raise TypeError(f"expected semwidget.Latents (from sample() or invert()), got {type(latents).__name__}")
        fingerprint = self.direction_.model["fingerprint"] if self.direction_.model else ""
        if latents.model and fingerprint and latents.model != fingerprint:
            self.direction_.check_model(latents.model)
        a = np.asarray(t, dtype=np.float64).reshape(-1)
        if a.size == 1:
            a = np.full(len(latents), a[0])
        if a.shape != (len(latents),):
            raise ValueError(f"t must be one amount or one per sample ({len(latents)}); got {a.size}")
        steps = np.asarray(self.g_(a), dtype=np.float64).reshape(-1)
        delta = torch.from_numpy(steps[:, None] * self.direction_.vectors[0][None, :]).to(latents.ws.device)
        return _apply(latents, self.direction_, delta, None)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags


__all__ = ["ContinuousFactor", "MonotoneMap", "TrajectorySummary"]
