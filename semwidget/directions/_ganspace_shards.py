"""GANSpace's sampling in seed shards (:mod:`semwidget.distributed`): what one shard
computes (moments of codes or activations; the sums of the regression back to the
latent) and how shards merge, in seed order, into the same numbers wherever they ran.

Sample ``i`` of ``random_state`` r is drawn from its own seed ``r·2³² + i``: z first,
then (conditional models, no ``class_index``) a uniform class, so any shard can be drawn
alone and a sample is the same whatever the batch or shard it falls in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..common._progress import pulse
from ..distributed import Models, Shard, ShardCache, map_shards
from ..files._safe import ArraySpec
from ..generators import Generator
from ..generators._latents import Latents

SEED_STRIDE = 2**32  # seeds of random_state r: r·2³² + i, so two states never share a sample
_ACTIVATION_CHUNK = 256  # samples per forward pass when collecting feature maps


class StreamingMoments:
    """Mean and scatter matrix of rows seen batch by batch, in float64."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.mean = torch.zeros(dim, dtype=torch.float64)
        self.scatter = torch.zeros(dim, dim, dtype=torch.float64)

    def update(self, batch: torch.Tensor) -> None:
        x = batch.detach().to("cpu", torch.float64)
        m = x.shape[0]
        if m == 0:
            return
        mean_b = x.mean(0)
        centred = x - mean_b
        self.merge(m, mean_b, centred.T @ centred)

    def merge(self, m: int, mean_b: torch.Tensor, scatter_b: torch.Tensor) -> None:
        """Add the moments of ``m`` more rows (Chan et al.'s pairwise update)."""
        delta = mean_b - self.mean
        total = self.n + m
        self.scatter += scatter_b + torch.outer(delta, delta) * (self.n * m / total)
        self.mean += delta * (m / total)
        self.n = total

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise ValueError("PCA needs at least 2 samples")
        return (self.scatter / (self.n - 1)).numpy()


