"""Fitted continuous factors on disk: JSON + ``.npz``, no pickle, every field checked.

A record holds what a fitted :class:`~semwidget.ContinuousFactor` needs to edit and to
be fitted again: its parameters, the direction (with the model's identity), the
monotone map g as its knots, and the trajectory summary. The same record sits inside
an annotations file (under a prefix) or alone (:func:`save_factor`). Nothing read is
trusted: shapes are fixed by the manifest before an array is allocated (see
:mod:`semwidget.files._safe`), g must be strictly increasing with g(0) = 0, and the
parameters go through the estimator's own validation.

A factor fitted to a callable transform saves its direction and g, not the callable
(code is never written into a data file): loaded back it edits as before, and
``fit`` says the callable must be given again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..common._checks import is_finite_number, is_int
from ..directions._directions import Directions
from ..files._atomic import load_json_npz, save_json_npz
from ..files._errors import FileFormatError, ModelMismatchError
from ..files._safe import ArraySpec
from ._fit import ContinuousFactor, TrajectorySummary
from ._monotone import MonotoneMap
from ._transforms import TRANSFORMS, CustomTransform, as_transform

FORMAT = "semwidget.continuous_factor/1"
MAX_KNOTS = 1024  # g's knots: 2 × t_steps + 1 for a fit; far fewer than this
MAX_TRAJECTORIES = 1_000_000
# The parameters a record keeps (transform, cache and progress are not the fit's result).
_PARAMS = (
    "n_trajectories",
    "t_max",
    "t_steps",
    "steps_per_target",
    "sigma",
    "reject",
    "space",
    "layers",
    "learning_rate",
    "batch_size",
    "random_state",
)


def factor_meta(cf: ContinuousFactor) -> dict[str, Any]:
    """The JSON part of a fitted factor's record."""
    _check_fitted(cf)
    transform = as_transform(cf.transform)
    params = {k: _plain(v) for k, v in cf.get_params().items() if k in _PARAMS}
    summary = cf.trajectories_
    return {
        "format": FORMAT,
        "transform": transform.name,
        "custom": isinstance(transform, CustomTransform),
        "default_t_max": float(transform.default_t_max),
        "params": params,
        "direction": cf.direction_.to_meta(),
        "explained": float(cf.explained_),
        "seconds": float(getattr(cf, "seconds_", 0.0)),
        "knots": len(cf.g_.t),
        "trajectories": [len(summary.seeds), len(summary.t)],
    }


def factor_arrays(cf: ContinuousFactor, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays of a fitted factor's record, their names starting with ``prefix``."""
    _check_fitted(cf)
    s = cf.trajectories_
    return {
        **cf.direction_.to_arrays(prefix=f"{prefix}direction_"),
        f"{prefix}g_t": np.asarray(cf.g_.t, dtype="<f8"),
        f"{prefix}g_step": np.asarray(cf.g_.step, dtype="<f8"),
        f"{prefix}traj_t": np.asarray(s.t, dtype="<f8"),
        f"{prefix}traj_seeds": np.asarray(s.seeds, dtype="<i8"),
        f"{prefix}traj_kept": np.asarray(s.kept, dtype="|b1"),
        f"{prefix}traj_error": np.asarray(s.error, dtype="<f8"),
        f"{prefix}traj_step": np.asarray(s.step, dtype="<f8"),
    }


def saved_factor_arrays(meta: Any, prefix: str = "", where: str = "") -> dict[str, ArraySpec]:
    """The arrays a factor record ``meta`` promises, after checking its fields' types."""
    where = where or "this"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(f"{where} holds no semwidget continuous factor (expected format {FORMAT!r})")
    k: Any = meta.get("knots")
    shape = meta.get("trajectories")
    if not (is_int(k) and 2 <= k <= MAX_KNOTS):
        raise FileFormatError(f"{where}: 'knots' should be an int in [2, {MAX_KNOTS}]; found {k!r:.40}")
    if not (isinstance(shape, list) and len(shape) == 2 and all(is_int(x) for x in shape)):
        raise FileFormatError(f"{where}: 'trajectories' should be [n, k] ints; found {shape!r:.60}")
    n, kt = shape
    if not (1 <= n <= MAX_TRAJECTORIES and 1 <= kt <= MAX_KNOTS):
        raise FileFormatError(f"{where}: {n} trajectories of {kt} amounts is beyond what a fit makes")
    for key, kind in (("transform", str), ("custom", bool), ("params", dict)):
        if not isinstance(meta.get(key), kind):
            raise FileFormatError(f"{where}: {key!r} should be a {kind.__name__}")
    for key in ("explained", "seconds", "default_t_max"):
        if not is_finite_number(meta.get(key)):
            raise FileFormatError(f"{where}: {key!r} should be a finite number")
    specs = Directions.saved_arrays(meta.get("direction"), prefix=f"{prefix}direction_", where=where)
    specs.update(
        {
            f"{prefix}g_t": ArraySpec("<f8", (k,)),
            f"{prefix}g_step": ArraySpec("<f8", (k,)),
            f"{prefix}traj_t": ArraySpec("<f8", (kt,)),
            f"{prefix}traj_seeds": ArraySpec("<i8", (n,)),
            f"{prefix}traj_kept": ArraySpec("|b1", (n,), finite=False),
            f"{prefix}traj_error": ArraySpec("<f8", (n, kt)),
            f"{prefix}traj_step": ArraySpec("<f8", (n, kt)),
        }
    )
    return specs


def factor_from_saved(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = "", where: str = ""
) -> ContinuousFactor:
    """A fitted factor rebuilt from :func:`factor_meta` and :func:`factor_arrays` output
    (checked as :func:`saved_factor_arrays` says); :class:`~semwidget.FileFormatError` if
    anything does not fit."""
    specs = saved_factor_arrays(meta, prefix, where)
    for key, spec in specs.items():
        a = arrays.get(key)
        if a is None and not spec.required:
            continue
        if a is None or a.shape != spec.shape or not spec.accepts(a.dtype):
            raise FileFormatError(f"{where}: the arrays do not match the metadata (expected {key}: {spec.describe()})")
    direction = Directions.from_saved(meta["direction"], arrays, prefix=f"{prefix}direction_", where=where)
    try:
        g = MonotoneMap(arrays[f"{prefix}g_t"], arrays[f"{prefix}g_step"])
        if 0.0 not in g.t or g(0.0) != 0.0:
            raise ValueError("g must have a knot at t = 0 with step 0")
        if len(direction) != 1 or direction.method != "continuous":
            raise ValueError(f"a factor's direction is one 'continuous' direction; found {len(direction)}")
        transform = _transform(meta)
        unknown = sorted(set(meta["params"]) - set(_PARAMS))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}")
        cf = ContinuousFactor(transform, **meta["params"], progress=False)
        cf._validate_params()  # sklearn's checks of every parameter's type and range
    except (ValueError, TypeError) as exc:
        raise FileFormatError(f"{where} is a damaged continuous factor record: {exc}") from None
    cf.direction_ = direction
    cf.g_ = g
    cf.explained_ = float(meta["explained"])
    cf.seconds_ = float(meta["seconds"])
    cf.trajectories_ = TrajectorySummary(
        t=arrays[f"{prefix}traj_t"].astype(np.float64),
        seeds=arrays[f"{prefix}traj_seeds"].astype(np.int64),
        kept=arrays[f"{prefix}traj_kept"].astype(bool),
        error=arrays[f"{prefix}traj_error"].astype(np.float64),
        step=arrays[f"{prefix}traj_step"].astype(np.float64),
    )
    return cf


