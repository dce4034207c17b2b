"""HiGAN's layer-wise re-scoring (Yang, Shen & Zhou, "Semantic Hierarchy Emerges in
Deep Generative Representations for Scene Synthesis", IJCV 2020).

For a direction d and an attribute scorer s, re-scoring measures how much moving
``step`` along d raises the attribute::

    Δ = mean over samples of max(s(G(edit(z))) − s(G(z)), 0)

once with the edit applied at every layer and once at each layer alone; the
per-layer values are the layer heatmap. Because of the ``max(·, 0)``, a
direction that *lowers* an attribute scores about 0: flip its sign (pass
``-1 * d`` as another direction) to see decreases, or ask for ``signed=True``,
the plain mean difference. A circular attribute (a scorer's ``periods``, such as
a hue) changes the short way round: 350° → 10° is +20°, not −340°.
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
from ._columns import heatmap_columns, layer_columns
from ._plots import plot_matrices
from ._score_edits import Job, Target, check_counts, check_fits, score_changes, split_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Rescoring:
    """Re-scoring Δ of k directions for m attributes, at all layers and at each layer alone.

    Attributes
    ----------
    delta_all : ndarray of shape (k, m)
        Δ with the edit applied at every layer the direction can act at.
    delta_layers : ndarray of shape (k, L, m)
        Δ with the edit at one column alone; NaN where the direction cannot act.
    columns : tuple of str of length L
        Layer names: ``ws`` layers, then feature layers.
    attributes : tuple of str of length m
    labels : tuple of str of length k
        The directions' labels.
    step : float
        The step along each unit direction, in raw latent (or channel) units.
    n_samples : int
    signed : bool
        True when Δ is the plain mean change rather than the mean of its positive part.
    """

    delta_all: np.ndarray
    delta_layers: np.ndarray
    columns: tuple[str, ...]
    attributes: tuple[str, ...]
    labels: tuple[str, ...]
    step: float
    n_samples: int
    signed: bool = False

    def _column(self, attribute: str | int) -> int:
        if isinstance(attribute, (int, np.integer)) and 0 <= attribute < len(self.attributes):
            return int(attribute)
        if attribute in self.attributes:
            return self.attributes.index(attribute)  # type: ignore[arg-type]
        raise KeyError(f"no attribute {attribute!r}; this re-scoring has {list(self.attributes)}")

    def ranking(self, attribute: str | int) -> np.ndarray:
        """Direction indices sorted by Δ_all for ``attribute``, largest first: ndarray of shape (k,)."""
        return np.argsort(-self.delta_all[:, self._column(attribute)], kind="stable")

    def heatmap(self, attribute: str | int) -> np.ndarray:
        """Δ per direction and column for one attribute: ndarray of shape (k, L), NaN where not applicable."""
        return self.delta_layers[:, :, self._column(attribute)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: lists of floats, NaN as None; ``delta_layers[i][c][a]``."""

        def clean(a: np.ndarray) -> Any:
            out = a.astype(object)
            out[~np.isfinite(a)] = None
            return out.tolist()

        return {
            "columns": list(self.columns),
            "attributes": list(self.attributes),
            "labels": list(self.labels),
            "delta_all": clean(self.delta_all),
            "delta_layers": clean(self.delta_layers),
            "step": self.step,
            "n_samples": self.n_samples,
            "signed": self.signed,
        }

    def plot(self, attribute: str | int | None = None) -> Figure:
        """The heatmap (an "all" column, then each layer) of one attribute, or of each one,
        one under another in one figure (two axes per attribute: heatmap, colour bar)."""
        chosen = range(len(self.attributes)) if attribute is None else [self._column(attribute)]
        kind = "mean change" if self.signed else "re-scoring Δ"
        return plot_matrices(
            [np.concatenate([self.delta_all[:, a, None], self.delta_layers[:, :, a]], axis=1) for a in chosen],
            self.labels,
            ("all", *self.columns),
            titles=[f"{kind} of {self.attributes[a]} (step {self.step:g}, {self.n_samples} samples)" for a in chosen],
            fmt="{:.3f}",
            diverging=self.signed,
        )

    def _repr_png_(self) -> bytes:
        from ._figure import png_bytes  # imports matplotlib: only when a notebook shows this

        return png_bytes(self.plot())


