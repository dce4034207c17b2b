"""Adapter for rosinality's stylegan2-pytorch ``Generator`` (and our :class:`~semwidget.nets.StyleGAN2`).

The module maps z through ``style`` to a single w, which the adapter tiles into
the layer-wise latent ``ws`` of shape (n, n_latent, style_dim) the synthesis
consumes row by row. Which StyledConv reads which row::

    ws index   0       1          2          3          ...  n_latent - 1
    conv       conv1   convs[0]   convs[1]   convs[2]   ...  (none: to_rgbs[-1] only)
    to_rgb             to_rgb1               to_rgbs[0] ...  to_rgbs[-1]

:meth:`projection_weights` gives SeFa the modulation of every StyledConv and, for
the last ws index (read by nothing else), of ``to_rgbs[-1]``: what genforce/sefa
factorizes for StyleGAN2 with ``layer_idx="all"``. The other ToRGBs share their row
with a StyledConv and are left out, as there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ._base import Generator, ProjectionWeight

log = logging.getLogger(__name__)

_ATTRIBUTES = ("style", "conv1", "convs", "to_rgbs", "n_latent", "input")
#: Samples and seed of the w average computed when a checkpoint brings none.
LATENT_AVG_SAMPLES = 4096
LATENT_AVG_SEED = 0


def looks_like_rosinality(obj: object) -> bool:
    """A module with rosinality's generator attributes (style, conv1, convs, to_rgbs, n_latent, input)."""
    return isinstance(obj, nn.Module) and all(hasattr(obj, a) for a in _ATTRIBUTES)


class RosinalityStyleGAN(Generator):
    """A StyleGAN2 with rosinality's layout, driven in W space.

    Parameters
    ----------
    module : nn.Module
        rosinality's ``Generator`` or our ``StyleGAN2``.
    latent_avg : Tensor of shape (style_dim,) or (1, style_dim), optional
        The w average truncation pulls toward (a checkpoint's ``latent_avg``).
        When None, the mean of 4096 mapped samples drawn with a fixed seed.
    name, device, dtype
        As for :class:`~semwidget.generators.Generator`.
    """

    # A foreign package's module, checked by shape when wrapped: torch's stubs type its
    # submodules and attributes as `Tensor | Module`, which says nothing here.
    module: Any

    latent_space = "w"
    default_truncation = 1.0

    def __init__(
        self,
        module: nn.Module,
        *,
        latent_avg: torch.Tensor | None = None,
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not looks_like_rosinality(module):
            missing = [a for a in _ATTRIBUTES if not hasattr(module, a)]
            raise TypeError(
                f"expected rosinality's stylegan2-pytorch Generator; {type(module).__name__} lacks {missing}"
            )
        super().__init__(module, name=name, device=device, dtype=dtype)
        m = self.module
        self.w_dim = int(m.conv1.conv.modulation.weight.shape[1])
        self.z_dim = self.w_dim
        self.num_ws = int(m.n_latent)
        self.img_resolution = int(getattr(m, "size", 2 ** (len(m.to_rgbs) + 2)))
        # ws index -> (module path, modulation) SeFa factorizes for it: conv1 reads row 0,
        # convs[k] row k + 1, and the last row is read by to_rgbs[-1] alone (see the table
        # in the module docstring).
        self._style_convs: dict[int, tuple[str, Any]] = {0: ("conv1.conv.modulation", m.conv1.conv.modulation)}
        for k, conv in enumerate(m.convs):
            self._style_convs[k + 1] = (f"convs.{k}.conv.modulation", conv.conv.modulation)
        last = self.num_ws - 1
        if last not in self._style_convs and len(m.to_rgbs):
            path = f"to_rgbs.{len(m.to_rgbs) - 1}.conv.modulation"
            self._style_convs[last] = (path, m.to_rgbs[-1].conv.modulation)
        if latent_avg is None:
            latent_avg = self._mean_w()
        else:
            latent_avg = torch.as_tensor(latent_avg).detach().reshape(-1)
            if latent_avg.numel() != self.w_dim:
                raise ValueError(f"latent_avg has {latent_avg.numel()} values; expected style_dim={self.w_dim}")
        self.latent_avg = latent_avg.to(self.device, self.dtype)

    def _mean_w(self) -> torch.Tensor:
        log.info(
            "%s: no latent_avg given; using the mean of %d mapped samples (seed %d) for truncation",
            self.name,
            LATENT_AVG_SAMPLES,
            LATENT_AVG_SEED,
        )
        g = torch.Generator().manual_seed(LATENT_AVG_SEED)
        z = torch.randn(LATENT_AVG_SAMPLES, self.z_dim, generator=g).to(self.device, self.dtype)
        with torch.inference_mode():
            # Average in float32 (or better): 4096 half-precision rows lose digits.
            return self.module.style(z).double().mean(0).clone()

    @property
    def layer_names(self) -> list[str]:
        names = ["4x4 conv1"]
        for k in range(len(self.module.convs)):
            r = 2 ** (3 + k // 2)
            names.append(f"{r}x{r} conv{k % 2}")
        r = self.img_resolution
        return (names + [f"{r}x{r} torgb"])[: self.num_ws]

    def map(self, z: torch.Tensor, c: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        """z of shape (n, style_dim) → ws of shape (n, n_latent, style_dim), truncated toward latent_avg."""
        w = self.module.style(z)
        if truncation is not None and truncation != 1:
            avg = self.latent_avg.to(w.dtype)
            w = torch.lerp(avg, w, float(truncation))
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)

    def _forward(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        # The stored noise buffers, not fresh noise: an edit must be the only change.
        img, _ = self.module([ws], input_is_latent=True, randomize_noise=False)
        return img

    @property
    def noise_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((int(m.shape[2]), int(m.shape[3])) for m in self.fixed_noise())

    def fixed_noise(self) -> list[torch.Tensor]:
        noises = self.module.noises
        return [getattr(noises, f"noise_{k}") for k in range(int(self.module.num_layers))]

    def _forward_with_noise(
        self, ws: torch.Tensor, c: torch.Tensor | None, noise: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        img, _ = self.module([ws], input_is_latent=True, noise=list(noise))
        return img

    def projection_weights(self, layers: Sequence[int] | None = None) -> list[ProjectionWeight]:
        """The style (modulation) weights of shape (in_channel, style_dim) of the
        StyledConvs reading each chosen ws index, and for the last index that of the
        last ToRGB (the only layer reading it), as genforce/sefa does.

        The stored weights lack EqualLinear's run-time factor ``lr_mul / sqrt(style_dim)``;
        it is one scalar per matrix, so SeFa's row normalization removes it anyway.
        """
        chosen = self.check_layers(layers)
        out = []
        for i in chosen:
            if i in self._style_convs:
                path, modulation = self._style_convs[i]
                matrix = modulation.weight.detach().to("cpu", torch.float64).numpy()
                out.append(ProjectionWeight(name=path, layer=i, matrix=np.array(matrix)))
        if not out:
            raise ValueError(
                f"ws indices {list(chosen)} of {self.name} feed no modulation SeFa reads; "
                f"choose among {sorted(self._style_convs)} (conv1 reads 0, convs[k] reads k + 1)"
            )
        return out
