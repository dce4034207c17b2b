"""The generator's noise inputs as variables of an inversion (``optimize_noise=True``).

StyleGAN adds a single-channel noise map at every StyledConv. By default inversion keeps
them at the stored maps :meth:`~semwidget.Generator.synthesize` uses, so an inverted code
means what a sampled one does. Optimising them as well (NVIDIA's projector does) lets the
reconstruction take on detail no code reaches, at a price: the maps can start to carry
the image itself, which an edit of ``ws`` then cannot move. Two guards, as in the
projector, keep them noise-like: a penalty on their autocorrelation at one-pixel shifts,
at every scale down to 8×8, and a renormalisation to zero mean and unit variance after
every step. Here both are per image, so images in a batch stay independent.

Each image starts from the stored maps, so zero steps give the usual image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..generators._base import Generator

#: Weight of the autocorrelation penalty. NVIDIA's projector weighs it 1e5 against LPIPS;
#: our pixel losses are mean squares of [-1, 1] images, about 1e-3 near convergence, so
#: that weight would pin the maps: on a small StyleGAN2 whose noise matters, three images
#: made with other maps came back at 29.4 dB (mean) unpenalised, 27.7 dB at 1, 17.0 dB at
#: 100 and 13.1 dB at 1000, and at 12.7 dB with the maps fixed (300 steps, mse, lr 0.3;
#: tests/inversion/test_invert_noise.py's model).
NOISE_REGULARIZE = 1.0


class NoiseMaps:
    """One map per noise input and image, each (n, 1, h, w), optimised beside the latent."""

    def __init__(self, g: Generator, n: int) -> None:
        fixed = g.fixed_noise()
        self.maps = [
            m.detach().to(g.device, torch.float32).expand(n, -1, -1, -1).clone().requires_grad_(True) for m in fixed
        ]

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only these rows (one chain per image, after a multi-start phase)."""
        self.maps = [m.detach()[rows].clone().requires_grad_(True) for m in self.maps]

    def penalty(self) -> torch.Tensor:
        """Per image: the summed squares of each map's mean one-pixel autocorrelation,
        across and down, at every scale from the map's own to 8×8; shape (n,)."""
        total = self.maps[0].new_zeros(self.maps[0].shape[0])
        for m in self.maps:
            x = m
            while True:
                total = total + (x * x.roll(1, dims=3)).mean((1, 2, 3)).square()
                total = total + (x * x.roll(1, dims=2)).mean((1, 2, 3)).square()
                if x.shape[2] <= 8:
                    break
                x = F.avg_pool2d(x, 2)
        return total

    @torch.no_grad()
    def normalize(self) -> None:
        """Each map of each image back to zero mean and unit variance."""
        for m in self.maps:
            m.sub_(m.mean((1, 2, 3), keepdim=True))
            m.mul_(m.square().mean((1, 2, 3), keepdim=True).add(1e-12).rsqrt())