def rescore(
    generator: Generator | torch.nn.Module,
    directions: Directions | Sequence[Directions],
    scorers: Any,
    *,
    n_samples: int = 200,
    step: float = 2.0,
    seed: int = 0,
    batch_size: int = 50,
    signed: bool = False,
    latents: Latents | None = None,
    progress: bool = True,
    client: Any = None,
    cache: str | os.PathLike[str] | None = None,
    shard_size: int | None = None,
) -> Rescoring:
    """HiGAN layer-wise re-scoring of directions against attribute scorers.

    Columns: a layer-wise generator's ``ws`` indices, then the feature layers of
    any channel-space directions given. A single-input generator (DCGAN, PGGAN;
    ``num_ws == 1``) has its z input and every feature map as columns; there a
    latent direction acts at z only and a channel-space direction at its own
    feature layer only, so the other cells are NaN. ``directions.layers`` is
    ignored: "all" means every layer the direction can act at.

    Parameters
    ----------
    generator : Generator or a generator module
    directions : Directions, or a list of them (k rows in all)
        Each row is a unit vector; latent and channel-space rows may be mixed.
    scorers : Scorer, callable or list of them (m attribute columns in all)
    n_samples, seed : int
        Samples ``seed, ..., seed + n_samples - 1``; ignored when ``latents`` is given.
    step : float
        How far to move along each unit direction, in raw units even for
        directions with σ (GANSpace): HiGAN uses 2.
    batch_size : int
        Samples synthesized at once.
    signed : bool
        Give the plain mean change instead of the mean of max(change, 0).
    latents : Latents, optional
        Samples to use instead of drawing ``n_samples``.
    progress : bool
    client : dask.distributed.Client, optional
        Run the seed shards on this Dask cluster (default: the enclosing
        :func:`semwidget.distributed` block's, else this process); the result is
        bit-identical either way (see :func:`semwidget.probe`).
    cache : path of a folder, optional
        Keep each finished shard there, so a stopped run resumes; shards of another
        generator or scorer set there are refused.
    shard_size : int, optional
        Samples per shard (default about 1024, a whole number of batches).

    Returns
    -------
    Rescoring with ``delta_all`` (k, m) and ``delta_layers`` (k, L, m).

    Notes
    -----
    Δ averages ``max(change, 0)``, so a direction that lowers an attribute
    scores about 0, never below: rescore ``-d`` as well (or pass
    ``signed=True``) to see decreases. ``rescore`` synthesizes
    ``n_samples × (1 + edits)`` images, where a direction counts one edit per
    column it can act at plus one for "all" (the two coincide when it acts at
    a single place, as on a DCGAN).
    """
    generator = as_generator(generator)
    scorer = as_scorer(scorers)
    rows = split_rows(directions)
    for row in rows:
        check_fits(generator, row)
    check_counts(n_samples=n_samples, batch_size=batch_size)
    if not np.isfinite(step):
        raise ValueError(f"step must be a finite number; got {step!r}")
    n = int(n_samples) if latents is None else len(latents)
    columns = heatmap_columns(layer_columns(generator), rows)
    all_ws: Target = ("ws", tuple(range(generator.num_ws)))

    # One job per distinct edit: "all" and a single column coincide when the
    # direction acts at one place only (z of a DCGAN, a channel layer).
    jobs: list[Job] = []
    index: dict[tuple[int, Target], int] = {}
    cells: list[list[int | None]] = []
    for i, row in enumerate(rows):
        targets: list[Target | None] = [all_ws if row.is_latent else ("feature", row.space)]
        targets += [c.target if c.applies(row) else None for c in columns]
        cells.append([])
        for t in targets:
            if t is not None and (i, t) not in index:
                index[(i, t)] = len(jobs)
                jobs.append((row, t))
            cells[-1].append(None if t is None else index[(i, t)])
    log.info("rescore: %d directions × %d columns, %d edits of %d samples", len(rows), len(columns), len(jobs), n)
    positive, total, _ = score_changes(
        generator,
        scorer,
        jobs,
        [float(step)] * len(jobs),
        n_samples=n,
        seed=int(seed),
        latents=latents,
        batch_size=int(batch_size),
        progress=progress,
        desc="re-scoring",
        client=client,
        cache=cache,
        shard_size=shard_size,
    )
    means = (total if signed else positive) / n
    table = np.full((len(rows), 1 + len(columns), len(scorer.names)), np.nan)
    for i, row_cells in enumerate(cells):
        for c, job in enumerate(row_cells):
            if job is not None:
                table[i, c] = means[job]
    return Rescoring(
        delta_all=table[:, 0],
        delta_layers=table[:, 1:],
        columns=tuple(c.name for c in columns),
        attributes=tuple(scorer.names),
        labels=tuple(r.labels[0] for r in rows),
        step=float(step),
        n_samples=n,
        signed=bool(signed),
    )
