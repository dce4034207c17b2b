"""Sampling-heavy work in seed shards, in this process or on a Dask cluster.

Every sampling-heavy call splits its samples into deterministic seed shards (shard ``k``
holds seeds ``seed + k·size, ...``), runs them through :func:`map_shards` and merges the
shards' arrays in plan order, so its result is bit-identical whether the shards ran here
or on any number of Dask workers, in any order. The public switch is ``client=`` on a
call, or a block::

    from dask.distributed import Client
    with semwidget.distributed(Client()):
        result = semwidget.probe(G, FactorScorer(), n_samples=100_000, cache="probe.npz")

A new sampling-heavy call adopts the map in three steps: a ``work(shard, models, tick)``
function at module level that yields the shard's rows batch by batch, a
:class:`ShardPlan`, and a merge of the yielded arrays in order (optionally a
:class:`ShardCache` to resume)::

    plan = ShardPlan(seed, n_samples, shard_size)
    cache = ShardCache(folder, "my-kind", model={...}, params={...}, arrays=lambda s: {...})
    for shard, arrays in map_shards(work, plan.shards(), generator=G, client=client, store=cache):
        out[shard.rows] = arrays["values"]

Dask is imported only when a client is given (``pip install 'semwidget[distributed]'``).
"""

from ._cache import ShardCache, ShardStore
from ._client import distributed
from ._plan import Shard, ShardPlan, check_shard_size, shard_size
from ._runner import Models, join, map_shards
from ._specs import GeneratorSpec, NotPortableError, ScorerSpec, describe_generator, describe_scorer

__all__ = [
    "GeneratorSpec",
    "Models",
    "NotPortableError",
    "ScorerSpec",
    "Shard",
    "ShardCache",
    "ShardPlan",
    "ShardStore",
    "check_shard_size",
    "describe_generator",
    "describe_scorer",
    "distributed",
    "join",
    "map_shards",
    "shard_size",
]
