"""InterFaceGAN: attribute boundaries as linear SVMs in latent space
(Shen et al., "Interpreting the Latent Space of GANs for Semantic Face Editing", CVPR 2020).

For each attribute, the samples with the top and bottom ``ratio`` of scores
are positives and negatives; 70 % of each train a linear SVM and 30 % validate
it; the unit normal of the hyperplane (intercept dropped) is the direction,
pointing towards higher scores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.svm import SVC
from sklearn.utils._param_validation import Interval

from ..generators._latents import Latents
from ._directions import Directions

log = logging.getLogger(__name__)


def _as_codes(
    latents: Latents | np.ndarray | torch.Tensor, layer: int, space: str
) -> tuple[np.ndarray, str, dict | None]:
    """Latent codes (N, dim) to fit on, the space they live in, and the model identity.

    The codes keep their own floating dtype and are not copied where they need not
    be: a fit converts only the rows it trains and validates on to float64.
    """
    if isinstance(latents, Latents):
        if not 0 <= layer < latents.num_ws:
            raise ValueError(f"layer must be in [0, {latents.num_ws}); got {layer}")
        codes = latents.ws[:, layer].float().cpu().numpy()
        return codes, latents.space, {"name": "", "fingerprint": latents.model}
    codes = latents.detach().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents)
    if not np.issubdtype(codes.dtype, np.floating):
        codes = codes.astype(np.float64)
    if codes.ndim != 2:
        raise ValueError(f"latents must be semwidget.Latents or an array of shape (N, dim); got shape {codes.shape}")
    return codes, space, None


def select_extremes(
    scores: np.ndarray, ratio: float, split: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indices and labels of the training and validation samples for one attribute.

    The top and bottom ``ratio`` of samples by score (at most half each) are
    positives and negatives; each side is shuffled and split ``split`` : 1 - split.
    """
    n = len(scores)
    chosen = min(int(n * ratio), n // 2)
    n_train = int(chosen * split)
    if chosen < 2 or n_train < 1 or chosen - n_train < 1:
        raise ValueError(
            f"ratio={ratio} of {n} samples picks {chosen} per side; an SVM with a validation split "
            f"needs at least 2 per side: give more samples or a larger ratio"
        )
    order = np.argsort(-scores, kind="stable")
    positives = rng.permutation(order[:chosen])
    negatives = rng.permutation(order[n - chosen :])
    if scores[positives].min() <= scores[negatives].max():
        raise ValueError(
            "the top and bottom samples have overlapping scores (are the scores constant?); "
            "InterFaceGAN needs scores that separate two groups"
        )
    train = np.concatenate([positives[:n_train], negatives[:n_train]])
    val = np.concatenate([positives[n_train:], negatives[n_train:]])
    y_train = np.r_[np.ones(n_train), np.zeros(n_train)]
    y_val = np.r_[np.ones(chosen - n_train), np.zeros(chosen - n_train)]
    return train, y_train, val, y_val


class InterFaceGAN(BaseEstimator):
    """Linear-SVM boundaries for attribute scores.

    A scikit-learn estimator: ``get_params``/``set_params``/``clone`` work, and the
    parameters are validated by scikit-learn's constraints when :meth:`fit` runs.

    Parameters
    ----------
    ratio : float
        Share of samples taken from each end of the score range (default 2 %).
    split : float
        Training share of the chosen samples; the rest validates.
    C : float
        SVM regularization.
    random_state : int
        Seed of the shuffling before the split.
    layer : int
        Which layer-wise latent to fit on when given :class:`Latents` (they are
        all equal before edits).

    Attributes
    ----------
    directions_ : Directions
        One unit normal per attribute, scored by validation accuracy.
    validation_accuracy_ : ndarray of shape (n_attributes,)
    intercepts_ : ndarray of shape (n_attributes,)
        Signed offsets of the hyperplanes, for distances ``(x · n + b)``.
    """

    _parameter_constraints: dict = {
        "ratio": [Interval(Real, 0, 0.5, closed="right")],
        "split": [Interval(Real, 0, 1, closed="neither")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "layer": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self, ratio: float = 0.02, *, split: float = 0.7, C: float = 1.0, random_state: int = 0, layer: int = 0
    ) -> None:
        self.ratio = ratio
        self.split = split
        self.C = C
        self.random_state = random_state
        self.layer = layer

    def fit(
        self,
        latents: Latents | np.ndarray | torch.Tensor,
        scores: np.ndarray | torch.Tensor | Sequence[float],
        *,
        labels: Sequence[str] | None = None,
        space: str = "w",
    ) -> InterFaceGAN:
        """Fit one boundary per score column; returns self.

        Parameters
        ----------
        latents : Latents or array of shape (N, dim)
        scores : array of shape (N,) or (N, n_attributes)
        labels : names of the attributes
        space : the latent space of plain arrays ("z" or "w"); Latents know theirs
        """
        self._validate_params()
        codes, space, model = _as_codes(latents, self.layer, space)
        s = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, dtype=np.float64)
        s = s.reshape(-1, 1) if s.ndim == 1 else s
        if s.ndim != 2 or s.shape[0] != codes.shape[0]:
            raise ValueError(
                f"scores must have shape ({codes.shape[0]},) or ({codes.shape[0]}, n_attributes); got {s.shape}"
            )
        if not np.isfinite(s).all() or not np.isfinite(codes).all():
            bad = "scores" if not np.isfinite(s).all() else "latents"
            raise ValueError(f"{bad} contain NaN or infinite values; drop or fix those samples first")
        names = tuple(labels) if labels is not None else tuple(f"attribute {j}" for j in range(s.shape[1]))
        if len(names) != s.shape[1]:
            raise ValueError(f"{len(names)} labels for {s.shape[1]} score columns")

        normals, accuracies, intercepts = [], [], []
        for j in range(s.shape[1]):
            rng = np.random.default_rng(self.random_state)
            train, y_train, val, y_val = select_extremes(s[:, j], self.ratio, self.split, rng)
            # Only the chosen rows become float64 (a few % of 10⁵ × 512, not all of it).
            x_train, x_val = codes[train].astype(np.float64), codes[val].astype(np.float64)
            svm = SVC(kernel="linear", C=self.C).fit(x_train, y_train)
            accuracy = float(svm.score(x_val, y_val))
            normal = svm.coef_.reshape(-1).astype(np.float64)
            norm = np.linalg.norm(normal)
            normals.append(normal / norm)
            intercepts.append(float(svm.intercept_[0]) / norm)
            accuracies.append(accuracy)
            log.info(
                "InterFaceGAN %s: %d train / %d validation, accuracy %.3f", names[j], len(train), len(val), accuracy
            )
        self.validation_accuracy_ = np.array(accuracies)
        self.intercepts_ = np.array(intercepts)
        self.directions_ = Directions(
            vectors=np.stack(normals),
            scores=self.validation_accuracy_,
            space=space,
            method="interfacegan",
            labels=names,
            model=model,
            notes={"ratio": self.ratio, "split": self.split, "validation_accuracy": accuracies},
        )
        return self


def boundary_from_labels(
    latents: Latents | np.ndarray | torch.Tensor,
    labels: Sequence[int] | np.ndarray,
    *,
    name: str = "attribute",
    C: float = 1.0,
    layer: int = 0,
    space: str = "w",
) -> Directions:
    """A boundary from a few hand-labelled samples (1 positive, 0 or -1 negative).

    Few-shot InterFaceGAN: every labelled sample trains the linear SVM (there is
    no score range to take extremes of); the score is the leave-one-out accuracy,
    an honest estimate when there are only a handful of labels.
    """
    codes, space, model = _as_codes(latents, layer, space)
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != codes.shape[0]:
        raise ValueError(f"{y.shape[0]} labels for {codes.shape[0]} latents")
    y = (y > 0).astype(int)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos < 4 or n_neg < 4:
        raise ValueError(
            f"a boundary for {name!r} needs at least 4 positive and 4 negative labels; "
            f"got {n_pos} positive and {n_neg} negative"
        )
    correct = 0
    for i in range(len(y)):  # leave-one-out
        keep = np.arange(len(y)) != i
        correct += int(SVC(kernel="linear", C=C).fit(codes[keep], y[keep]).predict(codes[i : i + 1])[0] == y[i])
    svm = SVC(kernel="linear", C=C).fit(codes, y)
    normal = svm.coef_.reshape(-1).astype(np.float64)
    accuracy = correct / len(y)
    return Directions(
        vectors=normal[None] / np.linalg.norm(normal),
        scores=np.array([accuracy]),
        space=space,
        method="labels",
        labels=(name,),
        model=model,
        notes={"positives": n_pos, "negatives": n_neg, "leave_one_out_accuracy": accuracy},
    )


def project_out(primary: Directions, conditions: Directions | Sequence[Directions]) -> Directions:
    """Conditional editing: remove from each primary direction its component in the
    span of the condition directions, then renormalize.

    With one condition c this is ``n - (n·c) c``; with several it is the exact
    projection onto the orthogonal complement of their span (not a sum of
    single projections, which is wrong when the conditions are correlated).
    """
    parts = [conditions] if isinstance(conditions, Directions) else list(conditions)
    if not parts:
        raise ValueError("project_out needs at least one condition direction")
    cond = Directions.concat(parts)
    if cond.dim != primary.dim or cond.space != primary.space:
        raise ValueError(
            f"conditions live in {cond.space!r}/{cond.dim}, the primary in {primary.space!r}/{primary.dim}"
        )
    q, r = np.linalg.qr(cond.vectors.T)  # orthonormal basis of the span, (dim, m)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-10))
    q = q[:, :rank] if rank == q.shape[1] else np.linalg.svd(cond.vectors.T, full_matrices=False)[0][:, :rank]
    projected = primary.vectors - (primary.vectors @ q) @ q.T
    norms = np.linalg.norm(projected, axis=1)
    if np.any(norms < 1e-8):
        raise ValueError("a primary direction lies in the span of the conditions; nothing is left after projection")
    labels = tuple(f"{lab} | {', '.join(cond.labels)}" for lab in primary.labels)
    return Directions(
        vectors=projected / norms[:, None],
        scores=primary.scores,
        space=primary.space,
        layers=primary.layers,
        method=primary.method + "-conditional",
        labels=labels,
        model=primary.model,
        notes={**primary.notes, "conditioned_on": list(cond.labels)},
    )
