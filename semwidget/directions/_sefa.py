"""SeFa: closed-form factorization of the weights that project the latent
(Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", CVPR 2021).

The directions are the top eigenvectors of AᵀA, where A stacks the projection
matrices of the chosen layers (one row per output unit and kernel position)
with every row scaled to unit norm, as the paper's reference code does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..generators import Generator, as_generator
from ._directions import Directions, fix_signs

log = logging.getLogger(__name__)


def factorize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decompose AᵀA of a row-normalized ``matrix`` of shape (rows, dim).

    Returns eigenvalues sorted descending (dim,) and the matching eigenvectors
    as rows (dim, dim), signs fixed. ``eigh`` because AᵀA is symmetric; the
    explicit sort because no solver promises an order.
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ValueError(f"SeFa needs a finite weight matrix of shape (rows, dim); got {a.shape}")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    # A dead unit (all-zero row) carries no direction; dropping it beats dividing by zero.
    a = a[norms[:, 0] > 0] / norms[norms[:, 0] > 0]
    values, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(values)[::-1]
    return values[order], fix_signs(vectors[:, order].T)


class SeFa:
    """Closed-form factorization: interpretable directions from weights alone.

    Parameters
    ----------
    n_directions : int
        How many directions to keep (the top eigenvectors).
    layers : sequence of int, optional
        Layer-wise latents whose projection weights are factorized; default all.
        Edits along the result touch these layers.
    feature_layer : str, optional
        For single-input generators: factorize the weights that read this
        feature map instead, giving channel-space directions injected there.

    Attributes
    ----------
    directions_ : Directions
    eigenvalues_ : ndarray of shape (dim,)
        All eigenvalues of AᵀA, sorted descending.
    """

    def __init__(
        self, n_directions: int = 10, *, layers: Sequence[int] | None = None, feature_layer: str | None = None
    ) -> None:
        self.n_directions = n_directions
        self.layers = layers
        self.feature_layer = feature_layer

    def fit(self, generator: object) -> SeFa:
        """Factorize ``generator``'s weights; returns self."""
        gen: Generator = as_generator(generator)
        if not isinstance(self.n_directions, (int, np.integer)) or self.n_directions < 1:
            raise ValueError(f"n_directions must be a positive int; got {self.n_directions!r}")
        if self.feature_layer is not None:
            if self.layers is not None:
                raise ValueError("give SeFa either layers= (latent) or feature_layer= (channels), not both")
            matrix = gen.feature_projection(self.feature_layer)
            space, layers, sources = self.feature_layer, None, [self.feature_layer]
        else:
            layers = gen.check_layers(self.layers)
            weights = gen.projection_weights(layers)
            matrix = np.concatenate([w.matrix for w in weights])
            space = gen.latent_space
            sources = [w.name for w in weights]
        dim = matrix.shape[1]
        if self.n_directions > dim:
            raise ValueError(f"n_directions={self.n_directions} exceeds the {dim} dimensions of {space!r}")
        values, vectors = factorize(matrix)
        self.eigenvalues_ = values
        k = int(self.n_directions)
        self.directions_ = Directions(
            vectors=vectors[:k],
            scores=values[:k],
            space=space,
            layers=None if layers is None or len(layers) == gen.num_ws else layers,
            method="sefa",
            labels=tuple(
                f"sefa {i}" if self.feature_layer is None else f"sefa {self.feature_layer} {i}" for i in range(k)
            ),
            model=gen,
            notes={"weights": sources, "recipe": self._recipe()},
        )
        log.info("SeFa on %d weight rows of %s: top eigenvalues %s", matrix.shape[0], sources, values[:3])
        return self

    def _recipe(self) -> str:
        """The Python that recreates these directions (for the widget's "copy as code")."""
        args = [f"n_directions={int(self.n_directions)}"]
        if self.layers is not None:
            args.append(f"layers={[int(i) for i in self.layers]}")
        if self.feature_layer is not None:
            args.append(f"feature_layer={self.feature_layer!r}")
        return f"semwidget.SeFa({', '.join(args)})"
