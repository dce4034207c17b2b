"""Annotations: what a user found and named, saved so a new kernel gets it back.

Names, labels (per attribute: the seed, ±1 and the latent code on screen when it was
labelled), directions (every block, with the Python
that recreates it), the layers each direction is applied at, and notes. Saved as
JSON + ``.npz`` through :func:`semwidget.files._atomic.save_json_npz`: no pickle, and a
crash mid-save leaves the previous save whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..directions import Directions
from ..files._atomic import load_json_npz, save_json_npz

_FORMAT = "semwidget.annotations/2"
_FORMAT_SEEDS_ONLY = "semwidget.annotations/1"  # labels by seed alone, read still


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
    """

    model: dict[str, str]
    blocks: list[tuple[Directions, str | None]] = field(default_factory=list)
    layers: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: list[tuple[str, int, int]] = field(default_factory=list)
    codes: np.ndarray | None = None

    def __post_init__(self) -> None:
        k = sum(len(d) for d, _ in self.blocks)
        if len(self.layers) != k or len(self.notes) != k:
            raise ValueError(f"annotations need layers and notes for each of the {k} directions")
        self.labels = [(str(a), int(s), int(v)) for a, s, v in self.labels]
        if any(v not in (1, -1) for _, _, v in self.labels):
            raise ValueError("labels must be 1 or -1")
        if self.codes is not None:
            self.codes = np.asarray(self.codes, dtype=np.float32)
            if self.codes.ndim != 3 or len(self.codes) != len(self.labels) or not np.isfinite(self.codes).all():
                raise ValueError(
                    f"label codes must be finite, of shape ({len(self.labels)}, num_ws, w_dim); got {self.codes.shape}"
                )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``<path>.json`` and its arrays atomically; returns the JSON path."""
        arrays: dict[str, Any] = {}
        blocks = []
        for b, (d, recipe) in enumerate(self.blocks):
            arrays.update(d.to_arrays(prefix=f"block{b}_"))
            blocks.append({"directions": d.to_meta(), "recipe": recipe})
        meta = {
            "format": _FORMAT,
            "model": self.model,
            "blocks": blocks,
            "layers": self.layers,
            "notes": self.notes,
            "labels": [[a, s, v] for a, s, v in self.labels],
        }
        if self.codes is not None:
            arrays["label_codes"] = self.codes
        return save_json_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Annotations:
        meta, arrays = load_json_npz(path, "semwidget annotations")
        if meta.get("format") not in (_FORMAT, _FORMAT_SEEDS_ONLY):
            raise ValueError(f"{path} is not a semwidget annotations file (expected format {_FORMAT!r})")
        try:
            blocks = [
                (Directions.from_saved(b["directions"], arrays, prefix=f"block{i}_", where=str(path)), b.get("recipe"))
                for i, b in enumerate(meta["blocks"])
            ]
            if meta["format"] == _FORMAT_SEEDS_ONLY:
                labels = [(a, int(s), int(v)) for a, by_seed in meta["labels"].items() for s, v in by_seed.items()]
                codes = None
            else:
                labels = [(a, s, v) for a, s, v in meta["labels"]]
                codes = arrays["label_codes"] if "label_codes" in arrays else None
                if labels and codes is None:
                    raise KeyError("label_codes")
            return cls(meta["model"], blocks, meta["layers"], meta["notes"], labels, codes)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{path} is a damaged semwidget annotations file: {type(exc).__name__}: {exc}") from None

    def check_model(self, fingerprint: str, name: str) -> None:
        if self.model.get("fingerprint") != fingerprint:
            raise ValueError(
                f"these annotations belong to model {self.model.get('name')!r} "
                f"(fingerprint {self.model.get('fingerprint')}), not to {name!r} (fingerprint {fingerprint})"
            )