def draw(gen: Generator, seeds: range, class_index: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The untruncated codes of these samples, each from its own seed: w of shape
    (b, w_dim) (z itself for z-space models) and the one-hot classes (or None)."""
    zs, classes = [], []
    for seed in seeds:
        rng = torch.Generator().manual_seed(seed)
        zs.append(torch.randn(gen.z_dim, generator=rng))
        if gen.c_dim:
            classes.append(int(torch.randint(gen.c_dim, (1,), generator=rng)) if class_index is None else class_index)
    c = None
    if gen.c_dim:
        c = torch.nn.functional.one_hot(torch.tensor(classes), gen.c_dim).to(gen.device, gen.dtype)
    with torch.inference_mode():
        w = gen.map_to_w(torch.stack(zs), c).float()
    return w, c


def batches(
    gen: Generator, shard: Shard, batch_size: int, class_index: int | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """A shard's samples in batches from its first seed."""
    for start in range(shard.start, shard.stop, batch_size):
        yield draw(gen, range(start, min(start + batch_size, shard.stop)), class_index)


def activations(gen: Generator, layer: str, w: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """The feature map at ``layer`` for codes ``w`` broadcast to every ``ws``, in chunks,
    so a widget running this as a job can draw a drag between them (pulse) instead of
    after a whole batch's forward pass (seconds on a CPU)."""
    ws = w.to(gen.dtype)[:, None, :].expand(-1, gen.num_ws, -1)
    parts = []
    for start in range(0, len(ws), _ACTIVATION_CHUNK):
        part = slice(start, start + _ACTIVATION_CHUNK)
        latents = Latents(ws=ws[part], c=None if c is None else c[part], model=gen.fingerprint)
        parts.append(gen.activations(latents, layer))
        pulse()
    return torch.cat(parts)


@dataclass(frozen=True)
class Moments:
    """One shard's moments (n, mean, scatter) of ``what``: ``"latent"`` (the codes),
    ``"channels"`` (every position's channel vector of ``layer``) or ``"flat"`` (the
    flattened feature map)."""

    what: str
    layer: str | None
    dim: int
    batch_size: int
    class_index: int | None

    def __call__(self, shard: Shard, models: Models, tick: Any) -> Any:
        gen = models.generator
        assert gen is not None, "GANSpace shards need the generator"
        moments = StreamingMoments(self.dim)
        for w, c in batches(gen, shard, self.batch_size, self.class_index):
            if self.what == "latent":
                moments.update(w)
            else:
                act = activations(gen, self.layer, w, c)  # type: ignore[arg-type]
                rows = act.transpose(0, 1).reshape(self.dim, -1).T if self.what == "channels" else act.flatten(1)
                moments.update(rows)
            tick(len(w))
        yield {"n": np.array([moments.n]), "mean": moments.mean.numpy()[None], "scatter": moments.scatter.numpy()[None]}


@dataclass(frozen=True)
class Regression:
    """One shard's sums for the least squares w ≈ x U (x: the activations' coordinates on
    ``components`` around ``mean``), and the moments of its codes."""

    layer: str
    batch_size: int
    class_index: int | None
    mean: np.ndarray
    components: np.ndarray

    def __call__(self, shard: Shard, models: Models, tick: Any) -> Any:
        gen = models.generator
        assert gen is not None, "GANSpace shards need the generator"
        k = len(self.components)
        xtx, xtw = np.zeros((k, k)), np.zeros((k, gen.w_dim))
        latent = StreamingMoments(gen.w_dim)
        for w, c in batches(gen, shard, self.batch_size, self.class_index):
            x = (activations(gen, self.layer, w, c).flatten(1).double().numpy() - self.mean) @ self.components.T
            xtx += x.T @ x
            xtw += x.T @ w.double().cpu().numpy()
            latent.update(w)
            tick(len(w))
        yield {
            "xtx": xtx[None],
            "xtw": xtw[None],
            "n": np.array([latent.n]),
            "mean": latent.mean.numpy()[None],
            "scatter": latent.scatter.numpy()[None],
        }


def merge_moments(moments: StreamingMoments, arrays: dict[str, np.ndarray]) -> None:
    """Add one shard's moments; shards are merged in seed order."""
    moments.merge(int(arrays["n"][0]), torch.from_numpy(arrays["mean"][0]), torch.from_numpy(arrays["scatter"][0]))


def run(
    work: Moments | Regression,
    gen: Generator,
    shards: list[Shard],
    *,
    client: Any,
    cache: str | os.PathLike[str] | None,
    params: dict[str, Any],
    desc: str,
    progress: bool,
) -> Iterator[dict[str, np.ndarray]]:
    """Each shard's arrays, in seed order, from the cache, this process or the cluster."""
    store = None
    if cache is not None:
        if isinstance(work, Regression):
            digest = hashlib.sha256(work.mean.tobytes() + work.components.tobytes()).hexdigest()
            params = {**params, "pass": "regression", "components": digest}
        else:
            params = {**params, "pass": "moments", "of": work.what}
        store = ShardCache(
            cache,
            "ganspace",
            model={"generator": {"name": gen.name, "fingerprint": gen.fingerprint}},
            params=params,
            arrays=lambda s: _arrays(work, gen),
        )
    for _, arrays in map_shards(work, shards, generator=gen, client=client, store=store, desc=desc, progress=progress):
        yield arrays


def _arrays(work: Moments | Regression, gen: Generator) -> dict[str, ArraySpec]:
    dim = work.dim if isinstance(work, Moments) else gen.w_dim
    moments = {
        "n": ArraySpec("<i8", (1,)),
        "mean": ArraySpec("<f8", (1, dim)),
        "scatter": ArraySpec("<f8", (1, dim, dim)),
    }
    if isinstance(work, Moments):
        return moments
    k = len(work.components)
    return {**moments, "xtx": ArraySpec("<f8", (1, k, k)), "xtw": ArraySpec("<f8", (1, k, gen.w_dim))}
