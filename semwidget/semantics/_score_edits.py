"""Scoring edits against the unedited samples: the loop that re-scoring
(:mod:`semwidget.semantics._rescore`) and attribute change (:mod:`semwidget.semantics._entanglement`) share."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..directions import Directions
from ..directions._edits import edit
from ..distributed import Models, Shard, ShardCache, ShardPlan, check_shard_size, map_shards
from ..distributed._client import resolve_client
from ..files._safe import ArraySpec
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
    scorer: Any,
    jobs: Sequence[Job],
    steps: Sequence[float],
    *,
    n_samples: int,
    seed: int,
    latents: Latents | None,
    batch_size: int,
    progress: bool,
    desc: str,
    client: Any = None,
    cache: str | os.PathLike[str] | None = None,
    shard_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score every edit (a direction, where it acts, a raw step) of every sample against the unedited sample.

    The samples are seeds ``seed, ..., seed + n_samples - 1`` (or ``latents``), in seed
    shards (:mod:`semwidget.distributed`), in this process or on a Dask ``client``. The
    unedited batch is synthesized and scored once per batch and reused by every job. A
    circular score (the scorer's ``periods``: a hue) changes the short way round, so
    350° → 10° counts +20°, not −340°. Each shard gives per-batch sums, added up here
    batch after batch in seed order, so the result does not depend on where shards ran,
    in which order they finished, or (for a multiple of ``batch_size``) the shard size.
    Returns sums over samples, each of shape (jobs, m), of the positive part of the
    change, of the change, and of its square.
    """
    size = check_shard_size(shard_size, batch_size)
    client = resolve_client(client)
    if latents is None:
        shards = ShardPlan(seed, n_samples, size).shards()
    else:
        shards = [replace(s, data=latents[s.rows]) for s in ShardPlan(0, len(latents), size).shards()]
    work = ScoreChanges(tuple(jobs), tuple(float(x) for x in steps), batch_size)
    store = None if cache is None else _cache(cache, generator, scorer, work, seed, latents)
    sums = np.zeros((3, len(jobs), len(scorer.names)))
    for _, arrays in map_shards(
        work,
        shards,
        generator=generator,
        scorer=scorer,
        client=client,
        store=store,
        desc=desc,
        units_per_sample=1 + len(jobs),
        progress=progress,
    ):
        for row in arrays["sums"]:  # one per batch, in order: the sums a single loop would make
            sums += row
    return sums[0], sums[1], sums[2]


@dataclass(frozen=True)
class ScoreChanges:
    """One shard of :func:`score_changes`: yields, per batch, ``sums`` of shape
    (1, 3, jobs, m): the positive part of the change, the change and its square."""

    jobs: tuple[Job, ...]
    steps: tuple[float, ...]
    batch_size: int

    def __call__(self, shard: Shard, models: Models, tick: Any) -> Any:
        generator, scorer = models.generator, models.scorer
        assert generator is not None and scorer is not None, "scoring edits needs a generator and scorers"
        latents = shard.data if shard.data is not None else generator.sample(seeds=shard.seeds)
        periods = scorer_periods(scorer)
        for start in range(0, len(latents), self.batch_size):
            chunk = latents[start : start + self.batch_size]
            base = scorer(generator.synthesize(chunk, batch_size=self.batch_size))
            tick(len(chunk))
            sums = np.zeros((1, 3, len(self.jobs), len(scorer.names)))
            for j, ((row, (kind, where)), step) in enumerate(zip(self.jobs, self.steps, strict=True)):
                layers = list(where) if kind == "ws" else None
                moved = generator.synthesize(edit(chunk, row, step, layers=layers), batch_size=self.batch_size)
                change = circular_change(scorer(moved) - base, periods)
                sums[0, 0, j] = np.maximum(change, 0).sum(axis=0)
                sums[0, 1, j] = change.sum(axis=0)
                sums[0, 2, j] = (change**2).sum(axis=0)
                tick(len(chunk))
            yield {"sums": sums}


def _cache(
    folder: str | os.PathLike[str],
    generator: Generator,
    scorer: Any,
    work: ScoreChanges,
    seed: int,
    latents: Latents | None,
) -> ShardCache:
    """The shard cache of one :func:`score_changes` call: its model, then every input."""
    if latents is None:
        psi = generator.default_truncation
        drawn: dict[str, Any] = {"seed": int(seed), "truncation": None if psi is None else float(psi)}
    else:
        digest = hashlib.sha256()
        noise = latents.noise or ()
        for t in (latents.ws, latents.c, *[latents.offsets[k] for k in sorted(latents.offsets)], *noise):
            if t is not None:
                digest.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
        drawn = {"latents": digest.hexdigest(), "offsets": sorted(latents.offsets)}
        if noise:  # latents with their own noise maps (invert's optimize_noise) make other images
            drawn["noise maps"] = len(noise)
    jobs = [
        {
            "vector": hashlib.sha256(np.ascontiguousarray(row.vectors, np.float64).tobytes()).hexdigest(),
            "space": row.space,
            "target": [kind, list(where) if kind == "ws" else where],
            "step": step,
        }
        for (row, (kind, where)), step in zip(work.jobs, work.steps)
    ]
    m, bs = len(scorer.names), work.batch_size
    return ShardCache(
        folder,
        "score-changes",
        model={
            "generator": {"name": generator.name, "fingerprint": generator.fingerprint},
            "scorers": {"identity": scorer.identity, "names": list(scorer.names)},
        },
        params={"samples": drawn, "jobs": jobs, "batch_size": bs},
        arrays=lambda s: {"sums": ArraySpec("<f8", (-(-len(s) // bs), 3, len(jobs), m))},
    )


def check_counts(**counts: object) -> None:
    for what, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{what} must be an int >= 1; got {value!r}")
