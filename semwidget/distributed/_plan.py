"""Deterministic seed shards: shard ``k`` of a plan holds seeds ``seed + k·size`` up to the
next shard's first seed (the last one stops at ``seed + n``).

A shard is the unit of work, caching and scheduling; where it runs (this process or a
Dask worker) and when it finishes do not change what it computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Shard:
    """Seeds ``start, ..., stop - 1``: shard ``index`` of its plan.

    A shard cut short at its front (the first seeds were cached by an earlier run)
    keeps its index and starts later; ``offset`` is its first row in the result.
    ``data`` carries inputs a shard cannot draw from its seeds (latents given by the
    caller, ``latents[shard.rows]``); it travels with the shard to the worker.
    """

    index: int
    start: int
    stop: int
    offset: int
    data: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.stop <= self.start:
            raise ValueError(f"a shard holds at least one seed; got seeds {self.start}..{self.stop - 1}")

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def seeds(self) -> range:
        return range(self.start, self.stop)

    @property
    def rows(self) -> slice:
        """Where the shard's rows go in the result of its plan."""
        return slice(self.offset, self.offset + len(self))

    def __repr__(self) -> str:
        return f"Shard({self.index}, seeds {self.start}..{self.stop - 1})"


@dataclass(frozen=True)
class ShardPlan:
    """``n`` seeds from ``seed``, in shards of ``size``.

    Parameters
    ----------
    seed : int
        The first seed; sample ``i`` is drawn from seed ``seed + i``.
    n : int
        How many samples.
    size : int
        Seeds per shard (the last shard may hold fewer).
    """

    seed: int
    n: int
    size: int

    def __post_init__(self) -> None:
        for value, what in ((self.n, "n"), (self.size, "size")):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"a shard plan's {what} must be an int >= 1; got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise ValueError(f"a shard plan's seed must be an int; got {self.seed!r}")

    def __len__(self) -> int:
        return -(-self.n // self.size)

    def __iter__(self) -> Iterator[Shard]:
        return iter(self.shards())

    def shards(self, done: int = 0) -> list[Shard]:
        """The shards still to do when the first ``done`` samples are: those entirely
        within them are left out, and the one they end inside starts after them."""
        out = []
        for k in range(len(self)):
            first, stop = k * self.size, min((k + 1) * self.size, self.n)
            if stop > done:
                first = max(first, done)
                out.append(Shard(k, self.seed + first, self.seed + stop, first))
        return out


def shard_size(batch_size: int, samples: int = 1024) -> int:
    """The default shard: about ``samples`` samples, a whole number of batches (so a
    shard's batches are the batches an unsharded run would make)."""
    return batch_size * max(1, round(samples / batch_size))


def check_shard_size(value: object, batch_size: int, samples: int = 1024) -> int:
    """``value`` as a shard size (``None``: :func:`shard_size`), refusing anything but an int >= 1."""
    if value is None:
        return shard_size(batch_size, samples)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"shard_size must be an int >= 1 or None; got {value!r}")
    return int(value)
