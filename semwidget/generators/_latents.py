"""The latent codes that travel between sampling, editing and synthesis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch


@dataclass(frozen=True, eq=False)
class Latents:
    """A batch of latent codes for one generator.

    Every generator speaks layer-wise latents: ``ws`` has shape
    ``(n, num_ws, w_dim)``. A DCGAN has ``num_ws == 1`` and ``w_dim == z_dim``;
    a StyleGAN has one ``w`` per synthesis layer; BigGAN one ``z`` per block.

    Attributes
    ----------
    ws : Tensor of shape (n, num_ws, w_dim)
        The codes the synthesis network consumes, on the generator's device.
    c : Tensor of shape (n, c_dim) or None
        Conditioning (one-hot class labels) for conditional generators.
    offsets : mapping of feature-layer name to Tensor of shape (n, channels)
        Channel-space edits added to that layer's feature map at synthesis.
    seeds : tuple of int or None
        The seed each sample was drawn with, when it was drawn by ``sample``.
    model : str
        The fingerprint of the generator these latents belong to.
    space : str
        What ``ws`` holds: ``"z"`` (the input noise) or ``"w"`` (mapped codes).
    noise : tuple of Tensor or None
        Each sample's own maps for the generator's noise inputs, one tensor of shape
        (n, 1, h, w) per input (``generator.noise_shapes``), as ``invert(...,
        optimize_noise=True)`` finds them; ``None`` (the usual case): the model's
        stored, fixed maps. Edits change ``ws`` and keep these.
    """

    ws: torch.Tensor
    c: torch.Tensor | None = None
    offsets: Mapping[str, torch.Tensor] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None
    model: str = ""
    space: str = "z"
    noise: tuple[torch.Tensor, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ws, torch.Tensor) or self.ws.ndim != 3:
            shape = tuple(self.ws.shape) if hasattr(self.ws, "shape") else type(self.ws).__name__
            raise ValueError(f"Latents.ws must be a tensor of shape (n, num_ws, w_dim); got {shape}")
        n = self.ws.shape[0]
        if self.c is not None and (self.c.ndim != 2 or self.c.shape[0] != n):
            raise ValueError(f"Latents.c must have shape ({n}, c_dim); got {tuple(self.c.shape)}")
        for name, offset in self.offsets.items():
            if offset.ndim != 2 or offset.shape[0] != n:
                raise ValueError(
                    f"offset for feature layer {name!r} must have shape ({n}, channels); got {tuple(offset.shape)}"
                )
        if self.seeds is not None and len(self.seeds) != n:
            raise ValueError(f"Latents.seeds has {len(self.seeds)} entries for {n} samples")
        if self.noise is not None:
            if not isinstance(self.noise, tuple) or not self.noise:
                raise ValueError("Latents.noise must be a non-empty tuple of tensors (n, 1, h, w), or None")
            for k, m in enumerate(self.noise):
                if not isinstance(m, torch.Tensor) or m.ndim != 4 or m.shape[0] != n or m.shape[1] != 1:
                    shape = tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__
                    raise ValueError(f"Latents.noise[{k}] must have shape ({n}, 1, h, w); got {shape}")

    def __len__(self) -> int:
        return int(self.ws.shape[0])

    @property
    def num_ws(self) -> int:
        return int(self.ws.shape[1])

    @property
    def w_dim(self) -> int:
        return int(self.ws.shape[2])

    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> Latents:
        """Select samples; the result keeps conditioning, offsets and seeds aligned."""
        if isinstance(index, int):
            index = [index]
        ws = self.ws[index]
        c = None if self.c is None else self.c[index]
        offsets = {k: v[index] for k, v in self.offsets.items()}
        seeds = None
        if self.seeds is not None:
            picked = torch.arange(len(self))[index].tolist()
            seeds = tuple(self.seeds[i] for i in picked)
        noise = None if self.noise is None else tuple(m[index] for m in self.noise)
        return Latents(ws=ws, c=c, offsets=offsets, seeds=seeds, model=self.model, space=self.space, noise=noise)

    def replace(self, **changes: object) -> Latents:
        """A copy with some fields changed (the dataclass is frozen)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def to(self, device: torch.device | str) -> Latents:
        return Latents(
            ws=self.ws.to(device),
            c=None if self.c is None else self.c.to(device),
            offsets={k: v.to(device) for k, v in self.offsets.items()},
            seeds=self.seeds,
            model=self.model,
            space=self.space,
            noise=None if self.noise is None else tuple(m.to(device) for m in self.noise),
        )

    @staticmethod
    def concat(parts: list[Latents]) -> Latents:
        """Join batches of latents of one model along the sample axis."""
        if not parts:
            raise ValueError("Latents.concat needs at least one batch")
        models = {p.model for p in parts}
        if len(models) > 1:
            raise ValueError(f"cannot join latents of different models: {sorted(models)}")
        keys = set(parts[0].offsets)
        if any(set(p.offsets) != keys for p in parts):
            raise ValueError("cannot join latents whose channel offsets sit on different layers")
        has_c = parts[0].c is not None
        if any((p.c is not None) != has_c for p in parts):
            raise ValueError("cannot join conditional and unconditional latents")
        has_noise = parts[0].noise is not None
        if any((p.noise is not None) != has_noise for p in parts):
            raise ValueError(
                "cannot join latents with their own noise maps and latents without (invert's optimize_noise)"
            )
        return Latents(
            ws=torch.cat([p.ws for p in parts]),
            c=torch.cat([p.c for p in parts if p.c is not None]) if has_c else None,
            offsets={k: torch.cat([p.offsets[k] for p in parts]) for k in keys},
            seeds=tuple(s for p in parts for s in p.seeds)  # type: ignore[union-attr]
            if all(p.seeds is not None for p in parts)
            else None,
            model=parts[0].model,
            space=parts[0].space,
            noise=tuple(torch.cat(maps) for maps in zip(*(p.noise for p in parts)))  # type: ignore[misc]
            if has_noise
            else None,
        )
