"""Measuring a generator against the world's known factors.

Two questions, both answered through :class:`FactorScorer` (the shipped predictor):

* **Does the generator reproduce the world?** :func:`histogram_distances` compares the
  distribution of each factor read from generated images with the same read from real
  renders (so the predictor's own small errors affect both sides alike).
* **Does a direction isolate one factor?** :func:`factor_isolation` moves samples along
  each direction and measures every factor's change, in units where 1 is the change
  between two independent scenes; a direction that isolates a factor puts most of its
  total change on it (``share`` near 1).

Factor changes respect each factor's kind: a hue difference is taken around the colour
circle (at most half a turn), and a change of ``shape`` counts 1 when the predicted
class differs, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..directions import Directions
from ..directions._edits import edit
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ..semantics._plots import plot_matrix
from ..semantics._score_edits import split_rows
from ._predictor import SCORE_NAMES, FactorScorer
from ._scene import FACTORS, HUES, render, sample_factors, to_tensor

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_BY_NAME = {f.name: f for f in FACTORS}


def factor_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``after − before`` per factor for (n, 9) FactorScorer outputs: hues wrapped into
    [−0.5, 0.5) turns, ``shape`` as 1.0 where the class differs (else 0)."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    if before.shape != after.shape or before.ndim != 2 or before.shape[1] != len(SCORE_NAMES):
        raise ValueError(
            f"expected two arrays of shape (n, {len(SCORE_NAMES)}) (FactorScorer outputs); "
            f"got {before.shape} and {after.shape}"
        )
    out = after - before
    for j, name in enumerate(SCORE_NAMES):
        if name in HUES:
            out[:, j] = (out[:, j] + 0.5) % 1.0 - 0.5
        elif name == "shape":
            out[:, j] = (after[:, j] != before[:, j]).astype(np.float64)
    return out


def random_pair_change() -> np.ndarray:
    """E|Δ| of each factor between two independent scenes of the world, shape (9,) in
    SCORE_NAMES order: (high − low)/3 for a uniform range, 1/4 turn for a hue, and
    1 − 1/k for a uniform class among k."""
    out = []
    for name in SCORE_NAMES:
        f = _BY_NAME[name]
        if f.categories:
            out.append(1 - 1 / f.categories)
        elif name in HUES:
            out.append(0.25)
        else:
            out.append((f.high - f.low) / 3)
    return np.array(out)


def factor_error(images: torch.Tensor, factors: np.ndarray, scorer: FactorScorer | None = None) -> np.ndarray:
    """How far the predictor reads ``images`` from their true ``factors``: the mean
    |read − true| of each factor over the images, shape (9,) in SCORE_NAMES order (hues
    wrapped, in turns; ``shape``: the share of wrong classes).

    ``factors`` has shape (n, 9) in FACTORS order, as :func:`sample_factors` draws them:
    the renders' own, also when ``images`` are reconstructions of those renders.
    """
    factors = np.asarray(factors, np.float64)
    if factors.ndim != 2 or factors.shape != (len(images), len(FACTORS)):
        raise ValueError(f"expected factors of shape ({len(images)}, {len(FACTORS)}); got {factors.shape}")
    truth = factors[:, [[f.name for f in FACTORS].index(n) for n in SCORE_NAMES]]
    return np.abs(factor_change(truth, (scorer or FactorScorer())(images))).mean(axis=0)


def summed_factor_error(error: np.ndarray) -> float:
    """One figure for a :func:`factor_error`: the continuous factors' errors (all but
    ``shape``), each in units of the change between two unrelated scenes, summed."""
    continuous = [j for j, n in enumerate(SCORE_NAMES) if n != "shape"]
    return float((np.asarray(error)[continuous] / random_pair_change()[continuous]).sum())


def real_scores(n: int = 2000, seed: int = 0, scorer: FactorScorer | None = None) -> np.ndarray:
    """FactorScorer outputs on ``n`` real renders, shape (n, 9)."""
    scorer = scorer or FactorScorer()
    factors = sample_factors(n, np.random.default_rng(seed))
    return np.concatenate([scorer(to_tensor(render(factors[i : i + 500]))) for i in range(0, n, 500)])


def histogram_distances(reference: np.ndarray, other: np.ndarray, bins: int = 20) -> dict[str, float]:
    """Total-variation distance (0 = same, 1 = disjoint) between the histograms of each
    factor in two sets of FactorScorer outputs: ``bins`` equal bins over the factor's
    range (values outside are clipped into the end bins), the classes for ``shape``."""
    out = {}
    for j, name in enumerate(SCORE_NAMES):
        f = _BY_NAME[name]
        if f.categories:
            edges = np.arange(f.categories + 1) - 0.5
        else:
            edges = np.linspace(f.low, f.high, bins + 1)
        a = np.histogram(np.clip(reference[:, j], edges[0], edges[-1]), edges)[0] / len(reference)
        b = np.histogram(np.clip(other[:, j], edges[0], edges[-1]), edges)[0] / len(other)
        out[name] = float(0.5 * np.abs(a - b).sum())
    return out


@torch.no_grad()
def generated_scores(
    generator: Generator,
    n: int = 2000,
    seed: int = 0,
    scorer: FactorScorer | None = None,
    batch_size: int = 250,
    *,
    latents: Latents | None = None,
) -> np.ndarray:
    """FactorScorer outputs on samples ``seed .. seed + n − 1`` of ``generator`` (or on
    ``latents``, when given), synthesized ``batch_size`` at a time: shape (n, 9)."""
    generator = as_generator(generator)
    scorer = scorer or FactorScorer()
    latents = generator.sample(n, seed=seed) if latents is None else latents
    parts = [scorer(generator.synthesize(latents[i : i + batch_size])) for i in range(0, len(latents), batch_size)]
    return np.concatenate(parts) if parts else np.empty((0, len(SCORE_NAMES)))


@dataclass(frozen=True, eq=False)
class FactorIsolation:
    """How each direction's edit changes each factor.

    Attributes
    ----------
    change : ndarray of shape (k, 9)
        Mean |Δ factor| between the samples moved by −alpha and by +alpha, divided by
        :func:`random_pair_change` (1 = as much as swapping in an unrelated scene).
    labels : tuple of str of length k
    factors : tuple of str
        SCORE_NAMES.
    alpha : float
    n_samples : int
    """

    change: np.ndarray
    labels: tuple[str, ...]
    factors: tuple[str, ...]
    alpha: float
    n_samples: int

    @property
    def share(self) -> np.ndarray:
        """The largest factor's part of each direction's total change, shape (k,)."""
        total = self.change.sum(axis=1)
        return np.where(total > 0, self.change.max(axis=1) / np.where(total > 0, total, 1), 0.0)

    @property
    def top(self) -> tuple[str, ...]:
        """The factor each direction changes most."""
        return tuple(self.factors[j] for j in self.change.argmax(axis=1))

    def table(self, digits: int = 2) -> str:
        """A plain-text table: one row per direction, the factors' changes, top factor and share."""
        width = max(8, *(len(lab) for lab in self.labels))
        heads = [n[:7] for n in self.factors]
        lines = [f"{'direction':<{width}} " + " ".join(f"{h:>7}" for h in heads) + "  top          share"]
        for lab, row, top, share in zip(self.labels, self.change, self.top, self.share):
            cells = " ".join(f"{v:7.{digits}f}" for v in row)
            lines.append(f"{lab:<{width}} {cells}  {top:<12} {share:5.2f}")
        return "\n".join(lines)

    def plot(self) -> Figure:
        """The (k, 9) ``change`` as a heatmap, white (0) to red (the largest change)."""
        title = f"factor change per direction (α ±{self.alpha:g}, {self.n_samples} samples)"
        return plot_matrix(self.change, self.labels, self.factors, title=title, fmt="{:.2f}")

    def _repr_png_(self) -> bytes:
        from ..semantics._figure import png_bytes  # imports matplotlib: only when a notebook shows this

        return png_bytes(self.plot())

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change.tolist(),
            "share": self.share.tolist(),
            "top": list(self.top),
            "labels": list(self.labels),
            "factors": list(self.factors),
            "alpha": self.alpha,
            "n_samples": self.n_samples,
        }


