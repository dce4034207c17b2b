"""Shared fixtures: tiny seeded generators for fast tests, the real zoo model for real ones."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import semwidget


class TinyDCGAN(nn.Module):
    """A 16×16 DCGAN-shaped generator with a few thousand parameters."""

    def __init__(self, z_dim: int = 8, ngf: int = 4) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(z_dim, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class TinyPGGAN(nn.Module):
    """PGGAN-like: a Linear layer takes z, then convolutions."""

    def __init__(self, z_dim: int = 6) -> None:
        super().__init__()
        self.fc = nn.Linear(z_dim, 8 * 4 * 4)
        self.act = nn.LeakyReLU(0.2)
        self.conv = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.act(self.fc(z)).view(-1, 8, 4, 4)
        return torch.tanh(self.conv(nn.functional.interpolate(x, scale_factor=2)))


def _seeded(cls: type[nn.Module], seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = cls()
    # Give batch norm non-trivial statistics so eval mode is not the identity.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture
def tiny_dcgan() -> semwidget.Generator:
    return semwidget.as_generator(_seeded(TinyDCGAN), device="cpu")


@pytest.fixture
def tiny_pggan() -> semwidget.Generator:
    return semwidget.as_generator(_seeded(TinyPGGAN), device="cpu")


@pytest.fixture(scope="session")
def digiface() -> semwidget.Generator:
    """The real pretrained zoo DCGAN (fetched once, then cached)."""
    return semwidget.load("digiface-dcgan", device="cpu")
