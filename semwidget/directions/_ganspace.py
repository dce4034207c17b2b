"""GANSpace: principal directions of sampled latents or activations
(Härkönen et al., "GANSpace: Discovering Interpretable GAN Controls", NeurIPS 2020).

PCA runs in one streaming pass: the mean and scatter matrix are merged batch by
batch (Chan et al.'s update) in float64, so 10⁶ samples cost O(dim²) memory. The
samples are seed shards (:mod:`semwidget.directions._ganspace_shards`), each reduced to
its moments in this process or on a Dask cluster and merged in seed order, with the
same result either way. Activations too wide for a dim² matrix go through sklearn's
IncrementalPCA, in this process.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.decomposition import IncrementalPCA
from sklearn.utils._param_validation import Interval, StrOptions

from ..common._progress import progress
from ..distributed import ShardPlan, check_shard_size
from ..distributed._client import resolve_client
from ..generators import Generator, as_generator
from . import _ganspace_shards as shards
from ._blas import few_blas_threads
from ._directions import Directions, fix_signs, model_identity
from ._ganspace_shards import StreamingMoments

__all__ = ["GANSpace", "StreamingMoments", "principal_components"]

log = logging.getLogger(__name__)

# Above this width a dim×dim float64 scatter matrix (128 MiB at 4096) gives way to IncrementalPCA.
_MAX_COVARIANCE_DIM = 4096
_SHARD_SAMPLES = 16384  # samples per shard by default (a whole number of batches)


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
        Seed of the sampling (sample ``i`` is drawn from seed ``random_state·2³² + i``);
        nothing touches a global RNG. Below 2³².
    class_index : int, optional
        Class for conditional generators; default a uniformly random class per sample.
    progress : bool
        Show a progress bar.
    cache : path of a folder, optional
        Keep each finished shard's moments there, so a stopped fit resumes; shards of
        another generator there are refused.
    shard_size : int, optional
        Samples per shard (default about 16384, a whole number of batches); the
        directions are bit-identical for one shard size wherever the shards run.

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
        "cache": [str, os.PathLike, None],
        "shard_size": [Interval(Integral, 1, None, closed="left"), None],
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
        cache: str | os.PathLike[str] | None = None,
        shard_size: int | None = None,
    ) -> None:
        self.n_directions = n_directions
        self.n_samples = n_samples
        self.feature_layer = feature_layer
        self.output = output
        self.batch_size = batch_size
        self.random_state = random_state
        self.class_index = class_index
        self.progress = progress
        self.cache = cache
        self.shard_size = shard_size

    # ---- sampling ---------------------------------------------------------------

    def sample_batches(
        self, generator: object, desc: str = "sampling"
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Yield ``(w, c)`` batches: the untruncated codes of ``n_samples`` latents
        (w of shape (b, w_dim); z itself for z-space models), drawn from
        ``random_state``, in the batches the shards make. The same parameters always
        yield the same samples."""
        gen = as_generator(generator)
        with progress(total=self.n_samples, desc=desc, enabled=self.progress) as bar:
            for shard in self._plan().shards():
                for w, c in shards.batches(gen, shard, self.batch_size, self.class_index):
                    yield w, c
                    bar.update(len(w))

    def _plan(self) -> ShardPlan:
        size = check_shard_size(self.shard_size, int(self.batch_size), _SHARD_SAMPLES)
        return ShardPlan(int(self.random_state) * shards.SEED_STRIDE, int(self.n_samples), size)

    def _moments(self, gen: Generator, what: str, dim: int, desc: str) -> StreamingMoments:
        """The moments of ``what`` over every sample: shard by shard, merged in seed order."""
        work = shards.Moments(what, self.feature_layer, dim, int(self.batch_size), self.class_index)
        moments = StreamingMoments(dim)
        for arrays in shards.run(work, gen, self._plan().shards(), desc=desc, **self._run_args(gen)):
            shards.merge_moments(moments, arrays)
        return moments

    def _run_args(self, gen: Generator) -> dict[str, Any]:
        params = {
            "random_state": int(self.random_state),
            "class_index": self.class_index,
            "feature_layer": self.feature_layer,
            "batch_size": int(self.batch_size),
        }
        return {"client": self._client, "cache": self.cache, "params": params, "progress": self.progress}

    # ---- fitting ------------------------------------------------------------------

    def fit(self, generator: object, y: None = None, *, client: Any = None) -> GANSpace:
        """Sample, run PCA, and (for activations) regress back; returns self.
        ``y`` is ignored (scikit-learn's signature).

        ``client`` (a ``dask.distributed.Client``; default the enclosing
        :func:`semwidget.distributed` block's) samples the shards on a Dask cluster, whose
        workers load the generator by its zoo name or checkpoint; the directions are
        bit-identical to a fit in this process."""
        self._validate_params()
        gen = as_generator(generator)
        self._validate(gen)
        self._client = resolve_client(client)
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
        if self.random_state >= shards.SEED_STRIDE:
            raise ValueError(f"random_state must be below 2**32; got {self.random_state}")

    def _fit_latent(self, gen: Generator) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        moments = self._moments(gen, "latent", gen.w_dim, f"GANSpace: sampling {gen.latent_space}")
        self.mean_ = moments.mean.numpy()
        vectors, variances, total = principal_components(moments, self.n_directions)
        return vectors, variances, total, np.sqrt(variances)

    def _fit_channels(self, gen: Generator) -> tuple[np.ndarray, np.ndarray, float]:
        channels = gen.feature_layers[self.feature_layer].channels  # type: ignore[index]
        # Every position's channel vector is a sample.
        moments = self._moments(gen, "channels", channels, f"GANSpace: activations of {self.feature_layer}")
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
            moments = self._moments(gen, "flat", dim, desc)
            components, variances, total = principal_components(moments, k)
            mean = moments.mean.numpy()
        else:
            if self._client is not None:
                log.warning("GANSpace: the incremental PCA of %d-wide activations runs in this process", dim)
            ipca = IncrementalPCA(n_components=k)
            for w, c in self.sample_batches(gen, desc=desc + " (incremental)"):
                if len(w) >= k:  # IncrementalPCA needs at least k rows per batch
                    ipca.partial_fit(shards.activations(gen, layer, w, c).flatten(1).numpy())
            components, variances = fix_signs(ipca.components_), ipca.explained_variance_
            total, mean = float(ipca.explained_variance_.sum() / ipca.explained_variance_ratio_.sum()), ipca.mean_
        self.mean_ = mean
        # Pass 2, over the same samples: least squares w ≈ x U, x the component coordinates.
        xtx = np.zeros((k, k))
        xtw = np.zeros((k, gen.w_dim))
        latent = StreamingMoments(gen.w_dim)
        mean = np.asarray(mean, np.float64)
        work = shards.Regression(layer, int(self.batch_size), self.class_index, mean, components)
        desc = "GANSpace: regressing to the latent"
        for arrays in shards.run(work, gen, self._plan().shards(), desc=desc, **self._run_args(gen)):
            xtx += arrays["xtx"][0]
            xtw += arrays["xtw"][0]
            shards.merge_moments(latent, arrays)
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
