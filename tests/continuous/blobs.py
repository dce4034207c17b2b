"""A tiny generator with a planted shift direction, for the semwidget.continuous tests."""

from __future__ import annotations

import torch
from torch import nn

import semwidget

RES = 16
#: The blob's centre moves this many image widths (heights) per unit of z[0] (z[1]).
PER_UNIT = 0.2


class Blob(nn.Module):
    """A 16×16 'generator' whose z[0] moves a bright disc (soft-edged, radius 0.2 widths)
    right, z[1] down, and z[2] sets its brightness: a shift direction is planted along
    z[0], with g(t) = t / 0.2."""

    def __init__(self, z_dim: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(z_dim, 3, bias=False)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.weight[0, 0] = self.fc.weight[1, 1] = PER_UNIT
            self.fc.weight[2, 2] = 0.1
        coords = (torch.arange(RES, dtype=torch.float32) + 0.5) / RES
        self.register_buffer("xs", coords.view(1, 1, RES))
        self.register_buffer("ys", coords.view(1, RES, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        p = self.fc(z.flatten(1))
        cx, cy, level = (p[:, i, None, None] for i in range(3))
        distance = ((self.xs - 0.5 - cx) ** 2 + (self.ys - 0.5 - cy) ** 2).sqrt()
        blob = torch.sigmoid((0.2 - distance) / 0.04)
        img = -0.8 + (1.5 + level) * blob
        return img.unsqueeze(1).expand(-1, 3, -1, -1)


def blob() -> semwidget.Generator:
    return semwidget.as_generator(Blob(), device="cpu", name="blob")


#: Small settings: 6 seeds, two targets per side (t = ±0.125, ±0.25: 2 and 4 pixels).
SMALL = dict(n_trajectories=6, t_max=0.25, t_steps=2, steps_per_target=20, learning_rate=0.1, progress=False)
