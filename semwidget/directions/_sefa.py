"""SeFa: closed-form factorization of the weights that project the latent
(Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", CVPR 2021).

The directions are the top eigenvectors of AᵀA, where A stacks the projection
matrices of the chosen layers (one row per output unit and kernel position)
with every row scaled to unit norm, as the paper's reference code
(genforce/sefa, ``factorize_weight``) does. On StyleGAN2 "all layers" means
what it means there: the style affine of every convolution and the last
ToRGB's, which alone reads the last layer-wise latent (the other ToRGBs share
their latent with a convolution and are left out, as in the reference).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ..generators import Generator, as_generator
from ._blas import few_blas_threads, gram_eigh_flops
from ._directions import Directions, fix_signs, model_identity

log = logging.getLogger(__name__)


def factorize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decompose AᵀA of a row-normalized ``matrix`` of shape (rows, dim).

    Returns eigenvalues sorted descending (dim,) and the matching eigenvectors
    as rows (dim, dim), signs fixed. ``eigh`` because AᵀA is symmetric; the
    explicit sort because no solver promises an order. A dead unit (an
    all-zero row) carries no direction and adds nothing to AᵀA.
    """
    a = np.asarray(matrix)
    if a.ndim != 2:
        raise ValueError(f"SeFa needs a finite weight matrix of shape (rows, dim); got {a.shape}")
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    # One pass for the squared row norms; a NaN or infinity anywhere shows up in its row's sum.
    squares = np.einsum("ij,ij->i", a, a)
    if not np.isfinite(squares).all():
        raise ValueError(f"SeFa needs a finite weight matrix of shape (rows, dim); got NaN or inf in {a.shape}")
    scale = np.zeros_like(squares)
    np.divide(1.0, np.sqrt(squares), out=scale, where=squares > 0)
    unit = a * scale[:, None]
    with few_blas_threads(gram_eigh_flops(*a.shape)):
        values, vectors = np.linalg.eigh(unit.T @ unit)
    order = np.argsort(values)[::-1]
    return values[order], fix_signs(vectors[:, order].T)


class SeFa(BaseEstimator):
    """Closed-form factorization: interpretable directions from weights alone.

    A scikit-learn estimator: ``get_params``/``set_params``/``clone`` work, and the
    parameters are validated by scikit-learn's constraints when :meth:`fit` runs.

    Parameters
    ----------
    n_directions : int
        How many directions to keep (the top eigenvectors).
    layers : sequence of int, optional
        Layer-wise latents whose projection weights are factorized; default all,
        which on StyleGAN2 includes the last ToRGB's style affine (the only layer
        reading the last latent), as genforce/sefa's ``layer_idx="all"`` does.
        ``layers=range(G.num_ws - 1)`` leaves that ToRGB out. Edits along the
        result touch these layers.
    feature_layer : str, optional
        For single-input generators: factorize the weights that read this
        feature map instead, giving channel-space directions injected there.

    Attributes
    ----------
    directions_ : Directions
    eigenvalues_ : ndarray of shape (dim,)
        All eigenvalues of AᵀA, sorted descending.
    """

    _parameter_constraints: dict = {
        "n_directions": [Interval(Integral, 1, None, closed="left")],
        "layers": ["array-like", Interval(Integral, 0, None, closed="left"), None],
        "feature_layer": [str, None],
    }

    def __init__(
        self, n_directions: int = 10, *, layers: Sequence[int] | None = None, feature_layer: str | None = None
    ) -> None:
        self.n_directions = n_directions
        self.layers = layers
        self.feature_layer = feature_layer

    def fit(self, generator: object, y: None = None) -> SeFa:
        """Factorize ``generator``'s weights; returns self. ``y`` is ignored (scikit-learn's signature)."""
        self._validate_params()
        gen: Generator = as_generator(generator)
        if self.feature_layer is not None:
            if self.layers is not None:
                raise ValueError("give SeFa either layers= (latent) or feature_layer= (channels), not both")
            matrix = gen.feature_projection(self.feature_layer)
            space, layers, sources = self.feature_layer, None, [self.feature_layer]
        else:
            layers = gen.check_layers(self.layers)
            weights = gen.projection_weights(layers)
            matrix = weights[0].matrix if len(weights) == 1 else np.concatenate([w.matrix for w in weights])
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
            model=model_identity(gen),
            notes={"weights": sources, "recipe": self._recipe()},
        )
        log.info("SeFa on %d weight rows of %s: top eigenvalues %s", matrix.shape[0], sources, values[:3])
        return self

    def _recipe(self) -> str:
        """The Python that recreates these directions (for the widget's "copy as code")."""
        args = [f"n_directions={int(self.n_directions)}"]
        if self.layers is not None:
            args.append(f"layers={[int(i) for i in np.atleast_1d(self.layers)]}")
        if self.feature_layer is not None:
            args.append(f"feature_layer={self.feature_layer!r}")
        return f"semwidget.SeFa({', '.join(args)})"
