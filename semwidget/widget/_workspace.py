"""What the Explorer edits, without any widget: a generator, its directions, the
heatmap's columns, and the edit state. The widget calls this through the same
public API a notebook user calls (sample, edit, synthesize, finders)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._edits import edit
from .._latents import Latents
from ..directions import Directions
from ..generators import Generator

# α beyond this many handle extents is refused: far outside any sensible edit.
_MAX_EXTENTS = 100.0


@dataclass(frozen=True)
class Column:
    """A heatmap column: a layer-wise latent (``ws`` index) or a feature layer."""

    name: str
    ws: int | None = None
    feature: str | None = None


@dataclass(frozen=True)
class EditState:
    """Everything undo/redo restores."""

    alphas: tuple[float, ...]
    active: tuple[int, ...]
    layers: tuple[tuple[int, ...], ...]  # per direction: column indices it is applied at
    pad: tuple[int, ...]


@dataclass(frozen=True)
class Source:
    """A block of directions added together, with the Python that recreates them."""

    directions: Directions
    start: int
    recipe: str | None


class Workspace:
    """A generator, its directions and heatmap columns, and edit-state maths."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.sources: list[Source] = []
        self.extents: list[float] = []
        self.notes: list[str] = []
        self.columns = self._columns(generator)

    # ---- directions ------------------------------------------------------------

    @property
    def directions(self) -> list[tuple[Directions, int]]:
        """One (Directions block, row) per direction, in order."""
        return [(s.directions, i) for s in self.sources for i in range(len(s.directions))]

    def add(self, directions: Directions, recipe: str | None = None) -> None:
        """Append a block of directions; they must belong to this generator's spaces."""
        g = self.generator
        if directions.is_latent:
            if directions.dim != g.w_dim:
                raise ValueError(f"directions of dimension {directions.dim} do not fit {g.name} (w_dim={g.w_dim})")
        elif directions.space not in g.feature_layers:
            raise ValueError(f"directions live at {directions.space!r}, which is not a feature layer of {g.name}")
        elif directions.dim != g.feature_layers[directions.space].channels:
            raise ValueError(
                f"{directions.space!r} has {g.feature_layers[directions.space].channels} channels, "
                f"the directions {directions.dim}"
            )
        directions.check_model(g.fingerprint)
        start = sum(len(s.directions) for s in self.sources)
        self.sources.append(Source(directions, start, recipe or directions.notes.get("recipe")))
        self.extents += [self._extent(directions[i]) for i in range(len(directions))]
        self.notes += [""] * len(directions)
        if not directions.is_latent and all(c.feature != directions.space for c in self.columns):
            self.columns.append(Column(directions.space, feature=directions.space))

    def clear(self) -> None:
        """Forget every direction (before loading annotations)."""
        self.sources, self.extents, self.notes = [], [], []
        self.columns = self._columns(self.generator)

    def rename(self, index: int, label: str) -> None:
        for b, source in enumerate(self.sources):
            if source.start <= index < source.start + len(source.directions):
                renamed = source.directions.rename(index - source.start, label)
                self.sources[b] = Source(renamed, source.start, source.recipe)
                return
        raise IndexError(f"no direction {index}")

    def column_index(self, name: str) -> int:
        for j, c in enumerate(self.columns):
            if c.name == name:
                return j
        raise ValueError(f"{self.generator.name} has no layer {name!r}; it has {[c.name for c in self.columns]}")

    def describe(self) -> list[dict[str, object]]:
        rows = []
        for (d, i), extent, notes in zip(self.directions, self.extents, self.notes):
            rows.append(
                {
                    "label": d.labels[i],
                    "method": d.method,
                    "score": float(d.scores[i]),
                    "space": d.space,
                    "latent": d.is_latent,
                    "sigma": None if d.sigmas is None else float(d.sigmas[i]),
                    "extent": extent,
                    "notes": notes,
                }
            )
        return rows

    def default_layers(self, index: int) -> tuple[int, ...]:
        """Columns a direction starts at: its own layers, or its feature layer."""
        d, _ = self.directions[index]
        if d.is_latent:
            chosen = range(self.generator.num_ws) if d.layers is None else d.layers
            return tuple(j for j, c in enumerate(self.columns) if c.ws is not None and c.ws in chosen)
        return tuple(j for j, c in enumerate(self.columns) if c.feature == d.space)

    def applicable(self, index: int, column: int) -> bool:
        d, _ = self.directions[index]
        c = self.columns[column]
        return c.ws is not None if d.is_latent else c.feature == d.space

    # ---- edits -------------------------------------------------------------------

    def check_state(self, state: EditState) -> None:
        k = len(self.extents)
        if len(state.alphas) != k or len(state.layers) != k:
            raise ValueError(f"expected {k} alphas and layer sets (one per direction); got {len(state.alphas)}")
        for i, (a, extent) in enumerate(zip(state.alphas, self.extents)):
            if not math.isfinite(a):
                raise ValueError(f"alpha for direction {i} must be a finite number; got {a!r}")
            if abs(a) > _MAX_EXTENTS * extent:
                raise ValueError(f"alpha {a!r} for direction {i} is outside ±{_MAX_EXTENTS * extent:.3g}")
        for i, cols in enumerate(state.layers):
            bad = [c for c in cols if not (0 <= c < len(self.columns) and self.applicable(i, c))]
            if bad:
                raise ValueError(
                    f"direction {i} cannot be applied at columns {bad}; the heatmap has {len(self.columns)} columns"
                )

    def edited(self, base: Latents, state: EditState) -> Latents:
        """Every direction with a nonzero α, applied at its chosen columns (a joint edit)."""
        latents = base
        for i, ((d, row), a) in enumerate(zip(self.directions, state.alphas)):
            cols = state.layers[i]
            if a == 0 or not cols:
                continue
            scale = "sigma" if d.sigmas is not None else "raw"
            if d.is_latent:
                ws = [self.columns[c].ws for c in cols]
                latents = edit(latents, d[row], a, layers=ws, scale=scale)  # type: ignore[arg-type]
            else:
                latents = edit(latents, d[row], a, scale=scale)
        return latents

    # ---- heatmap ---------------------------------------------------------------------

    def heatmap(self, base: Latents, progress: callable = lambda done, total: None) -> list[list[float | None]]:  # type: ignore[valid-type]
        """Mean absolute image change (pixels in [0, 1]) when each direction moves half
        its handle's extent at one column alone; None where it cannot act."""
        g = self.generator
        reference = g.synthesize(base)
        k, m = len(self.extents), len(self.columns)
        values: list[list[float | None]] = [[None] * m for _ in range(k)]
        cells = [(i, j) for i in range(k) for j in range(m) if self.applicable(i, j)]
        for done, (i, j) in enumerate(cells):
            alphas = [0.0] * k
            alphas[i] = 0.5 * self.extents[i]
            layers = [(j,) if r == i else () for r in range(k)]
            state = EditState(tuple(alphas), (i,), tuple(layers), ())
            moved = g.synthesize(self.edited(base, state))
            values[i][j] = float((moved - reference).abs().mean() / 2)
            progress(done + 1, len(cells))
        return values

    # ---- helpers -----------------------------------------------------------------------

    @staticmethod
    def _columns(g: Generator) -> list[Column]:
        if g.num_ws == 1:
            columns = [Column(g.latent_space, ws=0)]
        else:
            columns = [Column(name, ws=i) for i, name in enumerate(g.layer_names)]
        if g.num_ws == 1:  # single-input generators: their feature maps are the layers
            columns += [Column(name, feature=name) for name in g.feature_layers]
        return columns

    def _extent(self, d: Directions) -> float:
        """How far a handle reaches: 3 σ, or 3 × the spread of the data along the direction."""
        if d.sigmas is not None:
            return 3.0
        g = self.generator
        v = torch.as_tensor(d.vectors[0], dtype=torch.float32)
        probe = g.sample(256, seed=10_000_019)
        if d.is_latent:
            spread = (probe.ws[:, 0].float().cpu() @ v).std().item()
        else:
            act = g.activations(probe[:32], d.space)
            spread = torch.einsum("nc...,c->n...", act.cpu(), v).std().item()
        return float(np.round(3.0 * max(spread, 1e-6), 3))


def replace_at(values: Sequence[object], index: int, value: object) -> tuple[object, ...]:
    out = list(values)
    out[index] = value
    return tuple(out)


__all__ = ["Column", "EditState", "Source", "Workspace", "replace_at"]