def save_factor(cf: ContinuousFactor, path: str | os.PathLike[str]) -> Path:
    """Write a fitted factor to ``<path>.json`` and its arrays beside it, atomically;
    returns the JSON path."""
    return save_json_npz(path, factor_meta(cf), factor_arrays(cf))


def load_factor(
    path: str | os.PathLike[str], model: Any = None, *, allow_other_model: bool = False
) -> ContinuousFactor:
    """Read a factor written by :func:`save_factor`. With ``model`` (a generator or a
    fingerprint), a factor fitted on another model raises
    :class:`~semwidget.ModelMismatchError` unless ``allow_other_model=True`` (a warning)."""
    meta, arrays = load_json_npz(path, "semwidget continuous factor", lambda m: saved_factor_arrays(m, where=str(path)))
    cf = factor_from_saved(meta, arrays, where=str(path))
    if model is not None:
        fingerprint = model if isinstance(model, str) else str(getattr(model, "fingerprint", ""))
        try:
            cf.direction_.check_model(fingerprint, allow_other_model=allow_other_model)
        except ModelMismatchError as exc:
            raise ModelMismatchError(f"{path}: {exc}") from None
        cf.direction_.check_fits(model, where=str(path))
    return cf


def _transform(meta: dict[str, Any]) -> Any:
    name = meta["transform"]
    if not meta["custom"]:
        if name not in TRANSFORMS:
            raise ValueError(f"unknown transform {name!r:.40}; expected one of {sorted(TRANSFORMS)}")
        return name
    if not name or len(name) > 200:
        raise ValueError("a custom transform's name should be 1 to 200 characters")

    def unsaved(images: torch.Tensor, t: float) -> Any:
        raise ValueError(
            f"this factor was loaded from a file: its transform {name!r} is a Python callable, which files "
            f"do not hold; pass ContinuousFactor(your_callable, ...) to fit again"
        )

    return CustomTransform(unsaved, name=name, t_max=float(meta["default_t_max"]))


def _check_fitted(cf: Any) -> None:
    if not isinstance(cf, ContinuousFactor):
        raise TypeError(f"expected a fitted semwidget.ContinuousFactor; got {type(cf).__name__}")
    if not hasattr(cf, "direction_"):
        raise ValueError("this ContinuousFactor is not fitted yet; call fit(generator) before saving it")


def _plain(value: Any) -> Any:
    """A parameter as JSON: tuples and arrays become lists, numpy scalars numbers."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot write the parameter value {value!r:.60} into a factor record")
