"""The one protocol every generator adapter implements.

An adapter wraps a ``torch.nn.Module`` and speaks layer-wise latents
(:class:`~semwidget.Latents`): ``sample`` draws them from seeds, ``synthesize``
turns them into images in ``[-1, 1]``, ``projection_weights`` hands SeFa the
matrices that project the latent into each layer, and feature layers let
channel-space directions be injected into (or read out of) intermediate
feature maps through forward hooks, whatever the module's own ``forward`` does.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._latents import Latents

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionWeight:
    """Weights projecting one layer-wise latent into a layer, for SeFa.

    ``matrix`` has shape ``(outputs, dim)``: one row per output unit (and kernel
    position), one column per latent dimension.
    """

    name: str
    layer: int
    matrix: np.ndarray


@dataclass(frozen=True)
class FeatureLayer:
    """An intermediate feature map where channel-space edits are injected."""

    name: str
    module: nn.Module
    shape: tuple[int, ...]  # (channels, height, width) or (features,)

    @property
    def channels(self) -> int:
        return self.shape[0]


class _StopForward(Exception):
    """Raised from a hook to end a forward pass once the wanted activation is read."""


def resolve_device(device: torch.device | str | None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA when there is a GPU, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def fingerprint_module(module: nn.Module) -> str:
    """A short sha256 of a module's class and state (names, shapes, values)."""
    digest = hashlib.sha256(type(module).__qualname__.encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        if t.numel():
            digest.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def seeded_normal(seeds: Sequence[int], dim: int) -> torch.Tensor:
    """One standard-normal row per seed, each drawn from its own CPU generator.

    Sample ``i`` depends on ``seeds[i]`` only, so a sample is the same whether
    it is drawn alone or in a batch.
    """
    rows = []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        rows.append(torch.randn(dim, generator=g))
    return torch.stack(rows) if rows else torch.empty(0, dim)


class Generator(ABC):
    """Adapter protocol. Subclasses set the shape attributes and implement
    :meth:`map` and :meth:`_forward`.

    Attributes
    ----------
    z_dim, w_dim, num_ws, img_resolution, c_dim : int
        StyleGAN-style shape names; ``num_ws`` is the number of layer-wise latents.
    latent_space : str
        ``"z"`` when ``ws`` holds z itself, ``"w"`` when it holds mapped codes.
    """

    z_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    c_dim: int = 0
    class_names: tuple[str, ...] = ()
    latent_space: str = "z"
    default_truncation: float | None = None
    #: Where the weights came from, set by :func:`semwidget.load`: ``{"zoo": name, "weights":
    #: path or None}`` or ``{"path": checkpoint, "trust_pickle": bool}``; another process
    #: (a Dask worker) rebuilds the generator from it. None for a module wrapped by hand.
    source: Mapping[str, object] | None = None

    def __init__(
        self,
        module: nn.Module,
        *,
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
        # Fingerprint before any cast, so one model has one identity on every device.
        self.fingerprint = fingerprint_module(module)
        self.name = name or type(module).__name__
        self.device = resolve_device(device)
        self.dtype = dtype or torch.float32
        self.module = module.eval().requires_grad_(False).to(self.device, self.dtype)
        self._feature_layers: dict[str, FeatureLayer] = {}
        # Edits and read-outs are forward hooks on the shared module: two threads running
        # it at once (a widget's renderer and the notebook) would see each other's hooks.
        self._forward_lock = threading.RLock()

    # ---- shape and description -------------------------------------------------

    @property
    def num_layers(self) -> int:
        """How many layer-wise latents the generator takes (1 for DCGAN/PGGAN)."""
        return self.num_ws

    @property
    def layer_names(self) -> list[str]:
        """A readable name for each layer-wise latent."""
        return [f"ws[{i}]" for i in range(self.num_ws)]

    @property
    def feature_layers(self) -> dict[str, FeatureLayer]:
        """Feature maps where channel-space directions are found and injected."""
        return dict(self._feature_layers)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, z_dim={self.z_dim}, w_dim={self.w_dim}, "
            f"num_ws={self.num_ws}, img_resolution={self.img_resolution}, c_dim={self.c_dim}, "
            f"device={str(self.device)!r})"
        )

    # ---- latents -------------------------------------------------------------

    def sample(
        self,
        n: int | None = None,
        seed: int = 0,
        *,
        seeds: Sequence[int] | None = None,
        truncation: float | None = None,
        class_index: int | Sequence[int] | None = None,
    ) -> Latents:
        """Draw latents deterministically: sample ``i`` uses seed ``seed + i``.

        Parameters
        ----------
        n : int
            How many samples; ignored when ``seeds`` is given.
        seed : int
            The first seed.
        seeds : sequence of int, optional
            Explicit seeds, one per sample.
        truncation : float, optional
            ψ for models with truncation (StyleGAN: around ``w_avg``; BigGAN:
            truncated noise). Models without one reject it.
        class_index : int or sequence of int, optional
            Class of each sample for conditional generators.
        """
        if seeds is None:
            if n is None or not isinstance(n, (int, np.integer)) or n < 0:
                raise ValueError(f"sample needs a count n >= 0 (or seeds=[...]); got n={n!r}")
            seeds = range(int(seed), int(seed) + int(n))
        seeds = tuple(int(s) for s in seeds)
        if truncation is not None and self.default_truncation is None:
            raise ValueError(f"{self.name} has no truncation; call sample() without truncation=")
        psi = self.default_truncation if truncation is None else float(truncation)
        z = self._draw_z(seeds, psi)
        c = self._conditioning(class_index, len(seeds))
        with torch.inference_mode():
            ws = self.map(z.to(self.device, self.dtype), c, psi)
        return Latents(ws=ws, c=c, seeds=seeds, model=self.fingerprint, space=self.latent_space)

    def _draw_z(self, seeds: Sequence[int], truncation: float | None) -> torch.Tensor:
        return seeded_normal(seeds, self.z_dim)

    def _conditioning(self, class_index: int | Sequence[int] | None, n: int) -> torch.Tensor | None:
        if self.c_dim == 0:
            if class_index is not None:
                raise ValueError(f"{self.name} is unconditional; call sample() without class_index=")
            return None
        index = 0 if class_index is None else class_index
        indices = [index] * n if isinstance(index, (int, np.integer)) else list(index)
        if len(indices) != n or any(not 0 <= int(i) < self.c_dim for i in indices):
            raise ValueError(f"class_index must be an int in [0, {self.c_dim}) or {n} of them; got {class_index!r}")
        c = torch.zeros(n, self.c_dim, device=self.device, dtype=self.dtype)
        c[torch.arange(n), torch.as_tensor([int(i) for i in indices])] = 1
        return c

    @abstractmethod
    def map(self, z: torch.Tensor, c: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        """Map z of shape (n, z_dim) to ws of shape (n, num_ws, w_dim)."""

    def map_to_w(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The single code per sample a PCA is taken over: shape (n, w_dim), untruncated."""
        return self.map(z.to(self.device, self.dtype), c, None)[:, 0]

    def check_latents(self, latents: Latents) -> None:
        """Raise a clear error if ``latents`` cannot be synthesized by this generator."""
        if not isinstance(latents, Latents):
            raise TypeError(f"expected semwidget.Latents (from sample()), got {type(latents).__name__}")
        expected = (self.num_ws, self.w_dim)
        if tuple(latents.ws.shape[1:]) != expected:
            raise ValueError(
                f"latents of shape {tuple(latents.ws.shape)} do not fit {self.name}: "
                f"expected (n, {expected[0]}, {expected[1]})"
            )
        if (latents.c is None) != (self.c_dim == 0) or (latents.c is not None and latents.c.shape[1] != self.c_dim):
            raise ValueError(f"{self.name} expects conditioning of width {self.c_dim}")
        for name, offset in latents.offsets.items():
            layer = self._feature_layers.get(name)
            if layer is None:
                raise ValueError(f"unknown feature layer {name!r}; {self.name} has {sorted(self._feature_layers)}")
            if offset.shape[1] != layer.channels:
                raise ValueError(f"offset for {name!r} has {offset.shape[1]} channels; the layer has {layer.channels}")
        if latents.noise is not None:
            self.check_noise(latents.noise)

    # ---- noise inputs ------------------------------------------------------------

    @property
    def noise_shapes(self) -> tuple[tuple[int, int], ...]:
        """(h, w) of each noise input synthesis reads, in order; ``()`` when the model has
        none semwidget can set (DCGAN, BigGAN, NVIDIA's StyleGAN checkpoints)."""
        return ()

    def fixed_noise(self) -> list[torch.Tensor]:
        """The stored maps synthesis uses by default, one (1, 1, h, w) tensor per noise input."""
        raise ValueError(f"{self.name} has no noise inputs semwidget can set")

    def check_noise(self, noise: Sequence[torch.Tensor]) -> None:
        """Raise a clear error unless ``noise`` holds one (n, 1, h, w) map per noise input."""
        shapes = self.noise_shapes
        if not shapes:
            raise ValueError(
                f"these latents carry their own noise maps, but {self.name} has no noise inputs semwidget can set "
                "(rosinality-layout StyleGAN2 models such as shapes-stylegan2 have them)"
            )
        got = [tuple(m.shape[2:]) for m in noise]
        if got != list(shapes):
            raise ValueError(f"{self.name} reads noise maps of sizes {list(shapes)}; the latents carry {got}")

    def _forward_with_noise(
        self, ws: torch.Tensor, c: torch.Tensor | None, noise: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """:meth:`_forward` with these maps in place of the stored ones (models with noise inputs)."""
        raise ValueError(f"{self.name} has no noise inputs semwidget can set")

    def _run(self, ws: torch.Tensor, c: torch.Tensor | None, noise: Sequence[torch.Tensor] | None) -> torch.Tensor:
        if noise is None:
            return self._forward(ws, c)
        return self._forward_with_noise(ws, c, [m.to(ws.device, ws.dtype) for m in noise])

    # ---- synthesis -------------------------------------------------------------

    @abstractmethod
    def _forward(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """Images of shape (n, 3, H, W) for ws on the device."""

    def synthesize(self, latents: Latents, *, batch_size: int = 32) -> torch.Tensor:
        """Images of shape (n, 3, img_resolution, img_resolution), float32 in [-1, 1], on the CPU."""
        self.check_latents(latents)
        latents = latents.to(self.device)
        out = []
        for start in range(0, len(latents), batch_size):
            part = latents[start : start + batch_size]
            with self._forward_lock, torch.inference_mode(), self._injected(part.offsets):
                img = self._run(part.ws.to(self.dtype), part.c, part.noise).float().clamp(-1, 1)
            out.append(img.cpu())
        if not out:
            r = self.img_resolution
            return torch.empty(0, 3, r, r)
        return torch.cat(out)

    def render(
        self, ws: torch.Tensor, c: torch.Tensor | None = None, noise: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Differentiable synthesis, for inversion and other optimisation.

        Unlike :meth:`synthesize` this runs with autograd, does not clamp, takes the
        raw ``ws`` (no feature-layer offsets) and keeps the result on the device.
        Noise inputs stay as :meth:`synthesize` uses them (the stored, fixed maps, or
        ``noise``), so the same ``ws`` gives the same image here and there, up to the clamp.

        Parameters
        ----------
        ws : Tensor of shape (n, num_ws, w_dim)
            Layer-wise latents; gradients flow back to them.
        c : Tensor of shape (n, c_dim), optional
            Conditioning of a conditional generator.
        noise : sequence of Tensor, optional
            One (n, 1, h, w) map per noise input (:attr:`noise_shapes`) in place of the
            stored ones; gradients flow back to them.

        Returns
        -------
        Tensor of shape (n, 3, img_resolution, img_resolution)
            float32 images, about [-1, 1], on the generator's device.
        """
        if ws.ndim != 3 or tuple(ws.shape[1:]) != (self.num_ws, self.w_dim):
            raise ValueError(f"render expects ws of shape (n, {self.num_ws}, {self.w_dim}); got {tuple(ws.shape)}")
        if (c is None) != (self.c_dim == 0):
            wanted = "no conditioning c" if self.c_dim == 0 else f"a conditioning c of shape (n, {self.c_dim})"
            raise ValueError(f"{self.name} expects {wanted}")
        c = None if c is None else c.to(self.device, self.dtype)
        if noise is not None:
            self.check_noise(noise)
        with self._forward_lock:
            return self._run(ws.to(self.device, self.dtype), c, noise).float()

    @contextmanager
    def _injected(self, offsets: Mapping[str, torch.Tensor]) -> Iterator[None]:
        """Add channel offsets to feature maps for the duration of one forward pass."""
        handles = []
        for name, offset in offsets.items():
            layer = self._feature_layers[name]

            def hook(_m: nn.Module, _i: object, out: torch.Tensor, off: torch.Tensor = offset) -> torch.Tensor:
                shape = (off.shape[0], off.shape[1]) + (1,) * (out.ndim - 2)
                return out + off.to(out.dtype).view(shape)

            handles.append(layer.module.register_forward_hook(hook))
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def activations(self, latents: Latents, layer: str) -> torch.Tensor:
        """The feature map at ``layer`` for these latents, shape (n, *layer.shape); the
        rest of the forward pass is skipped."""
        if layer not in self._feature_layers:
            raise ValueError(f"unknown feature layer {layer!r}; {self.name} has {sorted(self._feature_layers)}")
        self.check_latents(latents)
        latents = latents.to(self.device)
        captured: list[torch.Tensor] = []

        def grab(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
            captured.append(out)
            raise _StopForward

        # Offsets are hooked in first, so the grab sees the feature map after injection.
        with self._forward_lock, torch.inference_mode(), self._injected(latents.offsets):
            handle = self._feature_layers[layer].module.register_forward_hook(grab)
            try:
                self._run(latents.ws.to(self.dtype), latents.c, latents.noise)
            except _StopForward:
                pass
            finally:
                handle.remove()
        return captured[0].float()

    # ---- weights for SeFa ------------------------------------------------------

    def projection_weights(self, layers: Sequence[int] | None = None) -> list[ProjectionWeight]:
        """Matrices of shape (outputs, w_dim) that project each chosen layer-wise latent."""
        raise NotImplementedError(f"{type(self).__name__} does not expose projection weights")

    def feature_projection(self, layer: str) -> np.ndarray:
        """The weights that read the feature map at ``layer``, shape (outputs, channels)."""
        raise ValueError(f"{self.name} has no feature layer {layer!r}; it has {sorted(self._feature_layers)}")

    def check_layers(self, layers: Sequence[int] | None) -> tuple[int, ...]:
        """Validate layer-wise latent indices; ``None`` means all of them."""
        if layers is None:
            return tuple(range(self.num_ws))
        if isinstance(layers, (int, np.integer)):
            layers = [int(layers)]
        out = tuple(int(i) for i in layers)
        bad = [i for i in out if not 0 <= i < self.num_ws]
        if bad or not out:
            raise ValueError(f"layers must be indices in [0, {self.num_ws}) for {self.name}; got {list(layers)}")
        return out
