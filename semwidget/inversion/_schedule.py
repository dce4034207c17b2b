"""The optimiser's schedule, shaped like NVIDIA's StyleGAN2-ADA projector.

The learning rate warms up linearly over the first ``warmup`` of the run, stays flat,
and falls along a half cosine over the last ``rampdown``; noise added to the latent
starts at ``noise`` and decays quadratically to zero at ``noise_ramp``. Times are
fractions of the run, so one schedule fits any number of steps.

Units: the latent being optimised is measured in its prior's spread. For w and w+
that is the per-coordinate standard deviation of mapped samples around the mean w
(so one schedule fits models whose w have different scales); for z, whose prior is a
standard normal, it is 1. NVIDIA's projector scales its noise by the total spread of
w (the norm over all 512 coordinates) and its learning rate by nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Schedule:
    """Learning rate and latent noise as functions of the fraction of the run done.

    Parameters
    ----------
    lr : float
        Peak Adam learning rate, in units of the prior's per-coordinate spread.
    warmup : float
        Fraction of the run over which the learning rate rises linearly from 0.
    rampdown : float
        Final fraction of the run over which it falls to 0 along a half cosine.
    noise : float
        Standard deviation of the Gaussian noise added to the latent at the start,
        in units of the prior's per-coordinate spread.
    noise_ramp : float
        Fraction of the run after which no noise is added; it decays as
        ``(1 - t / noise_ramp) ** 2``.
    tie : float
        In w+, the fraction of the run during which every layer gets the same step
        (the gradient averaged over layers, as if optimising one w), before each layer
        is let go: coarse to fine in the latent. 0 lets them go from the start (on
        world renders from the mean w, tying for 0.2 or 0.4 of the run cost 0.8 and
        0.05 dB, so the default does not tie).
    betas : tuple of float
        Adam's betas.
    """

    lr: float = 0.1
    warmup: float = 0.05
    rampdown: float = 0.25
    noise: float = 0.05
    noise_ramp: float = 0.75
    tie: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        for name in ("warmup", "rampdown", "noise_ramp", "tie"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"Schedule.{name} is a fraction of the run in [0, 1]; got {value!r}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise ValueError(f"Schedule.lr must be a positive number; got {self.lr!r}")
        if not self.noise >= 0 or not math.isfinite(self.noise):
            raise ValueError(f"Schedule.noise must be a number >= 0; got {self.noise!r}")

    def lr_at(self, t: float) -> float:
        """Learning rate at fraction ``t`` of the run."""
        ramp = 1.0
        if self.rampdown > 0:
            ramp = min(1.0, (1.0 - t) / self.rampdown)
            ramp = 0.5 - 0.5 * math.cos(math.pi * max(0.0, ramp))
        if self.warmup > 0:
            ramp *= min(1.0, t / self.warmup)
        return self.lr * ramp

    def noise_at(self, t: float) -> float:
        """Standard deviation of the latent noise at fraction ``t`` of the run."""
        if self.noise_ramp <= 0:
            return 0.0
        return self.noise * max(0.0, 1.0 - t / self.noise_ramp) ** 2


class Adam:
    """Adam (Kingma & Ba) on one tensor, with the learning rate given at each step.

    The same update as ``torch.optim.Adam`` without weight decay; written out because
    constructing torch's optimisers imports ``torch._dynamo`` on first use, which costs
    several seconds (more than a short inversion) on a small CPU machine.
    """

    def __init__(self, param: torch.Tensor, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.param, self.betas, self.eps = param, betas, eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    def keep(self, rows: torch.Tensor, param: torch.Tensor) -> None:
        """Follow a parameter cut down to ``rows`` (its moments cut the same way)."""
        self.param, self.m, self.v = param, self.m[rows], self.v[rows]

    @torch.no_grad()
    def step(self, lr: float) -> None:
        grad = self.param.grad
        if grad is None:
            return
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(grad, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        m_hat = self.m / (1 - b1**self.t)
        denom = (self.v / (1 - b2**self.t)).sqrt_().add_(self.eps)
        self.param.addcdiv_(m_hat, denom, value=-lr)
