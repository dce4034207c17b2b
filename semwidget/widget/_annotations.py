"""Annotations: what a user found and named, saved so a new kernel gets it back.

Names, labels (per attribute: the seed, ±1 and the latent code on screen when it was
labelled), directions (every block, with the Python
that recreates it), the layers each direction is applied at, notes, and the real images
shown (their inverted latents; the photos themselves only when asked), the continuous
factors among the directions (their whole fitted record, :mod:`semwidget.continuous._files`)
and the cells moved on their own along them. Saved as
JSON + ``.npz`` through :func:`semwidget.files._atomic.save_json_npz`: no pickle, and a
crash mid-save leaves the previous save whole.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common._checks import is_finite_number, is_int
from ..directions import Directions
from ..files._atomic import load_json_npz, save_json_npz
from ..files._errors import FileFormatError, ModelMismatchError
from ..files._safe import ArraySpec

_FORMAT = "semwidget.annotations/3"
_FORMAT_NO_FACTORS = "semwidget.annotations/2"  # before continuous factors and per-cell moves, read still
_FORMAT_SEEDS_ONLY = "semwidget.annotations/1"  # labels by seed alone, read still
MAX_SEED = 2**63 - 1  # seeds are non-negative int64
REAL_SEED = -1  # the "seed" of a label on a real image, which has none (its code says what it was)
MAX_REALS = 16
MAX_PHOTO_SIDE = 1024
MAX_MOVES = 512
_MOVE_CELL = re.compile(r"(seed|real):[0-9]{1,20}")


@dataclass
class Annotations:
    """Everything an annotator keeps about one model.

    Attributes
    ----------
    model : dict
        ``{"name", "fingerprint"}`` of the generator.
    blocks : list of (Directions, recipe or None)
        The directions, in order, each block with the Python that recreates it.
    layers : list of list of str
        Per direction, the heatmap columns (layer names) it is applied at.
    notes : list of str
        Per direction, free text.
    labels : list of (attribute, seed, value)
        Each labelled image: the attribute, the seed of its sample and 1 or -1.
    codes : ndarray of shape (len(labels), num_ws, w_dim) or None
        The latent code of each labelled image as it was on screen (the sample with the
        edit applied); None for files of format 1, whose labels mean the plain sample.
    reals : list of (name, psnr)
        The real images shown after the samples: a name and the PSNR of the inversion.
    real_codes : ndarray of shape (len(reals), num_ws, w_dim) or None
        Their inverted latents.
    photos : ndarray of shape (len(reals), R, R, 3), uint8, or None
        The images themselves, only when the user asked to keep them.
    factors : dict of int to ContinuousFactor
        The blocks that are continuous factors (by block index), fitted.
    moves : list of (cell, direction, step)
        Cells moved on their own along a factor: ``"seed:N"`` or ``"real:I"`` (the I-th
        real image), the direction's index, the step added to its α for that cell.
    """

    model: dict[str, str]
    blocks: list[tuple[Directions, str | None]] = field(default_factory=list)
    layers: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: list[tuple[str, int, int]] = field(default_factory=list)
    codes: np.ndarray | None = None
    reals: list[tuple[str, float]] = field(default_factory=list)
    real_codes: np.ndarray | None = None
    photos: np.ndarray | None = None
    factors: dict[int, Any] = field(default_factory=dict)
    moves: list[tuple[str, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        k = sum(len(d) for d, _ in self.blocks)
        if len(self.layers) != k or len(self.notes) != k:
            raise ValueError(f"annotations need layers and notes for each of the {k} directions")
        for a, s, v in self.labels:
            if not is_int(s) or not (0 <= int(s) <= MAX_SEED or int(s) == REAL_SEED):
                raise ValueError(
                    f"label seeds must be ints from 0 to 2**63 - 1 (or -1: a real image); got {s!r:.40} for {a!r:.40}"
                )
            if not is_int(v) or int(v) not in (1, -1):
                raise ValueError(f"labels must be 1 or -1; got {v!r:.40} for seed {s}")
        self.labels = [(str(a), int(s), int(v)) for a, s, v in self.labels]
        if self.codes is not None:
            self.codes = np.asarray(self.codes, dtype=np.float32)
            if self.codes.ndim != 3 or len(self.codes) != len(self.labels) or not np.isfinite(self.codes).all():
                raise ValueError(
                    f"label codes must be finite, of shape ({len(self.labels)}, num_ws, w_dim); got {self.codes.shape}"
                )
        self._check_reals()
        self._check_factors(k)

    def _check_factors(self, k: int) -> None:
        from ..continuous import ContinuousFactor

        for b, cf in self.factors.items():
            if not (is_int(b) and 0 <= b < len(self.blocks)) or not isinstance(cf, ContinuousFactor):
                raise ValueError(f"factors map block indices in [0, {len(self.blocks)}) to ContinuousFactor objects")
            if not hasattr(cf, "direction_") or len(self.blocks[b][0]) != 1:
                raise ValueError(f"the factor of block {b} must be fitted, and its block one direction")
        if len(self.moves) > MAX_MOVES:
            raise ValueError(f"at most {MAX_MOVES} per-cell moves; got {len(self.moves)}")
        for move in self.moves:
            ok = isinstance(move, (tuple, list)) and len(move) == 3
            cell, d, step = move if ok else ("", -1, math.nan)
            if not (isinstance(cell, str) and _MOVE_CELL.fullmatch(cell) and is_int(d) and 0 <= d < k):
                raise ValueError(f"a per-cell move is ['seed:N' or 'real:I', direction index, step]; got {move!r:.80}")
            if not is_finite_number(step):
                raise ValueError(f"a per-cell move's step must be a finite number; got {step!r:.40}")
        self.moves = [(str(c), int(d), float(x)) for c, d, x in self.moves]

    def _check_reals(self) -> None:
        m = len(self.reals)
        if m > MAX_REALS:
            raise ValueError(f"at most {MAX_REALS} real images; got {m}")
        if not all(isinstance(n, str) and is_finite_number(p) for n, p in self.reals):
            raise ValueError("real images must be listed as [name, finite PSNR]")
        self.reals = [(str(n), float(p)) for n, p in self.reals]
        if (self.real_codes is None) != (m == 0):
            raise ValueError(f"real image codes must be given for exactly the {m} real images")
        if self.real_codes is not None:
            self.real_codes = np.asarray(self.real_codes, dtype=np.float32)
            if self.real_codes.ndim != 3 or len(self.real_codes) != m or not np.isfinite(self.real_codes).all():
                raise ValueError(f"real image codes must be finite, of shape ({m}, num_ws, w_dim)")
        if self.photos is not None:
            p = self.photos
            square_rgb = p.ndim == 4 and p.shape[3] == 3 and p.shape[1] == p.shape[2]
            if not (p.dtype == np.uint8 and square_rgb and len(p) == m):
                raise ValueError(f"photos must be uint8 of shape ({m}, R, R, 3); got {p.dtype} {p.shape}")
            if not 1 <= p.shape[1] <= MAX_PHOTO_SIDE:
                raise ValueError(f"photos must be at most {MAX_PHOTO_SIDE} px square; got {p.shape[1]}")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``<path>.json`` and its arrays atomically; returns the JSON path."""
        arrays: dict[str, Any] = {}
        blocks = []
        from ..continuous._files import factor_arrays, factor_meta

        for b, (d, recipe) in enumerate(self.blocks):
            arrays.update(d.to_arrays(prefix=f"block{b}_"))
            blocks.append({"directions": d.to_meta(), "recipe": recipe})
            if b in self.factors:
                blocks[-1]["factor"] = factor_meta(self.factors[b])
                arrays.update(factor_arrays(self.factors[b], prefix=f"block{b}_factor_"))
        meta = {
            "format": _FORMAT,
            "model": self.model,
            "blocks": blocks,
            "layers": self.layers,
            "notes": self.notes,
            "labels": [[a, s, v] for a, s, v in self.labels],
            "moves": [[c, d, x] for c, d, x in self.moves],
        }
        if self.codes is not None:
            arrays["label_codes"] = self.codes
        if self.reals:
            meta["reals"] = [[n, p] for n, p in self.reals]
            arrays["real_codes"] = self.real_codes
        if self.photos is not None:
            arrays["photos"] = self.photos
        return save_json_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: Any = None, *, allow_other_model: bool = False) -> Annotations:
        """Read annotations written by :meth:`save`.

        With ``model`` (a :class:`~semwidget.Generator`), annotations of another model
        raise :class:`~semwidget.ModelMismatchError` unless ``allow_other_model=True``
        (then a warning); label codes or directions whose shapes do not fit its latents
        are refused either way. A damaged file raises :class:`~semwidget.FileFormatError`.
        """
        from ..continuous._files import factor_from_saved

        meta, arrays = load_json_npz(path, "semwidget annotations", lambda m: _saved_arrays(m, str(path)))
        try:
            factors = {
                i: factor_from_saved(b["factor"], arrays, prefix=f"block{i}_factor_", where=str(path))
                for i, b in enumerate(meta["blocks"])
                if "factor" in b
            }
            blocks = [
                (Directions.from_saved(b["directions"], arrays, prefix=f"block{i}_", where=str(path)), b.get("recipe"))
                for i, b in enumerate(meta["blocks"])
            ]
            if meta["format"] == _FORMAT_SEEDS_ONLY:
                labels = [(a, _seed(s), v) for a, by_seed in meta["labels"].items() for s, v in by_seed.items()]
                codes = None
            else:
                labels = [tuple(x) for x in meta["labels"]]
                codes = arrays.get("label_codes")
                if labels and codes is None:
                    raise KeyError("label_codes")
            reals = [tuple(x) for x in meta.get("reals", [])]
            annotations = cls(
                meta["model"],
                blocks,
                meta["layers"],
                meta["notes"],
                labels,
                codes,
                reals,  # type: ignore[arg-type]
                arrays.get("real_codes"),
                arrays.get("photos"),
                factors,
                [tuple(x) for x in meta.get("moves", [])],  # type: ignore[misc]
            )
        except FileFormatError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise FileFormatError(
                f"{path} is a damaged semwidget annotations file: {type(exc).__name__}: {exc}"
            ) from None
        if model is not None:
            try:
                annotations.check_model(
                    str(getattr(model, "fingerprint", model)),
                    str(getattr(model, "name", model)),
                    allow_other_model=allow_other_model,
                )
            except ModelMismatchError as exc:
                raise ModelMismatchError(f"{path}: {exc}") from None
            annotations.check_fits(model, where=str(path))
        return annotations

    def check_model(self, fingerprint: str, name: str, *, allow_other_model: bool = False) -> None:
        """Refuse annotations of another model (a warning instead with ``allow_other_model``)."""
        if self.model.get("fingerprint") == fingerprint:
            return
        message = (
            f"these annotations belong to model {self.model.get('name')!r} "
            f"(fingerprint {self.model.get('fingerprint')}), not to {name!r} (fingerprint {fingerprint})"
        )
        if not allow_other_model:
            raise ModelMismatchError(message + "; pass allow_other_model=True to load them anyway")
        warnings.warn(message, stacklevel=3)

    def check_fits(self, generator: Any, where: str = "") -> None:
        """Refuse label codes or directions whose shapes do not fit ``generator``'s latents."""
        shape = (getattr(generator, "num_ws", None), getattr(generator, "w_dim", None))
        for what, codes in (("label codes", self.codes), ("real image codes", self.real_codes)):
            if codes is not None and None not in shape and codes.shape[1:] != shape:
                raise ModelMismatchError(
                    f"{where}: {what} of shape (num_ws, w_dim) = {codes.shape[1:]} do not fit "
                    f"{getattr(generator, 'name', 'the generator')!r}, whose latents are {shape}"
                )
        for d, _ in self.blocks:
            d.check_fits(generator, where)
        for cf in self.factors.values():
            cf.direction_.check_fits(generator, where)


