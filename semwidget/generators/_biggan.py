"""Adapter for pytorch-pretrained-biggan's ``BigGAN`` (the BigGAN-deep generator).

The module's own ``forward(z, one_hot, truncation)`` feeds one condition vector
``cat(z, embeddings(class))`` to ``gen_z`` and to every GenBlock's conditional
batch norms. The adapter re-runs that loop from the module's submodules with
one z per consumer, so ``ws[:, 0]`` feeds ``gen_z`` and ``ws[:, i]`` the
``i``-th GenBlock: layer-wise latents in z-space. With all ``ws`` layers equal it
computes exactly what the module computes.

Truncation acts twice in BigGAN: the noise is drawn from a normal truncated to
``[-2, 2]`` and scaled by ψ, and the batch norms use statistics stored per ψ.
Latents carry no ψ, so the second always uses the adapter's ``truncation``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from ._base import Generator, ProjectionWeight

log = logging.getLogger(__name__)

_BOUND = 2.0  # the noise is a standard normal truncated to [-2, 2], as truncnorm(-2, 2)
_BN_NAMES = ("bn_0", "bn_1", "bn_2", "bn_3")


def looks_like_biggan(obj: object) -> bool:
    """A module with ``embeddings``, ``generator.gen_z``, ``generator.layers`` and ``config``."""
    if not isinstance(obj, nn.Module):
        return False
    generator = getattr(obj, "generator", None)
    return (
        hasattr(obj, "embeddings")
        and hasattr(obj, "config")
        and generator is not None
        and hasattr(generator, "gen_z")
        and hasattr(generator, "layers")
    )


def _is_block(layer: nn.Module) -> bool:
    """A GenBlock: the layers that take the condition vector (SelfAttn does not)."""
    return all(hasattr(layer, name) for name in _BN_NAMES)


def _raw_weight(linear: Any) -> torch.Tensor:
    """A Linear's weight before spectral normalization, shape (out, in).

    Spectral norm divides the whole matrix by one scalar σ (its top singular
    value estimate), so the raw weight spans the same directions; SeFa's row
    normalization removes the scalar anyway. The raw weight is read because
    the old-style hook only refreshes ``weight`` during a forward pass.
    """
    if hasattr(linear, "weight_orig"):  # torch.nn.utils.spectral_norm
        return linear.weight_orig
    if parametrize.is_parametrized(linear, "weight"):  # torch.nn.utils.parametrizations
        return linear.parametrizations.weight.original  # type: ignore[union-attr,return-value]
    return linear.weight  # type: ignore[return-value]


class BigGANAdapter(Generator):
    """pytorch-pretrained-biggan's ``BigGAN`` with one z per GenBlock.

    Parameters
    ----------
    module : nn.Module
        A ``pytorch_pretrained_biggan.BigGAN`` (or a module laid out the same way).
    truncation : float
        ψ in (0, 1]: the default noise truncation for :meth:`sample`, and the ψ
        whose stored batch-norm statistics synthesis uses.
    class_names : sequence of str
        Names of the ``num_classes`` classes, if known.

    Attributes
    ----------
    num_ws : int
        ``1 + number of GenBlocks``; ``ws[:, 0]`` feeds ``gen_z``.
    w_dim, z_dim : int
        The noise width (``config.z_dim``).
    c_dim : int
        ``num_classes``; conditioning is one-hot.
    """

    # A foreign package's module, checked by shape when wrapped: torch's stubs type its
    # submodules and attributes as `Tensor | Module`, which says nothing here.
    module: Any

    latent_space = "z"

    def __init__(
        self,
        module: nn.Module,
        *,
        truncation: float = 0.4,
        class_names: Sequence[str] = (),
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not looks_like_biggan(module):
            raise TypeError(
                "expected a pytorch-pretrained-biggan BigGAN (embeddings, generator.gen_z, "
                f"generator.layers, config); got {type(module).__name__}"
            )
        self.truncation = self._check_truncation(truncation)
        super().__init__(module, name=name, device=device, dtype=dtype)
        gen = self.module.generator
        self.z_dim = int(self.module.config.z_dim)
        self.w_dim = self.z_dim
        self.c_dim = int(self.module.embeddings.in_features)
        self.class_names = tuple(class_names)
        if self.class_names and len(self.class_names) != self.c_dim:
            raise ValueError(f"{len(self.class_names)} class names for {self.c_dim} classes")
        cond_dim = self.z_dim + int(self.module.embeddings.out_features)
        if gen.gen_z.in_features != cond_dim:
            raise TypeError(
                f"gen_z takes {gen.gen_z.in_features} inputs; expected z_dim + embedding width = {cond_dim}"
            )
        # ModuleList indices of the GenBlocks, in order; ws[:, k + 1] feeds block k.
        self._blocks = [i for i, layer in enumerate(gen.layers) if _is_block(layer)]
        if not self._blocks:
            raise TypeError(f"{type(module).__name__}.generator.layers holds no GenBlock (bn_0..bn_3)")
        self.num_ws = 1 + len(self._blocks)
        self.default_truncation = self.truncation
        # gen_z emits a 4×4 map and each up-sampling block doubles it.
        ups = sum(bool(getattr(gen.layers[i], "up_sample", False)) for i in self._blocks)
        self.img_resolution = 4 * 2**ups
        log.debug("BigGAN adapter: %d GenBlocks, %d px images", len(self._blocks), self.img_resolution)

    @staticmethod
    def _check_truncation(truncation: float) -> float:
        psi = float(truncation)
        # The module asserts 0 < ψ <= 1 and its statistics only cover that range.
        if not 0.0 < psi <= 1.0:
            raise ValueError(f"BigGAN truncation must be in (0, 1]; got {truncation!r}")
        return psi

    @property
    def layer_names(self) -> list[str]:
        """``'gen_z'``, then ``'block<k>'`` per GenBlock, marked ``' (up)'`` where it upsamples."""
        layers = self.module.generator.layers
        names = ["gen_z"]
        for k, i in enumerate(self._blocks):
            names.append(f"block{k}" + (" (up)" if getattr(layers[i], "up_sample", False) else ""))
        return names

    # ---- latents ---------------------------------------------------------------

    def _draw_z(self, seeds: Sequence[int], truncation: float | None) -> torch.Tensor:
        """Truncated-normal noise of shape (len(seeds), z_dim) in ``[-2ψ, 2ψ]``.

        Each seed has its own generator, and out-of-range entries are redrawn
        from it until they fall in range, so a row depends on its seed only.
        """
        psi = self._check_truncation(self.truncation if truncation is None else truncation)
        rows = []
        for seed in seeds:
            g = torch.Generator().manual_seed(int(seed))
            row = torch.randn(self.z_dim, generator=g)
            bad = row.abs() > _BOUND
            while bad.any():  # about 4.6% of entries, so a few rounds at most
                row[bad] = torch.randn(int(bad.sum()), generator=g)
                bad = row.abs() > _BOUND
            rows.append(row)
        z = torch.stack(rows) if rows else torch.empty(0, self.z_dim)
        return z * psi

    def map(self, z: torch.Tensor, c: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        """z of shape (n, z_dim) tiled to ws of shape (n, num_ws, z_dim).

        ψ already scaled z in :meth:`_draw_z`; there is no mapping network.
        """
        return z.unsqueeze(1).repeat(1, self.num_ws, 1)

    # ---- synthesis -------------------------------------------------------------

    def _forward(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """Images of shape (n, 3, R, R) in [-1, 1] from ws of shape (n, num_ws, z_dim)."""
        if c is None:
            raise ValueError(f"{self.name} is class-conditional; latents need a one-hot c")
        gen = self.module.generator
        psi = self.truncation
        embed = self.module.embeddings(c.to(ws.dtype))
        x = gen.gen_z(torch.cat((ws[:, 0], embed), dim=1))
        # gen_z's outputs are laid out (4, 4, channels), from the TensorFlow weights.
        x = x.view(-1, 4, 4, 16 * gen.config.channel_width).permute(0, 3, 1, 2).contiguous()
        k = 1
        for layer in gen.layers:
            if _is_block(layer):
                x = layer(x, torch.cat((ws[:, k], embed), dim=1), psi)
                k += 1
            else:
                x = layer(x)
        x = gen.conv_to_rgb(gen.relu(gen.bn(x, psi)))
        return gen.tanh(x[:, :3])

    # ---- weights for SeFa --------------------------------------------------------

    def projection_weights(self, layers: Sequence[int] | None = None) -> list[ProjectionWeight]:
        """The z-columns of the layers each chosen latent feeds, float64 of shape (out, z_dim).

        ``ws[:, 0]``: ``gen_z``. ``ws[:, i]``: the ``scale`` and ``offset`` of
        ``bn_0``..``bn_3`` in GenBlock ``i - 1`` (eight matrices). The remaining
        columns read the class embedding, which SeFa does not move.
        """
        chosen = self.check_layers(layers)
        out: list[ProjectionWeight] = []
        for i in chosen:
            if i == 0:
                named = [("generator.gen_z", self.module.generator.gen_z)]
            else:
                j = self._blocks[i - 1]
                block = self.module.generator.layers[j]
                named = [
                    (f"generator.layers.{j}.{bn}.{part}", getattr(getattr(block, bn), part))
                    for bn in _BN_NAMES
                    for part in ("scale", "offset")
                ]
            for name, linear in named:
                w = _raw_weight(linear).detach().to("cpu", torch.float64)[:, : self.z_dim]
                out.append(ProjectionWeight(name=name, layer=i, matrix=np.ascontiguousarray(w.numpy())))
        return out
