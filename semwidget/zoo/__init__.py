"""Pretrained generators by name: ``semwidget.load("digiface-dcgan")``."""

from __future__ import annotations

import os

import torch

from ..generators import Generator
from ._catalog import CATALOG, BundledEntry, ZooEntry
from ._fetch import ZooFetchError, bundled_file, cache_dir, weight_file


def available() -> dict[str, str]:
    """Zoo names with a one-line description each."""
    return {name: f"{e.description} ({e.requirement}, {e.license})" for name, e in CATALOG.items()}


def load_zoo(
    name: str,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    weights: str | os.PathLike[str] | None = None,
) -> Generator:
    """The pretrained generator called ``name``; its weights are fetched once and cached."""
    entry = CATALOG.get(name)
    if entry is None:
        known = "\n".join(f"  {n}: {d}" for n, d in available().items())
        raise ValueError(f"unknown model {name!r}; the zoo has:\n{known}")
    if isinstance(entry, BundledEntry):
        return entry.build(bundled_file(entry, weights), device, dtype)
    return entry.build(weight_file(entry, weights), device, dtype)


__all__ = ["CATALOG", "BundledEntry", "ZooEntry", "ZooFetchError", "available", "cache_dir", "load_zoo"]
