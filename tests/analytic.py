"""A generator and a scorer whose answers are known, for re-scoring and entanglement tests.

``Monotone`` is a PGGAN-like generator, image = tanh(up(act(fc(z)))), built so that
every pixel is a non-decreasing function of ``z[0]``, of ``z[1]`` (half as fast)
and of every channel at the feature layer ``act``, and non-increasing in
``z[2]``: the weights from those inputs are non-negative (or non-positive) on
every path, and each nonlinearity is monotone. So any scorer that averages
pixels rises along +e0, +e1 and a positive channel vector, and falls along
+e2 and -e0, for every sample.
"""

from __future__ import annotations

import torch
from torch import nn

import semwidget


class Monotone(nn.Module):
    def __init__(self, z_dim: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(z_dim, 8 * 4 * 4)
        self.act = nn.LeakyReLU(0.2)
        self.up = nn.ConvTranspose2d(8, 3, 4, 2, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.act(self.fc(z)).view(-1, 8, 4, 4)
        return torch.tanh(self.up(x))


def monotone_generator() -> semwidget.Generator:
    torch.manual_seed(0)
    net = Monotone()
    with torch.no_grad():
        up = net.fc.weight[:, 0].abs() * 0.5 + 0.1
        net.fc.weight[:, 0] = up
        net.fc.weight[:, 1] = 0.5 * up
        net.fc.weight[:, 2] = -up
        # Small non-negative read-out weights keep tanh away from saturation.
        net.up.weight.copy_(net.up.weight.abs() * 0.1)
        net.up.bias.fill_(-0.3)
    return semwidget.as_generator(net.eval(), device="cpu")


def corner(images: torch.Tensor) -> torch.Tensor:
    """Mean of the top-left 4×4 pixels over the colour channels, in [-1, 1]: linear in the image."""
    return images[:, :, :4, :4].mean(dim=(1, 2, 3))


def corner_scorer() -> semwidget.scorers.Scorer:
    return semwidget.scorers.as_scorer(corner, names=["corner"])


def basis(
    g: semwidget.Generator, rows: list[list[float]], labels: list[str], space: str | None = None
) -> semwidget.Directions:
    """Directions with the given rows (normalized by Directions) for generator ``g``."""
    return semwidget.Directions(
        vectors=rows, scores=[1.0] * len(rows), space=space or g.latent_space, labels=tuple(labels), model=g
    )
