"""``measure_transform``: how far an edit really moved, zoomed, turned or brightened the content.

The measures are independent of the fit that made the edit (none of them reads g or v):

* ``"registration"`` (any model, any transformation, callables included): for each
  edited image, the amount t̂ whose T_t̂(G(z)) matches G(edit(z)) best under the
  blurred masked MSE (a grid search over amounts, refined by a parabola).
* ``"saliency"`` (any model, no weights): the spectral-residual saliency map's
  barycentre, spread, principal axis and the mean brightness (:mod:`._saliency`).
* ``"world"`` (shapes-stylegan2): the world's own factor predictor (object position,
  horizon, object size, lighting and the rest). It reads scenes of the world, and a
  zoomed or brightened picture is not one: on the exact T_t(G(z)) its zoom column
  ("scale") reaches r 0.25 and its brightness column ("lighting") 0.16, its shift_x
  column ("position") 0.81 (``benchmarks/continuous_factors.py --ceiling``). For zoom
  and brightness, read registration or saliency; r from this measure says little there.
* ``"face"`` (digiface-dcgan; needs ``semwidget[faces]``): the face mesh's landmarks
  (centre, inter-ocular distance, roll of the eye line).

Every column is a change from the unedited image, in the units of t where one exists
(a transformation performed exactly moves its own column by t). For each measure the
result has the correlation r between requested t and the change of the column that
should follow it (pooled over samples and amounts), the slope of that change per unit
t, and how much the other columns moved at the largest |t|.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..common._progress import progress as progress_bar
from ..directions._directions import Directions
from ..directions._edits import edit
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ._saliency import moments, spectral_residual
from ._trajectories import BlurredMaskedMSE
from ._transforms import Transform, as_transform

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MEASURES = ("registration", "saliency", "world", "face")
#: Which zoo models the domain measures apply to (by zoo name).
WORLD_MODELS = frozenset({"shapes-stylegan2"})
FACE_MODELS = frozenset({"digiface-dcgan"})
#: The column of each measure that a transformation should move, by transformation name.
PRIMARY: dict[str, dict[str, str]] = {
    "registration": {},  # always "t"
    "saliency": {"shift_x": "x", "shift_y": "y", "zoom": "zoom", "rotation": "angle", "brightness": "brightness"},
    "world": {"shift_x": "position", "shift_y": "horizon", "zoom": "scale", "brightness": "lighting"},
    "face": {"shift_x": "x", "shift_y": "y", "zoom": "zoom", "rotation": "roll"},
}


@dataclass(frozen=True, eq=False)
class Measured:
    """One measure's reading of the edits.

    Attributes
    ----------
    measure : str
    columns : tuple of str
    change : ndarray of shape (n, k, len(columns))
        Each column's change from the unedited image (NaN where the measure failed).
    primary : str or None
        The column that should follow t (None if this measure has none for the transform).
    r, slope : float
        Pearson's r between t and the primary column's change, pooled over samples and
        amounts (so each sample's own noise counts), and the least-squares slope of that
        change per unit t (1: performed exactly, in t units). NaN without a primary column.
    r_mean : float
        Pearson's r between t and the primary column's mean change at each t (how
        faithfully the average follows t; NaN with fewer than three amounts).
    others : dict of str to float
        Each other column's mean |change| at the largest |t|.
    """

    measure: str
    columns: tuple[str, ...]
    change: np.ndarray
    primary: str | None
    r: float
    slope: float
    r_mean: float = float("nan")
    others: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class TransformMeasurement:
    """What :func:`measure_transform` found.

    Attributes
    ----------
    transform : str
    t : ndarray of shape (k,)
        The amounts requested (for a bare direction: the steps along it).
    steps : ndarray of shape (k,)
        The steps along the direction that were applied.
    seeds : tuple of int
    measures : dict of str to Measured
    error_ratio : ndarray of shape (k,) or None
        The mean blurred masked error between G(edit(z, t)) and T_t(G(z)), divided by
        the mean error of the unedited G(z) against the same target (None for a bare
        direction, whose steps are not amounts).
    sample_error_ratio : ndarray of shape (n, k) or None
        The same ratio per sample.
    """

    transform: str
    t: np.ndarray
    steps: np.ndarray
    seeds: tuple[int, ...]
    measures: dict[str, Measured]
    error_ratio: np.ndarray | None
    sample_error_ratio: np.ndarray | None

    @property
    def r(self) -> dict[str, float]:
        """r of each measure that has a primary column."""
        return {k: m.r for k, m in self.measures.items() if m.primary is not None}

    def __repr__(self) -> str:
        parts = [
            f"{k}: r={m.r:.3f} (means {m.r_mean:.3f}) slope={m.slope:.3f} ({m.primary})"
            for k, m in self.measures.items()
            if m.primary
        ]
        ratio = "" if self.error_ratio is None else f", error ratio {np.round(self.error_ratio, 3).tolist()}"
        return f"TransformMeasurement({self.transform}, t={np.round(self.t, 4).tolist()}, {'; '.join(parts)}{ratio})"

    def plot(self) -> Figure:
        """Measured change of each primary column against t (mean ± sd over samples)."""
        from matplotlib.figure import Figure

        shown = [m for m in self.measures.values() if m.primary is not None]
        fig = Figure(figsize=(3.2 * max(1, len(shown)), 3.0), layout="constrained")
        for i, m in enumerate(shown):
            ax = fig.add_subplot(1, max(1, len(shown)), i + 1)
            y = m.change[:, :, m.columns.index(m.primary)]  # type: ignore[arg-type]
            ax.errorbar(self.t, np.nanmean(y, 0), yerr=np.nanstd(y, 0), marker="o", capsize=2)
            ax.axhline(0, color="0.8", lw=0.8)
            ax.set_xlabel(f"requested t ({self.transform})")
            ax.set_ylabel(f"Δ {m.primary}")
            ax.set_title(f"{m.measure}: r = {m.r:.2f}")
        return fig


# ---- the measures --------------------------------------------------------------------


def _saliency(images: torch.Tensor) -> np.ndarray:
    """x, y, spread, angle (units of 90°), brightness (mean luma in [-1, 1] units)."""
    m = moments(spectral_residual(images))
    luma = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).flatten(1).mean(1)
    return torch.cat([m[:, :4], luma[:, None].cpu()], dim=1).double().numpy()


def _saliency_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    out = after - before
    out[..., 2] = after[..., 2] / np.maximum(before[..., 2], 1e-9) - 1  # spread ratio: the zoom
    out[..., 3] = (out[..., 3] + 1) % 2 - 1  # an axis turns modulo 180° = 2 units
    return out


class _World:
    columns: tuple[str, ...]

    def __init__(self) -> None:
        from ..world import FactorScorer
        from ..world._measure import factor_change, random_pair_change

        self.scorer = FactorScorer()
        self._change = factor_change
        self.columns = tuple(self.scorer.names)
        self.unit = random_pair_change()

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        return self.scorer(images)

    def change(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        shape = after.shape
        b = np.broadcast_to(before, shape).reshape(-1, shape[-1])
        out = self._change(b, after.reshape(-1, shape[-1])).reshape(shape)
        names = list(self.columns)
        # In t units: position moves the object by 0.3 widths per unit; size relative to before.
        out[..., names.index("position")] *= 0.3
        j = names.index("scale")
        out[..., j] = out[..., j] / np.maximum(np.broadcast_to(before, shape)[..., j], 1e-9)
        return out


class _Face:
    columns = ("x", "y", "zoom", "roll")

    def __init__(self) -> None:
        from ..scorers import FaceMesh

        self.mesh = FaceMesh()

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        from ..scorers._face_mesh import LEFT_EYE, RIGHT_EYE

        points, presence = self.mesh.landmarks(images)
        p = points[:, :, :2]
        right = (p[:, RIGHT_EYE[0]] + p[:, RIGHT_EYE[1]]) / 2
        left = (p[:, LEFT_EYE[0]] + p[:, LEFT_EYE[1]]) / 2
        eye = left - right  # image coordinates, y down
        out = np.stack(
            [
                p[:, :, 0].mean(1),
                p[:, :, 1].mean(1),
                np.linalg.norm(eye, axis=1),
                np.arctan2(-eye[:, 1], eye[:, 0]) / (math.pi / 2),  # counter-clockwise on screen
            ],
            axis=1,
        )
        out[presence < 0.5] = np.nan
        return out

    def change(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        out = after - before
        out[..., 2] = after[..., 2] / before[..., 2] - 1
        out[..., 3] = (out[..., 3] + 2) % 4 - 2
        return out


def _registration(
    transform: Transform, originals: torch.Tensor, edited: torch.Tensor, grid: np.ndarray, loss: BlurredMaskedMSE
) -> np.ndarray:
    """For each pair, the amount t̂ on ``grid`` (refined by a parabola) whose T_t̂(original)
    is closest to the edited image."""
    errors = np.empty((len(grid), originals.shape[0]))
    for i, t in enumerate(grid):
        target, mask = transform(originals, float(t))
        errors[i] = loss(edited, target, mask).double().numpy()
    best = errors.argmin(0)
    out = grid[best].astype(np.float64)
    step = float(grid[1] - grid[0])
    for j, b in enumerate(best):
        if 0 < b < len(grid) - 1:
            e0, e1, e2 = errors[b - 1, j], errors[b, j], errors[b + 1, j]
            curve = e0 - 2 * e1 + e2
            if curve > 0:
                out[j] += step * 0.5 * (e0 - e2) / curve
    return out


def _summary(name: str, columns: Sequence[str], change: np.ndarray, t: np.ndarray, primary: str | None) -> Measured:
    r = slope = r_mean = float("nan")
    others: dict[str, float] = {}
    far = int(np.argmax(np.abs(t)))
    if primary is not None:
        y = change[:, :, list(columns).index(primary)]
        x = np.broadcast_to(t[None, :], y.shape)
        ok = np.isfinite(y)
        if ok.sum() >= 3 and np.std(y[ok]) > 0 and np.std(x[ok]) > 0:
            r = float(np.corrcoef(x[ok], y[ok])[0, 1])
            xc = x[ok] - x[ok].mean()
            slope = float((xc * (y[ok] - y[ok].mean())).sum() / (xc**2).sum())
        means = np.array([np.nanmean(col) if np.isfinite(col).any() else np.nan for col in y.T])
        fine = np.isfinite(means)
        if fine.sum() >= 3 and np.std(means[fine]) > 0:
            r_mean = float(np.corrcoef(t[fine], means[fine])[0, 1])
    for j, col in enumerate(columns):
        if col != primary:
            others[col] = float(np.nanmean(np.abs(change[:, far, j])))
    return Measured(name, tuple(columns), change, primary, r, slope, r_mean, others)


def _measures(generator: Generator, measures: object) -> list[str]:
    if measures == "auto":
        chosen = ["registration", "saliency"]
        if generator.name in WORLD_MODELS:
            chosen.append("world")
        if generator.name in FACE_MODELS:
            try:
                import ai_edge_litert  # noqa: F401
            except ImportError:
                log.info("measure_transform: no face measure (pip install 'semwidget[faces]')")
            else:
                chosen.append("face")
        return chosen
    chosen = [measures] if isinstance(measures, str) else list(measures)  # type: ignore[call-overload]
    bad = [m for m in chosen if m not in MEASURES]
    if bad or not chosen:
        raise ValueError(f"measures must be 'auto' or some of {list(MEASURES)}; got {measures!r}")
    return chosen


def measure_transform(
    generator: object,
    direction_or_factor: Any,
    transform: str | Any = None,
    *,
    t: Sequence[float] | np.ndarray | None = None,
    n_samples: int = 16,
    seed: int = 10_000,
    measures: str | Sequence[str] = "auto",
    sigma: float = 3.0,
    batch_size: int = 32,
    progress: bool = True,
) -> TransformMeasurement:
    """Measure how far edits along a direction perform a transformation, on held-out samples.

    Parameters
    ----------
    generator : Generator
    direction_or_factor : ContinuousFactor (fitted) or Directions
        A fitted :class:`~semwidget.ContinuousFactor` edits by the amount t (through its
        g); a one-row :class:`~semwidget.Directions` by steps α = ``t`` along it.
    transform : str or callable, optional
        The transformation to measure against; default the factor's own.
    t : sequence of float, optional
        The amounts (for a direction: the steps, required). Default for a factor: five
        amounts on each side up to its fitted range.
    n_samples, seed : int
        Samples ``seed`` … ``seed + n_samples − 1`` (held out: fits use seeds from 0).
    measures : "auto" or sequence of {"registration", "saliency", "world", "face"}
        ``"auto"``: registration and saliency always, the world predictor on
        shapes-stylegan2, the face mesh on digiface-dcgan when ``semwidget[faces]`` is
        installed.
    sigma : float
        The blur of the error ratio and the registration, as in the fit.

    Returns
    -------
    TransformMeasurement
        ``.measures[name].r``, ``.slope``, ``.others``, ``.change``; ``.error_ratio``.
    """
    from ._fit import ContinuousFactor

    g = as_generator(generator)
    factor = direction_or_factor if isinstance(direction_or_factor, ContinuousFactor) else None
    if factor is not None:
        factor._check_fitted()
        direction = factor.direction_
        transform = factor.transform if transform is None else transform
    elif isinstance(direction_or_factor, Directions):
        if len(direction_or_factor) != 1:
            raise ValueError(f"measure one direction at a time; got {len(direction_or_factor)} (index it: d[0])")
        direction = direction_or_factor
        if transform is None or t is None:
            raise ValueError("a bare direction needs transform= and t= (the steps along it to measure)")
    else:
        raise TypeError(
            f"expected a fitted ContinuousFactor or a one-row Directions; got {type(direction_or_factor).__name__}"
        )
    tf = as_transform(transform)
    if t is None:
        assert factor is not None
        lo, hi = factor.g_.t_range
        amounts = np.unique(np.concatenate([np.linspace(lo, 0, 6)[:-1], np.linspace(0, hi, 6)[1:]]))
    else:
        amounts = np.asarray(t, dtype=np.float64).reshape(-1)
    amounts = amounts[amounts != 0]
    if amounts.size == 0 or not np.isfinite(amounts).all():
        raise ValueError(f"t must hold finite non-zero amounts; got {t!r}")
    steps = np.asarray(factor.g_(amounts) if factor is not None else amounts, dtype=np.float64)
    chosen = _measures(g, measures)
    loss = BlurredMaskedMSE(float(sigma))
    latents = g.sample(n_samples, seed=seed)
    originals = g.synthesize(latents, batch_size=batch_size)
    edited = torch.stack([g.synthesize(_edit(latents, direction, s), batch_size=batch_size) for s in steps], dim=1)
    n, k = edited.shape[:2]
    flat = edited.reshape(n * k, *edited.shape[2:])

    results: dict[str, Measured] = {}
    with progress_bar(len(chosen), "measuring", enabled=progress, unit="measure") as bar:
        for name in chosen:
            primary = PRIMARY[name].get(tf.name)
            if name == "registration":
                # Amounts up to 1.5 times the largest asked (for a bare direction, whose
                # steps are not amounts: twice the transformation's default range).
                reach = 1.5 * float(np.abs(amounts).max()) if factor is not None else 2 * tf.default_t_max
                grid = np.linspace(-1, 1, 61) * reach
                grid = grid[(grid > tf.t_low) & (grid < tf.t_high)]
                rep = originals.repeat_interleave(k, dim=0)
                change = _registration(tf, rep, flat, grid, loss).reshape(n, k, 1)
                results[name] = _summary(name, ("t",), change, amounts, "t")
            elif name == "saliency":
                cols = ("x", "y", "zoom", "angle", "brightness")
                change = _saliency_change(_saliency(originals)[:, None], _saliency(flat).reshape(n, k, -1))
                results[name] = _summary(name, cols, change, amounts, primary)
            else:
                reader: Any = _World() if name == "world" else _Face()
                before = reader(originals)[:, None]
                after = reader(flat).reshape(n, k, -1)
                results[name] = _summary(name, reader.columns, reader.change(before, after), amounts, primary)
            bar.update(1)

    ratio = sample_ratio = None
    if factor is not None:  # the amounts are amounts of the transformation: compare with T_t
        errs, base = np.full((n, k), np.nan), np.full((n, k), np.nan)
        for j, a in enumerate(amounts):
            if tf.t_low < a < tf.t_high:
                target, mask = tf(originals, float(a))
                errs[:, j] = loss(edited[:, j], target, mask).double().numpy()
                base[:, j] = loss(originals, target, mask).double().numpy()
        sample_ratio = errs / np.maximum(base, 1e-12)
        ratio = errs.mean(0) / np.maximum(base.mean(0), 1e-12)
    return TransformMeasurement(
        transform=tf.name,
        t=amounts,
        steps=steps,
        seeds=tuple(range(seed, seed + n_samples)),
        measures=results,
        error_ratio=ratio,
        sample_error_ratio=sample_ratio,
    )


def _edit(latents: Latents, direction: Directions, step: float) -> Latents:
    return edit(latents, direction, float(step))