def _seed(text: Any) -> int:
    if not isinstance(text, str) or not text.isdigit() or len(text) > 19:
        raise ValueError(f"a label seed should be a decimal number; found {text!r:.40}")
    return int(text)


def _saved_arrays(meta: dict[str, Any], where: str) -> dict[str, ArraySpec]:
    """The arrays an annotations manifest promises, after checking its fields."""
    if meta.get("format") not in (_FORMAT, _FORMAT_NO_FACTORS, _FORMAT_SEEDS_ONLY):
        raise FileFormatError(f"{where} is not a semwidget annotations file (expected format {_FORMAT!r})")
    model, blocks, labels = meta.get("model"), meta.get("blocks"), meta.get("labels")
    if not (isinstance(model, dict) and all(isinstance(model.get(x), str) for x in ("name", "fingerprint"))):
        raise FileFormatError(f"{where}: 'model' should be {{name, fingerprint}} strings")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise FileFormatError(f"{where}: 'blocks' should be a list of objects")
    for key in ("layers", "notes"):
        if not isinstance(meta.get(key), list):
            raise FileFormatError(f"{where}: {key!r} should be a list")
    if not all(isinstance(x, list) and all(isinstance(n, str) for n in x) for x in meta["layers"]):
        raise FileFormatError(f"{where}: 'layers' should be a list of lists of layer names")
    if not all(isinstance(x, str) for x in meta["notes"]):
        raise FileFormatError(f"{where}: 'notes' should be strings")
    specs: dict[str, ArraySpec] = {}
    for i, b in enumerate(blocks):
        if not isinstance(b.get("recipe"), (str, type(None))):
            raise FileFormatError(f"{where}: the recipe of block {i} should be a string or null")
        specs.update(Directions.saved_arrays(b.get("directions"), prefix=f"block{i}_", where=where))
        if "factor" in b:
            from ..continuous._files import saved_factor_arrays

            specs.update(saved_factor_arrays(b["factor"], prefix=f"block{i}_factor_", where=where))
    moves = meta.get("moves", [])
    if not (isinstance(moves, list) and len(moves) <= MAX_MOVES and all(isinstance(x, list) for x in moves)):
        raise FileFormatError(f"{where}: 'moves' should be a list of at most {MAX_MOVES} [cell, direction, step]")
    if meta["format"] == _FORMAT_SEEDS_ONLY:
        if not isinstance(labels, dict) or not all(isinstance(v, dict) for v in labels.values()):
            raise FileFormatError(f"{where}: 'labels' should map attributes to {{seed: ±1}}")
        return specs
    if not isinstance(labels, list) or not all(
        isinstance(x, list) and len(x) == 3 and isinstance(x[0], str) for x in labels
    ):
        raise FileFormatError(f"{where}: 'labels' should be a list of [attribute, seed, ±1]")
    specs["label_codes"] = ArraySpec("<f4", (len(labels), None, None), required=bool(labels))
    reals = meta.get("reals", [])
    if (
        not isinstance(reals, list)
        or len(reals) > MAX_REALS
        or not all(isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) for x in reals)
    ):
        raise FileFormatError(f"{where}: 'reals' should be a list of at most {MAX_REALS} [name, PSNR]")
    specs["real_codes"] = ArraySpec("<f4", (len(reals), None, None), required=bool(reals))
    specs["photos"] = ArraySpec("|u1", (len(reals), None, None, 3), required=False, finite=False)
    return specs
