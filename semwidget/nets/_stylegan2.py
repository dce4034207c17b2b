"""Our own StyleGAN2 generator, checkpoint-compatible with rosinality's stylegan2-pytorch.

The module tree (and so every state-dict key and parameter shape) follows
rosinality's ``model.Generator(size, style_dim, n_mlp, channel_multiplier)``, so
the ``g_ema`` state dict of one of its checkpoints loads with ``strict=True``::

    style.{1..n_mlp}.weight/bias          mapping network (style.0 is PixelNorm)
    input.input                           (1, C4, 4, 4) learned constant
    conv1.*, to_rgb1.*                    the 4×4 block
    convs.{2j, 2j+1}.*, to_rgbs.{j}.*     one upsampling + one plain conv, one ToRGB per resolution
    noises.noise_{k}                      (1, 1, r, r) fixed noise, one per StyledConv

Every StyledConv and ToRGB reads its own row of the layer-wise latent
``latent[:, i]`` of shape (n, n_latent, style_dim): conv1 ↔ 0, to_rgb1 ↔ 1,
convs[2j] ↔ 2j+1, convs[2j+1] ↔ 2j+2, to_rgbs[j] ↔ 2j+3.

Everything is written with plain, differentiable torch ops (no CUDA extension,
no in-place tricks), so the module can be trained as well as sampled. The
layers it is built from live in :mod:`._stylegan2_ops`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._stylegan2_ops import BLUR_TAPS, EqualLinear, FusedLeakyReLU, ModulatedConv2d, PixelNorm, Upsample


def stylegan2_channels(size: int, channel_multiplier: int = 2, channel_max: int | None = None) -> dict[int, int]:
    """Feature channels per resolution, rosinality's table: 512 up to 32×32, then
    ``16384 / r * channel_multiplier``; ``channel_max`` optionally caps every entry
    (for small models; rosinality itself has no cap)."""
    out = {}
    for log_r in range(2, int(math.log2(size)) + 1):
        r = 2**log_r
        c = 512 if r <= 32 else 16384 // r * channel_multiplier
        out[r] = c if channel_max is None else min(c, channel_max)
    return out


class NoiseInjection(nn.Module):
    """Add single-channel noise, scaled by a learned ``weight`` of shape (1,)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``noise`` of shape (n or 1, 1, h, w); fresh N(0, 1) noise when None."""
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        return x + self.weight * noise


class ConstantInput(nn.Module):
    """The learned 4×4 constant the synthesis starts from; ``input`` of shape (1, c, 4, 4)."""

    def __init__(self, channel: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """The constant repeated to the batch size of ``latent``."""
        return self.input.expand(latent.shape[0], -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv → noise → bias + leaky ReLU (``conv``, ``noise``, ``activate``)."""

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        style_dim: int,
        upsample: bool = False,
        blur_kernel: Sequence[float] = BLUR_TAPS,
        demodulate: bool = True,
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim, demodulate, upsample, blur_kernel)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """A 1×1 modulated conv (no demodulation) to RGB, plus the upsampled skip image."""

    def __init__(
        self, in_channel: int, style_dim: int, upsample: bool = True, blur_kernel: Sequence[float] = BLUR_TAPS
    ) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)


