"""Pretrained generators by name: ``semwidget.load("digiface-dcgan")``.

``semwidget.zoo.describe(name)`` tells what a model's layers are without loading it::

    >>> print(semwidget.zoo.describe("shapes-stylegan2"))
    StyleGAN2, 64×64, 10 layer-wise latents in w (64-d)
      ...
    >>> semwidget.zoo.describe("shapes-stylegan2").layers("coarse")
    (0, 1, 2)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..files._errors import ModelMismatchError
from ..generators import Generator
from ._cards import GROUPS, Layer, ModelCard, group_of
from ._catalog import CATALOG, BundledEntry, ZooEntry
from ._fetch import ZooFetchError, bundled_file, cache_dir, weight_file


def available() -> dict[str, str]:
    """Zoo names with a one-line description each."""
    return {name: f"{e.description} ({e.requirement}, {e.license})" for name, e in CATALOG.items()}


def describe(name: str) -> ModelCard:
    """The layers of zoo model ``name``, without loading (or fetching) its weights.

    ``print()`` it for a table; ``.layers("coarse")`` gives ws indices of a group,
    ``.feature_layers_in("middle")`` feature map names.
    """
    return _entry(name).card


def _entry(name: str) -> ZooEntry | BundledEntry:
    entry = CATALOG.get(name)
    if entry is None:
        known = "\n".join(f"  {n}: {d}" for n, d in available().items())
        raise ValueError(f"unknown model {name!r}; the zoo has:\n{known}")
    return entry


def load_zoo(
    name: str,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    weights: str | os.PathLike[str] | None = None,
) -> Generator:
    """The pretrained generator called ``name``; its weights are fetched once and cached."""
    entry = _entry(name)
    if isinstance(entry, BundledEntry):
        generator = entry.build(bundled_file(entry, weights), device, dtype)
    else:
        generator = entry.build(weight_file(entry, weights), device, dtype)
    differences = entry.card.differences(generator)
    if differences:
        raise ModelMismatchError(
            f"the {name} generator does not match its card in semwidget/zoo/_catalog.py: {'; '.join(differences)}"
        )
    generator.source = {"zoo": name, "weights": None if weights is None else str(Path(weights).resolve())}
    return generator


__all__ = [
    "CATALOG",
    "GROUPS",
    "BundledEntry",
    "Layer",
    "ModelCard",
    "ZooEntry",
    "ZooFetchError",
    "available",
    "cache_dir",
    "describe",
    "group_of",
    "load_zoo",
]
