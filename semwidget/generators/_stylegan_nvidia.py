"""Adapter for NVIDIA's StyleGAN2-ADA and StyleGAN3 generators.

Both come from NVIDIA's official PyTorch code (``stylegan2-ada-pytorch``, and
``stylegan3`` whose pickles hold either layout) and share the outer shape:
``G.mapping(z, c, truncation_psi=...)`` gives ``ws`` of shape
``(n, num_ws, w_dim)`` and ``G.synthesis(ws, noise_mode=...)`` the image. Each
synthesis layer reads its ``w`` through an ``affine`` layer whose output are
the styles that modulate a convolution; those ``affine.weight`` matrices are
what SeFa factorizes.

Which layer reads which ``ws[:, i]`` differs between the two:

* StyleGAN2-ADA: blocks ``b4, b8, ...``; block ``b{res}`` reads
  ``ws[:, w_idx : w_idx + num_conv + num_torgb]`` in the order conv0, conv1,
  torgb, and ``w_idx`` then advances by ``num_conv`` only, so each torgb shares
  its ``w`` with the next block's conv0 and the last ``w`` feeds only the last
  torgb.
* StyleGAN3: ``ws[:, 0]`` feeds ``synthesis.input`` (the rotation and
  translation of its Fourier features) and ``ws[:, i + 1]`` the layer
  ``synthesis.layer_names[i]``; the last of those is the ToRGB layer. Every
  ``w`` is used (``num_ws == len(layer_names) + 1``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ._base import FeatureLayer, Generator, ProjectionWeight

log = logging.getLogger(__name__)

# What consumes a w: a modulated convolution, a ToRGB layer, or StyleGAN3's input transform.
_CONV, _TORGB, _INPUT = "conv", "torgb", "input"


def _module(parent: nn.Module, name: str) -> nn.Module | None:
    child = getattr(parent, name, None)
    return child if isinstance(child, nn.Module) else None


def _sg2_blocks(synthesis: nn.Module) -> list[tuple[int, Any]] | None:
    """``[(res, block), ...]`` for a StyleGAN2-ADA synthesis network, else None."""
    resolutions = getattr(synthesis, "block_resolutions", None)
    if not isinstance(resolutions, (list, tuple)) or not resolutions:
        return None
    blocks = []
    for res in resolutions:
        block = _module(synthesis, f"b{res}")
        if block is None or not hasattr(block, "num_conv") or not hasattr(block, "num_torgb"):
            return None
        blocks.append((int(res), block))
    return blocks


def _sg3_layers(synthesis: nn.Module) -> list[str] | None:
    """``layer_names`` of a StyleGAN3 synthesis network, else None."""
    names = getattr(synthesis, "layer_names", None)
    if _module(synthesis, "input") is None or not isinstance(names, (list, tuple)) or not names:
        return None
    if not all(isinstance(n, str) and _module(synthesis, n) is not None for n in names):
        return None
    return list(names)


def looks_like_nvidia_stylegan(obj: object) -> bool:
    """NVIDIA's layout: ``mapping`` and ``synthesis`` modules, ``z_dim``, ``w_dim``,
    ``num_ws``, and a synthesis made of ``b{res}`` blocks (StyleGAN2-ADA) or of
    ``input`` plus ``layer_names`` (StyleGAN3).

    rosinality's stylegan2-pytorch (``style``, ``convs``, ``to_rgbs``,
    ``n_latent``) has no ``mapping``/``synthesis`` pair, so it does not match.
    """
    if not isinstance(obj, nn.Module) or not all(hasattr(obj, a) for a in ("z_dim", "w_dim", "num_ws")):
        return False
    synthesis = _module(obj, "synthesis")
    if _module(obj, "mapping") is None or synthesis is None:
        return False
    return _sg2_blocks(synthesis) is not None or _sg3_layers(synthesis) is not None


class NvidiaStyleGAN(Generator):
    """A StyleGAN2-ADA or StyleGAN3 generator from NVIDIA's code, edited in W+.

    ``sample`` maps z through ``G.mapping`` with truncation ψ around
    ``G.mapping.w_avg`` (ψ = 1 by default: no truncation); ``synthesize`` calls
    ``G.synthesis(ws, noise_mode="const")``, so one ``ws`` always gives one image.

    Parameters
    ----------
    module : nn.Module
        NVIDIA's ``Generator`` (``G`` or ``G_ema`` from a network pickle).
    class_names : sequence of str
        Names of the classes of a conditional model (``c_dim > 0``).
    """

    latent_space = "w"
    default_truncation = 1.0

    def __init__(
        self,
        module: nn.Module,
        *,
        class_names: Sequence[str] = (),
        name: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not looks_like_nvidia_stylegan(module):
            raise TypeError(
                f"{type(module).__name__} is not an NVIDIA StyleGAN2-ADA/StyleGAN3 generator: expected "
                "mapping, synthesis, z_dim, w_dim, num_ws and synthesis blocks b4, b8, ... or "
                "synthesis.input plus synthesis.layer_names"
            )
        # NVIDIA's networks keep float32 parameters and cast per block themselves
        # (num_fp16_res); halving every parameter breaks their float32 blocks. So
        # dtype=float16 means "use the network's own FP16 blocks", on a GPU only.
        self._own_fp16 = dtype == torch.float16
        super().__init__(module, name=name, device=device, dtype=torch.float32)
        m = self._net
        self.z_dim, self.w_dim, self.num_ws = int(m.z_dim), int(m.w_dim), int(m.num_ws)
        self.c_dim = int(getattr(m, "c_dim", 0))
        self.img_resolution = int(m.img_resolution)
        self.class_names = tuple(class_names)
        if self.class_names and len(self.class_names) != self.c_dim:
            raise ValueError(f"{len(self.class_names)} class names for c_dim={self.c_dim}")
        self.architecture = "stylegan2-ada" if _sg2_blocks(m.synthesis) is not None else "stylegan3"
        # consumers[i]: (module path, kind) of every layer that reads ws[:, i], in forward order.
        self._consumers: list[list[tuple[str, str]]] = [[] for _ in range(self.num_ws)]
        if self.architecture == "stylegan2-ada":
            self._walk_blocks()
        else:
            self._walk_layers()
        log.debug(
            "%s: %s with %d ws, conv styles on %s",
            self.name,
            self.architecture,
            self.num_ws,
            [i for i, c in enumerate(self._consumers) if any(k == _CONV for _, k in c)],
        )

    # ---- structure -------------------------------------------------------------

    @property
    def _net(self) -> Any:
        """The module, typed loosely: NVIDIA's networks keep their structure in plain
        attributes, which ``nn.Module`` types as ``Tensor | Module``."""
        return self.module

    def _walk_blocks(self) -> None:
        """StyleGAN2-ADA: replay ``SynthesisNetwork.forward``'s w_idx bookkeeping."""
        w_idx = 0
        for res, block in _sg2_blocks(self._net.synthesis) or []:
            # The first block starts from ``const`` and has no conv0.
            convs = [n for n in ("conv0", "conv1") if _module(block, n) is not None]
            if len(convs) != int(block.num_conv):
                raise TypeError(f"synthesis.b{res} has num_conv={block.num_conv} but layers {convs}")
            order = [(n, _CONV) for n in convs] + [("torgb", _TORGB)] * int(block.num_torgb)
            for offset, (layer, kind) in enumerate(order):
                if w_idx + offset >= self.num_ws:
                    raise TypeError(f"synthesis.b{res}.{layer} would read ws[{w_idx + offset}]; num_ws={self.num_ws}")
                self._consumers[w_idx + offset].append((f"synthesis.b{res}.{layer}", kind))
            w_idx += int(block.num_conv)
            conv1 = block.conv1
            self._feature_layers[f"synthesis.b{res}.conv1"] = FeatureLayer(
                f"synthesis.b{res}.conv1", conv1, (int(conv1.weight.shape[0]), res, res)
            )

    def _walk_layers(self) -> None:
        """StyleGAN3: input ↔ ws[0], layer_names[i] ↔ ws[i + 1]."""
        synthesis = self._net.synthesis
        names = _sg3_layers(synthesis) or []
        if len(names) + 1 != self.num_ws:
            raise TypeError(f"{len(names)} synthesis layers need num_ws={len(names) + 1}; the model has {self.num_ws}")
        self._consumers[0].append(("synthesis.input", _INPUT))
        for i, layer_name in enumerate(names):
            layer = getattr(synthesis, layer_name)
            torgb = bool(getattr(layer, "is_torgb", i == len(names) - 1))
            self._consumers[i + 1].append((f"synthesis.{layer_name}", _TORGB if torgb else _CONV))
            size = getattr(layer, "out_size", None)
            if not torgb and size is not None and hasattr(layer, "out_channels"):
                shape = (int(layer.out_channels), int(size[1]), int(size[0]))
                self._feature_layers[f"synthesis.{layer_name}"] = FeatureLayer(f"synthesis.{layer_name}", layer, shape)

    @property
    def layer_names(self) -> list[str]:
        """Per ws index, the convolution that reads it (else its ToRGB or input layer)."""
        names = []
        for consumers in self._consumers:
            path = next((p for p, k in consumers if k == _CONV), consumers[0][0] if consumers else "unused")
            names.append(path.removeprefix("synthesis."))
        return names

    # ---- latents and synthesis -----------------------------------------------------

    def map(self, z: torch.Tensor, c: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        psi = 1.0 if truncation is None else float(truncation)
        if c is None:
            # NVIDIA's own scripts pass an empty label to unconditional models.
            c = torch.zeros(z.shape[0], 0, device=z.device, dtype=z.dtype)
        ws = self._net.mapping(z, c, truncation_psi=psi)
        if tuple(ws.shape[1:]) != (self.num_ws, self.w_dim):
            raise TypeError(f"mapping returned {tuple(ws.shape)}; expected (n, {self.num_ws}, {self.w_dim})")
        return ws

    def _forward(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        kwargs: dict[str, object] = {"noise_mode": "const"}
        if not (self._own_fp16 and self.device.type == "cuda"):
            # StyleGAN2-ADA runs its highest resolutions in FP16 unless told not to;
            # half-precision convolutions on the CPU are slow or unsupported.
            kwargs["force_fp32"] = True
        img = self._net.synthesis(ws, **kwargs)
        return img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img

    # ---- weights for SeFa ------------------------------------------------------

    def projection_weights(self, layers: Sequence[int] | None = None) -> list[ProjectionWeight]:
        """The style ``affine.weight`` of each convolution that reads a chosen ws index,
        and for the last index, which only the last ToRGB reads, that ToRGB's.

        This is what the SeFa reference code (genforce/sefa, ``factorize_weight``)
        factorizes for StyleGAN2: every convolution's style and the last ToRGB's.
        The other ToRGBs share their ws index with a convolution and are left out,
        as there; so is StyleGAN3's input transform (4 numbers: rotation and
        translation), so index 0 of StyleGAN3 contributes nothing.

        Returns
        -------
        list of ProjectionWeight
            ``matrix`` is a float64 ndarray of shape (in_channels, w_dim).
        """
        chosen = self.check_layers(layers)
        out = []
        for i in chosen:
            kinds = {k for _, k in self._consumers[i]}
            wanted = _CONV if _CONV in kinds or i != self.num_ws - 1 else _TORGB
            for path, kind in self._consumers[i]:
                if kind != wanted:
                    continue
                affine: Any = self.module.get_submodule(f"{path}.affine")
                # The equalised-lr ``weight_gain`` is one scalar per matrix; the rows
                # are normalised downstream, so the raw weight gives the same directions.
                matrix = affine.weight.detach().to("cpu", torch.float64).numpy()
                if matrix.shape[1] != self.w_dim:
                    raise TypeError(f"{path}.affine.weight has shape {matrix.shape}; expected (out, {self.w_dim})")
                out.append(ProjectionWeight(name=f"{path}.affine", layer=i, matrix=matrix))
        if not out:
            styled = [i for i, c in enumerate(self._consumers) if any(k == _CONV for _, k in c)]
            styled += [self.num_ws - 1] if any(k == _TORGB for _, k in self._consumers[-1]) else []
            raise ValueError(
                f"ws indices {list(chosen)} of {self.name} feed no modulated convolution "
                f"(only an input layer); indices with styles SeFa reads are {sorted(set(styled))}"
            )
        return out

    def feature_projection(self, layer: str) -> np.ndarray:
        if layer in self._feature_layers:
            raise ValueError(
                f"{layer!r} is read by a modulated convolution whose weights depend on w; "
                f"{self.name} has no fixed projection for it"
            )
        return super().feature_projection(layer)