class StyleGAN2(nn.Module):
    """StyleGAN2 generator with rosinality's layout, names and call signature.

    Parameters
    ----------
    size : int
        Output resolution, a power of two ≥ 4.
    style_dim : int
        Width of z and w.
    n_mlp : int
        Layers of the mapping network.
    channel_multiplier : int
        Scales the channels from 64×64 up (2 for the official configs).
    blur_kernel : sequence of float
    lr_mlp : float
        Learning-rate multiplier of the mapping network.
    channel_max : int, optional
        Caps the channels of every resolution (an addition of ours, for small
        models; the default ``None`` is rosinality's table).

    Attributes
    ----------
    n_latent : int
        Layer-wise latents consumed, ``2 * log2(size) - 2``.
    num_layers : int
        StyledConv layers (= noise inputs), ``2 * log2(size) - 3``.
    """

    def __init__(
        self,
        size: int,
        style_dim: int,
        n_mlp: int,
        channel_multiplier: int = 2,
        blur_kernel: Sequence[float] = BLUR_TAPS,
        lr_mlp: float = 0.01,
        *,
        channel_max: int | None = None,
    ) -> None:
        super().__init__()
        if size < 4 or size & (size - 1):
            raise ValueError(f"size must be a power of two >= 4; got {size}")
        self.size, self.style_dim = size, style_dim
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.log_size * 2 - 2
        self.channels = stylegan2_channels(size, channel_multiplier, channel_max)

        self.style = nn.Sequential(
            PixelNorm(),
            *(EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="fused_lrelu") for _ in range(n_mlp)),
        )
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, 3, style_dim, blur_kernel=blur_kernel)
        self.to_rgb1 = ToRGB(c4, style_dim, upsample=False)

        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        # Fixed noise maps for deterministic synthesis: noise_0 at 4×4, then two per resolution.
        self.noises = nn.Module()
        for k in range(self.num_layers):
            r = 2 ** ((k + 5) // 2)
            self.noises.register_buffer(f"noise_{k}", torch.randn(1, 1, r, r))

        in_channel = c4
        for log_r in range(3, self.log_size + 1):
            out_channel = self.channels[2**log_r]
            self.convs.append(StyledConv(in_channel, out_channel, 3, style_dim, True, blur_kernel))
            self.convs.append(StyledConv(out_channel, out_channel, 3, style_dim, blur_kernel=blur_kernel))
            self.to_rgbs.append(ToRGB(out_channel, style_dim, blur_kernel=blur_kernel))
            in_channel = out_channel

    def make_noise(self) -> list[torch.Tensor]:
        """Fresh noise maps, one per StyledConv, shapes (1, 1, r, r)."""
        device = self.input.input.device
        sizes = [2 ** ((k + 5) // 2) for k in range(self.num_layers)]
        return [torch.randn(1, 1, r, r, device=device) for r in sizes]

    def mean_latent(self, n_latent: int) -> torch.Tensor:
        """The mean of ``n_latent`` mapped N(0, I) codes, shape (1, style_dim).

        Draws from the global torch RNG, like rosinality's; seed it for a
        reproducible mean.
        """
        z = torch.randn(n_latent, self.style_dim, device=self.input.input.device)
        return self.style(z).mean(0, keepdim=True)

    def get_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Map z of shape (n, style_dim) to w of the same shape."""
        return self.style(z)

    def forward(
        self,
        styles: Sequence[torch.Tensor],
        return_latents: bool = False,
        inject_index: int | None = None,
        truncation: float = 1,
        truncation_latent: torch.Tensor | None = None,
        input_is_latent: bool = False,
        noise: Sequence[torch.Tensor | None] | None = None,
        randomize_noise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Synthesize images.

        Parameters
        ----------
        styles : list of Tensor
            One or two codes of shape (n, style_dim): z, or w when
            ``input_is_latent``. With ``input_is_latent`` a single code may also
            be a full layer-wise latent of shape (n, n_latent, style_dim).
        return_latents : bool
            Also return the layer-wise latent used.
        inject_index : int, optional
            With two styles, the first ``inject_index`` layers take the first
            (style mixing); random in [1, n_latent) when None.
        truncation : float
            ψ < 1 pulls every style toward ``truncation_latent`` (1, style_dim).
        noise : list of Tensor or None, optional
            One noise map per StyledConv; overrides ``randomize_noise``.
        randomize_noise : bool
            Fresh noise each call when True, the stored ``noises`` buffers when False.

        Returns
        -------
        image : Tensor of shape (n, 3, size, size)
            Roughly in [-1, 1], not clamped.
        latent : Tensor of shape (n, n_latent, style_dim) or None
        """
        styles = list(styles)
        if not input_is_latent:
            styles = [self.style(s) for s in styles]
        if noise is None:
            noise = (
                [None] * self.num_layers
                if randomize_noise
                else [getattr(self.noises, f"noise_{k}") for k in range(self.num_layers)]
            )
        if truncation < 1:
            if truncation_latent is None:
                raise ValueError("truncation < 1 needs truncation_latent (e.g. mean_latent(4096))")
            styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]

        if len(styles) < 2:
            s = styles[0]
            latent = s if s.ndim == 3 else s.unsqueeze(1).expand(-1, self.n_latent, -1)
        else:
            if inject_index is None:
                inject_index = int(torch.randint(1, self.n_latent, ()).item())
            latent = torch.cat(
                [
                    styles[0].unsqueeze(1).expand(-1, inject_index, -1),
                    styles[1].unsqueeze(1).expand(-1, self.n_latent - inject_index, -1),
                ],
                dim=1,
            )
        if latent.shape[1] != self.n_latent:
            raise ValueError(
                f"expected a latent of shape (n, {self.n_latent}, {self.style_dim}); got {tuple(latent.shape)}"
            )

        out = self.conv1(self.input(latent), latent[:, 0], noise=noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for j, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * j](out, latent[:, i], noise=noise[2 * j + 1])
            out = self.convs[2 * j + 1](out, latent[:, i + 1], noise=noise[2 * j + 2])
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip, (latent if return_latents else None)
