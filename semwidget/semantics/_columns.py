"""The layer heatmap's columns: where each direction can be applied, written once.

A column is a layer-wise latent (a ``ws`` index) or a feature layer. A generator with
several layer-wise latents has one column per latent, then one per feature layer where a
channel-space direction lives. A single-input generator (one latent: a DCGAN) has its
input, then all of its feature layers: they are its layers. ``semwidget.rescore`` and
the Explorer's heatmap both use these columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..directions import Directions
from ..generators import Generator
from ._score_edits import Target


@dataclass(frozen=True)
class Column:
    """One heatmap column: a layer-wise latent (``ws`` index) or a feature layer."""

    name: str
    ws: int | None = None
    feature: str | None = None

    @property
    def target(self) -> Target:
        """Where an edit at this column goes, as the scoring code names it."""
        return ("ws", (self.ws,)) if self.ws is not None else ("feature", self.feature)

    def applies(self, d: Directions) -> bool:
        """A latent direction acts on layer-wise latents, a channel direction at its own layer only."""
        return self.ws is not None if d.is_latent else self.feature == d.space


def layer_columns(g: Generator) -> tuple[Column, ...]:
    """The columns a generator has whatever the directions."""
    if g.num_ws == 1:
        return (Column(g.latent_space, ws=0),) + tuple(Column(name, feature=name) for name in g.feature_layers)
    return tuple(Column(name, ws=i) for i, name in enumerate(g.layer_names))


def heatmap_columns(base: Sequence[Column], rows: Sequence[Directions]) -> tuple[Column, ...]:
    """``base``, then one column per feature layer a channel-space row lives at."""
    columns = list(base)
    for d in rows:
        if not d.is_latent and all(c.feature != d.space for c in columns):
            columns.append(Column(d.space, feature=d.space))
    return tuple(columns)
