"""Which Dask client a call runs on: its ``client=``, else the one of an enclosing
``semwidget.distributed(client)`` block, else none (this process). Dask is imported only
here and only when a client is given, so the core package runs without it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

INSTALL = "pip install 'semwidget[distributed]'"

_current: ContextVar[Any] = ContextVar("semwidget_dask_client", default=None)


def require_dask() -> ModuleType:
    """``dask.distributed``, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"client= runs the work on a Dask cluster, which needs dask.distributed ({exc}); install it with "
            f"{INSTALL}, or leave client= out to run in this process"
        ) from None
    return distributed


def check_client(client: object) -> Any:
    """``client`` if it is a synchronous ``dask.distributed.Client``; else a clear error."""
    dd = require_dask()
    if not isinstance(client, dd.Client):
        raise TypeError(
            f"client= takes a dask.distributed.Client (Client() starts a local cluster, "
            f"Client('tcp://host:8786') joins a running scheduler) or None; got {type(client).__name__}"
        )
    if client.asynchronous:
        raise TypeError("client= takes a synchronous dask.distributed.Client; this one was made with asynchronous=True")
    return client


def resolve_client(client: object = None) -> Any:
    """The client a call runs on: ``client`` itself, else the enclosing block's, else None."""
    return _current.get() if client is None else check_client(client)


@contextmanager
def distributed(client: object) -> Iterator[Any]:
    """Run the sampling-heavy calls in this block on a Dask cluster.

    Inside ``with semwidget.distributed(client):``, :func:`semwidget.probe`,
    :func:`semwidget.rescore`, :func:`semwidget.attribute_change`,
    :meth:`semwidget.GANSpace.fit`, :meth:`semwidget.ContinuousFactor.fit` and
    :func:`semwidget.invert` run as if called with ``client=client``; a call's own
    ``client=`` still wins. ``semwidget.distributed(None)`` runs a block in this process.
    The result is bit-identical to the one computed in this process (see
    :func:`semwidget.distributed.map_shards`).

    Parameters
    ----------
    client : dask.distributed.Client or None

    Examples
    --------
    >>> from dask.distributed import Client
    >>> with semwidget.distributed(Client()):          # a local cluster, one worker per core
    ...     result = semwidget.probe(G, scorer, n_samples=100_000, cache="probe.npz")
    """
    token = _current.set(None if client is None else check_client(client))
    try:
        yield client
    finally:
        _current.reset(token)
