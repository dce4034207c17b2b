"""Annotations: what a user found and named, saved so a new kernel gets it back.

Names, labels (by seed, per attribute), directions (every block, with the Python
that recreates it), the layers each direction is applied at, and notes. Saved as
JSON + ``.npz`` through :func:`semwidget._io.save_json_npz`: no pickle, and a
crash mid-save leaves the previous save whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._io import load_json_npz, save_json_npz
from .directions import Directions

_FORMAT = "semwidget.annotations/1"


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
    labels : dict
        ``{attribute: {seed: 1 or -1}}``.
    """

    model: dict[str, str]
    blocks: list[tuple[Directions, str | None]] = field(default_factory=list)
    layers: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: dict[str, dict[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = sum(len(d) for d, _ in self.blocks)
        if len(self.layers) != k or len(self.notes) != k:
            raise ValueError(f"annotations need layers and notes for each of the {k} directions")
        for attribute, by_seed in self.labels.items():
            if any(v not in (1, -1) for v in by_seed.values()):
                raise ValueError(f"labels of {attribute!r} must be 1 or -1")

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
            "labels": {a: {str(s): int(v) for s, v in by_seed.items()} for a, by_seed in self.labels.items()},
        }
        return save_json_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Annotations:
        meta, arrays = load_json_npz(path, "semwidget annotations")
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a semwidget annotations file (expected format {_FORMAT!r})")
        try:
            blocks = [
                (Directions.from_saved(b["directions"], arrays, prefix=f"block{i}_", where=str(path)), b.get("recipe"))
                for i, b in enumerate(meta["blocks"])
            ]
            labels = {a: {int(s): int(v) for s, v in by_seed.items()} for a, by_seed in meta["labels"].items()}
            return cls(model=meta["model"], blocks=blocks, layers=meta["layers"], notes=meta["notes"], labels=labels)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path} is a damaged semwidget annotations file: {type(exc).__name__}: {exc}") from None

    def check_model(self, fingerprint: str, name: str) -> None:
        if self.model.get("fingerprint") != fingerprint:
            raise ValueError(
                f"these annotations belong to model {self.model.get('name')!r} "
                f"(fingerprint {self.model.get('fingerprint')}), not to {name!r} (fingerprint {fingerprint})"
            )
