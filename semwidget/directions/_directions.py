"""``Directions``: the value every finder returns and every edit consumes."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..common._checks import is_int
from ..files._atomic import load_json_npz, save_json_npz
from ..files._errors import FileFormatError, ModelMismatchError
from ..files._safe import ArraySpec

log = logging.getLogger(__name__)

LATENT_SPACES = ("z", "w", "w+")
_FORMAT = "semwidget.directions/1"


def fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Flip each row so its entry of largest magnitude is positive (as sklearn's
    ``svd_flip`` does), so eigenvector signs do not depend on the solver."""
    idx = np.argmax(np.abs(vectors), axis=1)
    signs = np.sign(vectors[np.arange(len(vectors)), idx])
    signs[signs == 0] = 1
    return vectors * signs[:, None]


def model_identity(model: Any) -> dict[str, str] | None:
    """Accept a Generator, a dict or None; keep name and fingerprint."""
    if model is None:
        return None
    if isinstance(model, dict):
        return {"name": str(model.get("name", "")), "fingerprint": str(model.get("fingerprint", ""))}
    return {"name": str(model.name), "fingerprint": str(model.fingerprint)}


@dataclass(frozen=True, eq=False)
class Directions:
    """A set of unit-norm directions in one space of one model.

    Attributes
    ----------
    vectors : ndarray of shape (k, dim)
        Unit-norm rows.
    scores : ndarray of shape (k,)
        What ranks them: eigenvalues (SeFa), explained variance (GANSpace),
        validation accuracy (InterFaceGAN).
    space : str
        ``"z"``, ``"w"`` or ``"w+"`` for latent directions, or the name of a
        feature layer for channel-space directions injected there.
    layers : tuple of int or None
        The layer-wise latents an edit touches by default; None means all.
    method : str
        The finder that made them.
    labels : tuple of str
        A name per direction.
    sigmas : ndarray of shape (k,) or None
        The spread of the data along each direction, so α can be given in σ units.
    model : dict or None
        ``{"name", "fingerprint"}`` of the generator they were found on (``model_identity(generator)``).
    notes : dict
        Free-form metadata: the finder's parameters, validation figures.
    """

    vectors: np.ndarray
    scores: np.ndarray
    space: str
    layers: tuple[int, ...] | None = None
    method: str = ""
    labels: tuple[str, ...] = ()
    sigmas: np.ndarray | None = None
    model: dict[str, str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        v = np.asarray(self.vectors, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] == 0 or v.shape[1] == 0:
            raise ValueError(f"Directions.vectors must be a non-empty array of shape (k, dim); got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("Directions.vectors contain NaN or infinite values")
        norms = np.linalg.norm(v, axis=1)
        if np.any(norms < 1e-12):
            raise ValueError("Directions.vectors contain a zero row; a direction needs a nonzero vector")
        if np.any(np.abs(norms - 1) > 1e-12):  # leave unit rows untouched, so save/load is exact
            v = v / norms[:, None]
        k = v.shape[0]
        s = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if s.shape != (k,):
            raise ValueError(f"Directions.scores must have shape ({k},); got {s.shape}")
        labels = tuple(self.labels) or tuple(f"{self.method or 'direction'} {i}" for i in range(k))
        if len(labels) != k:
            raise ValueError(f"Directions.labels must have {k} entries; got {len(labels)}")
        sigmas = None
        if self.sigmas is not None:
            sigmas = np.asarray(self.sigmas, dtype=np.float64).reshape(-1)
            if sigmas.shape != (k,) or not np.all(sigmas > 0):
                raise ValueError(f"Directions.sigmas must be {k} positive numbers")
        layers = None if self.layers is None else tuple(int(i) for i in self.layers)
        if not isinstance(self.space, str) or not self.space:
            raise ValueError("Directions.space must be 'z', 'w', 'w+' or a feature-layer name")
        object.__setattr__(self, "vectors", v)
        object.__setattr__(self, "scores", s)
        object.__setattr__(self, "labels", tuple(str(x) for x in labels))
        object.__setattr__(self, "sigmas", sigmas)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "model", model_identity(self.model))

    # ---- container behaviour ----------------------------------------------------

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def is_latent(self) -> bool:
        """True for latent-space directions, False for channel-space ones."""
        return self.space in LATENT_SPACES

    def __getitem__(self, index: int | slice | Sequence[int]) -> Directions:
        """A subset, still a ``Directions`` (one row for an int)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        notes = self.notes
        if idx.tolist() != list(range(len(self))):  # the finder's recipe recreates all rows, not these
            notes = {k: v for k, v in self.notes.items() if k != "recipe"}
        return replace(
            self,
            vectors=self.vectors[idx],
            scores=self.scores[idx],
            labels=tuple(self.labels[i] for i in idx),
            sigmas=None if self.sigmas is None else self.sigmas[idx],
            notes=notes,
        )

    def __repr__(self) -> str:
        model = self.model["name"] if self.model else None
        return (
            f"Directions(k={len(self)}, dim={self.dim}, space={self.space!r}, method={self.method!r}, "
            f"layers={self.layers}, model={model!r}, labels={list(self.labels)[:4]}"
            f"{'...' if len(self) > 4 else ''})"
        )

    def rename(self, index: int, label: str) -> Directions:
        labels = list(self.labels)
        labels[index] = str(label)
        return replace(self, labels=tuple(labels))

    def with_layers(self, layers: Sequence[int] | None) -> Directions:
        return replace(self, layers=None if layers is None else tuple(layers))

    def with_measured_sigmas(self, generator: Any, n: int = 2000, seed: int = 10_000) -> Directions:
        """These latent directions with ``sigmas`` set to the spread of ``n`` sampled codes
        along each (seeds ``seed ..``), so that ``scale="sigma"`` steps compare across
        finders. ``generator`` is a :class:`~semwidget.Generator` whose codes fit them."""
        if not self.is_latent:
            raise ValueError(f"measured sigmas need latent directions; these act at feature layer {self.space!r}")
        w = generator.sample(n, seed=seed).ws[:, 0].double().cpu().numpy()
        if w.shape[1] != self.dim:
            raise ValueError(f"directions of dimension {self.dim} do not fit codes of dimension {w.shape[1]}")
        # Noted, so "copy as code" can measure them again after re-running the finder.
        notes = {**self.notes, "measured_sigmas": {"n": int(n), "seed": int(seed)}}
        return replace(self, sigmas=(w @ self.vectors.T).std(axis=0), notes=notes)

    @staticmethod
    def concat(parts: Sequence[Directions]) -> Directions:
        """Join directions of one space and model (for example several boundaries)."""
        if not parts:
            raise ValueError("Directions.concat needs at least one Directions")
        first = parts[0]
        for p in parts[1:]:
            if (p.space, p.dim) != (first.space, first.dim):
                raise ValueError(f"cannot join directions in {p.space!r}/{p.dim} with {first.space!r}/{first.dim}")
            if p.model and first.model and p.model["fingerprint"] != first.model["fingerprint"]:
                raise ValueError("cannot join directions found on different models")
        sigmas = None
        if all(p.sigmas is not None for p in parts):
            sigmas = np.concatenate([p.sigmas for p in parts])  # type: ignore[misc]
        methods = sorted({p.method for p in parts})
        return Directions(
            vectors=np.concatenate([p.vectors for p in parts]),
            scores=np.concatenate([p.scores for p in parts]),
            space=first.space,
            layers=first.layers if all(p.layers == first.layers for p in parts) else None,
            method=methods[0] if len(methods) == 1 else "+".join(methods),
            labels=tuple(label for p in parts for label in p.labels),
            sigmas=sigmas,
            model=first.model,
        )

    # ---- model identity ------------------------------------------------------------

    def check_model(self, fingerprint: str, *, allow_other_model: bool = False) -> None:
        """Refuse to apply to another model than the one the directions came from."""
        if not self.model or not fingerprint or self.model["fingerprint"] == fingerprint:
            return
        message = (
            f"these directions were found on model {self.model['name']!r} "
            f"(fingerprint {self.model['fingerprint']}), not on the model with fingerprint {fingerprint}"
        )
        if not allow_other_model:
            raise ModelMismatchError(message + "; pass allow_other_model=True to apply them anyway")
        warnings.warn(message, stacklevel=3)

    # ---- persistence --------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``<path>.json`` (metadata) and the arrays beside it, atomically.

        Returns the JSON path. No pickle is involved; a crash mid-save leaves the
        previous save intact (see :func:`semwidget.files._atomic.save_json_npz`).
        """
        return save_json_npz(path, self.to_meta(), self.to_arrays())

    def to_meta(self) -> dict[str, Any]:
        """The JSON-friendly part of a save."""
        meta = {
            "format": _FORMAT,
            "space": self.space,
            "layers": None if self.layers is None else list(self.layers),
            "method": self.method,
            "labels": list(self.labels),
            "model": self.model,
            "notes": self.notes,
            "shape": list(self.vectors.shape),
        }
        return json.loads(json.dumps(meta, default=_jsonable))  # fail here, before writing, if not JSON

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        arrays = {f"{prefix}vectors": self.vectors, f"{prefix}scores": self.scores}
        if self.sigmas is not None:
            arrays[f"{prefix}sigmas"] = self.sigmas
        return arrays

    @staticmethod
    def saved_arrays(meta: Any, prefix: str = "", where: str = "") -> dict[str, ArraySpec]:
        """The arrays a saved record ``meta`` promises (checking ``meta`` first):
        ``vectors`` float64 (k, dim), ``scores`` and optional ``sigmas`` float64 (k,)."""
        k, dim = _check_meta(meta, where)
        return {
            f"{prefix}vectors": ArraySpec("<f8", (k, dim)),
            f"{prefix}scores": ArraySpec("<f8", (k,)),
            f"{prefix}sigmas": ArraySpec("<f8", (k,), required=False),
        }

    @classmethod
    def from_saved(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = "", where: str = ""
    ) -> Directions:
        """Rebuild from :meth:`to_meta` and :meth:`to_arrays` output (checked as
        :meth:`saved_arrays` says); :class:`~semwidget.FileFormatError` if they do not fit."""
        specs = cls.saved_arrays(meta, prefix, where)
        for key, spec in specs.items():
            a = arrays.get(key)
            if a is None and not spec.required:
                continue
            if a is None or a.dtype != np.dtype(spec.dtype) or a.shape != spec.shape or not np.isfinite(a).all():
                raise FileFormatError(
                    f"{where}: the arrays do not match the metadata (expected {key} of shape {spec.shape}, finite)"
                )
        try:
            return cls(
                vectors=arrays[f"{prefix}vectors"],
                scores=arrays[f"{prefix}scores"],
                space=meta["space"],
                layers=meta.get("layers"),
                method=meta["method"],
                labels=tuple(meta["labels"]),
                sigmas=arrays.get(f"{prefix}sigmas"),
                model=meta.get("model"),
                notes=meta.get("notes", {}),
            )
        except ValueError as exc:
            raise FileFormatError(f"{where}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: Any = None, *, allow_other_model: bool = False) -> Directions:
        """Read directions written by :meth:`save`.

        With ``model`` (a :class:`~semwidget.Generator` or a fingerprint), directions
        found on another model raise :class:`~semwidget.ModelMismatchError` unless
        ``allow_other_model=True`` (then a warning); latent directions whose dimension
        does not fit the generator's codes are refused either way. A damaged file
        raises :class:`~semwidget.FileFormatError` before anything large is allocated.
        """
        meta, arrays = load_json_npz(path, "semwidget directions", lambda m: cls.saved_arrays(m, where=str(path)))
        d = cls.from_saved(meta, arrays, where=str(path))
        if model is not None:
            try:
                d.check_model(_fingerprint(model), allow_other_model=allow_other_model)
            except ModelMismatchError as exc:
                raise ModelMismatchError(f"{path}: {exc}") from None
            d.check_fits(model, where=str(path))
        return d

    def check_fits(self, generator: Any, where: str = "") -> None:
        """Refuse latent directions whose dimension is not that of ``generator``'s codes."""
        dims = {int(d) for d in (getattr(generator, "w_dim", None), getattr(generator, "z_dim", None)) if d is not None}
        if self.is_latent and dims and self.dim not in dims:
            raise ModelMismatchError(
                f"{where or 'these directions'}: directions of dimension {self.dim} do not fit "
                f"{getattr(generator, 'name', 'the generator')!r}, whose codes have dimension {sorted(dims)}"
            )


def _fingerprint(model: Any) -> str:
    return model if isinstance(model, str) else str(getattr(model, "fingerprint", ""))


def _check_meta(meta: Any, where: str) -> tuple[int, int]:
    """(k, dim) of a saved directions record, after checking every field's type."""
    where = where or "this"
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise FileFormatError(f"{where} is not a semwidget directions file (expected format {_FORMAT!r})")
    shape = meta.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(is_int(x) and x >= 1 for x in shape)):
        raise FileFormatError(f"{where}: 'shape' should be [k, dim] of positive ints; found {shape!r:.80}")
    k, dim = shape
    problems = []
    if not isinstance(meta.get("space"), str) or not meta["space"]:
        problems.append("'space' should be a non-empty string")
    layers = meta.get("layers")
    if layers is not None and not (isinstance(layers, list) and all(is_int(i) and i >= 0 for i in layers)):
        problems.append("'layers' should be null or a list of layer indices")
    if not isinstance(meta.get("method"), str):
        problems.append("'method' should be a string")
    labels = meta.get("labels")
    if not (isinstance(labels, list) and len(labels) == k and all(isinstance(x, str) for x in labels)):
        problems.append(f"'labels' should be {k} strings")
    model = meta.get("model")
    if model is not None and not (
        isinstance(model, dict) and all(isinstance(model.get(x), str) for x in ("name", "fingerprint"))
    ):
        problems.append("'model' should be null or {name, fingerprint} strings")
    if not isinstance(meta.get("notes", {}), dict):
        problems.append("'notes' should be an object")
    if problems:
        raise FileFormatError(f"{where} is a damaged semwidget directions file: {'; '.join(problems)}")
    return k, dim


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} into a directions file")
