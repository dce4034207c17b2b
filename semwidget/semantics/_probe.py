"""Probing: sample many latents, synthesize and score them in batches, cache as you go.

The result pairs latents with scores, ready for a boundary::

    result = semwidget.probe(G, [Brightness(), SaliencyPosition()], n_samples=2000, cache="faces.npz")
    InterFaceGAN().fit(result.latents, result.column("brightness"))

The samples are split into seed shards (:mod:`semwidget.distributed`): in this process
they run one after another, on a Dask cluster (``client=``) side by side, with the same
result to the bit. The cache (:mod:`semwidget.semantics._probe_cache`) keeps every
finished batch (in this process) or shard (on a cluster), so an interrupted probe resumes
where it stopped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..distributed import Models, Shard, ShardPlan, check_shard_size, map_shards
from ..distributed._client import resolve_client
from ..files._errors import ModelMismatchError
from ..generators import Generator, as_generator
from ..generators._latents import Latents
from ..scorers import Scorer, as_scorer
from ._probe_cache import _FIX, FORMAT, VERSION, ProbeStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ProbeResult:
    """Latents and their scores, one row per sample.

    Attributes
    ----------
    latents : Latents of length n
        Re-created from the seeds, on the generator's device.
    scores : ndarray of shape (n, m)
        One column per name, float64.
    names : tuple of str of length m
    seeds : tuple of int of length n
    """

    latents: Latents
    scores: np.ndarray
    names: tuple[str, ...]
    seeds: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.seeds)

    def column(self, name: str) -> np.ndarray:
        """The scores named ``name``: ndarray of shape (n,)."""
        if name not in self.names:
            raise KeyError(f"no score named {name!r}; this probe has {list(self.names)}")
        return self.scores[:, self.names.index(name)]

    def __repr__(self) -> str:
        return f"ProbeResult(n={len(self)}, names={list(self.names)}, seeds={self.seeds[0] if self.seeds else ''}…)"


def probe(
    generator: Generator | torch.nn.Module,
    scorers: Scorer | Any,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    batch_size: int = 64,
    cache: str | os.PathLike[str] | None = None,
    truncation: float | None = None,
    progress: bool = True,
    client: Any = None,
    shard_size: int | None = None,
) -> ProbeResult:
    """Score ``n_samples`` generated images, in batches, with a progress bar.

    Sample ``i`` is drawn with seed ``seed + i``. With ``cache``, the seeds
    already scored there are not computed again and every finished batch is
    saved, so an interrupted probe (an error, a kernel restart) resumes; a
    cache that was made with another generator, scorer set, seed or truncation
    is refused, never overwritten. ``n_samples`` may differ from the run that
    made the cache: a cache with fewer samples is extended, one with more
    gives its first ``n_samples`` (and is left as it is).

    Parameters
    ----------
    generator : Generator (or a generator module, wrapped by ``as_generator``)
        Runs on its own device; the images reach the scorers on the CPU.
    scorers : Scorer, callable or list of them
        Anything :func:`semwidget.scorers.as_scorer` accepts.
    n_samples, seed, batch_size : int
    cache : path of an ``.npz`` file, optional
        Shards finished on a cluster wait in the folder ``<cache>.shards`` beside it
        until they join the file's rows.
    truncation : float, optional
        ψ for generators with truncation.
    progress : bool
        Show a progress bar (on a cluster: of finished shards).
    client : dask.distributed.Client, optional
        Run the shards on this Dask cluster (``pip install 'semwidget[distributed]'``);
        default: the enclosing :func:`semwidget.distributed` block's, else this process.
        Workers load the generator by its zoo name or checkpoint file (it must come from
        :func:`semwidget.load`) and the scorers from their recipes. The result is
        bit-identical to this process's when the workers compute on the same kind of
        device, whatever the number of workers and the order shards finish in.
    shard_size : int, optional
        Samples per shard (default about 1024, a whole number of batches). The scores
        do not depend on it while it is a multiple of ``batch_size``.

    Returns
    -------
    ProbeResult with ``scores`` of shape (n_samples, number of score names).

    Raises
    ------
    ValueError
        Bad arguments, a scorer returning the wrong shape or NaN (what is
        cached so far is kept), or a cache from another probe.
    """
    generator = as_generator(generator)
    scorer = as_scorer(scorers)
    for value, what in ((n_samples, "n_samples"), (batch_size, "batch_size")):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{what} must be an int >= 1; got {value!r}")
    size = check_shard_size(shard_size, int(batch_size))
    client = resolve_client(client)
    n, seed = int(n_samples), int(seed)
    plan = ShardPlan(seed, n, size)
    # Each shard's latents drawn as the shard draws them, so they are what was scored.
    latents = Latents.concat([generator.sample(seeds=s.seeds, truncation=truncation) for s in plan.shards()])
    codes = latents.ws[:, 0].float().cpu().numpy()
    psi = generator.default_truncation if truncation is None else truncation
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "generator": {"name": generator.name, "fingerprint": generator.fingerprint},
        "scorers": {"identity": scorer.identity, "names": list(scorer.names)},
        "seed": seed,
        "n_samples": n,
        # The ψ actually used, so a changed default cannot pass for the same probe.
        "truncation": None if psi is None else float(psi),
    }
    path = None if cache is None else Path(cache)
    store = ProbeStore(path, meta, codes.shape[1])
    _check_codes(store, codes, 0, store.done, generator)
    if store.done:
        log.info("probe: %d of %d samples read from the cache %s", store.done, n, path)
    work = ProbeWork(int(batch_size), None if truncation is None else float(truncation))
    try:
        for _ in map_shards(
            work,
            plan.shards(store.done),
            generator=generator,
            scorer=scorer,
            client=client,
            store=store,
            desc="probing",
            progress=progress,
        ):
            pass
    finally:
        # An error or an interrupt: keep every finished batch and shard, then let it propagate.
        store.save()
    _check_codes(store, codes, 0, n, generator)
    return ProbeResult(latents=latents, scores=store.scores, names=scorer.names, seeds=tuple(range(seed, seed + n)))


@dataclass(frozen=True)
class ProbeWork:
    """One probe shard: its latents drawn from its seeds, synthesized and scored batch by
    batch from its first seed; yields each batch's codes ``w`` and ``scores``."""

    batch_size: int
    truncation: float | None

    def __call__(self, shard: Shard, models: Models, tick: Any) -> Any:
        generator, scorer = models.generator, models.scorer
        assert generator is not None and scorer is not None, "a probe shard needs a generator and scorers"
        latents = generator.sample(seeds=shard.seeds, truncation=self.truncation)
        codes = latents.ws[:, 0].float().cpu().numpy()
        for start in range(0, len(shard), self.batch_size):
            part = latents[start : start + self.batch_size]
            scores = scorer(generator.synthesize(part, batch_size=self.batch_size))
            tick(len(part))
            yield {"w": codes[start : start + len(part)], "scores": scores}


def _check_codes(store: ProbeStore, codes: np.ndarray, start: int, stop: int, generator: Generator) -> None:
    if not np.allclose(store.w[start:stop], codes[start:stop], rtol=1e-3, atol=1e-3):
        raise ModelMismatchError(
            f"the probe cache {store.path} holds latent codes that differ from what {generator.name} samples "
            f"for the same seeds; {_FIX}"
        )
