"""The latent being optimised: which space, where it starts, how it becomes ``ws``.

* ``"z"`` (single-input generators: DCGAN, PGGAN, BigGAN): one z per image, kept on
  the sphere of radius √z_dim, where a standard normal's samples concentrate, and
  mapped to ``ws`` by the generator's own ``map`` (BigGAN: one z for every block).
* ``"w"`` (style-based generators): one w per image, shared by every layer.
* ``"w+"``: one w per layer and image.

w and w+ are optimised as ``(w - w_mean) / w_scale``, measured in the spread of the
mapped prior (:class:`Prior`), so one learning rate and one noise level fit every
model; z is its own unit.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

import torch

from ..generators._base import Generator

log = logging.getLogger(__name__)

SPACES = ("z", "w", "w+")
#: Mapped samples (one fixed seed) that estimate the mean w and its spread.
PRIOR_SAMPLES = 4096
PRIOR_SEED = 0


def is_style_based(g: Generator) -> bool:
    """True when ``ws`` hold mapped codes (StyleGAN): w and w+ apply, z does not."""
    return g.latent_space == "w"


def allowed_spaces(g: Generator) -> tuple[str, ...]:
    return ("w", "w+") if is_style_based(g) else ("z",)


def default_space(g: Generator) -> str:
    """w+ for style-based generators, z for the rest (see ``invert``'s docstring)."""
    return "w+" if is_style_based(g) else "z"


def check_space(g: Generator, space: str | None) -> str:
    if space is None:
        return default_space(g)
    allowed = allowed_spaces(g)
    if space not in allowed:
        kind = "a style-based generator (mapped w codes)" if is_style_based(g) else "a single-input generator"
        raise ValueError(f"space={space!r} does not fit {g.name}, {kind}; expected one of {list(allowed)}")
    return space


@dataclass(frozen=True)
class Prior:
    """Where a generator's latents live: ``mean`` of shape (w_dim,) (w_mean; 0 for z),
    ``scale`` (per-coordinate spread; 1 for z) and the z sphere's ``radius`` (z only)."""

    mean: torch.Tensor
    scale: float
    radius: float | None


_priors: dict[tuple[str, str, str], Prior] = {}
_priors_lock = threading.Lock()


def z_radius(g: Generator) -> float:
    """Radius of the z sphere: √z_dim for a standard normal prior; for a generator that
    draws z its own way (BigGAN's truncated normal), the RMS norm of its samples."""
    if type(g)._draw_z is Generator._draw_z:
        return math.sqrt(g.z_dim)
    z = g._draw_z(range(PRIOR_SEED, PRIOR_SEED + 256), g.default_truncation)
    return float(z.square().sum(1).mean().sqrt())


def prior_for(g: Generator, space: str) -> Prior:
    """The prior's mean, spread and radius for ``space``, computed once per model."""
    key = (g.fingerprint, str(g.device), space)
    with _priors_lock:
        if key in _priors:
            return _priors[key]
    if space == "z":
        prior = Prior(torch.zeros(g.z_dim, device=g.device), 1.0, z_radius(g))
    else:
        gen = torch.Generator().manual_seed(PRIOR_SEED)
        z = torch.randn(PRIOR_SAMPLES, g.z_dim, generator=gen)
        c = None
        if g.c_dim:
            classes = torch.randint(g.c_dim, (PRIOR_SAMPLES,), generator=gen)
            c = torch.nn.functional.one_hot(classes, g.c_dim).to(g.device, g.dtype)
        with torch.inference_mode():
            w = torch.cat(
                [
                    g.map(z[i : i + 512].to(g.device, g.dtype), None if c is None else c[i : i + 512], None)[:, 0]
                    for i in range(0, PRIOR_SAMPLES, 512)
                ]
            ).double()
        mean = w.mean(0)
        scale = float((w - mean).square().mean().sqrt())
        prior = Prior(mean.float().clone(), scale, None)
    with _priors_lock:
        _priors[key] = prior
    return prior


class LatentVariable:
    """The optimised tensor for one batch and how it turns into ``ws``.

    Parameters
    ----------
    g : Generator
    space : str
        ``"z"``, ``"w"`` or ``"w+"``.
    start : Tensor
        Initial codes: z of shape (n, z_dim) for ``"z"``; w of shape (n, w_dim) for
        ``"w"``; ws of shape (n, num_ws, w_dim) for ``"w+"``.
    c : Tensor of shape (n, c_dim) or None
        Conditioning, fixed.
    """

    def __init__(self, g: Generator, space: str, start: torch.Tensor, c: torch.Tensor | None) -> None:
        self.g, self.space, self.c = g, space, c
        self.prior = prior_for(g, space)
        mean = self.prior.mean.to(g.device, torch.float32)
        if space == "z":
            value = self._on_sphere(start.to(g.device, torch.float32))
        else:
            value = (start.to(g.device, torch.float32) - mean) / self.prior.scale
            if space == "w":
                value = value.unsqueeze(1)
        self.param = value.detach().clone().requires_grad_(True)

    def _on_sphere(self, z: torch.Tensor) -> torch.Tensor:
        radius = self.prior.radius or math.sqrt(z.shape[-1])
        return z * (radius / z.norm(dim=-1, keepdim=True).clamp_min(1e-12))

    def ws(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``ws`` of shape (n, num_ws, w_dim) for the current value (plus ``noise``,
        shaped like :attr:`param`, in prior units), differentiable."""
        value = self.param if noise is None else self.param + noise
        if self.space == "z":
            return self.g.map(self._on_sphere(value), self.c, None)
        w = self.prior.mean.to(value.device) + self.prior.scale * value
        return w.expand(-1, self.g.num_ws, -1) if self.space == "w" else w

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only these rows (one chain per image, after a multi-start phase)."""
        self.param = self.param.detach()[rows].clone().requires_grad_(True)
        self.c = None if self.c is None else self.c[rows]

    @torch.no_grad()
    def project(self) -> None:
        """After a step: put z back on its sphere (w and w+ are unconstrained)."""
        if self.space == "z":
            self.param.copy_(self._on_sphere(self.param))