@torch.no_grad()
def factor_isolation(
    generator: Generator | torch.nn.Module,
    directions: Directions | Sequence[Directions],
    *,
    alpha: float = 3.0,
    layers: Sequence[int] | int | None = None,
    scale: str = "raw",
    n_samples: int = 100,
    seed: int = 0,
    latents: Latents | None = None,
    scorer: FactorScorer | None = None,
    batch_size: int = 100,
) -> FactorIsolation:
    """Move samples from −alpha to +alpha along each direction and measure every factor's change.

    Parameters
    ----------
    generator : Generator or a generator module
    directions : Directions, or a list of them (k rows in all)
    alpha : float
        Half the step; ``scale="sigma"`` multiplies it by each direction's σ (GANSpace).
    layers : int or sequence of int, optional
        Layer-wise latents edited; default each direction's own ``layers`` (all if None).
    n_samples, seed : int
        Samples ``seed .. seed + n_samples − 1``; ignored when ``latents`` is given.
    scorer : FactorScorer, optional
        The shipped predictor by default.

    Returns
    -------
    FactorIsolation with ``change`` of shape (k, 9).
    """
    generator = as_generator(generator)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive number; got {alpha!r}")
    scorer = scorer or FactorScorer()
    rows = split_rows(directions)
    latents = generator.sample(int(n_samples), seed=int(seed)) if latents is None else latents
    pair = random_pair_change()

    def scores(moved: Latents) -> np.ndarray:
        return generated_scores(generator, scorer=scorer, batch_size=batch_size, latents=moved)

    change = np.empty((len(rows), len(SCORE_NAMES)))
    for k, row in enumerate(rows):
        lo = scores(edit(latents, row, -alpha, layers=layers, scale=scale))
        hi = scores(edit(latents, row, alpha, layers=layers, scale=scale))
        change[k] = np.abs(factor_change(lo, hi)).mean(axis=0) / pair
    return FactorIsolation(change, tuple(r.labels[0] for r in rows), SCORE_NAMES, float(alpha), len(latents))
