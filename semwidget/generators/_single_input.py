"""Adapter for DCGAN/PGGAN-like generators: z enters once, at the first layer.

The adapter learns the module's structure by tracing one forward pass with
hooks on every leaf module, so it needs no knowledge of the class: the first
weighted layer must take z (a ``Linear`` or ``ConvTranspose2d``); every
activation that outputs a feature map becomes a feature layer, where
channel-space directions are injected; the next weighted layer after it is the
projection SeFa factorizes for that layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import nn

from ._base import FeatureLayer, Generator, ProjectionWeight

_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.PReLU)
_FIRST = (nn.Linear, nn.ConvTranspose2d)
_WEIGHTED = (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)


def _leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in module.named_modules() if not list(m.children())]


def _first_weighted(module: nn.Module) -> tuple[str, nn.Module] | None:
    for name, leaf in _leaves(module):
        if isinstance(leaf, _WEIGHTED) or getattr(leaf, "weight", None) is not None:
            return name, leaf
    return None


def looks_single_input(obj: object) -> bool:
    """A module whose first weighted layer is a Linear or ConvTranspose2d."""
    if not isinstance(obj, nn.Module):
        return False
    first = _first_weighted(obj)
    return first is not None and isinstance(first[1], _FIRST)


def _rows(weight: torch.Tensor, transposed: bool) -> np.ndarray:
    """Weight as (outputs × kernel positions, inputs): one row per output unit and position."""
    # Cast first, then one permuting copy (casting a permuted view is several times slower);
    # a float64 Linear weight is copied so the rows never alias the module's parameter.
    w = weight.detach().to("cpu", torch.float64, copy=weight.ndim == 2)
    if w.ndim == 4:
        # ConvTranspose2d (in, out, kh, kw) or Conv2d (out, in, kh, kw): inputs last.
        w = w.permute(1, 2, 3, 0) if transposed else w.permute(0, 2, 3, 1)
    return w.reshape(-1, w.shape[-1]).numpy()


class SingleInputGenerator(Generator):
    """A generator that takes z (and optionally a one-hot class) at its first layer.

    Parameters
    ----------
    module : nn.Module
        Called as ``module(z)``, or ``module(z, c)`` when ``c_dim > 0``.
    c_dim : int
        Width of the one-hot conditioning concatenated to z at the input.
    class_names : sequence of str
        Names of the classes, when conditional.
    """

    latent_space = "z"

    def __init__(
        self,
        module: nn.Module,
        *,
        c_dim: int = 0,
        class_names: Sequence[str] = (),
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        first = _first_weighted(module)
        if first is None or not isinstance(first[1], _FIRST):
            raise TypeError(
                "a single-input generator's first weighted layer must be Linear or ConvTranspose2d "
                f"taking z; {type(module).__name__} starts with "
                f"{type(first[1]).__name__ if first else 'no weighted layer'}"
            )
        super().__init__(module, name=name, device=device, dtype=dtype)
        self._first_name = first[0]
        self._first = cast("nn.Linear | nn.ConvTranspose2d", first[1])  # checked just above
        width = self._first.in_features if isinstance(self._first, nn.Linear) else self._first.in_channels
        if not 0 <= c_dim < width:
            raise ValueError(f"c_dim={c_dim} does not fit a first layer of {width} inputs")
        self.c_dim = int(c_dim)
        self.class_names = tuple(class_names)
        if self.class_names and len(self.class_names) != self.c_dim:
            raise ValueError(f"{len(self.class_names)} class names for c_dim={self.c_dim}")
        self.z_dim = width - self.c_dim
        self.w_dim = self.z_dim
        self.num_ws = 1
        self._z_as_map = isinstance(self._first, nn.ConvTranspose2d)
        self._trace()

    def _call(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        x = z.view(z.shape[0], -1, 1, 1) if self._z_as_map else z
        return self.module(x) if c is None else self.module(x, c)

    def _trace(self) -> None:
        """One forward pass at batch 2 to learn execution order and feature shapes."""
        order: list[tuple[str, nn.Module, tuple[int, ...]]] = []
        handles = []
        for name, leaf in _leaves(self.module):

            def record(m: nn.Module, _i: object, out: object, name: str = name) -> None:
                if isinstance(out, torch.Tensor):
                    order.append((name, m, tuple(out.shape[1:])))

            handles.append(leaf.register_forward_hook(record))
        z = torch.zeros(2, self.z_dim, device=self.device, dtype=self.dtype)
        c = self._conditioning(None, 2) if self.c_dim else None
        try:
            with torch.inference_mode():
                img = self._call(z, c)
        except Exception as exc:  # the module's own error, re-raised with what we tried
            raise TypeError(
                f"{type(self.module).__name__} did not accept z of shape "
                f"{(2, self.z_dim, 1, 1) if self._z_as_map else (2, self.z_dim)}"
                f"{' and a one-hot c' if self.c_dim else ''}: {exc}"
            ) from exc
        finally:
            for h in handles:
                h.remove()
        if img.ndim != 4 or img.shape[1] not in (1, 3) or img.shape[2] != img.shape[3]:
            raise TypeError(f"expected images of shape (n, 3, H, H); the module returned {tuple(img.shape)}")
        self.img_resolution = int(img.shape[-1])
        self._gray = img.shape[1] == 1
        # A feature layer is an activation that outputs a feature map, followed by
        # a weighted layer that reads it (which excludes the output activation).
        self._readers: dict[str, nn.Linear | nn.ConvTranspose2d | nn.Conv2d] = {}
        for i, (name, leaf, shape) in enumerate(order):
            if not isinstance(leaf, _ACTIVATIONS):
                continue
            reader = next((m for _, m, _ in order[i + 1 :] if isinstance(m, _WEIGHTED)), None)
            if reader is None or name in self._feature_layers:
                continue
            self._feature_layers[name] = FeatureLayer(name=name, module=leaf, shape=shape)
            self._readers[name] = reader

    def map(self, z: torch.Tensor, c: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        return z.view(z.shape[0], 1, self.z_dim)

    def _forward(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        img = self._call(ws[:, 0], None if c is None else c.to(ws.dtype))
        return img.expand(-1, 3, -1, -1) if self._gray else img

    def projection_weights(self, layers: Sequence[int] | None = None) -> list[ProjectionWeight]:
        self.check_layers(layers)
        rows = _rows(self._first.weight, isinstance(self._first, nn.ConvTranspose2d))
        # The conditioning columns carry the class, not z: SeFa factorizes z only.
        return [ProjectionWeight(self._first_name, 0, rows[:, : self.z_dim])]

    def feature_projection(self, layer: str) -> np.ndarray:
        if layer not in self._readers:
            super().feature_projection(layer)
        reader = self._readers[layer]
        return _rows(reader.weight, isinstance(reader, nn.ConvTranspose2d))
