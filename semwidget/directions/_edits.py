"""Edits: move latents along directions (independent, joint and jittering).

α is always measured from the original code: ``alpha == 0`` returns the
original latents. (InterFaceGAN's reference code interpolates from the
hyperplane, so its zero is not the original image; we don't repeat that.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..generators._latents import Latents
from ._directions import Directions


def _alphas(directions: Directions, alpha: float | Sequence[float] | np.ndarray, scale: str) -> np.ndarray:
    a = np.asarray(alpha, dtype=np.float64).reshape(-1)
    if a.size == 1 and len(directions) > 1:
        a = np.full(len(directions), a[0])
    if a.shape != (len(directions),):
        raise ValueError(f"alpha must be one number or {len(directions)} numbers (one per direction); got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError(f"alpha must be finite; got {a.tolist()}")
    if scale == "sigma":
        if directions.sigmas is None:
            raise ValueError(
                f"scale='sigma' needs directions with sigmas (GANSpace gives them); {directions.method!r} has none"
            )
        a = a * directions.sigmas
    elif scale != "raw":
        raise ValueError(f"scale must be 'raw' or 'sigma'; got {scale!r}")
    return a


def _resolve_layers(latents: Latents, directions: Directions, layers: Sequence[int] | int | None) -> list[int]:
    chosen = directions.layers if layers is None else layers
    if chosen is None:
        return list(range(latents.num_ws))
    if isinstance(chosen, (int, np.integer)):
        chosen = [int(chosen)]
    out = [int(i) for i in chosen]
    bad = [i for i in out if not 0 <= i < latents.num_ws]
    if bad or not out:
        raise ValueError(f"layers must be indices in [0, {latents.num_ws}); got {list(chosen)}")
    return out


def _apply(
    latents: Latents, directions: Directions, delta: torch.Tensor, layers: Sequence[int] | int | None
) -> Latents:
    """Add ``delta`` of shape (n, dim) to the latents (or to a feature layer's offsets)."""
    if directions.is_latent:
        if directions.dim != latents.w_dim:
            raise ValueError(f"directions of dimension {directions.dim} do not fit latents with w_dim={latents.w_dim}")
        idx = _resolve_layers(latents, directions, layers)
        ws = latents.ws.clone()
        ws[:, idx] += delta.to(ws.dtype)[:, None, :]
        return latents.replace(ws=ws)
    if layers is not None:
        raise ValueError(f"channel-space directions act at feature layer {directions.space!r}; layers= does not apply")
    offsets = dict(latents.offsets)
    previous = offsets.get(directions.space)
    if previous is not None and previous.shape[1] != directions.dim:
        raise ValueError(
            f"offsets at {directions.space!r} have {previous.shape[1]} channels, directions {directions.dim}"
        )
    offsets[directions.space] = delta if previous is None else previous + delta
    return latents.replace(offsets=offsets)


def edit(
    latents: Latents,
    directions: Directions,
    alpha: float | Sequence[float] | np.ndarray,
    *,
    layers: Sequence[int] | int | None = None,
    scale: str = "raw",
    allow_other_model: bool = False,
) -> Latents:
    """Move every sample by ``sum_i alpha_i * directions[i]``.

    One direction is an independent edit; several directions with one α each
    are a joint edit (HiGAN's "joint manipulation").

    Parameters
    ----------
    latents : Latents
    directions : Directions with k rows
    alpha : float or sequence of k floats
        Step along each direction, from the original code.
    layers : int or sequence of int, optional
        Layer-wise latents to edit; default: ``directions.layers`` (all if None).
    scale : {"raw", "sigma"}
        ``"sigma"`` multiplies each α by the direction's σ (GANSpace).
    allow_other_model : bool
        Apply directions found on another model (with a warning) instead of raising.
    """
    if not isinstance(latents, Latents):
        raise TypeError(f"edit expects semwidget.Latents, got {type(latents).__name__}")
    if not isinstance(directions, Directions):
        raise TypeError(f"edit expects semwidget.Directions, got {type(directions).__name__}")
    directions.check_model(latents.model, allow_other_model=allow_other_model)
    a = _alphas(directions, alpha, scale)
    if not a.any():
        return latents
    step = torch.as_tensor(a @ directions.vectors, dtype=torch.float32, device=latents.ws.device)
    return _apply(latents, directions, step.expand(len(latents), -1), layers)


def jitter(
    latents: Latents,
    directions: Directions,
    alpha: float | Sequence[float],
    strength: float,
    *,
    seed: int = 0,
    layers: Sequence[int] | int | None = None,
    scale: str = "raw",
    allow_other_model: bool = False,
) -> Latents:
    """HiGAN's jittering: each sample moves along its own perturbed copy of the direction.

    Sample j moves by ``alpha * d + |alpha| * strength * e_j``, with ``e_j`` a
    standard normal vector scaled to unit expected norm, drawn from ``seed`` —
    so ``strength`` is the noise's size relative to the step, and
    ``alpha == 0`` still returns the original latents. With several
    directions, ``alpha * d`` is their joint step and ``|alpha|`` its length.
    """
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0; got {strength!r}")
    directions.check_model(latents.model, allow_other_model=allow_other_model)
    a = _alphas(directions, alpha, scale)
    if not a.any():
        return latents
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(len(latents), directions.dim, generator=gen) / np.sqrt(directions.dim)
    base = torch.as_tensor(a @ directions.vectors, dtype=torch.float32)
    delta = base + float(base.norm()) * strength * noise
    return _apply(latents, directions, delta.to(latents.ws.device), layers)
