"""Generator adapters, chosen by what a module looks like.

Each adapter module offers ``looks_like(obj) -> bool`` and an adapter class.
:func:`as_generator` asks them in order (most specific first) and wraps the
object with the first that recognises it, the way einops picks a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from ._base import FeatureLayer, Generator, ProjectionWeight, resolve_device
from ._biggan import BigGANAdapter, looks_like_biggan
from ._latents import Latents
from ._single_input import SingleInputGenerator, looks_single_input
from ._stylegan_nvidia import NvidiaStyleGAN, looks_like_nvidia_stylegan
from ._stylegan_rosinality import RosinalityStyleGAN, looks_like_rosinality

# (layout description, recogniser, adapter class): most specific first.
_ADAPTERS: list[tuple[str, Callable[[object], bool], type[Generator]]] = [
    (
        "pytorch-pretrained-biggan's BigGAN (embeddings, generator.gen_z, generator.layers)",
        looks_like_biggan,
        BigGANAdapter,
    ),
    (
        "rosinality's stylegan2-pytorch Generator (style, conv1, convs, to_rgbs, n_latent)",
        looks_like_rosinality,
        RosinalityStyleGAN,
    ),
    (
        "NVIDIA's StyleGAN2-ADA / StyleGAN3 generator (mapping, synthesis, num_ws, affine layers)",
        looks_like_nvidia_stylegan,
        NvidiaStyleGAN,
    ),
    (
        "a DCGAN/PGGAN-like module whose first layer takes z (Linear or ConvTranspose2d)",
        looks_single_input,
        SingleInputGenerator,
    ),
]


def supported_layouts() -> list[str]:
    """Descriptions of the generator layouts :func:`as_generator` recognises."""
    return [description for description, _, _ in _ADAPTERS]


def as_generator(
    obj: object,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    **kwargs: Any,
) -> Generator:
    """Wrap a generator module in the adapter that fits its layout.

    The module is put in eval mode and moved to ``device`` (default: the GPU
    when there is one) and ``dtype`` in place, as ``Module.to`` does. An adapter
    passes through unchanged. Anything unrecognised raises a ``TypeError`` that
    lists the supported layouts.
    """
    if isinstance(obj, Generator):
        return obj
    for _, looks_like, adapter in _ADAPTERS:
        if looks_like(obj):
            return adapter(cast(nn.Module, obj), device=device, dtype=dtype, **kwargs)  # type: ignore[call-arg]
    layouts = "\n".join(f"  - {d}" for d in supported_layouts())
    raise TypeError(
        f"semwidget cannot drive a {type(obj).__name__}: it matches none of the supported generator layouts:\n{layouts}"
    )


__all__ = [
    "FeatureLayer",
    "Generator",
    "Latents",
    "ProjectionWeight",
    "SingleInputGenerator",
    "as_generator",
    "resolve_device",
    "supported_layouts",
]
