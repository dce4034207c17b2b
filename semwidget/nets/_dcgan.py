"""Our own DCGAN modules whose state-dict keys match the zoo's checkpoints."""

from __future__ import annotations

import torch
from torch import nn


def _up(c_in: int, c_out: int, first: bool = False) -> list[nn.Module]:
    conv = (
        nn.ConvTranspose2d(c_in, c_out, 4, 1, 0, bias=False)
        if first
        else nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
    )
    return [conv, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class DCGAN(nn.Module):
    """The DCGAN of the PyTorch tutorial: z of shape (n, z_dim, 1, 1) → (n, 3, 64, 64)."""

    def __init__(self, z_dim: int = 100, ngf: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            *_up(z_dim, ngf * 8, first=True),
            *_up(ngf * 8, ngf * 4),
            *_up(ngf * 4, ngf * 2),
            *_up(ngf * 2, ngf),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class ConditionalDCGAN(nn.Module):
    """A 128×128 DCGAN whose input is z concatenated with a one-hot class.

    Layout of the omniart eye generator: a dropout after the first block, one
    more up-sampling block than the 64×64 tutorial model.
    """

    def __init__(self, z_dim: int = 100, c_dim: int = 8, ngf: int = 64, channels: int = 3) -> None:
        super().__init__()
        self.z_dim, self.c_dim = z_dim, c_dim
        self.main = nn.Sequential(
            *_up(z_dim + c_dim, ngf * 16, first=True),
            nn.Dropout(0.2),
            *_up(ngf * 16, ngf * 8),
            *_up(ngf * 8, ngf * 4),
            *_up(ngf * 4, ngf * 2),
            *_up(ngf * 2, ngf),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        z = z.reshape(z.shape[0], -1)
        x = torch.cat([z, c.to(z.dtype)], 1)
        return self.main(x.view(x.shape[0], -1, 1, 1))
