"""The scorer protocol: a batch of images in, one score per attribute out.

A scorer is called with images of shape (n, 3, H, W), float in [-1, 1] (what
``Generator.synthesize`` returns), and returns a float array of shape
(n, len(names)). Any callable can be wrapped with :func:`as_scorer`; the
wrapper checks every result, so a scorer returning the wrong shape or NaN
fails with one clear error instead of corrupting a probe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch


class Scorer:
    """Base class: subclasses set ``names`` and implement :meth:`score`.

    Attributes
    ----------
    names : tuple of str
        One name per output column, e.g. ``("brightness",)`` or ``("age", "male")``.
    identity : str
        What makes two scorers the same for a probe cache (class, names and
        parameters); subclasses with weights include their sha256.
    periods : mapping of str to float
        The circular columns (a hue, an angle) and their period in the column's
        own unit (1.0 for a hue in turns, 360.0 in degrees). A change of such a
        column is taken the short way round, wrapped into (−period/2, period/2]:
        350° → 10° is +20°, not −340°. Empty for linear scores.
    """

    names: tuple[str, ...] = ()
    periods: Mapping[str, float] = MappingProxyType({})

    @property
    def identity(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}:{','.join(self.names)}"

    def score(self, images: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def recipe(self) -> tuple[str, dict[str, Any]] | None:
        """How another process (a Dask worker) rebuilds this scorer without pickling its
        model: an importable factory ``"package.module:Class"`` and keyword arguments of
        plain values (a weight file and its sha256, say). ``None``, the default, sends the
        scorer itself as a pickle, which suits scorers holding no model."""
        return None

    def __call__(self, images: torch.Tensor) -> np.ndarray:
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
            raise ValueError(f"{self!r} expects images of shape (n, 3, H, W) in [-1, 1]; got {shape}")
        out = np.asarray(self.score(images), dtype=np.float64)
        if out.ndim == 1 and len(self.names) == 1:
            out = out[:, None]
        expected = (images.shape[0], len(self.names))
        if out.shape != expected:
            raise ValueError(
                f"{self!r} returned scores of shape {out.shape}; expected {expected} "
                f"(one row per image, one column per name in {list(self.names)})"
            )
        if not np.isfinite(out).all():
            bad = sorted({self.names[j] for j in np.nonzero(~np.isfinite(out))[1]})
            raise ValueError(f"{self!r} returned NaN or infinite scores for {bad}")
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.names)})"


class FunctionScorer(Scorer):
    """Any callable images → scores, with names."""

    def __init__(
        self, fn: Callable[[torch.Tensor], object], names: Sequence[str], periods: Mapping[str, float] | None = None
    ) -> None:
        if not callable(fn):
            raise TypeError(f"a scorer must be callable; got {type(fn).__name__}")
        self.fn = fn
        self.names = tuple(str(n) for n in names)
        if not self.names:
            raise ValueError("a scorer needs at least one name")
        self.periods = MappingProxyType(check_periods(periods or {}, self.names))

    @property
    def identity(self) -> str:
        fn = self.fn
        where = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
        return f"function:{where}:{','.join(self.names)}"

    def score(self, images: torch.Tensor) -> np.ndarray:
        out = self.fn(images)
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().numpy()
        return np.asarray(out, dtype=np.float64)


class ScorerSet(Scorer):
    """Several scorers side by side: their columns concatenated in order."""

    def __init__(self, scorers: Sequence[Scorer]) -> None:
        self.scorers = list(scorers)
        self.names = tuple(n for s in self.scorers for n in s.names)
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"scorer names must be unique; got {list(self.names)}")
        self.periods = MappingProxyType({k: v for s in self.scorers for k, v in getattr(s, "periods", {}).items()})

    @property
    def identity(self) -> str:
        return hashlib.sha256("|".join(s.identity for s in self.scorers).encode()).hexdigest()[:16]

    def score(self, images: torch.Tensor) -> np.ndarray:
        return np.concatenate([s(images) for s in self.scorers], axis=1)


def check_periods(periods: Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    """``periods`` as a plain dict, every key a column name, every period positive and finite."""
    out = {str(k): float(v) for k, v in periods.items()}
    for name, period in out.items():
        if name not in names:
            raise ValueError(f"periods names {name!r}, which is not a column; the columns are {list(names)}")
        if not (np.isfinite(period) and period > 0):
            raise ValueError(f"the period of {name!r} must be a positive number; got {period!r}")
    return out


def as_scorer(obj: object, names: Sequence[str] | None = None) -> Scorer:
    """A :class:`Scorer` from a scorer, a callable (give ``names``), or a list of those."""
    if isinstance(obj, Scorer):
        return obj
    if isinstance(obj, (list, tuple)):
        return ScorerSet([as_scorer(o) for o in obj])
    if callable(obj):
        default = getattr(obj, "__name__", "score")
        return FunctionScorer(obj, names or (default,))
    raise TypeError(f"expected a Scorer, a callable images -> scores, or a list of them; got {type(obj).__name__}")
