"""GANSpace: principal directions of sampled latents or activations
(Härkönen et al., "GANSpace: Discovering Interpretable GAN Controls", NeurIPS 2020).

PCA runs in one streaming pass: the mean and scatter matrix are merged batch by
batch (Chan et al.'s update) in float64, so 10⁶ samples cost O(dim²) memory.
Activations too wide for a dim² matrix go through sklearn's IncrementalPCA.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.decomposition import IncrementalPCA
from sklearn.utils._param_validation import Interval, StrOptions

from ..common._progress import progress, pulse
from ..generators import Generator, as_generator
from ._blas import few_blas_threads
from ._directions import Directions, fix_signs, model_identity

log = logging.getLogger(__name__)

# Above this width a dim×dim float64 scatter matrix (128 MiB at 4096) gives way to IncrementalPCA.
_MAX_COVARIANCE_DIM = 4096
_ACTIVATION_CHUNK = 256  # samples per forward pass when collecting feature maps


class StreamingMoments:
    """Mean and scatter matrix of rows seen batch by batch, in float64."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.mean = torch.zeros(dim, dtype=torch.float64)
        self.scatter = torch.zeros(dim, dim, dtype=torch.float64)

    def update(self, batch: torch.Tensor) -> None:
        x = batch.detach().to("cpu", torch.float64)
        m = x.shape[0]
        if m == 0:
            return
        mean_b = x.mean(0)
        centred = x - mean_b
        delta = mean_b - self.mean
        total = self.n + m
        self.scatter += centred.T @ centred + torch.outer(delta, delta) * (self.n * m / total)
        self.mean += delta * (m / total)
        self.n = total

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise ValueError("PCA needs at least 2 samples")
        return (self.scatter / (self.n - 1)).numpy()


