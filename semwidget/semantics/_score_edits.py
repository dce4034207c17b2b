"""Scoring edits against the unedited samples: the loop that re-scoring
(:mod:`semwidget.semantics._rescore`) and attribute change (:mod:`semwidget.semantics._entanglement`) share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..common._progress import progress as progress_bar
from ..directions import Directions
from ..directions._edits import edit
from ..generators import Generator
from ..generators._latents import Latents

# Where an edit acts: ("ws", indices) for a latent direction, ("feature", name) for a channel one.
Target = tuple[str, Any]
Job = tuple[Directions, Target]


def split_rows(directions: Directions | Sequence[Directions]) -> list[Directions]:
    """One single-row ``Directions`` per direction, from one block or a list of blocks."""
    blocks = [directions] if isinstance(directions, Directions) else list(directions)
    if not blocks or not all(isinstance(b, Directions) for b in blocks):
        raise TypeError("expected semwidget.Directions or a non-empty list of them")
    return [b[i] for b in blocks for i in range(len(b))]


def check_fits(generator: Generator, row: Directions) -> None:
    """Raise a clear error when a direction cannot be applied to this generator."""
    if row.is_latent:
        if row.dim != generator.w_dim:
            raise ValueError(f"{row.labels[0]!r} has dimension {row.dim}; {generator.name} has w_dim={generator.w_dim}")
        return
    layer = generator.feature_layers.get(row.space)
    if layer is None:
        raise ValueError(
            f"{row.labels[0]!r} lives at {row.space!r}, not a feature layer of {generator.name} "
            f"(it has {sorted(generator.feature_layers)})"
        )
    if layer.channels != row.dim:
        raise ValueError(f"{row.labels[0]!r} has {row.dim} channels; {row.space!r} has {layer.channels}")


def circular_change(change: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """``change`` (n, m) with each circular column taken the short way round: wrapped
    into (−p/2, p/2] where ``periods[j] = p > 0``; columns with period 0 are linear."""
    circular = periods > 0
    if circular.any():
        p = periods[circular]
        change = change.copy()
        change[:, circular] = p / 2 - np.mod(p / 2 - change[:, circular], p)
    return change


def scorer_periods(scorer: Any) -> np.ndarray:
    """Each column's period (0 where linear), from the scorer's ``periods`` mapping."""
    periods = getattr(scorer, "periods", None) or {}
    return np.array([float(periods.get(name, 0.0)) for name in scorer.names])


def score_changes(
    generator: Generator,
    latents: Latents,
    scorer: Any,
    jobs: Sequence[Job],
    steps: Sequence[float],
    *,
    batch_size: int,
    progress: bool,
    desc: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score every edit (a direction, where it acts, a raw step) of every sample against the unedited sample.

    The unedited batch is synthesized and scored once per chunk of samples and
    reused by every job. A circular score (the scorer's ``periods``: a hue) changes
    the short way round, so 350° → 10° counts +20°, not −340°. Returns sums over
    samples, each of shape (jobs, m), of the positive part of the change, of the
    change, and of its square.
    """
    n, m = len(latents), len(scorer.names)
    periods = scorer_periods(scorer)
    positive, total, square = (np.zeros((len(jobs), m)) for _ in range(3))
    with progress_bar(n * (1 + len(jobs)), desc, enabled=progress) as bar:
        for start in range(0, n, batch_size):
            chunk = latents[start : start + batch_size]
            base = scorer(generator.synthesize(chunk, batch_size=batch_size))
            bar.update(len(chunk))
            for j, ((row, (kind, where)), step) in enumerate(zip(jobs, steps, strict=True)):
                layers = list(where) if kind == "ws" else None
                moved = generator.synthesize(edit(chunk, row, step, layers=layers), batch_size=batch_size)
                change = circular_change(scorer(moved) - base, periods)
                positive[j] += np.maximum(change, 0).sum(axis=0)
                total[j] += change.sum(axis=0)
                square[j] += (change**2).sum(axis=0)
                bar.update(len(chunk))
    return positive, total, square


def check_counts(**counts: object) -> None:
    for what, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{what} must be an int >= 1; got {value!r}")
