"""Our StyleGAN2 residual discriminator (the layout of rosinality's ``model.Discriminator``).

For a 64×64 input and 256 channels everywhere::

    convs.0                 from-RGB: 1×1 conv 3 → C, bias + leaky ReLU        64×64
    convs.1 … convs.4       ResBlocks: 3×3 conv, blur + 3×3 stride-2 conv,     64 → 4
                            residual 1×1 blur + stride-2 conv, sum / √2
    minibatch stddev        one extra feature map: the std over groups of 4    4×4
    final_conv              3×3 conv C + 1 → C                                 4×4
    final_linear            linear C·16 → C, leaky ReLU, linear C → 1          a logit

Every layer has an equalised learning rate (weights N(0, 1), scaled at run time
by 1/√fan_in). The linear layers and the leaky ReLU come from our generator's ops in
:mod:`semwidget.nets._stylegan2_ops`; the plain convolution is written here (the
generator has only modulated ones), and so is the blur, in a form that is cheap to
differentiate twice (see :class:`Blur`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from semwidget.nets._stylegan2 import stylegan2_channels
from semwidget.nets._stylegan2_ops import BLUR_TAPS, EqualLinear, FusedLeakyReLU


class Blur(nn.Module):
    """A separable FIR low-pass with fixed padding, as a sum of shifted copies.

    The same result as the generator's ``Blur`` (a true convolution with the normalised
    outer product of ``taps``), but with no convolution in it: its gradients, of any
    order, are sums of slices too. The generator's form folds every channel into the
    batch of a one-channel conv, and differentiating that twice (R1) was the bulk of an
    R1 step, by far on an H100.
    """

    def __init__(self, taps: Sequence[float], pad: tuple[int, int]) -> None:
        super().__init__()
        total = float(sum(taps))
        self.taps = tuple(float(t) / total for t in reversed(taps))  # reversed: convolution, not correlation
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, c, h, w) → (n, c, h + p0 + p1 - k + 1, same for w)."""
        p0, p1 = self.pad
        x = F.pad(x, [p0, p1, p0, p1])
        k = len(self.taps)
        h, w = x.shape[2] - k + 1, x.shape[3] - k + 1
        rows = x[:, :, :, :w] * self.taps[0]
        for i, t in enumerate(self.taps[1:], 1):
            rows = rows + x[:, :, :, i : i + w] * t
        out = rows[:, :, :h] * self.taps[0]
        for i, t in enumerate(self.taps[1:], 1):
            out = out + rows[:, :, i : i + h] * t
        return out

    def extra_repr(self) -> str:
        return f"taps={self.taps}, pad={self.pad}"


class EqualConv2d(nn.Module):
    """A convolution with equalised learning rate: ``weight`` N(0, 1) times ``1/√(in·k²)`` at run time."""

    def __init__(
        self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channel * kernel_size**2)
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(out_channel)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, {k}, stride={self.stride}, padding={self.padding}"


class ConvLayer(nn.Sequential):
    """[blur] → equalised conv (stride 2 when ``downsample``) → [bias + leaky ReLU].

    With ``activate`` the bias lives in the :class:`FusedLeakyReLU`, as in rosinality's.
    """

    def __init__(
        self,
        in_channel: int,
        out_channel: int,
        kernel_size: int,
        downsample: bool = False,
        blur_kernel: Sequence[float] = BLUR_TAPS,
        bias: bool = True,
        activate: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        if downsample:
            # Low-pass before the stride-2 conv; pads that keep the output exactly half the input.
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2d(in_channel, out_channel, kernel_size, stride, padding, bias=bias and not activate))
        if activate:
            layers.append(FusedLeakyReLU(out_channel, bias=bias))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Two 3×3 convs, the second halving the resolution, plus a 1×1 downsampling skip; sum scaled by 1/√2."""

    def __init__(self, in_channel: int, out_channel: int, blur_kernel: Sequence[float] = BLUR_TAPS) -> None:
        super().__init__()
        self.conv1 = ConvLayer(in_channel, in_channel, 3)
        self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(
            in_channel, out_channel, 1, downsample=True, blur_kernel=blur_kernel, activate=False, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one feature map: the standard deviation of each feature over a group of
    samples, averaged over features and pixels, shared by the group.

    The group is the largest divisor of the batch size not above ``group_size``,
    so any batch size works (rosinality's needs ``batch % group == 0``).

    Parameters
    ----------
    x : Tensor of shape (n, c, h, w)

    Returns
    -------
    Tensor of shape (n, c + 1, h, w)
    """
    n, c, h, w = x.shape
    group = next(g for g in range(min(group_size, n), 0, -1) if n % g == 0)
    # Sample i belongs to group i % (n // group), as in rosinality's view(group, -1, ...).
    y = x.float().view(group, -1, c, h, w)
    std = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)  # (n // group, c, h, w)
    std = std.mean(dim=(1, 2, 3)).view(-1, 1, 1, 1).repeat(group, 1, h, w)
    return torch.cat([x, std.to(x.dtype)], dim=1)


class Discriminator(nn.Module):
    """StyleGAN2's residual discriminator: image (n, 3, size, size) → logit (n, 1).

    Parameters
    ----------
    size : int
        Input resolution, a power of two ≥ 8.
    channel_multiplier, channel_max : int
        The channel table of :func:`~semwidget.nets._stylegan2.stylegan2_channels`,
        the same as the generator's.
    blur_kernel : sequence of float
    stddev_group : int
        Samples per minibatch-stddev group.
    """

    def __init__(
        self,
        size: int,
        channel_multiplier: int = 2,
        channel_max: int | None = None,
        blur_kernel: Sequence[float] = BLUR_TAPS,
        stddev_group: int = 4,
    ) -> None:
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"size must be a power of two >= 8; got {size}")
        self.size, self.stddev_group = size, stddev_group
        channels = stylegan2_channels(size, channel_multiplier, channel_max)
        log_size = int(math.log2(size))
        blocks: list[nn.Module] = [ConvLayer(3, channels[size], 1)]
        in_channel = channels[size]
        for log_r in range(log_size, 2, -1):
            out_channel = channels[2 ** (log_r - 1)]
            blocks.append(ResBlock(in_channel, out_channel, blur_kernel))
            in_channel = out_channel
        self.convs = nn.Sequential(*blocks)
        self.final_conv = ConvLayer(in_channel + 1, channels[4], 3)
        self.final_linear = nn.Sequential(
            EqualLinear(channels[4] * 4 * 4, channels[4], activation="fused_lrelu"),
            EqualLinear(channels[4], 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(n, 3, size, size) → (n, 1) logits (real > 0)."""
        if images.shape[-2:] != (self.size, self.size):
            raise ValueError(f"expected images of shape (n, 3, {self.size}, {self.size}); got {tuple(images.shape)}")
        out = self.final_conv(minibatch_stddev(self.convs(images), self.stddev_group))
        return self.final_linear(out.flatten(1))
