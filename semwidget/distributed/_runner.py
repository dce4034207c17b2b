"""The shard map: run one function over a plan's shards, in this process or on a Dask
cluster, and hand back each shard's arrays in plan order.

What a shard computes depends on its seeds, the models and the torch thread count
alone: a worker builds the models from their specs (once per process), runs the shard
with the caller's ``torch.get_num_threads()`` (CPU kernels such as MKL's matrix product
sum in a thread-count-dependent order), and returns its arrays; the calling process
writes them to the cache and merges them in plan order, however many workers there are
and whatever order they finish in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..common._progress import progress as progress_bar
from ..generators import Generator
from ..scorers import Scorer
from ._cache import ShardStore
from ._client import resolve_client
from ._plan import Shard
from ._specs import GeneratorSpec, ScorerSpec, built, describe_generator, describe_scorer

log = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]
Tick = Callable[[int], None]


@dataclass(frozen=True)
class Models:
    """What a shard runs on: the caller's own objects in this process, rebuilt ones on a worker."""

    generator: Generator | None = None
    scorer: Scorer | None = None


#: ``work(shard, models, tick)`` yields the shard's rows batch by batch (dicts of arrays
#: whose first axes are joined); ``tick(n)`` reports ``n`` more units done. It must be
#: picklable by reference (a module-level function or a frozen dataclass of plain values).
Work = Callable[[Shard, Models, Tick], Iterable[Mapping[str, np.ndarray]]]


def map_shards(
    work: Work,
    shards: Sequence[Shard],
    *,
    generator: Generator | None = None,
    scorer: Scorer | None = None,
    client: object = None,
    store: ShardStore | None = None,
    desc: str = "working",
    units_per_sample: int = 1,
    unit: str = "img",
    units: Callable[[Shard], int] | None = None,
    progress: bool = True,
) -> Iterator[tuple[Shard, Arrays]]:
    """Run ``work`` over ``shards``; yield ``(shard, arrays)`` in the order of ``shards``.

    Parameters
    ----------
    work : callable ``(shard, models, tick) -> iterable of dicts of arrays``
        What one shard computes, batch by batch; the shard's arrays are the batches'
        joined along their first axis.
    shards : sequence of Shard
        Usually ``ShardPlan(seed, n, size).shards()``.
    generator, scorer : the live objects ``work`` needs (``models.generator``, ``models.scorer``)
        On a cluster they travel as specs (:func:`describe_generator`, :func:`describe_scorer`).
    client : dask.distributed.Client, optional
        Default: the enclosing :func:`semwidget.distributed` block's, else this process.
    store : ShardStore, optional
        Shards it holds are not computed; each finished shard is put there (by this
        process, as shards finish), so a stopped run resumes.
    desc, units_per_sample, unit, units, progress
        The progress bar: in this process it counts ``units(shard)`` units per shard
        (default ``units_per_sample`` per sample), ticked by ``work``; on a cluster it
        counts finished shards.

    Notes
    -----
    Nothing runs until the result is iterated; an error in a shard (in this process or
    on a worker) propagates and the shards not yet finished are cancelled, while the
    finished ones stay in ``store``. A worker that dies mid-shard is replaced by Dask and
    the shard runs again elsewhere.
    """
    client = resolve_client(client)
    shards = list(shards)
    store = store if store is not None else ShardStore()
    threads = torch.get_num_threads()
    if client is None:
        models = Models(generator, scorer)
        count = units if units is not None else lambda shard: units_per_sample * len(shard)
        return _in_process(work, shards, models, store, threads, desc, count, unit, progress)
    generator_spec = None if generator is None else describe_generator(generator)
    scorer_spec = None if scorer is None else describe_scorer(scorer)
    return _on_cluster(client, work, shards, generator_spec, scorer_spec, store, threads, desc, progress)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch's CPU kernels with ``n`` threads in this thread, then restore the count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def join(parts: Sequence[Mapping[str, np.ndarray]]) -> Arrays:
    """The batches of a shard joined along their first axis."""
    if not parts:
        raise ValueError("a shard's work yielded nothing; it must yield at least one batch")
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def _in_process(
    work: Work,
    shards: list[Shard],
    models: Models,
    store: ShardStore,
    threads: int,
    desc: str,
    count: Callable[[Shard], int],
    unit: str,
    progress: bool,
) -> Iterator[tuple[Shard, Arrays]]:
    total = sum(count(s) for s in shards)
    with progress_bar(total, desc, enabled=progress, unit=unit) as bar:
        for shard in shards:
            arrays = store.get(shard)
            if arrays is None:
                parts: list[Mapping[str, np.ndarray]] = []
                with torch_threads(threads):
                    offset = 0
                    for part in work(shard, models, bar.update):
                        store.put_batch(shard, offset, part)
                        offset += len(next(iter(part.values())))
                        parts.append(part)
                arrays = join(parts)
                store.put(shard, arrays)
            elif count(shard):
                bar.update(count(shard))
            yield shard, arrays


def run_shard(
    work: Work, shard: Shard, generator: GeneratorSpec | None, scorer: ScorerSpec | None, threads: int
) -> Arrays:
    """One shard on a Dask worker: its models built once per process, its torch thread count the caller's."""
    models = Models(None if generator is None else built(generator), None if scorer is None else built(scorer))
    with torch_threads(threads):
        return join(list(work(shard, models, _ignore)))


def _ignore(_n: int) -> None:
    pass


def _on_cluster(
    client: Any,
    work: Work,
    shards: list[Shard],
    generator: GeneratorSpec | None,
    scorer: ScorerSpec | None,
    store: ShardStore,
    threads: int,
    desc: str,
    progress: bool,
) -> Iterator[tuple[Shard, Arrays]]:
    from distributed import as_completed

    ready: dict[int, Arrays] = {}
    for i, shard in enumerate(shards):
        cached = store.get(shard)
        if cached is not None:
            ready[i] = cached
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            run_shard,
            work,
            _on_cpu(shard),
            generator,
            scorer,
            threads,
            key=f"semwidget-{token}-{shard.index}",
            pure=False,
        ): i
        for i, shard in enumerate(shards)
        if i not in ready
    }
    link = _dashboard(client)
    if link:
        log.info("%s: the Dask dashboard is at %s", desc, link)
    label = f"{desc} on Dask" + (f" ({link})" if link else "")
    log.info("%s: %d shards, %d of them cached, %d sent to the cluster", desc, len(shards), len(ready), len(futures))
    following = 0
    try:
        with progress_bar(len(shards), label, enabled=progress, unit="shard") as bar:
            bar.update(len(ready))
            for future in as_completed(list(futures)):
                i = futures[future]
                arrays = future.result()  # a shard's error is raised here, as it was raised on the worker
                store.put(shards[i], arrays)
                ready[i] = arrays
                bar.update(1)
                while following in ready:
                    yield shards[following], ready.pop(following)
                    following += 1
        while following < len(shards):
            yield shards[following], ready.pop(following)
            following += 1
    finally:
        unfinished = [f for f in futures if not f.done()]
        if unfinished:
            client.cancel(unfinished)


def _on_cpu(shard: Shard) -> Shard:
    """The shard with its data (given latents) on the CPU: a worker may have no GPU."""
    to = getattr(shard.data, "to", None)
    return shard if to is None else replace(shard, data=to("cpu"))


def _dashboard(client: Any) -> str | None:
    try:
        link = client.dashboard_link
    except Exception:  # no dashboard (bokeh not installed, a scheduler without one)
        return None
    return str(link) if link else None
