"""How entangled directions are: with each other (cosine similarity) and in their
effect on attributes (the mean change of every attribute along every direction).

A direction that changes one attribute alone is disentangled; one that also moves
others is a candidate for conditional editing (:func:`semwidget.project_out`)::

    change = semwidget.attribute_change(G, sefa.directions_, [Brightness(), Contrast()])
    change.plot()
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..directions import Directions
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ..scorers import as_scorer
from ._plots import plot_matrix
from ._score_edits import Job, check_counts, check_fits, score_changes, split_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


def direction_similarity(directions: Directions | Sequence[Directions]) -> np.ndarray:
    """Cosine similarity of every pair of directions.

    Parameters
    ----------
    directions : Directions, or a list of them in one space and of one model
        (joined in order, k rows in all).

    Returns
    -------
    ndarray of shape (k, k)
        Symmetric, ones on the diagonal, in [-1, 1].
    """
    blocks = [directions] if isinstance(directions, Directions) else list(directions)
    if not blocks or not all(isinstance(b, Directions) for b in blocks):
        raise TypeError("direction_similarity expects semwidget.Directions or a non-empty list of them")
    joined = Directions.concat(blocks)  # refuses other spaces, dimensions and models
    v = joined.vectors / np.linalg.norm(joined.vectors, axis=1, keepdims=True)
    similarity = np.clip(v @ v.T, -1.0, 1.0)
    np.fill_diagonal(similarity, 1.0)
    return similarity


@dataclass(frozen=True, eq=False)
class AttributeChange:
    """Mean and spread of each attribute's change when moving along each direction.

    Attributes
    ----------
    values : ndarray of shape (k, m)
        Mean over samples of s(G(edit(z))) − s(G(z)).
    std : ndarray of shape (k, m)
        Standard deviation of that change over samples (0 for one sample).
    labels : tuple of str of length k
    attributes : tuple of str of length m
    alpha : float
    n_samples : int
    """

    values: np.ndarray
    std: np.ndarray
    labels: tuple[str, ...]
    attributes: tuple[str, ...]
    alpha: float
    n_samples: int

    def plot(self, *, normalize: bool = False) -> Figure:
        """The (k, m) table as a diverging heatmap; ``normalize`` divides each column by
        its largest magnitude, so attributes on different scales compare."""
        values = self.values
        if normalize:
            peak = np.abs(values).max(axis=0, keepdims=True)
            values = values / np.where(peak > 0, peak, 1.0)
        title = f"mean attribute change at α = {self.alpha:g} ({self.n_samples} samples)"
        return plot_matrix(values, self.labels, self.attributes, title=title, fmt="{:+.3f}", diverging=True)

    def _repr_png_(self) -> bytes:
        from ._figure import png_bytes  # imports matplotlib: only when a notebook shows this

        return png_bytes(self.plot())

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values.tolist(),
            "std": self.std.tolist(),
            "labels": list(self.labels),
            "attributes": list(self.attributes),
            "alpha": self.alpha,
            "n_samples": self.n_samples,
        }


def attribute_change(
    generator: Generator | torch.nn.Module,
    directions: Directions | Sequence[Directions],
    scorers: Any,
    *,
    alpha: float = 3.0,
    n_samples: int = 100,
    seed: int = 0,
    layers: Sequence[int] | int | None = None,
    scale: str = "raw",
    batch_size: int = 50,
    latents: Latents | None = None,
    progress: bool = True,
    client: Any = None,
    cache: str | os.PathLike[str] | None = None,
    shard_size: int | None = None,
) -> AttributeChange:
    """The mean change of every attribute when each direction moves the samples by ``alpha``.

    Parameters
    ----------
    generator : Generator or a generator module
    directions : Directions, or a list of them (k rows in all)
    scorers : Scorer, callable or list of them (m attribute columns in all)
    alpha : float
        Step from the original samples along each direction.
    n_samples, seed : int
        Samples ``seed, ..., seed + n_samples - 1``; ignored when ``latents`` is given.
    layers : int or sequence of int, optional
        Layer-wise latents a latent direction is applied at; default each
        direction's own ``layers`` (all if None). Channel directions act at their layer.
    scale : {"raw", "sigma"}
        ``"sigma"`` multiplies ``alpha`` by each direction's σ (GANSpace).
    batch_size : int
    latents : Latents, optional
    progress : bool
    client : dask.distributed.Client, optional
        Run the seed shards on this Dask cluster (default: the enclosing
        :func:`semwidget.distributed` block's, else this process); the result is
        bit-identical either way (see :func:`semwidget.probe`).
    cache : path of a folder, optional
        Keep each finished shard there, so a stopped run resumes.
    shard_size : int, optional
        Samples per shard (default about 1024, a whole number of batches).

    Returns
    -------
    AttributeChange with ``values`` and ``std`` of shape (k, m).
    """
    generator = as_generator(generator)
    scorer = as_scorer(scorers)
    rows = split_rows(directions)
    for row in rows:
        check_fits(generator, row)
    check_counts(n_samples=n_samples, batch_size=batch_size)
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number; got {alpha!r}")
    if scale not in ("raw", "sigma"):
        raise ValueError(f"scale must be 'raw' or 'sigma'; got {scale!r}")
    n = int(n_samples) if latents is None else len(latents)
    jobs: list[Job] = []
    steps = []
    for row in rows:
        if scale == "sigma" and row.sigmas is None:
            raise ValueError(f"scale='sigma' needs directions with sigmas (GANSpace); {row.labels[0]!r} has none")
        steps.append(float(alpha) * (float(row.sigmas[0]) if scale == "sigma" else 1.0))  # type: ignore[index]
        if row.is_latent:
            jobs.append((row, ("ws", generator.check_layers(row.layers if layers is None else layers))))  # type: ignore[arg-type]
        else:
            jobs.append((row, ("feature", row.space)))
    _, total, square = score_changes(
        generator,
        scorer,
        jobs,
        steps,
        n_samples=n,
        seed=int(seed),
        latents=latents,
        batch_size=int(batch_size),
        progress=progress,
        desc="attribute change",
        client=client,
        cache=cache,
        shard_size=shard_size,
    )
    mean = total / n
    variance = np.clip(square / n - mean**2, 0, None) * (n / (n - 1) if n > 1 else 0.0)
    return AttributeChange(
        values=mean,
        std=np.sqrt(variance),
        labels=tuple(r.labels[0] for r in rows),
        attributes=tuple(scorer.names),
        alpha=float(alpha),
        n_samples=n,
    )