def principal_components(moments: StreamingMoments, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Top-k components (k, dim) with signs fixed, their variances (k,), and the total variance."""
    covariance = moments.covariance()
    with few_blas_threads(10.0 * len(covariance) ** 3):
        values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:k]
    return fix_signs(vectors[:, order].T), np.clip(values[order], 0, None), float(values.clip(0).sum())


class GANSpace(BaseEstimator):
    """PCA directions from samples of the generator.

    A scikit-learn estimator: ``get_params``/``set_params``/``clone`` work, and the
    parameters are validated by scikit-learn's constraints when :meth:`fit` runs.

    Parameters
    ----------
    n_directions : int
        Components to keep.
    n_samples : int
        Latents sampled (default 10⁵; 10⁶ fits in memory too).
    feature_layer : str, optional
        PCA on this feature layer's activations instead of on w (or z).
    output : {"latent", "channels"}
        With ``feature_layer``: ``"latent"`` regresses the activation components
        back to latent directions by least squares (the paper's method);
        ``"channels"`` keeps channel-space directions (PCA over every spatial
        position's channel vector), which edits inject at that layer.
    batch_size : int
        Samples per forward pass.
    random_state : int
        Seed of the sampling; nothing touches a global RNG.
    class_index : int, optional
        Class for conditional generators; default a uniformly random class per sample.
    progress : bool
        Show a progress bar.

    Attributes
    ----------
    directions_ : Directions
        Unit directions with ``sigmas``, so edits can use ``scale="sigma"``.
    explained_variance_ : ndarray of shape (n_directions,)
    explained_variance_ratio_ : ndarray of shape (n_directions,)
    mean_ : ndarray of shape (dim,)
        Mean of the data the PCA ran on.
    """

    _parameter_constraints: dict = {
        "n_directions": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "feature_layer": [str, None],
        "output": [StrOptions({"latent", "channels"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "class_index": [Interval(Integral, 0, None, closed="left"), None],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        n_directions: int = 10,
        *,
        n_samples: int = 100_000,
        feature_layer: str | None = None,
        output: str = "latent",
        batch_size: int = 2048,
        random_state: int = 0,
        class_index: int | None = None,
        progress: bool = True,
    ) -> None:
        self.n_directions = n_directions
        self.n_samples = n_samples
        self.feature_layer = feature_layer
        self.output = output
        self.batch_size = batch_size
        self.random_state = random_state
        self.class_index = class_index
        self.progress = progress

    # ---- sampling ---------------------------------------------------------------

    def sample_batches(
        self, generator: object, desc: str = "sampling"
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Yield ``(w, c)`` batches: the untruncated codes of ``n_samples`` latents
        (w of shape (b, w_dim); z itself for z-space models), drawn from
        ``random_state``. The same parameters always yield the same samples."""
        gen = as_generator(generator)
        rng = torch.Generator().manual_seed(int(self.random_state))
        with progress(total=self.n_samples, desc=desc, enabled=self.progress) as bar:
            for start in range(0, self.n_samples, self.batch_size):
                b = min(self.batch_size, self.n_samples - start)
                z = torch.randn(b, gen.z_dim, generator=rng)
                c = None
                if gen.c_dim:
                    cls = (
                        torch.randint(gen.c_dim, (b,), generator=rng)
                        if self.class_index is None
                        else torch.full((b,), int(self.class_index))
                    )
                    c = torch.nn.functional.one_hot(cls, gen.c_dim).to(gen.device, gen.dtype)
                with torch.inference_mode():
                    w = gen.map_to_w(z, c).float()
                yield w, c
                bar.update(b)

    def _activations(self, gen: Generator, w: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        from ..generators._latents import Latents

        ws = w.to(gen.dtype)[:, None, :].expand(-1, gen.num_ws, -1)
        parts = []
        # In chunks, so a widget running this as a job can draw a drag between them (pulse)
        # instead of after a whole batch's forward pass (seconds on a CPU).
        for start in range(0, len(ws), _ACTIVATION_CHUNK):
            part = slice(start, start + _ACTIVATION_CHUNK)
            latents = Latents(ws=ws[part], c=None if c is None else c[part], model=gen.fingerprint)
            parts.append(gen.activations(latents, self.feature_layer))  # type: ignore[arg-type]
            pulse()
        return torch.cat(parts)

    # ---- fitting ------------------------------------------------------------------

    def fit(self, generator: object, y: None = None) -> GANSpace:
        """Sample, run PCA, and (for activations) regress back; returns self.
        ``y`` is ignored (scikit-learn's signature)."""
        self._validate_params()
        gen = as_generator(generator)
        self._validate(gen)
        if self.feature_layer is None:
            vectors, variances, total, sigmas = self._fit_latent(gen)
            space, method = gen.latent_space, "ganspace"
        elif self.output == "channels":
            vectors, variances, total = self._fit_channels(gen)
            sigmas, space, method = np.sqrt(variances), self.feature_layer, "ganspace-channels"
        else:
            vectors, variances, total, sigmas = self._fit_regressed(gen)
            space, method = gen.latent_space, "ganspace-regressed"
        self.explained_variance_ = variances
        self.explained_variance_ratio_ = variances / total
        k = len(vectors)
        self.directions_ = Directions(
            vectors=vectors,
            scores=self.explained_variance_ratio_,
            space=space,
            method=method,
            labels=tuple(f"pc {i}" if self.feature_layer is None else f"pc {self.feature_layer} {i}" for i in range(k)),
            sigmas=np.maximum(sigmas, 1e-12),
            model=model_identity(gen),
            notes={
                "n_samples": self.n_samples,
                "random_state": self.random_state,
                "feature_layer": self.feature_layer,
                "recipe": self._recipe(),
            },
        )
        return self

    def _validate(self, gen: Generator) -> None:
        """What the parameters must satisfy for this generator (their types and ranges
        are scikit-learn's ``_parameter_constraints``)."""
        if self.feature_layer is None:
            dim = gen.w_dim
        else:
            if self.feature_layer not in gen.feature_layers:
                raise ValueError(
                    f"unknown feature layer {self.feature_layer!r}; {gen.name} has {sorted(gen.feature_layers)}"
                )
            shape = gen.feature_layers[self.feature_layer].shape
            dim = shape[0] if self.output == "channels" else min(int(np.prod(shape)), gen.w_dim)
        if self.n_directions > dim:
            raise ValueError(f"n_directions={self.n_directions} exceeds the {dim} dimensions available")

    def _fit_latent(self, gen: Generator) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        moments = StreamingMoments(gen.w_dim)
        for w, _ in self.sample_batches(gen, desc=f"GANSpace: sampling {gen.latent_space}"):
            moments.update(w)
        self.mean_ = moments.mean.numpy()
        vectors, variances, total = principal_components(moments, self.n_directions)
        return vectors, variances, total, np.sqrt(variances)

    def _fit_channels(self, gen: Generator) -> tuple[np.ndarray, np.ndarray, float]:
        channels = gen.feature_layers[self.feature_layer].channels  # type: ignore[index]
        moments = StreamingMoments(channels)
        for w, c in self.sample_batches(gen, desc=f"GANSpace: activations of {self.feature_layer}"):
            act = self._activations(gen, w, c)
            moments.update(act.transpose(0, 1).reshape(channels, -1).T)  # every position is a sample
        self.mean_ = moments.mean.numpy()
        return principal_components(moments, self.n_directions)

    def _fit_regressed(self, gen: Generator) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        # Pass 1: PCA of the flattened activations.
        k = int(self.n_directions)
        layer = self.feature_layer
        assert layer is not None, "only fit() with a feature_layer regresses"
        dim = math.prod(gen.feature_layers[layer].shape)
        desc = f"GANSpace: activations of {self.feature_layer}"
        if dim <= _MAX_COVARIANCE_DIM:
            moments = StreamingMoments(dim)
            for w, c in self.sample_batches(gen, desc=desc):
                moments.update(self._activations(gen, w, c).flatten(1))
            components, variances, total = principal_components(moments, k)
            mean = moments.mean.numpy()
        else:
            ipca = IncrementalPCA(n_components=k)
            for w, c in self.sample_batches(gen, desc=desc + " (incremental)"):
                if len(w) >= k:  # IncrementalPCA needs at least k rows per batch
                    ipca.partial_fit(self._activations(gen, w, c).flatten(1).numpy())
            components, variances = fix_signs(ipca.components_), ipca.explained_variance_
            total, mean = float(ipca.explained_variance_.sum() / ipca.explained_variance_ratio_.sum()), ipca.mean_
        self.mean_ = mean
        # Pass 2, over the same samples: least squares w ≈ x U, x the component coordinates.
        xtx = np.zeros((k, k))
        xtw = np.zeros((k, gen.w_dim))
        latent = StreamingMoments(gen.w_dim)
        for w, c in self.sample_batches(gen, desc="GANSpace: regressing to the latent"):
            x = (self._activations(gen, w, c).flatten(1).double().numpy() - mean) @ components.T
            w64 = w.double().cpu().numpy()
            xtx += x.T @ x
            xtw += x.T @ w64
            latent.update(w)
        # The coordinates have zero mean over these samples, so no intercept is needed.
        u = np.linalg.lstsq(xtx, xtw, rcond=None)[0]
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        sigmas = np.sqrt(np.einsum("kd,de,ke->k", u, latent.covariance(), u))
        return u, variances, total, sigmas

    def _recipe(self) -> str:
        """The Python that recreates these directions (for the widget's "copy as code")."""
        args = [
            f"n_directions={int(self.n_directions)}",
            f"n_samples={int(self.n_samples)}",
            f"random_state={int(self.random_state)}",
        ]
        if self.feature_layer is not None:
            args += [f"feature_layer={self.feature_layer!r}", f"output={self.output!r}"]
        if self.class_index is not None:
            args.append(f"class_index={int(self.class_index)}")
        return f"semwidget.GANSpace({', '.join(args)})"
